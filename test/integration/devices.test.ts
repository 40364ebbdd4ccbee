/**
 * The same scripts over each device (tun drained, tun-lazy, veth), through
 * the real CLI: verdicts, Ethernet captures from veth, tun's queue on
 * tun-lazy, and the comparison of --device all.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LINKTYPE_ETHERNET, networkPayload, readCaptureSync } from '../../src/evidence/pcap-reader.js';
import { decodePacket } from '../../src/packet/index.js';
import { ensureBuilt, FIXTURES, tundrill } from '../helpers/cli.js';

function skipReason(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (namespaces, TUN, veth)';
  if (!existsSync('/dev/net/tun')) return 'no /dev/net/tun';
  if (spawnSync('ip', ['-V']).status !== 0 || spawnSync('tc', ['-V']).status !== 0) return 'needs ip(8) and tc(8)';
  return null;
}
const reason = skipReason();
if (reason) console.warn(`skipping device integration tests: ${reason}`);

interface JsonReport { runs: Array<{ verdict: string; firstError: { line: number } | null; device: { kind: string; numbers: Record<string, number | string> } | null; evidence: { capture?: string } }> }

describe.skipIf(reason !== null)('devices between kernel and harness', () => {
  let dir = '';
  beforeAll(() => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'tundrill-devices-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const runJson = async (device: string, script: string, variant: string): Promise<{ code: number | null; report: JsonReport; stderr: string }> => {
    const json = join(dir, `${device}-${variant}.json`);
    const r = await tundrill(['run', '--device', device, '--capture-dir', dir, `--ip_version=${variant}`, '--json', json, script]);
    return { code: r.code, report: JSON.parse(readFileSync(json, 'utf8')) as JsonReport, stderr: r.stderr };
  };

  it('veth: a passive open passes, and the capture is Ethernet with every packet annotated', async () => {
    const { code, report, stderr } = await runJson('veth', join(FIXTURES, 'pass', 'passive-open.pkt'), 'ipv6');
    expect(code, stderr).toBe(0);
    const res = report.runs[0]!;
    expect(res.device?.kind).toBe('veth');
    expect(res.evidence.capture).toMatch(/_veth\.pcapng$/);
    const cap = readCaptureSync(res.evidence.capture!);
    expect(cap.interfaces[0]!.linkType).toBe(LINKTYPE_ETHERNET);
    const tcp = cap.packets.map((p) => ({ p, d: decodePacket(networkPayload(cap, p)) })).filter((x) => x.d.tcp);
    // The script's 10 packets: 5 injected, 5 sent by the kernel, each on its line.
    expect(tcp.filter((x) => x.p.direction === 'in')).toHaveLength(5);
    expect(tcp.filter((x) => x.p.direction === 'out')).toHaveLength(5);
    expect(tcp.every((x) => x.p.comments.some((c) => /script line \d+/.test(c)))).toBe(true);
    // Ethernet: injected frames go to tun0's address; the kernel's come from it (NOARP: to it as well).
    const out = tcp.find((x) => x.p.direction === 'out')!.p.data;
    const inj = tcp.find((x) => x.p.direction === 'in')!.p.data;
    expect(out.subarray(6, 12).equals(inj.subarray(0, 6))).toBe(true);
    expect(out.subarray(0, 6).equals(out.subarray(6, 12))).toBe(true);
    expect(out.readUInt16BE(12)).toBe(0x86dd);
  }, 60_000);

  it('veth: segments larger than the MTU are taken whole and ACKed as over tun', async () => {
    const script = join(FIXTURES, 'pass', 'larger-than-mtu.pkt');
    const tun = await runJson('tun', script, 'ipv6');
    const veth = await runJson('veth', script, 'ipv6');
    expect(tun.code, tun.stderr).toBe(0);
    expect(veth.code, veth.stderr).toBe(0);
    const tcpOf = (r: JsonReport) => {
      const cap = readCaptureSync(r.runs[0]!.evidence.capture!);
      return cap.packets
        .map((p) => ({ dir: p.direction, d: decodePacket(networkPayload(cap, p), { verifyChecksums: true }) }))
        .filter((x) => x.d.tcp);
    };
    const tunTcp = tcpOf(tun.report);
    const vethTcp = tcpOf(veth.report);
    // The two segments went in whole, as the script built them (full checksums in the capture).
    const big = vethTcp.filter((x) => x.dir === 'in' && x.d.payload.length > 1500);
    expect(big.map((x) => x.d.payload.length)).toEqual([10000, 20000]);
    expect(big.every((x) => x.d.l4ChecksumOk === true)).toBe(true);
    // The kernel ACKed each at once, on both devices.
    const acks = (xs: typeof tunTcp) => xs.filter((x) => x.dir === 'out' && x.d.payload.length === 0 && !x.d.tcp!.fin && !x.d.tcp!.syn);
    const tunAcks = acks(tunTcp);
    const vethAcks = acks(vethTcp);
    expect(vethAcks.map((x) => x.d.tcp!.ack - vethAcks[0]!.d.tcp!.ack)).toEqual(tunAcks.map((x) => x.d.tcp!.ack - tunAcks[0]!.d.tcp!.ack));
    // The windows they carry come from the receive buffer's accounting: over
    // veth the packet socket's skb head is a little larger than tun's, which
    // may cost up to one MSS; a gso_size the kernel took for the peer's
    // segment size (1460 instead of the length) would cost several.
    for (const [i, a] of vethAcks.entries()) {
      expect(Math.abs(a.d.tcp!.window - tunAcks[i]!.d.tcp!.window)).toBeLessThanOrEqual(1460);
    }
  }, 90_000);

  it('veth: a failing script fails at the same line as over tun', async () => {
    const veth = await runJson('veth', join(FIXTURES, 'fail', 'wrong-ack.pkt'), 'ipv4');
    expect(veth.code).toBe(1);
    expect(veth.report.runs[0]!.firstError?.line).toBe(13);
  }, 60_000);

  it('tun-lazy: packets are observed through AF_PACKET while tun0 is read only as the engine takes them', async () => {
    const { code, report, stderr } = await runJson('tun-lazy', join(FIXTURES, 'pass', 'passive-open.pkt'), 'ipv4');
    expect(code, stderr).toBe(0);
    const n = report.runs[0]!.device!.numbers;
    // The engine took the script's five outbound packets (and any it passed over, such as
    // tun0's router solicitation), one read of tun0 each; the rest stays in tun's queue.
    const read = Number(n['read from tun by the harness']);
    const sent = Number(n['sent to tun (AF_PACKET, outgoing)']);
    expect(read).toBeGreaterThanOrEqual(5);
    expect(sent).toBeGreaterThanOrEqual(read);
    expect(n['left in tun queue']).toBe(sent - read - Number(n['tun tx_dropped']));
  }, 60_000);

  it('--device all prints one comparison table per script line', async () => {
    const r = await tundrill(['run', '--device', 'all', '--capture-dir', dir, '--ip_version=ipv4', join(FIXTURES, 'pass', 'active-open.pkt')]);
    expect(r.stdout).toMatch(/#### active-open\.pkt \(ipv4\) on tun, tun-lazy, veth: \d+ row\(s\) differ/);
    expect(r.stdout).toMatch(/== line 5: \+0 > S 0:0\(0\) <\.\.\.>\n\s+tun\s+tun-lazy\s+veth/);
    expect(r.stdout).toMatch(/== MIB counters \(difference over the run\)[\s\S]*TcpActiveOpens\s+1\s+1\s+1/);
  }, 90_000);
});
