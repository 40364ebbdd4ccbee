/**
 * `tundrill kernel`: the kernels tundrill can boot.
 *
 *   tundrill kernel list               what the cache holds
 *   tundrill kernel config             the config fragment a kernel needs
 *   tundrill kernel fetch debian:6.1   fetch a Debian kernel into the cache
 *   tundrill kernel check <kernel>     resolve a kernel and check its config
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { cacheRoot, kernelsDir } from '../backend/microvm/cache.js';
import { checkConfig, configFragment, configHash, configHz, describeMissing, parseConfig } from '../backend/microvm/kernel-config.js';
import { KernelError, resolveKernel } from '../backend/microvm/kernel.js';
import { KernelFetchError } from '../backend/microvm/debian-fetch.js';
import { EXIT_ENVIRONMENT, EXIT_PASS, EXIT_USAGE } from '../engine/errors.js';
import { UsageError } from './args.js';

function size(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((n, e) => n + size(join(path, e)), 0);
}

function list(): number {
  const dir = kernelsDir();
  // Fetched packages, and any other folder holding a kernel image (e.g. a build placed there).
  const imageIn = (d: string): string | null => ['vmlinux', 'arch/x86/boot/bzImage', 'bzImage'].map((f) => join(dir, d, f)).find((f) => existsSync(f)) ?? null;
  const entries = existsSync(dir)
    ? readdirSync(dir).filter((d) => !d.startsWith('.') && d !== 'derived' && (d.startsWith('debian-') || imageIn(d)))
    : [];
  process.stdout.write(`cache: ${cacheRoot()}\n`);
  if (entries.length === 0) {
    process.stdout.write('no kernels cached (tundrill kernel fetch debian:6.1, or run --kernel debian:6.1)\n');
    return EXIT_PASS;
  }
  for (const d of entries.sort()) {
    const path = join(dir, d);
    const complete = existsSync(join(path, '.complete'));
    const spec = d.startsWith('debian-') ? `debian:${d.slice('debian-'.length).replace(/-amd64$/, '')}` : d;
    let cfg = '';
    const boot = join(path, 'boot');
    const cfgFile = existsSync(boot) ? readdirSync(boot).find((f) => f.startsWith('config-')) : undefined;
    if (cfgFile) {
      const text = readFileSync(join(boot, cfgFile), 'utf8');

      const c = parseConfig(text);
      cfg = `config ${configHash(c)}, HZ=${configHz(c) ?? '?'}`;
    }
    if (!d.startsWith('debian-')) {
      process.stdout.write(`${d.padEnd(24)} image ${imageIn(d)}\n`);
      continue;
    }
    process.stdout.write(`${spec.padEnd(24)} ${(size(path) / 1e6).toFixed(0).padStart(5)} MB  ${complete ? '' : '(incomplete) '}${cfg}  ${path}\n`);
  }
  return EXIT_PASS;
}

function check(spec: string, configFile?: string): number {
  const k = resolveKernel(spec, configFile ? { configFile } : {});
  if (k.kind === 'host') {
    process.stdout.write(`host: ${k.release} (runs without a VM)\n`);
    return EXIT_PASS;
  }
  process.stdout.write(`${spec}: ${k.release}\n  vmlinux: ${k.vmlinux}\n  modules: ${k.modulesDir ?? 'none'}\n  config: ${k.configSource ?? 'none found'}\n`);
  if (!k.config) return EXIT_PASS;
  const { missing, missingOptional } = checkConfig(k.config);
  process.stdout.write(`  config hash ${configHash(k.config)}, HZ=${configHz(k.config) ?? '?'}\n`);
  if (missing.length) process.stdout.write(`  missing (required): ${describeMissing(missing)}\n`);
  if (missingOptional.length) process.stdout.write(`  missing (some scenarios): ${describeMissing(missingOptional)}\n`);
  if (!missing.length) process.stdout.write('  has every required option\n');
  return missing.length ? EXIT_ENVIRONMENT : EXIT_PASS;
}

export async function runKernelCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    switch (sub) {
      case 'list': return list();
      case 'config': process.stdout.write(configFragment()); return EXIT_PASS;
      case 'fetch': {
        if (!rest[0]?.startsWith('debian:')) throw new UsageError('kernel fetch takes debian:<version>, e.g. debian:6.1');
        return check(rest[0]);
      }
      case 'check': {
        if (!rest[0]) throw new UsageError('kernel check takes a kernel: a bzImage or vmlinux, a package folder, or debian:<version>');
        const cfg = rest.indexOf('--kernel-config');
        return check(rest[0], cfg >= 0 ? rest[cfg + 1] : undefined);
      }
      default:
        throw new UsageError('kernel takes list, config, fetch debian:<version> or check <kernel>');
    }
  } catch (e) {
    if (e instanceof KernelError || e instanceof KernelFetchError) {
      process.stderr.write(`tundrill: ${e.message}\n`);
      return EXIT_ENVIRONMENT;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`tundrill: ${e.message}\n`);
      return EXIT_USAGE;
    }
    throw e;
  }
}
