import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCapture, readCapture, readCaptureSync } from '../../src/evidence/pcap-reader.js';
import { PcapngWriter, captureFormatFor, monoToRealtimeOffsetNs, type CapturePacket } from '../../src/evidence/pcapng.js';
import { encodePacket, encodeQuoted } from '../../src/packet/index.js';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function toolAvailable(tool: string): boolean {
  const r = spawnSync(tool, ['--version'], { encoding: 'utf8' });
  return r.error === undefined && r.status === 0;
}

const haveTcpdump = toolAvailable('tcpdump');
const haveTshark = toolAvailable('tshark');
if (!haveTcpdump || !haveTshark) {
  const missing = [haveTcpdump ? null : 'tcpdump', haveTshark ? null : 'tshark'].filter(Boolean).join(' and ');
  console.warn(
    `pcapng-writer tests: ${missing} not installed, skipping the checks that open captures with the real tools ` +
      `(install with: DEBIAN_FRONTEND=noninteractive apt-get install -y tcpdump tshark)`,
  );
}

function run(tool: string, args: string[]): string {
  return execFileSync(tool, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Name of the packet comment field in this tshark: frame.comment (3.6+), pkt_comment before. */
let commentField: string | undefined;
function tsharkCommentField(file: string): string {
  if (commentField !== undefined) return commentField;
  for (const f of ['frame.comment', 'pkt_comment']) {
    const r = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', f, '-c', '1'], { encoding: 'utf8' });
    if (r.status === 0) {
      commentField = f;
      return f;
    }
  }
  throw new Error('tshark knows neither frame.comment nor pkt_comment');
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tundrill-pcapng-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const T0 = 1_000_000_000_000n; // an arbitrary CLOCK_MONOTONIC instant
const OFFSET = 1_700_000_000_000_000_000n - T0; // makes T0 = 2023-11-14T22:13:20Z

function samplePackets(): CapturePacket[] {
  return [
    {
      data: encodePacket({
        ipv4: { src: '192.0.2.1', dst: '192.168.0.1' },
        tcp: { srcPort: 41234, dstPort: 8080, flags: 'S', window: 32792, options: [{ type: 'mss', mss: 1000 }] },
      }),
      tsNs: T0,
      direction: 'in',
      comment: 'script line 12: < S 0:0(0) win 32792 <mss 1000>',
    },
    {
      data: encodePacket({
        ipv4: { src: '192.168.0.1', dst: '192.0.2.1' },
        tcp: {
          srcPort: 8080,
          dstPort: 41234,
          flags: 'S.',
          seq: 1234,
          ackSeq: 1,
          window: 65535,
          options: [{ type: 'mss', mss: 1460 }, { type: 'sackOK' }, { type: 'timestamp', val: 100, ecr: 0 }, { type: 'nop' }, { type: 'wscale', shift: 7 }],
        },
      }),
      tsNs: T0 + 1_500n,
      direction: 'out',
      comment: 'script line 13: > S. 0:0(0) ack 1 <...>',
    },
    {
      data: encodePacket({
        ipv4: { src: '192.168.0.1', dst: '192.0.2.1' },
        tcp: { srcPort: 8080, dstPort: 41234, flags: 'F.', seq: 1235, ackSeq: 1, window: 502 },
      }),
      tsNs: T0 + 250_000_000n,
      direction: 'out',
      comment: 'unexpected outbound packet — ünïcödé',
    },
    {
      data: encodePacket({ ipv4: { src: '192.0.2.1', dst: '192.168.0.1' }, udp: { srcPort: 5000, dstPort: 9 }, payload: Buffer.from('hello') }),
      tsNs: T0 + 300_000_000n,
    },
    {
      data: encodePacket({
        ipv4: { src: '192.0.2.1', dst: '192.168.0.1' },
        icmpv4: { type: 3, code: 4, mtu: 1200 },
        payload: encodeQuoted({ ipv4: { src: '192.168.0.1', dst: '192.0.2.1' }, tcp: { srcPort: 8080, dstPort: 41234, seq: 1 }, payload: 1460 }),
      }),
      tsNs: T0 + 400_000_000n,
      direction: 'in',
      comment: 'script line 20: < icmp unreachable frag_needed mtu 1200',
    },
    {
      data: encodePacket({
        ipv6: { src: 'fd3d:fa7b:d17d::1', dst: 'fd3d:a0b:17d6::1' },
        tcp: { srcPort: 41234, dstPort: 8080, flags: 'P.', seq: 1, ackSeq: 1, window: 257 },
        payload: 1000,
      }),
      tsNs: T0 + 1_000_000_001n,
      direction: 'in',
      comment: 'script line 30: < P. 1:1001(1000) ack 1 win 257',
    },
  ];
}

async function writeSample(file: string, extra: Partial<Parameters<typeof PcapngWriter.open>[1]> = {}): Promise<CapturePacket[]> {
  const pkts = samplePackets();
  const w = await PcapngWriter.open(file, { monoToRealtimeOffsetNs: OFFSET, sectionComment: 'closing.pkt (ipv4)', ...extra });
  for (const p of pkts) w.write(p);
  await w.close();
  return pkts;
}

describe('PcapngWriter output, read back', () => {
  it('writes section, interface and packet blocks with directions, comments and real-time stamps', async () => {
    const file = path.join(dir, 'sample.pcapng');
    const pkts = await writeSample(file);
    const cap = await readCapture(file);
    expect(cap.format).toBe('pcapng');
    expect(cap.sectionComments).toEqual(['closing.pkt (ipv4)']);
    expect(cap.userAppl).toBe('tundrill');
    expect(cap.interfaces).toEqual([{ linkType: 101, snaplen: 262144, name: 'tun0', unitsPerSecond: 1_000_000_000n }]);
    expect(cap.packets.length).toBe(pkts.length);
    cap.packets.forEach((rec, i) => {
      const p = pkts[i]!;
      expect(rec.data).toEqual(Buffer.from(p.data));
      expect(rec.originalLength).toBe(p.data.length);
      expect(rec.tsNs).toBe((p.tsNs as bigint) + OFFSET);
      expect(rec.direction).toBe(p.direction);
      expect(rec.comments).toEqual(p.comment === undefined ? [] : [p.comment]);
    });
    expect(new Date(Number(cap.packets[0]!.tsNs / 1_000_000n)).toISOString()).toBe('2023-11-14T22:13:20.000Z');
  });

  it('writes classic pcap for a .pcap name, without comments', async () => {
    expect(captureFormatFor('x/run.pcap')).toBe('pcap');
    expect(captureFormatFor('x/run.pcapng')).toBe('pcapng');
    const file = path.join(dir, 'sample.pcap');
    const pkts = await writeSample(file);
    const cap = readCaptureSync(file);
    expect(cap.format).toBe('pcap');
    expect(cap.interfaces[0]).toMatchObject({ linkType: 101, unitsPerSecond: 1_000_000_000n });
    expect(cap.packets.map((r) => r.data)).toEqual(pkts.map((p) => Buffer.from(p.data)));
    expect(cap.packets.map((r) => r.tsNs)).toEqual(pkts.map((p) => (p.tsNs as bigint) + OFFSET));
    expect(cap.packets.every((r) => r.comments.length === 0 && r.direction === undefined)).toBe(true);
  });

  it('cuts packets to the snapshot length but records their full length', async () => {
    const file = path.join(dir, 'snap.pcapng');
    const w = await PcapngWriter.open(file, { snaplen: 60, monoToRealtimeOffsetNs: 0n });
    const big = encodePacket({ ipv4: { src: '1.1.1.1', dst: '2.2.2.2' }, tcp: {}, payload: 500 });
    w.write({ data: big, tsNs: 1n, direction: 'out' });
    await w.close();
    const rec = (await readCapture(file)).packets[0]!;
    expect(rec.data.length).toBe(60);
    expect(rec.originalLength).toBe(540);
  });

  it('keeps every packet of a long run written in many background chunks', async () => {
    const file = path.join(dir, 'many.pcapng');
    const w = await PcapngWriter.open(file, { flushThresholdBytes: 4096, monoToRealtimeOffsetNs: 0n });
    const n = 20000;
    const base = encodePacket({ ipv4: { src: '192.168.0.1', dst: '192.0.2.1' }, tcp: { flags: 'P.', window: 1 }, payload: 100 });
    for (let i = 0; i < n; i++) {
      const data = Buffer.from(base);
      data.writeUInt32BE(i, 24); // seq = i
      w.write({ data, tsNs: BigInt(i), direction: i % 2 === 0 ? 'in' : 'out', comment: i % 3 === 0 ? `packet ${i}` : undefined });
      if (i % 5000 === 0) await new Promise((r) => setImmediate(r));
    }
    expect(w.packetCount).toBe(n);
    await w.close();
    const cap = await readCapture(file);
    expect(cap.packets.length).toBe(n);
    for (let i = 0; i < n; i += 997) {
      const rec = cap.packets[i]!;
      expect(rec.data.readUInt32BE(24)).toBe(i);
      expect(rec.tsNs).toBe(BigInt(i));
      expect(rec.direction).toBe(i % 2 === 0 ? 'in' : 'out');
      expect(rec.comments).toEqual(i % 3 === 0 ? [`packet ${i}`] : []);
    }
  });

  it('flush() puts everything recorded so far in the file', async () => {
    const file = path.join(dir, 'flush.pcapng');
    const w = await PcapngWriter.open(file, { flushIntervalMs: 0 });
    const pkts = samplePackets();
    w.write(pkts[0]!);
    w.write(pkts[1]!);
    await w.flush();
    expect(parseCapture(fs.readFileSync(file)).packets.length).toBe(2);
    w.write(pkts[2]!);
    await w.close();
    expect(parseCapture(fs.readFileSync(file)).packets.length).toBe(3);
    expect(() => w.write(pkts[3]!)).toThrow(/is closed/);
    await w.close();
    w.closeSync();
  });

  it('closeSync() writes pending data even while a background write runs', async () => {
    const file = path.join(dir, 'sync.pcapng');
    const w = PcapngWriter.openSync(file, { flushThresholdBytes: 256 });
    for (const p of samplePackets()) w.write(p);
    for (const p of samplePackets()) w.write(p);
    w.closeSync();
    expect(parseCapture(fs.readFileSync(file)).packets.length).toBe(12);
    await w.close();
  });

  it('the file is a valid capture right after opening', async () => {
    const file = path.join(dir, 'empty.pcapng');
    const w = await PcapngWriter.open(file);
    const cap = parseCapture(fs.readFileSync(file));
    expect(cap.packets).toEqual([]);
    expect(cap.interfaces.length).toBe(1);
    await w.close();
  });

  it('measures a plausible monotonic-to-realtime offset', () => {
    const off = monoToRealtimeOffsetNs();
    const nowReal = process.hrtime.bigint() + off;
    const diffMs = Number(nowReal / 1_000_000n) - Date.now();
    expect(Math.abs(diffMs)).toBeLessThan(50);
  });

  it('leaves a complete capture when the process exits without closing the writer', () => {
    // Run the writer in a child process that calls process.exit() with
    // packets still in memory: the exit handler must write them.
    const work = fs.mkdtempSync(path.join(dir, 'child-'));
    const src = fs.readFileSync(path.join(projectRoot, 'src/evidence/pcapng.ts'), 'utf8');
    const js = ts.transpileModule(src, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    fs.writeFileSync(path.join(work, 'pcapng.mjs'), js);
    const out = path.join(work, 'exit.pcapng');
    fs.writeFileSync(
      path.join(work, 'child.mjs'),
      `import { PcapngWriter } from './pcapng.mjs';
const w = await PcapngWriter.open(${JSON.stringify(out)}, { flushThresholdBytes: 1 << 20, flushIntervalMs: 0 });
const pkt = Buffer.from('45000028000000004006000001010101020202020000000000000000000000005000000000000000', 'hex');
for (let i = 0; i < 500; i++) w.write({ data: pkt, direction: 'out', comment: 'packet ' + i });
process.exit(3);
`,
    );
    const r = spawnSync(process.execPath, [path.join(work, 'child.mjs')], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(3);
    const cap = parseCapture(fs.readFileSync(out));
    expect(cap.packets.length).toBe(500);
    expect(cap.packets[499]!.comments).toEqual(['packet 499']);
  });
});

describe.skipIf(!haveTcpdump)('captures opened by tcpdump', () => {
  it('reads the pcapng: packet count, flags and ports', async () => {
    const file = path.join(dir, 'tcpdump.pcapng');
    await writeSample(file);
    const lines = run('tcpdump', ['-r', file, '-nn', '-tt', '-S']).trim().split('\n');
    expect(lines.length).toBe(6);
    expect(lines[0]).toMatch(/^1700000000\.000000 IP 192\.0\.2\.1\.41234 > 192\.168\.0\.1\.8080: Flags \[S\], seq 0, win 32792, options \[mss 1000\], length 0$/);
    expect(lines[1]).toMatch(/IP 192\.168\.0\.1\.8080 > 192\.0\.2\.1\.41234: Flags \[S\.\], seq 1234, ack 1, win 65535, options \[mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7\], length 0/);
    expect(lines[2]).toMatch(/Flags \[F\.\], seq 1235, ack 1, win 502, length 0/);
    expect(lines[3]).toMatch(/IP 192\.0\.2\.1\.5000 > 192\.168\.0\.1\.9: UDP, length 5/);
    expect(lines[4]).toMatch(/ICMP 192\.0\.2\.1 unreachable - need to frag \(mtu 1200\)/);
    expect(lines[5]).toMatch(/^1700000001\.000000 IP6 fd3d:fa7b:d17d::1\.41234 > fd3d:a0b:17d6::1\.8080: Flags \[P\.\], seq 1:1001, ack 1, win 257, length 1000/);
  });

  it('reads the classic pcap', async () => {
    const file = path.join(dir, 'tcpdump.pcap');
    await writeSample(file);
    const lines = run('tcpdump', ['-r', file, '-nn']).trim().split('\n');
    expect(lines.length).toBe(6);
    expect(lines[0]).toMatch(/Flags \[S\]/);
  });

  it('reads a capture left behind by closeSync()', () => {
    const file = path.join(dir, 'tcpdump-sync.pcapng');
    const w = PcapngWriter.openSync(file);
    for (const p of samplePackets()) w.write(p);
    w.closeSync();
    expect(run('tcpdump', ['-r', file, '-nn']).trim().split('\n').length).toBe(6);
  });
});

describe.skipIf(!haveTshark)('captures opened by tshark', () => {
  it('shows comments, directions, flags and good checksums', async () => {
    const file = path.join(dir, 'tshark.pcapng');
    const pkts = await writeSample(file);
    const field = tsharkCommentField(file);
    const out = run('tshark', [
      '-r', file,
      '-o', 'tcp.check_checksum:TRUE',
      '-o', 'udp.check_checksum:TRUE',
      '-o', 'ip.check_checksum:TRUE',
      '-T', 'fields',
      '-E', 'separator=|',
      '-e', field,
      '-e', 'frame.packet_flags_direction',
      '-e', 'tcp.flags.syn',
      '-e', 'tcp.flags.ack',
      '-e', 'tcp.flags.fin',
      '-e', 'tcp.srcport',
      '-e', 'tcp.dstport',
      '-e', 'tcp.checksum.status',
      '-e', 'udp.checksum.status',
      '-e', 'icmp.checksum.status',
      '-e', 'ip.checksum.status',
      '-e', 'frame.time_epoch',
    ]);
    const rows = out.trim().split('\n').map((l) => l.split('|'));
    expect(rows.length).toBe(pkts.length);
    rows.forEach((r, i) => {
      expect(r[0], `comment of packet ${i + 1}`).toBe(pkts[i]!.comment ?? '');
      const dir = pkts[i]!.direction;
      expect(r[1] === '' ? undefined : Number(r[1]) & 3, `direction of packet ${i + 1}`).toBe(
        dir === undefined ? undefined : dir === 'in' ? 1 : 2,
      );
    });
    const bool = (v: string | undefined): boolean => v === '1' || v === 'True';
    expect([bool(rows[0]![2]), bool(rows[0]![3])]).toEqual([true, false]);
    expect([bool(rows[1]![2]), bool(rows[1]![3])]).toEqual([true, true]);
    expect(bool(rows[2]![4])).toBe(true);
    expect(rows[0]!.slice(5, 7)).toEqual(['41234', '8080']);
    expect(rows[1]!.slice(5, 7)).toEqual(['8080', '41234']);
    // checksum status 1 = good
    for (const i of [0, 1, 2, 5]) expect(rows[i]![7], `tcp checksum of packet ${i + 1}`).toBe('1');
    expect(rows[3]![8]).toBe('1');
    expect(rows[4]![9]).toBe('1');
    for (const i of [0, 1, 2, 3]) expect(rows[i]![10]!.split(',')[0], `ip checksum of packet ${i + 1}`).toBe('1');
    expect(rows[0]![11]).toMatch(/^1700000000\.0000000/);
    expect(rows[1]![11]).toMatch(/^1700000000\.0000015/);
  });

  it('shows the interface name, link type and nanosecond resolution', async () => {
    const file = path.join(dir, 'tshark-if.pcapng');
    await writeSample(file);
    const info = run('capinfos', [file]);
    expect(info).toMatch(/Number of packets:\s+6/);
    expect(info).toMatch(/Name = tun0/);
    expect(info).toMatch(/nanoseconds/);
    expect(info).toMatch(/Capture application:\s+tundrill/);
    expect(info).toMatch(/Capture comment:\s+closing\.pkt \(ipv4\)/);
  });

  it('reads the classic pcap', async () => {
    const file = path.join(dir, 'tshark.pcap');
    await writeSample(file);
    const out = run('tshark', ['-r', file, '-T', 'fields', '-e', 'tcp.srcport']);
    expect(out.trim().split('\n').length).toBe(6);
  });
});
