/**
 * Scenario helpers on synthetic evidence: transmissions of a segment and
 * their intervals, the exponential-backoff check, agreement of ss's rto and
 * backoff with the retransmissions seen, state durations, disappearance,
 * and the tun skb_orphan check. The packets are real encoded TCP/IP bytes
 * in a capture structure; the ss samples are parsed from text in the layout
 * iproute2 6.1 prints.
 */
import { describe, expect, it } from 'vitest';
import type { CaptureFile, CaptureRecord } from '../../src/evidence/pcap-reader.js';
import { parseSs, type SsSocket } from '../../src/evidence/ss-parser.js';
import { socketStateFromSs } from '../../src/evidence/socket-state.js';
import { encodePacket } from '../../src/packet/index.js';
import { checkExponentialBackoff, checkRtoAgreement } from '../../src/scenario/backoff.js';
import { checkSkbOrphan, skbOrphanNumbers, skbOrphanTable } from '../../src/scenario/checks.js';
import { ScenarioEvidence, type EvidenceData } from '../../src/scenario/evidence.js';
import { packetsFromCapture, transmissionsOf, type Packet } from '../../src/scenario/packets.js';
import { disappearance, rtoSamples, stateSpans, timeInState, trackSocket, type SsPoint } from '../../src/scenario/sockets.js';
import { formatTable, timelineView, transmissionTable } from '../../src/scenario/summary.js';
import type { RunResult } from '../../src/engine/result.js';

// ---- synthetic capture ---------------------------------------------------------

const ORIGIN = 1_000_000_000_000n; // monotonic ns of script time 0
const OFFSET = 1_700_000_000_000_000_000n; // realtime - monotonic
const LOCAL = '192.168.0.1';
const REMOTE = '192.0.2.1';
const KERNEL_ISN = 0x10000000;
const PEER_ISN = 0;

interface Seg {
  ms: number;
  from: 'kernel' | 'peer';
  flags: string;
  seq: number;
  ack?: number;
  len?: number;
}

function record(s: Seg): CaptureRecord {
  const kernel = s.from === 'kernel';
  const data = encodePacket({
    ipv4: { src: kernel ? LOCAL : REMOTE, dst: kernel ? REMOTE : LOCAL },
    tcp: {
      srcPort: kernel ? 8080 : 40000,
      dstPort: kernel ? 40000 : 8080,
      seq: (s.seq + (kernel ? KERNEL_ISN : PEER_ISN)) >>> 0,
      ackSeq: s.ack === undefined ? 0 : (s.ack + (kernel ? PEER_ISN : KERNEL_ISN)) >>> 0,
      flags: s.flags,
      window: 100,
    },
    payload: s.len ?? 0,
  });
  return {
    interfaceId: 0,
    tsNs: ORIGIN + OFFSET + BigInt(Math.round(s.ms * 1e6)),
    data,
    originalLength: data.length,
    direction: kernel ? 'out' : 'in',
    comments: [],
  };
}

/** The closing-backoff case as measured: FIN at 400 ms, a loss probe, two timeouts. */
const CLOSING_SEGS: Seg[] = [
  { ms: 100, from: 'peer', flags: 'S', seq: 0 },
  { ms: 100.1, from: 'kernel', flags: 'S.', seq: 0, ack: 1 },
  { ms: 200, from: 'peer', flags: '.', seq: 1, ack: 1 },
  { ms: 250, from: 'kernel', flags: 'P.', seq: 1, ack: 1, len: 1000 },
  { ms: 300, from: 'peer', flags: '.', seq: 1, ack: 1001 },
  { ms: 400, from: 'kernel', flags: 'F.', seq: 1001, ack: 1 },
  { ms: 500, from: 'peer', flags: 'F.', seq: 1, ack: 1001 },
  { ms: 500.1, from: 'kernel', flags: '.', seq: 1002, ack: 2 },
  { ms: 712, from: 'kernel', flags: 'F.', seq: 1001, ack: 2 },
  { ms: 1036, from: 'kernel', flags: 'F.', seq: 1001, ack: 2 },
  { ms: 1640, from: 'kernel', flags: 'F.', seq: 1001, ack: 2 },
];

function capture(segs: Seg[]): CaptureFile {
  return { format: 'pcapng', interfaces: [], sectionComments: [], packets: segs.map(record) };
}

