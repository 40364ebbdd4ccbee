/**
 * The guest's initramfs: busybox-static, the kernel's own modules the
 * guest needs (dependencies first), and /init, which loads them, mounts the
 * host's root read-only over 9p with tmpfs /tmp and /run, mounts the
 * writable share at the host path it mirrors, and runs the boot script the
 * host left on the share. Built once per kernel and cached beside it.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpioArchive, S_IFCHR, S_IFDIR, S_IFREG, type CpioEntry } from './cpio.js';
import { GUEST_MODULES } from './kernel-config.js';
import type { GuestKernel } from './kernel.js';
import { resolveModules } from './modules.js';

export const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox'];

export class InitramfsError extends Error {}

export function findBusybox(): string {
  for (const p of BUSYBOX_CANDIDATES) {
    if (!existsSync(p)) continue;
    // A dynamically linked busybox cannot run from an initramfs without its libraries.
    const head = readFileSync(p).subarray(0, 4096);
    if (head.includes('ld-linux')) continue;
    return p;
  }
  throw new InitramfsError('no static busybox: apt-get install -y --no-install-recommends busybox-static');
}

/** Markers /init prints on the serial console for the host. */
export const MARK_READY = '@@tundrill-guest-ready';
export const MARK_EXIT = '@@tundrill-guest-exit';
export const MARK_FAIL = '@@tundrill-guest-failed';

/** The guest's /init (busybox sh). */
export function initScript(): string {
  return `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
fail() { echo "${MARK_FAIL} $*"; sync; reboot -f; }
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
while read -r m; do
  [ -n "$m" ] || continue
  insmod "/lib/modules/$m.ko" 2>/dev/null || grep -q "^$m " /proc/modules || echo "tundrill-guest: could not load module $m"
done < /modules.order
share=; boot=
for a in $(cat /proc/cmdline); do
  case "$a" in
    tundrill.share=*) share="\${a#*=}" ;;
    tundrill.boot=*) boot="\${a#*=}" ;;
  esac
done
[ -n "$share" ] && [ -n "$boot" ] || fail "no tundrill.share= or tundrill.boot= on the kernel command line"
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=512000 hostroot /host || fail "cannot mount the host root over 9p (virtio-mmio devices or 9p modules missing?)"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 share /share || fail "cannot mount the evidence share over 9p"
mount -t proc proc /host/proc || fail "cannot mount /proc in the host root"
mount -t sysfs sys /host/sys
mount -t devtmpfs dev /host/dev || fail "cannot mount /dev in the host root"
mkdir -p /host/dev/shm 2>/dev/null; mount -t tmpfs shm /host/dev/shm 2>/dev/null
mount -t tmpfs -o mode=1777 tmp /host/tmp || fail "cannot mount /tmp"
mount -t tmpfs -o mode=755 run /host/run || fail "cannot mount /run"
# A share under /tmp or /run lies in the guest's own tmpfs: make its mount point.
case "$share" in /tmp/*|/run/*) mkdir -p "/host$share" ;; esac
mount --bind /share "/host$share" || fail "cannot mount the share at $share"
echo "${MARK_READY} $(uname -r) $(cut -d' ' -f1 /proc/uptime)"
sh "/share/$boot"
echo "${MARK_EXIT} $?"
sync
reboot -f
`;
}

export interface Initramfs {
  path: string;
  modules: string[];
  absent: string[];
}

/** Build (or take from the cache) the initramfs for kernel `k`. */
export function buildInitramfs(k: GuestKernel): Initramfs {
  const busybox = findBusybox();
  const bb = readFileSync(busybox);
  const init = initScript();
  const { modules, absent } = k.modulesDir ? resolveModules(k.modulesDir, GUEST_MODULES) : { modules: [], absent: [] };
  const h = createHash('sha256').update(bb).update(init);
  for (const m of modules) h.update(m.name).update(m.bytes);
  const key = h.digest('hex').slice(0, 16);
  const path = join(k.workDir, `initramfs-${key}.cpio`);
  const names = modules.map((m) => m.name);
  if (existsSync(path)) return { path, modules: names, absent };
  const entries: CpioEntry[] = [
    ...['bin', 'dev', 'proc', 'sys', 'host', 'share', 'tmp', 'lib', 'lib/modules'].map((d) => ({ path: d, mode: S_IFDIR | 0o755 })),
    { path: 'dev/console', mode: S_IFCHR | 0o600, rdev: [5, 1] },
    { path: 'bin/busybox', mode: S_IFREG | 0o755, data: bb },
    { path: 'init', mode: S_IFREG | 0o755, data: init },
    { path: 'modules.order', mode: S_IFREG | 0o644, data: names.join('\n') + '\n' },
    ...modules.map((m) => ({ path: `lib/modules/${m.name}.ko`, mode: S_IFREG | 0o644, data: m.bytes })),
  ];
  writeFileSync(`${path}.part`, cpioArchive(entries));
  renameSync(`${path}.part`, path);
  return { path, modules: names, absent };
}
