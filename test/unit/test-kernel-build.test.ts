/**
 * The test-kernel build's inputs: the tun patch is the one-line removal of
 * skb_orphan() from tun_net_xmit, the config fragment keeps what the
 * microVM and the scenarios need, and the script refuses bad arguments
 * with packetdrill's usage status before it touches anything.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCRIPT = join(ROOT, 'kernels', 'build-test-kernel.sh');

describe('kernels/patches/tun-no-skb-orphan.patch', () => {
  const text = readFileSync(join(ROOT, 'kernels', 'patches', 'tun-no-skb-orphan.patch'), 'utf8');
  const body = text.slice(text.indexOf('--- a/'));
  const lines = body.split('\n');

  it('touches drivers/net/tun.c only', () => {
    expect(lines.filter((l) => l.startsWith('--- ') || l.startsWith('+++ '))).toEqual(['--- a/drivers/net/tun.c', '+++ b/drivers/net/tun.c']);
  });

  it('removes the one skb_orphan(skb) call and adds nothing', () => {
    const removed = lines.filter((l) => l.startsWith('-') && !l.startsWith('---'));
    const added = lines.filter((l) => l.startsWith('+') && !l.startsWith('+++'));
    expect(removed).toEqual(['-\tskb_orphan(skb);']);
    expect(added).toEqual([]);
  });

  it("its context is tun_net_xmit's: the comment on orphaning before the ring", () => {
    expect(body).toContain(' \t/* Orphan the skb - required as we might hang on to it');
    expect(body).toContain(' \tnf_reset_ct(skb);');
    const hunk = /^@@ -(\d+),(\d+) \+(\d+),(\d+) @@/m.exec(body);
    expect(hunk).not.toBeNull();
    expect(Number(hunk![2]) - Number(hunk![4])).toBe(1);
  });
});

describe('kernels/microvm.config', () => {
  const text = readFileSync(join(ROOT, 'kernels', 'microvm.config'), 'utf8');
  const on = new Set(text.split('\n').flatMap((l) => (/^(CONFIG_\w+)=y$/.exec(l)?.[1] ? [/^(CONFIG_\w+)=y$/.exec(l)![1]!] : [])));
  const off = new Set(text.split('\n').flatMap((l) => (/^# (CONFIG_\w+) is not set$/.exec(l)?.[1] ? [/^# (CONFIG_\w+) is not set$/.exec(l)![1]!] : [])));

  it('builds in what the microVM boot needs, without ACPI or modules', () => {
    for (const o of ['CONFIG_PVH', 'CONFIG_VIRTIO_MMIO', 'CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES', 'CONFIG_NET_9P_VIRTIO', 'CONFIG_9P_FS', 'CONFIG_BLK_DEV_INITRD', 'CONFIG_DEVTMPFS', 'CONFIG_TMPFS', 'CONFIG_SERIAL_8250_CONSOLE', 'CONFIG_FUTEX', 'CONFIG_EPOLL']) expect(on, o).toContain(o);
    for (const o of ['CONFIG_ACPI', 'CONFIG_MODULES', 'CONFIG_EXPERT']) expect(off, o).toContain(o);
  });

  it('builds in what the scenarios and evidence need, and the config readable from the image', () => {
    for (const o of ['CONFIG_TUN', 'CONFIG_VETH', 'CONFIG_PACKET', 'CONFIG_NET_NS', 'CONFIG_INET_DIAG', 'CONFIG_INET_TCP_DIAG', 'CONFIG_PACKET_DIAG',
      'CONFIG_NET_SCH_TBF', 'CONFIG_NET_SCH_NETEM', 'CONFIG_NET_SCH_FQ', 'CONFIG_NET_SCH_PRIO', 'CONFIG_NET_SCH_FQ_CODEL', 'CONFIG_TCP_CONG_CUBIC',
      'CONFIG_IKCONFIG', 'CONFIG_IKCONFIG_PROC']) expect(on, o).toContain(o);
  });

  it('names each option once, and never both on and off', () => {
    const names = text.split('\n').flatMap((l) => /(CONFIG_\w+)(=| is not set)/.exec(l)?.[1] ?? []);
    expect(new Set(names).size).toBe(names.length);
    for (const o of on) expect(off.has(o), o).toBe(false);
  });
});

describe('kernels/build-test-kernel.sh arguments', () => {
  const run = (...args: string[]) => spawnSync('bash', [SCRIPT, ...args], { encoding: 'utf8', env: { ...process.env, TUNDRILL_CACHE: '/nonexistent-tundrill-cache' } });

  it('an unknown option is a usage error (2) with the usage text', () => {
    const r = run('--frobnicate');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown argument '--frobnicate'");
    expect(r.stderr).toContain('usage: kernels/build-test-kernel.sh');
  });

  it('-j wants a number', () => {
    const r = run('-j', 'many');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("-j wants a number, got 'many'");
  });

  it('a patch that does not exist is named, before any work', () => {
    const r = run('--patch', 'no-such-patch');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/no patch 'no-such-patch' \(neither a file nor .*kernels\/patches\/no-such-patch\.patch\)/);
  });

  it('a missing source tarball is an unsuitable environment (4) with the apt-get line', () => {
    const r = run('--source', '/nonexistent/linux-source-6.1.tar.xz');
    expect(r.status).toBe(4);
    expect(r.stderr).toContain('/nonexistent/linux-source-6.1.tar.xz');
    expect(r.stderr).toContain('apt-get install --no-install-recommends linux-source-6.1');
  });
});