function packets(segs: Seg[]): Packet[] {
  return packetsFromCapture(capture(segs), { originNs: ORIGIN, monoToRealtimeOffsetNs: OFFSET });
}

// ---- synthetic ss samples -------------------------------------------------------

interface SockSpec {
  state: string;
  rto?: number;
  backoff?: number;
  retrans?: [number, number];
  timer?: string;
  ino?: number;
  /** skmem t (ss -m), when the sample has skmem. */
  skmemT?: number;
}

/** One socket as iproute2 6.1 prints it with -tinoeH, parsed. */
function sock(s: SockSpec): SsSocket {
  const timer = s.timer ? ` timer:(${s.timer})` : '';
  const extra = [s.rto !== undefined ? `rto:${s.rto}` : '', s.backoff ? `backoff:${s.backoff}` : '', s.retrans ? `unacked:1 retrans:${s.retrans[0]}/${s.retrans[1]}` : '']
    .filter(Boolean)
    .join(' ');
  const skmem = s.skmemT === undefined ? '' : ` skmem:(r0,rb131072,t${s.skmemT},tb46080,f0,w0,o0,bl0,d0)`;
  const text = `${s.state.padEnd(10)} 1      1      ${LOCAL}:8080      ${REMOTE}:40000${timer} ino:${s.ino ?? 0} sk:1 cgroup:/ <->\n` +
    `\t${skmem} sack bbr wscale:7,10 ${extra} rtt:46.5/23.5 mss:1460 pmtu:1500 rcvmss:536 advmss:1460 cwnd:1 bytes_acked:1001 segs_out:8 segs_in:4 lastsnd:10 lastrcv:10 lastack:10 rcv_space:14600 rcv_ssthresh:64076 snd_wnd:32768\n`;
  const parsed = parseSs(text);
  expect(parsed).toHaveLength(1);
  return parsed[0]!;
}

const LISTENER = parseSs(`LISTEN     0      1      ${LOCAL}:8080      0.0.0.0:* ino:99 sk:2 cgroup:/ <->\n\t cubic cwnd:10\n`)[0]!;

function point(ms: number, socks: SsSocket[]): SsPoint {
  return { tMs: ms, endMs: ms + 8, sockets: [LISTENER, ...socks].map(socketStateFromSs) };
}

/** ss every 100 ms for the closing case, as the kernel showed it; `skmemT(t)` gives skmem t per sample. */
function closingSamples(skmemT?: (tMs: number) => number): SsPoint[] {
  const out: SsPoint[] = [];
  for (let t = 50; t <= 3050; t += 100) {
    let spec: SockSpec | null;
    if (t < 100) spec = null;
    else if (t < 200) spec = { state: 'SYN-RECV', timer: 'on,900ms,0' };
    else if (t < 400) spec = { state: 'ESTAB', rto: 296 };
    else if (t < 500) spec = { state: 'FIN-WAIT-1', rto: 296, timer: 'on,200ms,0', retrans: [0, 0] };
    else if (t < 712) spec = { state: 'CLOSING', rto: 296, timer: 'on,100ms,0', retrans: [0, 0] };
    else if (t < 1036) spec = { state: 'CLOSING', rto: 296, timer: 'on,200ms,0', retrans: [0, 1] };
    else if (t < 1640) spec = { state: 'CLOSING', rto: 592, backoff: 1, timer: 'on,500ms,1', retrans: [1, 2] };
    else if (t < 2830) spec = { state: 'CLOSING', rto: 1184, backoff: 2, timer: 'on,1.100ms,2', retrans: [1, 3] };
    else spec = null;
    const s = spec ? sock(skmemT ? { ...spec, skmemT: skmemT(t) } : spec) : null;
    out.push(point(t, s ? [s] : []));
  }
  return out;
}

const RESULT: RunResult = {
  script: 'x.pkt', variant: 'ipv4', verdict: 'pass', exitCode: 0, durationMs: 3000, warnings: [], evidence: {},
  packets: { injected: 4, sniffed: 7 }, injectionErrorsUsecs: [],
};

function evidence(segs: Seg[], ss: SsPoint[], diff: Record<string, number>): ScenarioEvidence {
  const data: EvidenceData = {
    scenario: 'synthetic', long: false, variant: 'ipv4', result: RESULT,
    files: { dir: '/tmp', capture: '/tmp/x.pcapng', counters: '/tmp/x.counters.json', marks: '/tmp/x.run.json', verdict: '/tmp/x.verdict.json', script: '/tmp/x.pkt' },
    origin: { ns: ORIGIN, source: 'engine' },
    packets: packets(segs), ss, counters: { start: {}, end: {}, diff }, sysctls: {}, holdEnded: 'socket-gone',
  };
  return new ScenarioEvidence(data);
}

