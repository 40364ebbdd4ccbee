/**
 * Checks shared by scenarios.
 *
 * The tun skb_orphan check. A TCP retransmission only happens when the
 * previous copy of the segment has left the host: as long as a clone of it
 * is still owned by the socket (sitting in a qdisc, or in a driver that did
 * not orphan it), the kernel skips the retransmission
 * (TcpExtTCPSpuriousRtxHostQueues) yet still backs the timer off. The tun
 * driver once kept the skbs it queued owned by the socket (its transmit path
 * did not call skb_orphan()), so every retransmission over tun failed
 * silently: ss showed the rto backing off while no retransmitted segment
 * ever reached the wire. The check compares the two sides: what the kernel
 * says it attempted, and what the TUN reader received.
 */
import type { Table } from './api.js';
import type { ScenarioEvidence } from './evidence.js';
import type { SsState } from '../evidence/ss-parser.js';

export type SkbOrphanFinding = 'reach-wire' | 'lost-in-host' | 'inconclusive';

export interface SkbOrphanReport {
  finding: SkbOrphanFinding;
  /** "retransmissions reach the wire", "retransmissions lost inside the host", or why no verdict. */
  text: string;
  kernel: {
    /** Highest icsk_backoff ss showed: retransmission timeouts that backed off. */
    maxBackoff: number;
    /** Highest rto ss showed, ms. */
    maxRtoMs: number | null;
    /** ss retrans:CUR/TOTAL at the highest backoff. */
    retrans: number;
    retransTotal: number;
    /** Counters over the run. */
    lossProbes: number;
    timeouts: number;
    retransSegs: number;
    spuriousRtxHostQueues: number;
    /** TcpExtTCPRetransFail: retransmissions the device refused (not the host-queue skips). */
    retransFail: number;
    /** Retransmissions the kernel attempted: loss probes + timeouts that backed off. */
    attempted: number;
  };
  wire: {
    /** Transmissions of the kernel's FIN that reached the TUN reader. */
    finTransmissions: number;
    finRetransmissions: number;
    timesMs: number[];
  };
  /** Attempted retransmissions that never reached the reader. */
  missing: number;
  /** skmem `t` of the socket in `state`; null without skmem in the timeline. */
  skmemT: SkmemT | null;
}

/**
 * skmem `t` (sk_wmem_alloc, bytes: what ss -m shows as `t`, sock_diag as
 * SK_MEMINFO_WMEM_ALLOC) of the socket while in one state. An skb the device
 * has not released stays charged to the socket, and while it is, the kernel
 * refuses to retransmit (TcpExtTCPSpuriousRtxHostQueues).
 */
export interface SkmemT {
  /** Samples in the state that carried skmem, and how many of them had t > 0. */
  samples: number;
  heldSamples: number;
  minBytes: number;
  maxBytes: number;
  /** After the first backoff: whether every sample still had t > 0. */
  heldThroughBackoff: boolean;
  /** t right after each FIN transmission that reached the reader (null: no sample then). */
  afterEachFin: Array<number | null>;
}

/**
 * Compare the kernel's account of its FIN retransmissions (ss backoff and
 * retrans, TcpRetransSegs, TcpExtTCPLossProbes, TcpExtTCPTimeouts) with the
 * FIN transmissions the TUN reader received, while the socket is in `state`
 * (default CLOSING).
 */
export function checkSkbOrphan(ev: ScenarioEvidence, opts: { state?: SsState } = {}): SkbOrphanReport {
  const state = opts.state ?? 'CLOSING';
  const rows = ev.rto(state);
  let top = rows[0];
  for (const r of rows) if (top === undefined || r.backoff > top.backoff || (r.backoff === top.backoff && r.retransTotal > top.retransTotal)) top = r;
  const maxRto = rows.reduce<number | null>((m, r) => (r.rtoMs !== undefined && (m === null || r.rtoMs > m) ? r.rtoMs : m), null);
  const lossProbes = ev.counter('TcpExtTCPLossProbes');
  const maxBackoff = top?.backoff ?? 0;
  const fins = ev.finTransmissions();
  const kernel = {
    maxBackoff,
    maxRtoMs: maxRto,
    retrans: top?.retrans ?? 0,
    retransTotal: top?.retransTotal ?? 0,
    lossProbes,
    timeouts: ev.counter('TcpExtTCPTimeouts'),
    retransSegs: ev.counter('TcpRetransSegs'),
    spuriousRtxHostQueues: ev.counter('TcpExtTCPSpuriousRtxHostQueues'),
    retransFail: ev.counter('TcpExtTCPRetransFail'),
    attempted: lossProbes + maxBackoff,
  };
  const wire = {
    finTransmissions: fins.packets.length,
    finRetransmissions: fins.retransmissions.length,
    timesMs: fins.timesMs,
  };
  const missing = Math.max(0, kernel.attempted - wire.finRetransmissions);
  let finding: SkbOrphanFinding;
  let text: string;
  if (rows.length === 0) {
    finding = 'inconclusive';
    text = `no ss sample showed the socket in ${state}`;
  } else if (wire.finTransmissions === 0) {
    finding = 'inconclusive';
    text = 'the kernel sent no FIN';
  } else if (kernel.attempted === 0) {
    finding = 'inconclusive';
    text = 'the kernel attempted no retransmission while it was sampled';
  } else if (missing === 0) {
    finding = 'reach-wire';
    text = 'retransmissions reach the wire';
  } else {
    finding = 'lost-in-host';
    text = 'retransmissions lost inside the host';
  }
  return { finding, text, kernel, wire, missing, skmemT: skmemTIn(ev, state, fins.timesMs) };
}

