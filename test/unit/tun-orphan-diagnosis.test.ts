/**
 * The tun skb_orphan diagnosis on synthetic evidence: the numbers of a
 * stock and an unorphaning 6.1 kernel (a SYN that sits in tun's queue, the
 * CLOSING FIN), a qdisc that holds the segments, devices that drain, and
 * the evidence that cannot decide. Then the same from a scenario run's
 * evidence: real encoded packets, ss text with skmem, the device's
 * end-of-run numbers.
 */
import { describe, expect, it } from 'vitest';
import type { CaptureFile, CaptureRecord } from '../../src/evidence/pcap-reader.js';
import { parseSs, type SsSocket } from '../../src/evidence/ss-parser.js';
import { socketStateFromSs } from '../../src/evidence/socket-state.js';
import { encodePacket } from '../../src/packet/index.js';
import { ScenarioEvidence, type EvidenceData } from '../../src/scenario/evidence.js';
import { packetsFromCapture } from '../../src/scenario/packets.js';
import type { SsPoint } from '../../src/scenario/sockets.js';
import type { RunResult } from '../../src/engine/result.js';
import {
  diagnoseTunOrphan,
  runDeviceReport,
  tunOrphanEvidence,
  TUN_ORPHAN_VERDICT_TEXT,
  type TunOrphanEvidence,
} from '../../src/scenario/tun-orphan-diagnosis.js';

/** A connect() whose SYN times out three times (rto 1, 2, 4 s). */
function synRun(over: Partial<TunOrphanEvidence> = {}): TunOrphanEvidence {
  return {
    device: 'tun-lazy',
    segment: 'SYN',
    wire: { transmissions: 4, timesMs: [0, 1000, 3000, 7000] },
    socket: { maxBackoff: 3, maxRtoMs: 8000, retrans: 1, retransTotal: 3 },
    counters: { retransSegs: 3, retransFail: 0, spuriousRtxHostQueues: 0, lossProbes: 0, timeouts: 3 },
    wmemAlloc: [0, 500, 1500, 3500, 7500].map((tMs) => ({ tMs, bytes: 0 })),
    qdisc: { kind: 'pfifo_fast', backlogPackets: 0 },
    tunQueueLeft: 4,
    ...over,
  };
}

/** The same with tun's skb_orphan() removed, as measured on 6.1.192: nothing retransmitted, t 1280 throughout. */
function synRunNoOrphan(over: Partial<TunOrphanEvidence> = {}): TunOrphanEvidence {
  return synRun({
    wire: { transmissions: 1, timesMs: [0] },
    socket: { maxBackoff: 3, maxRtoMs: 8000, retrans: 0, retransTotal: 0 },
    counters: { retransSegs: 0, retransFail: 0, spuriousRtxHostQueues: 3, lossProbes: 0, timeouts: 3 },
    wmemAlloc: [0, 500, 1500, 3500, 7500].map((tMs) => ({ tMs, bytes: 1280 })),
    tunQueueLeft: 1,
    ...over,
  });
}

/** The CLOSING FIN held by tbf: the first FIN went out, the probe waits in the qdisc. */
function finHeld(over: Partial<TunOrphanEvidence> = {}): TunOrphanEvidence {
  return {
    device: 'tun',
    segment: 'FIN',
    wire: { transmissions: 1, timesMs: [400] },
    socket: { maxBackoff: 5, maxRtoMs: 9472, retrans: 0, retransTotal: 1 },
    counters: { retransSegs: 1, retransFail: 0, spuriousRtxHostQueues: 5, lossProbes: 1, timeouts: 5 },
    wmemAlloc: [500, 2000, 6000].map((tMs) => ({ tMs, bytes: 2304 })),
    qdisc: { kind: 'tbf', backlogPackets: 2 },
    ...over,
  };
}