// ---- tests ----------------------------------------------------------------------

describe('packets from a capture', () => {
  const ps = packets(CLOSING_SEGS);
  it('times are relative to the script start; direction gives the sender', () => {
    expect(ps[0]!.tMs).toBeCloseTo(100, 6);
    expect(ps[0]!.from).toBe('peer');
    expect(ps[1]!.from).toBe('kernel');
    expect(ps[1]!.monoNs).toBe(ORIGIN + 100_100_000n);
  });
  it('sequence numbers are relative to each side\'s SYN, as in scripts and tshark', () => {
    const fin = ps[5]!;
    expect(fin.flags).toBe('F.');
    expect(fin.seq).toBe(1001);
    expect(fin.ack).toBe(1);
    expect(fin.rawSeq).toBe(KERNEL_ISN + 1001);
    expect(fin.text).toBe('F. 1001:1001(0) ack 1 win 100');
    expect(ps[3]!.text).toBe('P. 1:1001(1000) ack 1 win 100');
  });
});

describe('transmissions of a segment', () => {
  const ps = packets(CLOSING_SEGS);
  it('all FIN transmissions of the kernel, their intervals, the original and the retransmissions', () => {
    const tx = transmissionsOf(ps, { from: 'kernel', flags: 'F' });
    expect(tx.timesMs).toEqual([400, 712, 1036, 1640].map((t) => expect.closeTo(t, 6)));
    expect(tx.intervalsMs.map((d) => Math.round(d))).toEqual([312, 324, 604]);
    expect(tx.originals).toHaveLength(1);
    expect(tx.retransmissions).toHaveLength(3);
  });
  it('matches by sender, flags, absent flags, sequence number and length', () => {
    expect(transmissionsOf(ps, { from: 'peer', flags: 'F' }).packets).toHaveLength(1);
    expect(transmissionsOf(ps, { from: 'any', flags: 'S' }).packets).toHaveLength(2);
    expect(transmissionsOf(ps, { flags: '.', notFlags: 'FSP' }).packets.map((p) => p.seq)).toEqual([1002]);
    expect(transmissionsOf(ps, { length: 'data' }).packets).toHaveLength(1);
    expect(transmissionsOf(ps, { seq: 1, length: 1000 }).packets).toHaveLength(1);
    expect(transmissionsOf(ps, { where: (p) => p.tMs > 1000, flags: 'F' }).packets).toHaveLength(2);
  });
  it('a different segment with the same flags is an original, not a retransmission', () => {
    const segs: Seg[] = [
      { ms: 0, from: 'kernel', flags: 'S', seq: 0 },
      { ms: 10, from: 'kernel', flags: 'P.', seq: 1, ack: 1, len: 100 },
      { ms: 20, from: 'kernel', flags: 'P.', seq: 101, ack: 1, len: 100 },
      { ms: 230, from: 'kernel', flags: 'P.', seq: 1, ack: 1, len: 100 },
    ];
    const tx = transmissionsOf(packets(segs), { flags: 'P' });
    expect(tx.originals.map((p) => p.seq)).toEqual([1, 101]);
    expect(tx.retransmissions.map((p) => p.tMs)).toEqual([expect.closeTo(230, 6)]);
  });
  it('the evidence classifies loss probes and timeouts with TcpExtTCPLossProbes', () => {
    const ev = evidence(CLOSING_SEGS, closingSamples(), { TcpExtTCPLossProbes: 1 });
    const fins = ev.finTransmissions();
    expect(fins.packets).toHaveLength(4);
    expect(ev.retransmissionKinds(fins)).toEqual(['original', 'probe', 'timeout', 'timeout']);
    expect(ev.finTransmissions('peer').timesMs).toEqual([expect.closeTo(500, 6)]);
    const none = evidence(CLOSING_SEGS, [], {});
    expect(none.retransmissionKinds(none.finTransmissions())).toEqual(['original', 'timeout', 'timeout', 'timeout']);
  });
});