function skmemTIn(ev: ScenarioEvidence, state: SsState, finTimesMs: readonly number[]): SkmemT | null {
  const points = ev.series('skmem.t').filter((p) => p.state === state);
  if (points.length === 0) return null;
  const values = points.map((p) => p.value);
  const backedOff = ev.rto(state).find((r) => r.backoff >= 1);
  const after = backedOff ? points.filter((p) => p.tMs >= backedOff.tMs) : [];
  return {
    samples: points.length,
    heldSamples: values.filter((v) => v > 0).length,
    minBytes: Math.min(...values),
    maxBytes: Math.max(...values),
    heldThroughBackoff: after.length > 0 && after.every((p) => p.value > 0),
    afterEachFin: finTimesMs.map((t) => ev.stateAt(t)?.socket.skmem?.t ?? null),
  };
}

/** `min..max` bytes, or `-` without skmem. */
export function skmemTRange(t: SkmemT | null): string {
  return t === null ? '-' : t.minBytes === t.maxBytes ? String(t.minBytes) : `${t.minBytes}..${t.maxBytes}`;
}

function afterEachFinText(t: SkmemT): string {
  return t.afterEachFin.map((v) => (v === null ? '-' : String(v))).join(', ');
}

/** The report's numbers, flat, for a verdict. */
export function skbOrphanNumbers(r: SkbOrphanReport): Record<string, number | string | boolean | null> {
  return {
    finding: r.finding,
    'kernel: ss max backoff': r.kernel.maxBackoff,
    'kernel: ss max rto (ms)': r.kernel.maxRtoMs,
    'kernel: ss retrans (cur/total)': `${r.kernel.retrans}/${r.kernel.retransTotal}`,
    'kernel: TcpExtTCPLossProbes': r.kernel.lossProbes,
    'kernel: TcpExtTCPTimeouts': r.kernel.timeouts,
    'kernel: TcpRetransSegs': r.kernel.retransSegs,
    'kernel: TcpExtTCPSpuriousRtxHostQueues': r.kernel.spuriousRtxHostQueues,
    'kernel: TcpExtTCPRetransFail': r.kernel.retransFail,
    'kernel: retransmissions attempted (probes + backoffs)': r.kernel.attempted,
    'wire: FIN transmissions': r.wire.finTransmissions,
    'wire: FIN retransmissions': r.wire.finRetransmissions,
    'missing on the wire': r.missing,
    'kernel: skmem t (B)': skmemTRange(r.skmemT),
    'kernel: skmem t > 0 in samples': r.skmemT ? `${r.skmemT.heldSamples}/${r.skmemT.samples}` : null,
    'kernel: skmem t held through the backoff': r.skmemT ? r.skmemT.heldThroughBackoff : null,
    'kernel: skmem t right after each FIN (B)': r.skmemT ? afterEachFinText(r.skmemT) : null,
  };
}

/** The two sides of the report as a table. */
export function skbOrphanTable(r: SkbOrphanReport): Table {
  const k = r.kernel;
  return {
    title: 'what the kernel says it retransmitted, and what reached the TUN reader',
    header: ['kernel (ss, counters)', '', 'wire (TUN reader)', ''],
    rows: [
      ['ss max backoff', String(k.maxBackoff), 'FIN transmissions', String(r.wire.finTransmissions)],
      ['ss max rto ms', String(k.maxRtoMs ?? '-'), 'FIN retransmissions', String(r.wire.finRetransmissions)],
      ['ss retrans cur/total', `${k.retrans}/${k.retransTotal}`, 'FIN times s', r.wire.timesMs.map((t) => (t / 1000).toFixed(3)).join(' ')],
      ['TcpExtTCPLossProbes', String(k.lossProbes), '', ''],
      ['TcpExtTCPTimeouts', String(k.timeouts), '', ''],
      ['TcpRetransSegs', String(k.retransSegs), '', ''],
      ['TcpExtTCPSpuriousRtxHostQueues', String(k.spuriousRtxHostQueues), '', ''],
      ['TcpExtTCPRetransFail', String(k.retransFail), '', ''],
      ['attempted (probes + backoffs)', String(k.attempted), 'missing on the wire', String(r.missing)],
      ['skmem t (B)', skmemTRange(r.skmemT), 'skmem t after each FIN (B)', r.skmemT ? afterEachFinText(r.skmemT) : '-'],
    ],
  };
}
