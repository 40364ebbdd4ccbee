/**
 * `tundrill doctor` checks by doing, and names the fix for each missing
 * permission. The permissions are taken away here as a container would lack
 * them: capabilities dropped from the bounding set (setpriv), /proc/sys
 * read-only and /dev/net/tun absent in a private mount namespace.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureBuilt, ROOT } from '../helpers/cli.js';

const skip = inject('integrationSkip');
const CLI = join(ROOT, 'bin', 'tundrill.js');

beforeAll(() => ensureBuilt(), 180_000);

function doctor(prefix: string[]): { code: number | null; out: string } {
  const r = spawnSync(prefix[0]!, [...prefix.slice(1), process.execPath, CLI, 'doctor'], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout + r.stderr };
}

function failing(out: string): string[] {
  return out.split('\n').filter((l) => /^\s+FAIL /.test(l));
}

describe.skipIf(skip !== null)('doctor names what is missing and the flag that fixes it', () => {
  it('all well here', () => {
    const r = doctor(['env']);
    expect(failing(r.out)).toEqual([]);
    expect(r.code).toBe(0);
  });

  it.each([
    ['CAP_NET_ADMIN', ['setpriv', '--bounding-set=-net_admin', '--'], /FAIL TUN device: .*TUNSETIFF.*EPERM/, /fix: .*--cap-add=NET_ADMIN/],
    ['CAP_SYS_ADMIN', ['setpriv', '--bounding-set=-sys_admin', '--'], /FAIL network namespace: unshare --net failed/, /fix: .*--cap-add=SYS_ADMIN/],
    ['CAP_SYS_NICE', ['setpriv', '--bounding-set=-sys_nice', '--'], /FAIL real-time priority: .*EPERM/, /fix: .*--cap-add=SYS_NICE plus --cpu-rt-runtime=/],
    ['a writable /proc/sys', ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', 'mount -o bind,ro /proc/sys /proc/sys && exec "$@"', 'sh'],
      /FAIL namespace sysctls: .*EROFS/, /fix: .*systempaths=unconfined/],
    ['/dev/net/tun', ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', 'mount -t tmpfs none /dev/net && exec "$@"', 'sh'],
      /FAIL TUN device: .*open \/dev\/net\/tun.*ENOENT/, /fix: .*--device \/dev\/net\/tun/],
  ])('without %s: exit 4, the failure and its fix', (_what, prefix, failure, fix) => {
    const r = doctor(prefix as string[]);
    expect(r.code).toBe(4);
    expect(r.out).toMatch(failure);
    expect(r.out).toMatch(fix);
  });

  it('cubic not allowed by the host: a warning (exit 0) whose fix is on the host', () => {
    // The host's setting is shared by everything on the machine: doctor is
    // shown another value in a private mount namespace instead.
    const dir = mkdtempSync(join(tmpdir(), 'tundrill-doctor-'));
    try {
      writeFileSync(join(dir, 'allowed'), 'reno\n');
      const r = doctor(['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c',
        'mount --bind "$0" /proc/sys/net/ipv4/tcp_allowed_congestion_control && exec "$@"', join(dir, 'allowed')]);
      expect(failing(r.out)).toEqual([]);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^ {2}warn cubic allowed in namespaces: net\.ipv4\.tcp_allowed_congestion_control = reno$/m);
      expect(r.out).toMatch(/^ {8}fix: on the host \(.*\): tundrill doctor --fix, or: sysctl -w .*cubic"$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('run warns once when real-time priority is unavailable', () => {
    const r = spawnSync('setpriv', ['--bounding-set=-sys_nice', '--', process.execPath, CLI, 'run', '--no-capture', '--ip_version=ipv4',
      join(ROOT, 'test', 'fixtures', 'scripts', 'pass', 'active-open.pkt'), join(ROOT, 'test', 'fixtures', 'scripts', 'pass', 'passive-open.pkt')], { encoding: 'utf8', timeout: 120_000 });
    expect(r.stderr.split('\n').filter((l) => l.includes('warning: no real-time priority'))).toHaveLength(1);
  });
});