describe('checkExponentialBackoff', () => {
  it('exact doubling passes', () => {
    const r = checkExponentialBackoff([0, 300, 900, 2100, 4500]);
    expect(r.ok).toBe(true);
    expect(r.intervalsMs).toEqual([300, 600, 1200, 2400]);
    expect(r.ratios).toEqual([2, 2, 2]);
    expect(r.problems).toEqual([]);
  });
  it('the kernel timer firing late (up to 1/8) stays within the default 20 %', () => {
    // Measured on this kernel: loss probe 712, timeouts 1036, 1640, 2856, 5288.
    expect(checkExponentialBackoff([712, 1036, 1640, 2856, 5288]).ok).toBe(true);
  });
  it('an interval that does not grow fails and says which', () => {
    const r = checkExponentialBackoff([0, 300, 900, 1500]);
    expect(r.ok).toBe(false);
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatch(/interval 3 \(600\.0 ms\) is 1\.00x interval 2 \(600\.0 ms\), expected 1\.60\.\.2\.40x/);
  });
  it('tolerance and factor are the caller\'s', () => {
    expect(checkExponentialBackoff([0, 100, 250], { factor: 1.5, tolerance: 0.01 }).ok).toBe(true);
    expect(checkExponentialBackoff([0, 100, 250], { tolerance: 0.1 }).ok).toBe(false);
    expect(checkExponentialBackoff([0, 100, 250], { tolerance: 0.3 }).ok).toBe(true);
  });
  it('too few transmissions is not a pass', () => {
    const r = checkExponentialBackoff([0, 300]);
    expect(r.ok).toBe(false);
    expect(r.problems[0]).toMatch(/2 transmissions give 1 interval\(s\), 2 needed/);
    expect(checkExponentialBackoff([0, 300], { minIntervals: 1 }).ok).toBe(true);
  });
  it('intervals may stop growing at the 120 s cap', () => {
    expect(checkExponentialBackoff([0, 75_000, 195_000, 315_000]).ok).toBe(true);
    expect(checkExponentialBackoff([0, 30_000, 60_000, 90_000]).ok).toBe(false);
  });
  it('times out of order are reported', () => {
    expect(checkExponentialBackoff([100, 50, 200]).problems.some((p) => /out of order/.test(p))).toBe(true);
  });
});

describe('checkRtoAgreement', () => {
  const ev = evidence(CLOSING_SEGS, closingSamples(), { TcpExtTCPLossProbes: 1 });
  const timeouts = [1036, 1640];
  it('the measured closing case agrees', () => {
    const r = checkRtoAgreement(ev.rto('CLOSING'), timeouts, 712);
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.baseRtoMs).toBe(296);
    expect(r.rows.map((x) => x.backoff)).toContain(2);
    expect(r.intervals.map((x) => [Math.round(x.intervalMs), x.rtoMs, x.ok])).toEqual([[324, 296, true], [604, 592, true]]);
  });
  it('a backoff without a retransmission on the wire is flagged (the tun bug)', () => {
    const r = checkRtoAgreement(ev.rto('CLOSING'), [1036], 712);
    expect(r.ok).toBe(false);
    expect(r.problems[0]).toMatch(/backoff 2 but 1 timeout retransmission\(s\) on the wire/);
  });
  it('an rto that is not the base doubled is flagged', () => {
    const rows = [
      { tMs: 0, endMs: 8, rtoMs: 300, backoff: 0 },
      { tMs: 500, endMs: 508, rtoMs: 700, backoff: 1 },
    ];
    const r = checkRtoAgreement(rows, [400], 100);
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual(['ss at 0.500 s: rto 700 ms, expected 600 ms (300 ms << 1)']);
  });
  it('a retransmission sooner than the rto is flagged', () => {
    const rows = [{ tMs: 0, endMs: 8, rtoMs: 300, backoff: 0 }];
    const r = checkRtoAgreement(rows, [250], 0);
    expect(r.ok).toBe(false);
    expect(r.problems[0]).toMatch(/came 250\.0 ms after the previous transmission; the rto was 300 ms/);
  });
  it('a sample taken while a retransmission happens may count it or not', () => {
    const rows = [{ tMs: 1030, endMs: 1040, rtoMs: 592, backoff: 1 }, { tMs: 0, endMs: 5, rtoMs: 296, backoff: 0 }];
    expect(checkRtoAgreement(rows, [1036], undefined).rows[0]!.ok).toBe(true);
    const before = [{ tMs: 1030, endMs: 1040, rtoMs: 296, backoff: 0 }];
    expect(checkRtoAgreement(before, [1036], undefined).ok).toBe(true);
  });
});

