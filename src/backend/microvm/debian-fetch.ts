/**
 * `debian:<version>`: the newest generic amd64 kernel package of that
 * version the machine's apt sources offer, downloaded with `apt-get
 * download`, unpacked with `dpkg-deb -x` and kept in the cache.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kernelsDir } from './cache.js';

export class KernelFetchError extends Error {}

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Package names for `version` (e.g. "6.1" or "6.1.0-57"), newest first; generic flavour only. */
export function debianPackageCandidates(version: string, names: string[]): string[] {
  const re = new RegExp(`^linux-image-(${esc(version)}(?:[.-][0-9]+)*)-amd64$`);
  const abi = (n: string): number[] => (re.exec(n)![1]!.match(/\d+/g) ?? []).map(Number);
  return names.filter((n) => re.test(n)).sort((a, b) => {
    const x = abi(a);
    const y = abi(b);
    for (let i = 0; i < Math.max(x.length, y.length); i++) {
      const d = (y[i] ?? -1) - (x[i] ?? -1);
      if (d !== 0) return d;
    }
    return 0;
  });
}

export function debianCacheDir(pkg: string): string {
  return join(kernelsDir(), `debian-${pkg.replace(/^linux-image-/, '')}`);
}

/** The unpacked package folder for `debian:<version>`, fetched when not cached. */
export function fetchDebianKernel(version: string, log: (line: string) => void): string {
  // A cached package of that version answers without asking apt.
  const root = kernelsDir();
  if (existsSync(root)) {
    const cachedNames = readdirSync(root).filter((d) => d.startsWith('debian-') && existsSync(join(root, d, '.complete')))
      .map((d) => `linux-image-${d.slice('debian-'.length)}`);
    const best = debianPackageCandidates(version, cachedNames)[0];
    if (best && process.env.TUNDRILL_KERNEL_REFRESH !== '1') return debianCacheDir(best);
  }
  const list = spawnSync('apt-cache', ['pkgnames', 'linux-image-'], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (list.error) throw new KernelFetchError(`debian:${version}: apt-cache is not available (${list.error.message}); unpack a kernel package yourself and pass its folder`);
  const pkg = debianPackageCandidates(version, list.stdout.split('\n'))[0];
  if (!pkg) throw new KernelFetchError(`debian:${version}: no linux-image-${version}*-amd64 package in the apt sources (try apt-get update, or another version)`);
  const dest = debianCacheDir(pkg);
  if (existsSync(join(dest, '.complete'))) return dest;
  mkdirSync(root, { recursive: true });
  const work = mkdtempSync(join(root, '.fetch-'));
  try {
    log(`tundrill: fetching ${pkg} with apt-get download`);
    const dl = spawnSync('apt-get', ['download', '-q', pkg], { cwd: work, encoding: 'utf8' });
    const deb = readdirSync(work).find((f) => f.endsWith('.deb'));
    if (dl.status !== 0 || !deb) throw new KernelFetchError(`debian:${version}: apt-get download ${pkg} failed: ${(dl.stderr || dl.stdout).trim().split('\n').pop() ?? ''}`);
    const unpacked = join(work, 'root');
    const x = spawnSync('dpkg-deb', ['-x', join(work, deb), unpacked], { encoding: 'utf8' });
    if (x.status !== 0) throw new KernelFetchError(`debian:${version}: dpkg-deb -x ${deb} failed: ${x.stderr.trim()}`);
    writeFileSync(join(unpacked, '.complete'), `${deb}\n`);
    rmSync(dest, { recursive: true, force: true });
    renameSync(unpacked, dest);
    return dest;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
