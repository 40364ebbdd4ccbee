/**
 * Interface counters and root qdisc numbers read over rtnetlink
 * (src/backend/rtnetlink.ts) against what `ip -s -j link show` and
 * `tc -s -j qdisc show` print for the same devices, in a fresh network
 * namespace: a veth whose token-bucket qdisc holds and drops packets, a tun
 * without a reader (no address), and lo.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function skipReason(): string | null {
  if (process.platform !== 'linux') return 'needs Linux';
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  if (spawnSync('unshare', ['--version']).status !== 0) return 'no unshare(1)';
  if (spawnSync('ip', ['-V']).status !== 0) return 'no ip(8)';
  if (spawnSync('tc', ['-V']).status !== 0) return 'no tc(8)';
  return null;
}

const reason = skipReason();
if (reason) console.warn(`skipping rtnetlink integration test: ${reason}`);

const CHILD = `
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { addAddress, hasLocalRoute, readLinkCounters, readQdiscs, replaceRoute, setLink } from './backend/rtnetlink.js';
const sh = (c) => execFileSync('sh', ['-c', c], { encoding: 'utf8' });
// No IPv6 in the namespace: the kernel's own MLD and neighbour solicitations
// (86 bytes) would join the token bucket's queue between the two reads.
sh('sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1' +
  ' && ip link add d0 type veth peer name d1 && ip link set d1 up && ip link set d0 up && ip addr add 192.0.2.1/24 dev d0' +
  ' && ip neigh add 192.0.2.7 lladdr 02:00:00:00:00:07 dev d0' +
  ' && tc qdisc add dev d0 root tbf rate 1kbit burst 1600 limit 3000' +
  ' && ip tuntap add t0 mode tun && ip link set t0 up');
const s = dgram.createSocket('udp4');
for (let i = 0; i < 40; i++) await new Promise((r) => s.send(Buffer.alloc(200), 9, '192.0.2.7', r));
s.close();
const out = {};
for (const dev of ['d0', 't0', 'lo']) {
  const link = readLinkCounters(dev);
  const qdiscs = readQdiscs(link.ifindex);
  out[dev] = { link, qdiscs, ip: JSON.parse(sh('ip -s -j link show dev ' + dev))[0], tc: JSON.parse(sh('tc -s -j qdisc show dev ' + dev)) };
}
try { readLinkCounters('nope0'); } catch (e) { out.missing = { message: e.message, errno: e.errno }; }
// Set-up as a run does it, read back with ip.
sh('ip tuntap add t1 mode tun');
setLink('t1', { mtu: 1400 });
setLink('t1', { up: true });
addAddress({ family: 'inet', address: '198.51.100.1', prefixLen: 24, dev: 't1' });
replaceRoute({ family: 'inet', prefix: '198.51.100.9', prefixLen: 32, dev: 't1' });
replaceRoute({ family: 'inet', prefix: '203.0.113.0', prefixLen: 24, dev: 't1', gateway: '198.51.100.9' });
replaceRoute({ family: 'inet', prefix: '203.0.113.0', prefixLen: 24, dev: 't1', gateway: '198.51.100.9' });
out.setup = {
  link: JSON.parse(sh('ip -j link show dev t1'))[0],
  addr: JSON.parse(sh('ip -j addr show dev t1'))[0].addr_info,
  routes: JSON.parse(sh('ip -j route show dev t1')),
  local: hasLocalRoute('inet', '198.51.100.1'),
  notLocal: hasLocalRoute('inet', '198.51.100.2'),
};
try { replaceRoute({ family: 'inet', prefix: '203.0.113.1', prefixLen: 24, dev: 't1', gateway: '198.51.100.9' }); } catch (e) { out.setup.refused = e.message; }
console.log(JSON.stringify(out));
`;

describe.skipIf(reason !== null)('rtnetlink counters and qdiscs against ip and tc', () => {
  const outDir = path.join(root, 'node_modules', '.cache', `tundrill-rtnetlink-test-${process.pid}`);

  beforeAll(() => {
    writeFileSync(path.join(mkdirDir(outDir), 'package.json'), '{ "type": "module" }\n');
    for (const [dir, name] of [['backend', 'rtnetlink'], ['native', 'addon'], ['packet', 'address']] as const) {
      const source = readFileSync(path.join(root, 'src', dir, `${name}.ts`), 'utf8');
      const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 }, fileName: `${name}.ts` });
      writeFileSync(path.join(mkdirDir(path.join(outDir, dir)), `${name}.js`), js.outputText);
    }
    writeFileSync(path.join(outDir, 'child.mjs'), CHILD);
  });
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it('reads the numbers ip and tc print, and names a missing interface', () => {
    const child = spawnSync('unshare', ['--net', process.execPath, path.join(outDir, 'child.mjs')], { encoding: 'utf8', timeout: 60_000 });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    type Dev = {
      link: { ifindex: number; mac: string; txPackets: number; txDropped: number; rxPackets: number; rxDropped: number };
      qdiscs: Array<{ kind: string; root: boolean; qlen: number; backlog: number; drops: number }>;
      ip: { ifindex: number; address?: string; stats64: { rx: { packets: number; dropped: number }; tx: { packets: number; dropped: number } } };
      tc: Array<{ kind: string; root?: boolean; qlen: number; backlog: number; drops: number }>;
    };
    const out = JSON.parse(child.stdout.trim().split('\n').pop()!) as Record<string, Dev> & { missing: { message: string; errno: number } };
    for (const dev of ['d0', 't0', 'lo']) {
      const { link, qdiscs, ip, tc } = out[dev]!;
      expect(link, dev).toEqual({
        ifindex: ip.ifindex, mac: ip.address ?? '',
        txPackets: ip.stats64.tx.packets, txDropped: ip.stats64.tx.dropped, rxPackets: ip.stats64.rx.packets, rxDropped: ip.stats64.rx.dropped,
      });
      expect(qdiscs, dev).toEqual(tc.map((q) => ({ kind: q.kind, root: q.root === true, qlen: q.qlen, backlog: q.backlog, drops: q.drops })));
    }
    // The token bucket (one 250-byte packet every 2 s past its burst, so nothing moves between the two reads)
    // let a few packets out, holds some and dropped the rest: every figure is exercised.
    const tbf = out.d0!.qdiscs[0]!;
    expect(tbf.kind).toBe('tbf');
    expect(tbf.root).toBe(true);
    expect(tbf.qlen).toBeGreaterThan(0);
    expect(tbf.backlog).toBeGreaterThan(0);
    expect(tbf.drops).toBeGreaterThan(0);
    expect(out.d0!.link.txPackets).toBeGreaterThan(0);
    expect(out.d0!.link.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    expect(out.t0!.link.mac).toBe('');
    expect(out.missing.errno).toBe(19);
    expect(out.missing.message).toMatch(/^RTM_GETLINK nope0: /);

    // Set-up: what ip reads back is what the steps asked for; replacing a route twice is no error.
    const setup = (out as unknown as { setup: {
      link: { mtu: number; flags: string[] }; addr: Array<{ family: string; local: string; prefixlen: number }>;
      routes: Array<{ dst: string; gateway?: string; scope?: string }>; local: boolean; notLocal: boolean; refused: string;
    } }).setup;
    expect(setup.link.mtu).toBe(1400);
    expect(setup.link.flags).toContain('UP');
    expect(setup.addr.filter((a) => a.family === 'inet')).toMatchObject([{ local: '198.51.100.1', prefixlen: 24 }]);
    expect(setup.routes).toEqual(expect.arrayContaining([
      expect.objectContaining({ dst: '198.51.100.9', scope: 'link' }),
      expect.objectContaining({ dst: '203.0.113.0/24', gateway: '198.51.100.9' }),
    ]));
    expect(setup.routes.filter((r) => r.dst === '203.0.113.0/24')).toHaveLength(1);
    expect([setup.local, setup.notLocal]).toEqual([true, false]);
    // A prefix with host bits set: one line, the command as ip would take it and the kernel's reason.
    expect(setup.refused).toBe('route replace 203.0.113.1/24 dev t1 via 198.51.100.9: Invalid argument');
  });
});

function mkdirDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}