describe('socket states over time', () => {
  const samples = trackSocket(closingSamples());
  it('the socket under test is picked out of each listing (listeners left out)', () => {
    expect(samples[0]!.socket).toBeNull();
    expect(samples[1]!.socket?.state).toBe('SYN-RECV');
    expect(trackSocket(closingSamples(), { state: 'LISTEN' }).every((s) => s.socket === null)).toBe(true);
    expect(trackSocket(closingSamples(), (s) => s.state === 'LISTEN')[0]!.socket?.state).toBe('LISTEN');
    expect(trackSocket(closingSamples(), { peerPort: 40000 })[5]!.socket?.state).toBe('CLOSING');
  });
  it('state spans in order with their bounds', () => {
    const spans = stateSpans(samples);
    expect(spans.map((s) => s.state)).toEqual(['SYN-RECV', 'ESTAB', 'FIN-WAIT-1', 'CLOSING']);
    const closing = spans[3]!;
    expect(closing.firstSeenMs).toBe(550);
    expect(closing.lastSeenMs).toBe(2758);
    expect(closing.samples).toBe(23);
    expect(closing.enteredAfterMs).toBe(450);
    expect(closing.leftBeforeMs).toBe(2858);
    expect(closing.minDurationMs).toBe(2750 - 558);
    expect(closing.maxDurationMs).toBe(2858 - 450);
  });
  it('time in a state', () => {
    const t = timeInState(samples, 'CLOSING')!;
    expect(t.samples).toBe(23);
    expect(t.firstSeenMs).toBe(550);
    expect(timeInState(samples, 'TIME-WAIT')).toBeNull();
    // Two separate spans add up.
    const twice = trackSocket([point(0, [sock({ state: 'ESTAB' })]), point(100, [sock({ state: 'CLOSE-WAIT' })]), point(200, [sock({ state: 'ESTAB' })])]);
    const e = timeInState(twice, 'ESTAB')!;
    expect(e.spans).toHaveLength(2);
    expect(e.samples).toBe(2);
  });
  it('when the socket disappeared', () => {
    const d = disappearance(samples)!;
    expect(d.lastState).toBe('CLOSING');
    expect(d.lastSeenMs).toBe(2750);
    expect(d.goneByMs).toBe(2858);
    expect(d.lifetimeMaxMs).toBe(2858 - 150);
    expect(disappearance(samples.slice(0, 10))).toBeNull();
    expect(disappearance([])).toBeNull();
  });
  it('rto, backoff, timer and retrans per sample', () => {
    const r = rtoSamples(samples, 'CLOSING');
    expect(r).toHaveLength(23);
    expect(r[0]).toMatchObject({ state: 'CLOSING', rtoMs: 296, backoff: 0, timerKind: 'on', timerRetransmits: 0, retrans: 0, retransTotal: 0, unacked: 1 });
    expect(r[r.length - 1]).toMatchObject({ rtoMs: 1184, backoff: 2, timerRetransmits: 2, timerExpiresMs: 1100, retrans: 1, retransTotal: 3 });
  });
});

