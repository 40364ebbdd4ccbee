/**
 * `--kernel <k>`: what kernel a run boots. `host` is the running kernel
 * (no VM); otherwise a bzImage or vmlinux, an unpacked Debian kernel
 * package, or `debian:<version>` (fetched into the cache). The result
 * names the ELF vmlinux to boot, the modules folder, and the config when
 * one can be found (package config, IKCONFIG in the image, or a `.config`
 * beside the image in a build tree).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { release as osRelease } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { kernelsDir } from './cache.js';
import { fetchDebianKernel } from './debian-fetch.js';
import { bzImageRelease, embeddedConfig, extractVmlinux, imageKind, vmlinuxRelease } from './kernel-image.js';
import { configHash, configHz, parseConfig, type KernelConfig } from './kernel-config.js';

export class KernelError extends Error {}

export interface GuestKernel {
  kind: 'vm';
  /** What the user wrote. */
  spec: string;
  /** Short name for tables: the release, or the spec. */
  label: string;
  release: string;
  /** ELF vmlinux to boot. */
  vmlinux: string;
  /** lib/modules/<release> (or a build tree) to take modules from, if any. */
  modulesDir: string | null;
  config: KernelConfig | null;
  configSource: string | null;
  /** Folder for what tundrill derives from this kernel (initramfs). */
  workDir: string;
}

export interface HostKernel {
  kind: 'host';
  spec: 'host';
  label: string;
  release: string;
}

export type KernelChoice = GuestKernel | HostKernel;

/** Facts about a kernel as reports carry them. */
export interface KernelFacts {
  spec: string;
  release: string;
  configHash: string | null;
  hz: number | null;
  accelerator: string;
  clock: string;
}

function hostConfig(): KernelConfig | null {
  const boot = `/boot/config-${osRelease()}`;
  if (existsSync(boot)) return parseConfig(readFileSync(boot, 'utf8'));
  try {
    return parseConfig(gunzipSync(readFileSync('/proc/config.gz')).toString('utf8'));
  } catch {
    return null;
  }
}

export function hostFacts(): KernelFacts {
  const cfg = hostConfig();
  return { spec: 'host', release: osRelease(), configHash: cfg ? configHash(cfg) : null, hz: cfg ? configHz(cfg) : null, accelerator: 'none', clock: 'host' };
}

function derivedDir(key: string): string {
  const d = join(kernelsDir(), 'derived', key);
  mkdirSync(d, { recursive: true });
  return d;
}

/** An ELF vmlinux for `image`: the image itself, or its payload extracted once into the cache. */
function elfFor(image: string): { vmlinux: string; workDir: string } {
  const st = statSync(image);
  const key = createHash('sha256').update(`${resolve(image)}\0${st.size}\0${st.mtimeMs}`).digest('hex').slice(0, 16);
  const workDir = derivedDir(key);
  const kind = imageKind(image);
  if (kind === 'elf') return { vmlinux: resolve(image), workDir };
  if (kind !== 'bzimage') throw new KernelError(`${image}: neither a bzImage nor an ELF vmlinux`);
  const out = join(workDir, 'vmlinux');
  if (!existsSync(out)) {
    const elf = extractVmlinux(image);
    writeFileSync(`${out}.part`, elf);
    renameSync(`${out}.part`, out);
  }
  return { vmlinux: out, workDir };
}

function findModulesRoot(root: string): string | null {
  for (const base of [join(root, 'lib', 'modules'), join(root, 'usr', 'lib', 'modules')]) {
    if (!existsSync(base)) continue;
    const rel = readdirSync(base).find((d) => existsSync(join(base, d, 'kernel')));
    if (rel) return join(base, rel);
  }
  return null;
}

/** An unpacked kernel package: boot/vmlinuz-*, boot/config-*, lib/modules/<release>. */
function fromPackage(spec: string, root: string): GuestKernel {
  const boot = join(root, 'boot');
  const images = existsSync(boot) ? readdirSync(boot).filter((f) => /^(vmlinuz|vmlinux|bzImage)/.test(f)) : [];
  const image = images[0];
  if (!image) throw new KernelError(`${root}: no boot/vmlinuz-* in this folder (is it an unpacked kernel package?)`);
  const { vmlinux, workDir } = elfFor(join(boot, image));
  const release = image.replace(/^(vmlinuz|vmlinux|bzImage)-?/, '') || bzImageRelease(join(boot, image)) || 'unknown';
  const cfgFile = readdirSync(boot).find((f) => f.startsWith('config-'));
  const config = cfgFile ? parseConfig(readFileSync(join(boot, cfgFile), 'utf8')) : null;
  return {
    kind: 'vm', spec, label: release, release, vmlinux, modulesDir: findModulesRoot(root), config,
    configSource: cfgFile ? join(boot, cfgFile) : null, workDir,
  };
}

/** A user's image: bzImage or vmlinux, from a build tree or anywhere. `configFile` overrides the search. */
function fromImage(spec: string, path: string, configFile?: string): GuestKernel {
  const { vmlinux, workDir } = elfFor(path);
  const elf = readFileSync(vmlinux);
  const release = vmlinuxRelease(elf) ?? bzImageRelease(path) ?? basename(path);
  let config: KernelConfig | null = null;
  let configSource: string | null = null;
  if (configFile) {
    config = parseConfig(readFileSync(configFile, 'utf8'));
    configSource = configFile;
  } else {
    const embedded = embeddedConfig(elf);
    if (embedded) {
      config = parseConfig(embedded);
      configSource = 'IKCONFIG';
    } else {
      // arch/x86/boot/bzImage or vmlinux at the top of a build tree.
      for (const c of [join(dirname(path), '.config'), join(dirname(path), '..', '..', '..', '.config')]) {
        if (existsSync(c)) {
          config = parseConfig(readFileSync(c, 'utf8'));
          configSource = resolve(c);
          break;
        }
      }
    }
  }
  // Modules of a build tree live beside their sources; a tree without =m options needs none.
  let modulesDir: string | null = null;
  if (config && [...config.values()].includes('m') && configSource && configSource !== 'IKCONFIG') modulesDir = dirname(configSource);
  return { kind: 'vm', spec, label: release, release, vmlinux, modulesDir, config, configSource, workDir };
}

export interface ResolveOptions {
  log?: (line: string) => void;
  /** A config file for a user's image without IKCONFIG or .config beside it. */
  configFile?: string;
}

export function resolveKernel(spec: string, opts: ResolveOptions = {}): KernelChoice {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  if (spec === 'host') return { kind: 'host', spec: 'host', label: 'host', release: osRelease() };
  if (spec.startsWith('debian:')) {
    const version = spec.slice('debian:'.length);
    if (!/^[0-9][0-9a-z.+~-]*$/.test(version)) throw new KernelError(`${spec}: a Debian kernel version looks like debian:6.1`);
    const k = fromPackage(spec, fetchDebianKernel(version, log));
    return { ...k, label: spec };
  }
  if (!existsSync(spec)) throw new KernelError(`--kernel ${spec}: no such file or folder (give host, a bzImage or vmlinux, an unpacked kernel package, or debian:<version>)`);
  if (statSync(spec).isDirectory()) return fromPackage(spec, resolve(spec));
  return fromImage(spec, resolve(spec), opts.configFile);
}

/** Facts of a guest kernel known before boot. */
export function guestFacts(k: GuestKernel, accelerator: string, clock: string): KernelFacts {
  return {
    spec: k.spec, release: k.release, configHash: k.config ? configHash(k.config) : null,
    hz: k.config ? configHz(k.config) : null, accelerator, clock,
  };
}