describe('diagnoseTunOrphan', () => {
  it('tun-lazy, every SYN retransmission on the wire and t 0: tun orphans (fixed)', () => {
    const d = diagnoseTunOrphan(synRun());
    expect(d.verdict).toBe('orphans');
    expect(d.heldIn).toBe('nowhere');
    expect(d.numbers).toMatchObject({ attempted: 3, onWire: 3, skipped: 0, wmemMax: 0 });
    expect(d.text).toMatch(/^tun orphans its skbs \(fixed\): 4 SYN transmission\(s\) on the wire \(3 of 3 retransmissions\)/);
    expect(d.text).toContain('skmem t 0 throughout');
    expect(d.why).toContain('skb_orphan()');
  });

  it('tun-lazy, no retransmission, t 1280 throughout, host-queue count 3, qdisc empty: the 2.6.32 bug', () => {
    const d = diagnoseTunOrphan(synRunNoOrphan());
    expect(d.verdict).toBe('no-orphan');
    expect(d.heldIn).toBe('driver');
    expect(d.numbers).toMatchObject({ attempted: 3, onWire: 0, skipped: 3, wmemMin: 1280, wmemMax: 1280 });
    expect(d.text).toMatch(/^tun does not orphan its skbs \(the 2\.6\.32 bug\): 1 SYN transmission/);
    expect(d.text).toContain('TCPRetransFail 0, TCPSpuriousRtxHostQueues 3');
    expect(d.text).toContain('skmem t 1280 throughout');
    expect(d.why).toContain('-EBUSY');
  });

  it('the bug is still named without skmem samples, from the empty qdisc and the host-queue count', () => {
    const d = diagnoseTunOrphan(synRunNoOrphan({ wmemAlloc: null }));
    expect(d.verdict).toBe('no-orphan');
    expect(d.text).toContain('skmem t not sampled');
  });

  it('a qdisc that holds packets: a host queue, not a driver bug, on every device and kernel', () => {
    for (const device of ['tun', 'tun-lazy', 'veth'] as const) {
      const d = diagnoseTunOrphan(finHeld({ device }));
      expect(d.verdict).toBe('host-queue');
      expect(d.heldIn).toBe('qdisc');
      expect(d.text).toMatch(/^segments held in a host queue \(not a driver bug\):/);
      expect(d.text).toContain('qdisc tbf backlog 2p');
      expect(d.numbers).toMatchObject({ attempted: 6, onWire: 0, skipped: 6 });
    }
  });

  it('the same skipped retransmissions with the qdisc empty point at the driver instead', () => {
    expect(diagnoseTunOrphan(finHeld({ device: 'tun-lazy', qdisc: { kind: 'pfifo_fast', backlogPackets: 0 } })).verdict).toBe('no-orphan');
  });

  it('a draining tun reader or veth: masked, whichever the kernel', () => {
    const tun = diagnoseTunOrphan(synRun({ device: 'tun', tunQueueLeft: null }));
    expect(tun.verdict).toBe('masked');
    expect(tun.text).toMatch(/^masked: a draining reader frees each segment at once:/);
    expect(tun.why).toContain('drains');
    const veth = diagnoseTunOrphan(synRun({ device: 'veth', tunQueueLeft: null }));
    expect(veth.verdict).toBe('masked');
    expect(veth.text).toMatch(/^masked: veth frees each segment at once \(tun is not on this path\)/);
  });

  it('retransmissions missing with TCPRetransFail and no host-queue count: another failure', () => {
    const d = diagnoseTunOrphan(synRunNoOrphan({ counters: { retransSegs: 0, retransFail: 3, spuriousRtxHostQueues: 0, lossProbes: 0, timeouts: 3 } }));
    expect(d.verdict).toBe('inconclusive');
    expect(d.text).toMatch(/^inconclusive: 3 retransmission\(s\) failed, not held \(TCPRetransFail 3\)/);
  });

  it('retransmissions missing with no count at all: not a host queue', () => {
    const d = diagnoseTunOrphan(synRunNoOrphan({ counters: { retransSegs: 3, retransFail: 0, spuriousRtxHostQueues: 0, lossProbes: 0, timeouts: 3 } }));
    expect(d.verdict).toBe('inconclusive');
    expect(d.text).toContain('missing on the wire with no host-queue count');
  });

  it('cannot tell a qdisc from the driver without the qdisc backlog', () => {
    const d = diagnoseTunOrphan(synRunNoOrphan({ qdisc: null }));
    expect(d.verdict).toBe('inconclusive');
    expect(d.text).toContain('qdisc backlog unknown');
  });

  it('skipped while nothing was charged to the socket: not a copy owned by it', () => {
    const d = diagnoseTunOrphan(synRunNoOrphan({ wmemAlloc: [{ tMs: 100, bytes: 0 }, { tMs: 900, bytes: 0 }] }));
    expect(d.verdict).toBe('inconclusive');
    expect(d.text).toContain('nothing in flight');
  });

  it('skipped over veth with an empty qdisc: not tun', () => {
    expect(diagnoseTunOrphan(synRunNoOrphan({ device: 'veth' })).verdict).toBe('inconclusive');
  });

  it('no retransmission attempted, or the segment never seen: no verdict', () => {
    const none = diagnoseTunOrphan(synRun({
      wire: { transmissions: 1, timesMs: [0] },
      socket: { maxBackoff: 0, maxRtoMs: 1000, retrans: 0, retransTotal: 0 },
      counters: { retransSegs: 0, retransFail: 0, spuriousRtxHostQueues: 0, lossProbes: 0, timeouts: 0 },
    }));
    expect(none.verdict).toBe('inconclusive');
    expect(none.text).toMatch(/^inconclusive: the kernel attempted no retransmission/);
    const unseen = diagnoseTunOrphan(synRun({ wire: { transmissions: 0, timesMs: [] } }));
    expect(unseen.text).toMatch(/^inconclusive: the kernel's SYN never reached the device/);
  });

  it('every verdict has its text', () => {
    expect(Object.keys(TUN_ORPHAN_VERDICT_TEXT).sort()).toEqual(['host-queue', 'inconclusive', 'masked', 'no-orphan', 'orphans']);
  });
});

// ---- from a scenario run's evidence -------------------------------------------

const ORIGIN = 2_000_000_000_000n;
const OFFSET = 1_700_000_000_000_000_000n;
const LOCAL = '192.168.0.1';
const REMOTE = '192.0.2.1';

function synRecord(ms: number): CaptureRecord {
  const data = encodePacket({
    ipv4: { src: LOCAL, dst: REMOTE },
    tcp: { srcPort: 40000, dstPort: 8080, seq: 0x20000000, ackSeq: 0, flags: 'S', window: 64240 },
    payload: 0,
  });
  return { interfaceId: 0, tsNs: ORIGIN + OFFSET + BigInt(ms * 1e6), data, originalLength: data.length, direction: 'out', comments: [] };
}

/** A SYN-SENT socket as iproute2 6.1 prints it with -tinoemH. */
function synSent(backoff: number, rto: number, total: number, t: number): SsSocket {
  const text = `SYN-SENT   0      1      ${LOCAL}:40000      ${REMOTE}:8080 timer:(on,500ms,${backoff}) ino:77 sk:3 cgroup:/ <->\n` +
    `\t skmem:(r0,rb131072,t${t},tb46080,f2816,w1280,o0,bl0,d0) cubic wscale:7,7 rto:${rto}${backoff ? ` backoff:${backoff}` : ''} mss:524 pmtu:1500 rcvmss:88 advmss:1460 cwnd:10 ssthresh:7 segs_out:${1 + total} segs_in:0 unacked:1${total ? ` retrans:1/${total}` : ''} lastsnd:10 lastrcv:10 lastack:10\n`;
  return parseSs(text)[0]!;
}

function synEvidence(opts: { sent: number[]; t: number; total: (backoff: number) => number; device?: unknown; spurious: number }): ScenarioEvidence {
  const capture: CaptureFile = { format: 'pcapng', interfaces: [], sectionComments: [], packets: opts.sent.map(synRecord) };
  const ss: SsPoint[] = [];
  for (let ms = 100; ms < 6900; ms += 400) {
    const backoff = ms < 1000 ? 0 : ms < 3000 ? 1 : ms < 7000 ? 2 : 3;
    ss.push({ tMs: ms, endMs: ms + 5, sockets: [socketStateFromSs(synSent(backoff, 1000 << backoff, opts.total(backoff), opts.t))] });
  }
  const result: RunResult & { device?: unknown } = {
    script: 'syn.pkt', variant: 'ipv4', verdict: 'pass', exitCode: 0, durationMs: 7600, warnings: [], evidence: {},
    packets: { injected: 0, sniffed: opts.sent.length }, injectionErrorsUsecs: [],
    ...(opts.device === undefined ? {} : { device: opts.device }),
  };
  const data: EvidenceData = {
    scenario: 'syn', long: false, variant: 'ipv4', result,
    files: { dir: '/tmp', capture: '/tmp/s.pcapng', counters: '/tmp/s.counters.json', marks: '/tmp/s.run.json', verdict: '/tmp/s.verdict.json', script: '/tmp/s.pkt' },
    origin: { ns: ORIGIN, source: 'engine' },
    packets: packetsFromCapture(capture, { originNs: ORIGIN, monoToRealtimeOffsetNs: OFFSET }),
    ss,
    counters: { start: {}, end: {}, diff: { TcpRetransSegs: opts.total(2), TcpExtTCPSpuriousRtxHostQueues: opts.spurious, TcpExtTCPTimeouts: 2 } },
    sysctls: {},
    holdEnded: 'max',
  };
  return new ScenarioEvidence(data);
}

const LAZY_REPORT = { kind: 'tun-lazy', numbers: { 'sent to tun (AF_PACKET, outgoing)': 3, 'left in tun queue': 3, 'qdisc backlog (packets)': 0, 'qdisc drops': 0 } };

describe('tunOrphanEvidence from a scenario run', () => {
  it('stock: the SYN and its retransmissions, t 0, the device numbers from the run', () => {
    const ev = synEvidence({ sent: [0, 1000, 3000], t: 0, total: (b) => b, device: LAZY_REPORT, spurious: 0 });
    const e = tunOrphanEvidence(ev, { segment: 'SYN' });
    expect(e.device).toBe('tun-lazy');
    expect(e.wire.transmissions).toBe(3);
    expect(e.socket).toMatchObject({ maxBackoff: 2, maxRtoMs: 4000, retrans: 1, retransTotal: 2 });
    expect(e.wmemAlloc?.every((s) => s.bytes === 0)).toBe(true);
    expect(e.qdisc).toEqual({ kind: 'root', backlogPackets: 0 });
    expect(e.tunQueueLeft).toBe(3);
    expect(diagnoseTunOrphan(e).verdict).toBe('orphans');
  });

  it('without the orphan: one SYN, t 1280, the host-queue count', () => {
    const ev = synEvidence({ sent: [0], t: 1280, total: () => 0, device: LAZY_REPORT, spurious: 2 });
    const d = diagnoseTunOrphan(tunOrphanEvidence(ev, { segment: 'SYN' }));
    expect(d.verdict).toBe('no-orphan');
    expect(d.numbers).toMatchObject({ attempted: 2, onWire: 0, skipped: 2, wmemMax: 1280 });
  });

  it('a run without a device report: the options say what the device and qdisc were', () => {
    const ev = synEvidence({ sent: [0], t: 1280, total: () => 0, spurious: 2 });
    expect(tunOrphanEvidence(ev, { segment: 'SYN' }).device).toBe('tun');
    expect(tunOrphanEvidence(ev, { segment: 'SYN' }).qdisc).toBeNull();
    const e = tunOrphanEvidence(ev, { segment: 'SYN', device: 'tun-lazy', qdisc: { kind: 'tbf', backlogPackets: 1 } });
    expect(diagnoseTunOrphan(e).verdict).toBe('host-queue');
  });

  it('reads a device report only when it has the expected shape', () => {
    expect(runDeviceReport({})).toBeNull();
    expect(runDeviceReport({ device: 'tun' })).toBeNull();
    expect(runDeviceReport({ device: { kind: 'veth', numbers: { x: 1 } } })).toEqual({ kind: 'veth', numbers: { x: 1 } });
  });
});