describe('tun skb_orphan check', () => {
  it('retransmissions that reach the reader: a fixed driver', () => {
    const ev = evidence(CLOSING_SEGS, closingSamples(), { TcpExtTCPLossProbes: 1, TcpRetransSegs: 3, TcpExtTCPTimeouts: 3 });
    const r = checkSkbOrphan(ev);
    expect(r.finding).toBe('reach-wire');
    expect(r.text).toBe('retransmissions reach the wire');
    expect(r.kernel).toMatchObject({ maxBackoff: 2, maxRtoMs: 1184, retrans: 1, retransTotal: 3, lossProbes: 1, attempted: 3, retransSegs: 3 });
    expect(r.wire).toMatchObject({ finTransmissions: 4, finRetransmissions: 3 });
    expect(r.missing).toBe(0);
  });
  it('backoff without retransmissions on the wire: the bug\'s signature', () => {
    const held = CLOSING_SEGS.filter((s) => !(s.flags === 'F.' && s.from === 'kernel' && s.ms > 400));
    const ev = evidence(held, closingSamples(), { TcpExtTCPLossProbes: 1, TcpRetransSegs: 1, TcpExtTCPSpuriousRtxHostQueues: 2 });
    const r = checkSkbOrphan(ev);
    expect(r.finding).toBe('lost-in-host');
    expect(r.text).toBe('retransmissions lost inside the host');
    expect(r.missing).toBe(3);
    expect(r.kernel.spuriousRtxHostQueues).toBe(2);
  });
  it('skmem t in the state, once: range, samples held, through the backoff, after each FIN', () => {
    // Charged from the first retransmission on, as when the device keeps the skbs.
    const ev = evidence(CLOSING_SEGS, closingSamples((t) => (t >= 750 ? 1280 : 0)), { TcpExtTCPLossProbes: 1 });
    const r = checkSkbOrphan(ev);
    expect(r.skmemT).toEqual({
      samples: 23, heldSamples: 21, minBytes: 0, maxBytes: 1280, heldThroughBackoff: true,
      afterEachFin: [0, 1280, 1280, 1280],
    });
    const n = skbOrphanNumbers(r);
    expect(n['kernel: skmem t (B)']).toBe('0..1280');
    expect(n['kernel: skmem t > 0 in samples']).toBe('21/23');
    expect(n['kernel: skmem t right after each FIN (B)']).toBe('0, 1280, 1280, 1280');
    // One value, one name: nothing else in the numbers speaks of wmem.
    expect(Object.keys(n).filter((k) => /skmem|wmem/.test(k))).toEqual([
      'kernel: skmem t (B)', 'kernel: skmem t > 0 in samples', 'kernel: skmem t held through the backoff', 'kernel: skmem t right after each FIN (B)',
    ]);
    expect(skbOrphanTable(r).rows.filter((row) => row.some((c) => /skmem|wmem/.test(c)))).toHaveLength(1);
    // Released at once: 0 throughout.
    const fixed = checkSkbOrphan(evidence(CLOSING_SEGS, closingSamples(() => 0), {}));
    expect(fixed.skmemT).toMatchObject({ minBytes: 0, maxBytes: 0, heldSamples: 0, heldThroughBackoff: false, afterEachFin: [0, 0, 0, 0] });
    expect(skbOrphanNumbers(fixed)['kernel: skmem t (B)']).toBe('0');
    // Without skmem in the samples there is no value, not a zero.
    expect(checkSkbOrphan(evidence(CLOSING_SEGS, closingSamples(), {})).skmemT).toBeNull();
  });
  it('no verdict without samples in the state or without attempts', () => {
    expect(checkSkbOrphan(evidence(CLOSING_SEGS, [], {})).finding).toBe('inconclusive');
    const early = closingSamples().filter((p) => p.tMs < 700);
    expect(checkSkbOrphan(evidence(CLOSING_SEGS, early, {})).finding).toBe('inconclusive');
  });
});

describe('summary views', () => {
  const ev = evidence(CLOSING_SEGS, closingSamples(), { TcpExtTCPLossProbes: 1 });
  it('the transmission table lists times, intervals, senders and the ss sample after each', () => {
    const t = transmissionTable(ev, 'FIN', ev.finTransmissions());
    expect(t.rows.map((r) => r.slice(0, 4))).toEqual([
      ['0', '0.400', '', 'original'],
      ['1', '0.712', '312.0', 'loss probe'],
      ['2', '1.036', '324.0', 'timeout 1'],
      ['3', '1.640', '604.0', 'timeout 2'],
    ]);
    expect(t.rows[2]![5]).toBe('CLOSING rto 592 backoff 1 retrans 1/2');
    const lines = formatTable(t);
    expect(lines[0]).toBe('  FIN');
    expect(lines[1]).toMatch(/^ {2}# {2}time s {2}interval ms/);
  });
  it('the timeline puts the capture and the ss changes side by side in time order', () => {
    const lines = timelineView(ev);
    const body = lines.slice(1);
    const times = body.map((l) => Number(l.trim().split(/\s+/)[0]));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(body.some((l) => /> F\. 1001:1001\(0\) ack 2 win 100 \(retransmission\)/.test(l))).toBe(true);
    const closingLine = body.find((l) => /CLOSING 1 1 \S+ \S+ timer:\(on,500ms,1\) rto:592 backoff:1 cwnd:1 unacked:1 retrans:1\/2/.test(l));
    expect(closingLine).toBeDefined();
    expect(body[body.length - 1]).toMatch(/\(no socket\)$/);
    // ss lines only when something but the countdown changes.
    expect(body.filter((l) => /CLOSING/.test(l))).toHaveLength(4);
  });
});
