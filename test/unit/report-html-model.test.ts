/**
 * The HTML report's data model, built from evidence files written here
 * with the project's own writers (pcapng, timeline) and the event file
 * format: packets tied to script lines and frames, retransmissions marked,
 * expected against actual times, system calls, socket state through the
 * adapter, counters, the field-by-field packet diff; the page is
 * self-contained; the suite index marks flaky runs; when reports are made.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/engine/result.js';
import { PcapngWriter } from '../../src/evidence/pcapng.js';
import { parseSs } from '../../src/evidence/ss-parser.js';
import { TimelineWriter } from '../../src/evidence/timeline.js';
import { ChangeTracker } from '../../src/evidence/socket-timeline.js';
import { encodePacket } from '../../src/packet/index.js';
import { buildRunModel, renderRunReport, renderSuiteIndex, flakyKeys, writeRunReport } from '../../src/report/html/index.js';
import { diffPackets, failurePackets } from '../../src/report/html/packet-diff.js';
import { leftNothing, wantsReport } from '../../src/report/html/policy.js';
import { readSocketStates } from '../../src/report/html/socket-state.js';

const OFFSET = 1_700_000_000_000_000_000n;
const T0 = 5_000_000_000n; // monotonic ns of script time 0
const ms = (m: number): bigint => T0 + BigInt(Math.round(m * 1e6));
const LOCAL = '192.168.0.1';
const REMOTE = '192.0.2.1';
const KISN = 1000;
const PISN = 0;

const SCRIPT = [
  '0.000 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3',
  '0.000 bind(3, ..., ...) = 0',
  '0.000 listen(3, 1) = 0',
  '0.100 < S 0:0(0) win 32792 <mss 1460,sackOK,nop,nop,nop,wscale 7>',
  '0.100 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 10>',
  '0.200 < . 1:1(0) ack 1 win 257',
  '0.200 accept(3, ..., ...) = 4',
  '0.400 close(4) = 0',
  '0.400 > F. 1:1(0) ack 1',
  '0.500 < F. 1:1(0) ack 1 win 260',
].join('\n') + '\n';

function tcp(from: 'peer' | 'kernel', flags: string, seq: number, ack: number, opts: Array<Record<string, unknown>> = []): Buffer {
  const peer = from === 'peer';
  return encodePacket({
    ipv4: { src: peer ? REMOTE : LOCAL, dst: peer ? LOCAL : REMOTE },
    tcp: {
      srcPort: peer ? 40000 : 8080, dstPort: peer ? 8080 : 40000, flags,
      seq: (peer ? PISN : KISN) + seq, ackSeq: !flags.includes('.') ? 0 : (peer ? KISN : PISN) + ack,
      window: peer ? 257 : 502, options: opts,
    },
  } as Parameters<typeof encodePacket>[0]);
}

const SS_CLOSING = `CLOSING 0 1 ${LOCAL}:8080 ${REMOTE}:40000 timer:(on,800ms,2) ino:0 sk:3
\t skmem:(r0,rb131072,t0,tb46080,f2816,w1280,o0,bl0,d0) ts sack cubic wscale:7,10 rto:800 backoff:2 rtt:10/5 mss:1460 cwnd:1 ssthresh:7 unacked:1 lost:1
`;
const SS_ESTAB = `ESTAB 0 0 ${LOCAL}:8080 ${REMOTE}:40000 ino:77 sk:3
\t skmem:(r0,rb131072,t0,tb46080,f0,w0,o0,bl0,d0) ts sack cubic wscale:7,10 rto:200 rtt:10/5 mss:1460 cwnd:10
`;

let dir = '';
const stem = 'closing_ipv4';
let result: RunResult;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tundrill-html-model-'));
  writeFileSync(join(dir, 'closing.pkt'), SCRIPT);
  const w = await PcapngWriter.open(join(dir, `${stem}.pcapng`), { monoToRealtimeOffsetNs: OFFSET, sectionComment: 'test' });
  const rec = (data: Buffer, atMs: number, direction: 'in' | 'out', comment?: string): void => {
    w.write({ data, tsNs: ms(atMs), direction, ...(comment ? { comment } : {}) });
  };
  rec(tcp('peer', 'S', 0, 0, [{ type: 'mss', mss: 1460 }, { type: 'sackOK' }, { type: 'nop' }, { type: 'nop' }, { type: 'nop' }, { type: 'wscale', shift: 7 }]), 100.1, 'in', 'script line 4: < S 0:0(0) win 32792');
  rec(tcp('kernel', 'S.', 0, 1, [{ type: 'mss', mss: 1460 }, { type: 'nop' }, { type: 'nop' }, { type: 'sackOK' }, { type: 'nop' }, { type: 'wscale', shift: 10 }]), 100.2, 'out', 'script line 5');
  rec(tcp('peer', '.', 1, 1), 200.1, 'in', 'script line 6: < . 1:1(0) ack 1 win 257');
  rec(tcp('kernel', 'F.', 1, 1), 400.3, 'out', 'script line 9');
  rec(tcp('peer', 'F.', 1, 1), 500.1, 'in', 'script line 10: < F. 1:1(0) ack 1 win 260');
  rec(tcp('kernel', 'F.', 1, 2), 900.0, 'out');
  rec(tcp('kernel', 'F.', 1, 2), 1700.0, 'out');
  await w.close();

  const events = [
    { line: 1, kind: 'syscall', timeType: 'absolute', expectedUsecs: 0, toleranceUsecs: 4000, blocking: false, callStartUsecs: 20, callEndUsecs: 60, actualUsecs: 20 },
    { line: 4, kind: 'packet', direction: 'in', timeType: 'absolute', expectedUsecs: 100000, toleranceUsecs: 12500, actualUsecs: 100100 },
    { line: 5, kind: 'packet', direction: 'out', timeType: 'absolute', expectedUsecs: 100000, toleranceUsecs: 4000, actualUsecs: 100200 },
    { line: 7, kind: 'syscall', timeType: 'absolute', expectedUsecs: 200000, toleranceUsecs: 4000, blocking: true, expectedEndUsecs: 300000, callStartUsecs: 200050, callEndUsecs: 300100, actualUsecs: 200050 },
    { line: 9, kind: 'packet', direction: 'out', timeType: 'absolute', expectedUsecs: 400000, toleranceUsecs: 25000, actualUsecs: 400300 },
  ];
  writeFileSync(join(dir, `${stem}.events.jsonl`), events.map((e) => JSON.stringify(e)).join('\n') + '\n');

  const tl = new TimelineWriter(join(dir, `${stem}.sockets.jsonl`));
  const changes = new ChangeTracker();
  for (const [at, listing] of [[300, parseSs(SS_ESTAB)], [1000, parseSs(SS_CLOSING)], [1100, []]] as const) {
    for (const r of changes.ssListing(ms(at), ms(at + 2), listing)) tl.write(r);
  }
  tl.close();

  writeFileSync(join(dir, `${stem}.counters.json`), JSON.stringify({ start: {}, end: {}, diff: { TcpRetransSegs: 2, TcpExtTCPLossProbes: 0, TcpInSegs: 4 } }));
  writeFileSync(join(dir, `${stem}.run.json`), JSON.stringify({
    stem, monoToRealtimeOffsetNs: String(OFFSET), clockStartNs: String(T0), holdEndNs: String(ms(1800)), holdEnded: 'socket-gone',
    sysctls: { 'net.ipv4.tcp_orphan_retries': '2' },
  }));
  result = {
    script: 'closing.pkt', variant: 'ipv4', verdict: 'fail', exitCode: 1, durationMs: 2000, warnings: [],
    firstError: {
      line: 9, kind: 'packet',
      headline: 'closing.pkt:9: error handling packet: live packet field tcp_ack_seq: expected: 1 (0x1) vs actual: 2 (0x2)',
      text: 'closing.pkt:9: error handling packet: live packet field tcp_ack_seq: expected: 1 (0x1) vs actual: 2 (0x2)\n'
        + 'script packet:  0.400000 F. 1:1(0) ack 1 \nactual packet:  0.400300 F. 1:1(0) ack 2 win 502 ',
    },
    evidence: {}, packets: { injected: 3, sniffed: 4 }, injectionErrorsUsecs: [],
  };
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('run report model', () => {
  it('ties every captured packet to its frame, direction and script line, in script notation', () => {
    const m = buildRunModel({ dir, stem, scriptPath: join(dir, 'closing.pkt'), result });
    expect(m.packets.map((p) => p.frame)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(m.packets.map((p) => p.dir)).toEqual(['in', 'out', 'in', 'out', 'in', 'out', 'out']);
    expect(m.packets.map((p) => p.line)).toEqual([4, 5, 6, 9, 10, undefined, undefined]);
    expect(m.packets[1]!.text).toBe('S. 0:0(0) ack 1 win 502 <mss 1460,nop,nop,sackOK,nop,wscale 10>');
    expect(m.packets[0]!.tMs).toBeCloseTo(100.1, 6);
    expect(m.packets[1]!.wscale).toBe(10);
  });

  it('marks the kernel resending a segment as retransmissions (timeouts when no loss probe was counted)', () => {
    const m = buildRunModel({ dir, stem, scriptPath: join(dir, 'closing.pkt'), result });
    expect(m.packets.map((p) => p.retransmission ?? '')).toEqual(['', '', '', '', '', 'timeout', 'timeout']);
    expect(m.rto.map((r) => r.intervalMs === null ? null : Math.round(r.intervalMs))).toEqual([null, 500, 800]);
    expect(m.rto.map((r) => r.kind)).toEqual(['original', 'timeout', 'timeout']);
    expect(m.rto.map((r) => r.expectedMs)).toEqual([null, 200, 400]);
    // The sample before the second retransmission: rto 800 with backoff 2 (rto0 = 200, taken before the first: ESTAB rto 200).
    expect(m.rto[2]!.ssRtoMs).toBe(800);
  });

  it('gives each event line its expected time, tolerance, actual time and frames, and flags the failing line', () => {
    const m = buildRunModel({ dir, stem, scriptPath: join(dir, 'closing.pkt'), result });
    expect(m.lines).toHaveLength(10);
    const l5 = m.lines[4]!;
    expect(l5.event).toMatchObject({ kind: 'packet', direction: 'out', expectedMs: 100, toleranceMs: 4, frames: [2] });
    expect(l5.event!.deltaMs).toBeCloseTo(0.2, 6);
    expect(m.lines.filter((l) => l.failed).map((l) => l.n)).toEqual([9]);
    expect(m.lines[1]!.event).toBeUndefined();
    expect(m.syscalls).toEqual([
      { line: 1, text: 'socket(..., SOCK_STREAM, IPPROTO_TCP) = 3', startMs: 0.02, endMs: 0.06, blocking: false },
      { line: 7, text: 'accept(3, ..., ...) = 4', startMs: 200.05, endMs: 300.1, blocking: true },
    ]);
    expect(m.endMs).toBeCloseTo(1800, 3);
  });

  it('reads socket state through the adapter, skmem included, and keeps only counters that changed', () => {
    const m = buildRunModel({ dir, stem, scriptPath: join(dir, 'closing.pkt'), result });
    expect(m.states.map((s) => s.state)).toEqual(['ESTAB', 'CLOSING', null]);
    expect(m.states[1]).toMatchObject({ rtoMs: 800, backoff: 2, cwnd: 1, ssthresh: 7, unacked: 1, lost: 1, wmemAlloc: 0, wmemQueued: 1280, timerKind: 'on', timerRetransmits: 2 });
    expect(readSocketStates(join(dir, 'missing.jsonl'), T0)).toEqual([]);
    expect(m.counters).toEqual([{ name: 'TcpInSegs', value: 4 }, { name: 'TcpRetransSegs', value: 2 }]);
    expect(m.env.find(([k]) => k === 'sysctls set for the run')![1]).toBe('net.ipv4.tcp_orphan_retries=2');
    expect(m.env.find(([k]) => k === 'congestion control')![1]).toBe('cubic');
    expect(m.files.map((f) => f.label)).toEqual(['capture', 'events', 'socket state', 'counters', 'run marks', 'script']);
  });

  it('diffs the failing packet field by field', () => {
    const m = buildRunModel({ dir, stem, scriptPath: join(dir, 'closing.pkt'), result });
    const d = m.firstError!.diff!;
    expect(d.rows.filter((r) => r.differs).map((r) => r.field)).toEqual(['ack']);
    expect(d.rows.find((r) => r.field === 'win')).toMatchObject({ unchecked: true, differs: false });
    expect(d.summary).toBe('ack 1 vs 2');
  });
});

describe('packet diff', () => {
  it('names a missing option where packetdrill names the IP length', () => {
    const d = diffPackets('0.125 . 1001:1001(0) ack 1040001 win 0 <nop,nop,sack 1039001:1040001>', '0.125 . 1001:1001(0) ack 1040001 win 0');
    expect(d.summary).toBe("the kernel's packet lacks option sack");
    expect(d.rows.find((r) => r.field === 'option sack')).toMatchObject({ expected: '1039001:1040001', actual: '(absent)', differs: true });
  });

  it('compares option values and finds the packets in a failure message', () => {
    const d = diffPackets('S. 0:0(0) ack 1 <mss 1460,nop,wscale 8>', 'S. 0:0(0) ack 1 win 65535 <mss 1160,nop,wscale 8>');
    expect(d.summary).toBe('option mss 1460 vs 1160');
    expect(failurePackets('x\nscript packet:  0.1 S. 0:0(0)\nactual packet:  0.2 S. 0:0(0) win 1\n')).toEqual({ script: '0.1 S. 0:0(0)', actual: '0.2 S. 0:0(0) win 1' });
    expect(failurePackets('timing error only')).toBeNull();
  });
});

describe('rendered page', () => {
  it('is one file: nothing loaded from elsewhere, the model embedded safely', () => {
    const m = buildRunModel({ dir, stem, scriptPath: join(dir, 'closing.pkt'), result });
    m.warnings = ['a </script><script>alert(1)</script> warning'];
    const html = renderRunReport(m);
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html).not.toMatch(/<link[^>]+href=/i);
    expect(html).not.toMatch(/url\((?!#)/);
    expect(html.match(/<\/script>/g)!.length).toBe(3);
    expect(html).toContain('<tr id="L9" class="failed event">');
    expect(html).toContain('uPlot');
    const json = /<script type="application\/json" id="model">(.*?)<\/script>/s.exec(html)![1]!;
    expect((JSON.parse(json) as { packets: unknown[] }).packets).toHaveLength(7);
  });

  it('is written beside the capture as <stem>.html', () => {
    const file = writeRunReport({ dir, stem, scriptPath: join(dir, 'closing.pkt'), result });
    expect(file).toBe(join(dir, `${stem}.html`));
    expect(readFileSync(file, 'utf8')).toMatch(/^<!doctype html>/);
  });
});

describe('suite index and when reports are written', () => {
  it('marks a run flaky when its repeats disagree, and links reports', () => {
    const rows = [
      { path: 'a.pkt', variant: 'ipv4', verdict: 'pass', durationMs: 100 },
      { path: 'a.pkt', variant: 'ipv4', verdict: 'fail', durationMs: 100, firstError: 'a.pkt:3: timing error', report: 'a_ipv4.html' },
      { path: 'a.pkt', variant: 'ipv6', verdict: 'pass', durationMs: 100 },
      { path: 'b.pkt', variant: 'ipv4', verdict: 'fail', durationMs: 100, firstError: 'b.pkt:9: <boom>' },
    ];
    expect([...flakyKeys(rows)]).toEqual(['a.pkt\u0000ipv4']);
    const html = renderSuiteIndex('suite', rows, 1.5);
    expect(html.match(/<tr class="run flaky"/g)).toHaveLength(2);
    expect(html).toContain('<a href="a_ipv4.html">report</a>');
    expect(html).toContain('b.pkt:9: &lt;boom&gt;');
  });

  it('reports scenarios and failures by default, every run with --report html, none with --no-report', () => {
    expect(wantsReport('default', 'pass', false)).toBe(false);
    expect(wantsReport('default', 'fail', false)).toBe(true);
    expect(wantsReport('default', 'pass', true)).toBe(true);
    expect(wantsReport('html', 'pass', false)).toBe(true);
    expect(wantsReport('none', 'fail', true)).toBe(false);
  });

  it('gives no page to a run stopped before it left any evidence', () => {
    const interrupted = { line: 0, headline: 'x.pkt: interrupted by SIGINT before the run finished', text: '', kind: 'interrupted' as const };
    const base = { script: 'x.pkt', variant: 'ipv4' as const, verdict: 'error' as const, exitCode: 1, durationMs: 1, warnings: [], packets: { injected: 0, sniffed: 0 }, injectionErrorsUsecs: [] };
    expect(leftNothing({ ...base, evidence: {}, firstError: interrupted })).toBe(true);
    expect(leftNothing({ ...base, evidence: { capture: '/c/x_ipv4.pcapng' }, firstError: interrupted })).toBe(false);
    expect(leftNothing({ ...base, evidence: {}, firstError: { ...interrupted, kind: 'timeout' } })).toBe(false);
  });
});
