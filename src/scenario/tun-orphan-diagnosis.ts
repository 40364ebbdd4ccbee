/**
 * Does tun orphan the skbs it queues? The diagnosis of one run's evidence.
 *
 * A TCP retransmission only leaves when the previous copy of the segment
 * has left the host. In Linux 6.1 (net/ipv4/tcp_output.c):
 *
 *   __tcp_retransmit_skb()         if (skb_still_in_host_queue(sk, skb))
 *                                          return -EBUSY;
 *   skb_still_in_host_queue()      if skb_fclone_busy(sk, skb) (checked
 *                                  twice around TSQ_THROTTLED): counts
 *                                  LINUX_MIB_TCPSPURIOUS_RTX_HOSTQUEUES
 *                                  (TcpExtTCPSpuriousRtxHostQueues), true
 *   skb_fclone_busy()              (include/linux/skbuff.h) the segment in
 *                                  the retransmit queue is the original of
 *                                  an fclone pair, its companion clone is
 *                                  still alive (fclone_ref > 1) and the
 *                                  clone still belongs to this socket
 *                                  (skb2.sk == sk)
 *
 * The clone is what tcp_transmit_skb() sent down the stack, charged to the
 * socket (sk_wmem_alloc, ss skmem `t`, through skb_set_owner_w/tcp_wfree).
 * It stops belonging to the socket when someone calls skb_orphan() on it
 * (skb->sk = NULL, the destructor returns the charge) or frees it.
 *
 *   tun_net_xmit() (drivers/net/tun.c) calls skb_orphan(skb) right before
 *   ptr_ring_produce() puts the skb in tun's queue "as we might hang on to
 *   it for indefinite time". A segment waiting in tun's queue is then no
 *   longer the socket's: the next retransmission goes out. Without that
 *   call (2.6.32's tun; kernels/patches/tun-no-skb-orphan.patch puts it
 *   back) the clone keeps skb->sk until a reader takes it out of the
 *   queue: skb_fclone_busy() stays true, every retransmission of that
 *   segment returns -EBUSY, and sk_wmem_alloc stays charged.
 *
 * Why ss still shows the backoff growing: tcp_retransmit_timer() bumps
 * icsk_retransmits, calls tcp_retransmit_skb(), and only a result > 0
 * (local congestion) skips the backoff; -EBUSY is negative, so
 * icsk_backoff++ and the rto doubles as if the segment had gone out. The
 * failed attempt does not count in TcpRetransSegs nor in tcpi_total_retrans
 * (both are updated after the check), and not in TCPRetransFail either:
 * __tcp_retransmit_skb counts that only for err != -EBUSY. A tail-loss
 * probe takes the same exit (tcp_send_loss_probe: skb_still_in_host_queue
 * → rearm_timer) and is then not counted in TcpExtTCPLossProbes.
 *
 * A qdisc holds the clone the same way (it is queued before the driver,
 * still owned), so the counter alone cannot tell a driver bug from a held
 * qdisc: where the segment waits can. Packets in the qdisc show as its
 * backlog in `tc -s qdisc`; a segment past the qdisc, in tun's own queue,
 * shows only as the socket's sk_wmem_alloc staying charged while the qdisc
 * is empty.
 *
 * And a device that takes each segment at once hides the bug: a tun reader
 * that drains the queue frees each clone within microseconds (kfree_skb in
 * tun_do_read), and veth hands it to the peer's receive path at once
 * (veth_xmit → __dev_forward_skb → netif_rx; ip_rcv_core() orphans or the
 * stack frees it). skb_fclone_busy() is then false at every retransmission
 * timeout whether or not tun orphaned, so such a run cannot tell a fixed
 * kernel from a broken one: the diagnosis says "masked".
 */

import type { ScenarioEvidence } from './evidence.js';
import type { SsState } from '../evidence/ss-parser.js';

/** The path between kernel and harness. */
export type TunDeviceKind = 'tun' | 'tun-lazy' | 'veth';

export type TunOrphanVerdictKind =
  /** tun orphans its skbs (fixed). */
  | 'orphans'
  /** tun does not orphan its skbs (the 2.6.32 bug). */
  | 'no-orphan'
  /** Segments held in a host queue (a qdisc): not a driver bug. */
  | 'host-queue'
  /** The device frees each segment at once: this run cannot tell. */
  | 'masked'
  | 'inconclusive';

export const TUN_ORPHAN_VERDICT_TEXT: Record<TunOrphanVerdictKind, string> = {
  orphans: 'tun orphans its skbs (fixed)',
  'no-orphan': 'tun does not orphan its skbs (the 2.6.32 bug)',
  'host-queue': 'segments held in a host queue (not a driver bug)',
  masked: 'masked: a draining reader frees each segment at once',
  inconclusive: 'inconclusive',
};

/** One run's evidence about one segment the kernel kept retransmitting (a FIN, a SYN). */
export interface TunOrphanEvidence {
  device: TunDeviceKind;
  /** What the segment is, for the text: 'FIN', 'SYN'. */
  segment: string;
  /** Transmissions of the segment that reached the device (capture: the TUN reader, AF_PACKET on tun0, the veth peer). */
  wire: { transmissions: number; timesMs: number[] };
  /** The socket as ss / sock_diag showed it, at its highest backoff. */
  socket: {
    maxBackoff: number;
    maxRtoMs: number | null;
    /** retrans:CUR/TOTAL (tcpi_retrans / tcpi_total_retrans). */
    retrans: number;
    retransTotal: number;
  };
  /** MIB counter changes over the run (the run's namespace). */
  counters: {
    retransSegs: number;
    retransFail: number;
    spuriousRtxHostQueues: number;
    lossProbes: number;
    timeouts: number;
  };
  /**
   * sk_wmem_alloc (skmem `t`, bytes) of the socket from the segment's first
   * transmission on; null when the run did not sample skmem.
   */
  wmemAlloc: Array<{ tMs: number; bytes: number }> | null;
  /** The device's root qdisc at the end of the run (`tc -s qdisc`); null when unknown. */
  qdisc: { kind: string; backlogPackets: number } | null;
  /** Packets left unread in tun's own queue at the end (tun-lazy), when known. */
  tunQueueLeft?: number | null;
}

export interface TunOrphanDiagnosis {
  verdict: TunOrphanVerdictKind;
  /** The verdict in words (TUN_ORPHAN_VERDICT_TEXT, or why there is none). */
  headline: string;
  /** The headline with its numbers. */
  text: string;
  /** Why, from the 6.1 source. */
  why: string;
  /** Where the previous copy waited when a retransmission was skipped. */
  heldIn: 'qdisc' | 'driver' | 'nowhere' | 'unknown';
  numbers: {
    /** Retransmissions the kernel attempted: sent loss probes + retransmission timeouts (ss backoff, or TcpExtTCPTimeouts when higher). */
    attempted: number;
    /** Retransmissions that reached the device. */
    onWire: number;
    /** Attempted but not on the wire. */
    skipped: number;
    wmemMin: number | null;
    wmemMax: number | null;
    wmemLast: number | null;
  };
}

const DRAINS: Record<TunDeviceKind, string> = {
  tun: 'the reader drains tun0, freeing each segment at once',
  'tun-lazy': "tun0 is not read: segments wait in tun's queue",
  veth: "veth hands each segment to the peer's receive path at once",
};

function wmemStats(samples: TunOrphanEvidence['wmemAlloc']): { min: number | null; max: number | null; last: number | null } {
  if (!samples || samples.length === 0) return { min: null, max: null, last: null };
  let min = Infinity;
  let max = -Infinity;
  for (const s of samples) {
    min = Math.min(min, s.bytes);
    max = Math.max(max, s.bytes);
  }
  return { min, max, last: samples[samples.length - 1]!.bytes };
}

function wmemText(w: { min: number | null; max: number | null; last: number | null }): string {
  if (w.max === null) return 'skmem t not sampled';
  return w.min === w.max ? `skmem t ${w.max} throughout` : `skmem t ${w.min}-${w.max} (last ${w.last})`;
}

export function diagnoseTunOrphan(ev: TunOrphanEvidence): TunOrphanDiagnosis {
  const c = ev.counters;
  // Timeouts that back off, or all timeouts where some do not (6.x's linear SYN timeouts).
  const attempted = c.lossProbes + Math.max(ev.socket.maxBackoff, c.timeouts);
  const onWire = Math.max(0, ev.wire.transmissions - 1);
  const skipped = Math.max(0, attempted - onWire);
  const w = wmemStats(ev.wmemAlloc);
  const numbers = { attempted, onWire, skipped, wmemMin: w.min, wmemMax: w.max, wmemLast: w.last };
  const qdiscHolds = ev.qdisc !== null && ev.qdisc.backlogPackets > 0;
  const kernelSide =
    `ss backoff ${ev.socket.maxBackoff} (rto ${ev.socket.maxRtoMs ?? '?'} ms), retrans ${ev.socket.retrans}/${ev.socket.retransTotal}, ` +
    `TcpRetransSegs ${c.retransSegs}, TCPRetransFail ${c.retransFail}, TCPSpuriousRtxHostQueues ${c.spuriousRtxHostQueues}`;
  const wireSide = `${ev.wire.transmissions} ${ev.segment} transmission(s) on the wire (${onWire} of ${attempted} retransmissions)`;
  const qdiscText = ev.qdisc ? `qdisc ${ev.qdisc.kind} backlog ${ev.qdisc.backlogPackets}p` : 'qdisc unknown';
  const tunQueue = ev.tunQueueLeft === undefined || ev.tunQueueLeft === null ? '' : `, ${ev.tunQueueLeft} packet(s) left in tun's queue`;
  const all = `${wireSide}; ${kernelSide}; ${wmemText(w)}; ${qdiscText}${tunQueue}`;
  const make = (verdict: TunOrphanVerdictKind, heldIn: TunOrphanDiagnosis['heldIn'], why: string, reason?: string): TunOrphanDiagnosis => ({
    verdict,
    headline: reason ?? TUN_ORPHAN_VERDICT_TEXT[verdict],
    heldIn,
    why,
    numbers,
    text: `${reason ?? TUN_ORPHAN_VERDICT_TEXT[verdict]}: ${all}`,
  });

  if (ev.wire.transmissions === 0) {
    return make('inconclusive', 'unknown', 'the check needs the first transmission on the wire to count its retransmissions', `inconclusive: the kernel's ${ev.segment} never reached the device`);
  }
  if (attempted === 0) {
    return make('inconclusive', 'unknown', 'no retransmission timeout fired while the socket was sampled: nothing to compare', 'inconclusive: the kernel attempted no retransmission');
  }

  if (skipped === 0) {
    if (ev.device === 'tun-lazy') {
      return make('orphans', 'nowhere',
        "every retransmission went out although the earlier copies still sat unread in tun's queue: tun_net_xmit() had orphaned them (skb_orphan() before ptr_ring_produce()), so skb_fclone_busy() was false and __tcp_retransmit_skb() went ahead");
    }
    return make('masked', 'nowhere',
      `${DRAINS[ev.device]}, so skb_fclone_busy() is false at every timeout whether or not tun_net_xmit() orphans: a fixed kernel and a broken one look alike here (run it with tun-lazy)`,
      ev.device === 'veth' ? 'masked: veth frees each segment at once (tun is not on this path)' : undefined);
  }

  // Retransmissions were skipped.
  if (c.spuriousRtxHostQueues === 0) {
    if (c.retransFail > 0) {
      return make('inconclusive', 'unknown',
        '__tcp_retransmit_skb() failed for another reason than a copy in a host queue (TCPRetransFail counts every error but -EBUSY: no route, no memory)',
        `inconclusive: ${skipped} retransmission(s) failed, not held (TCPRetransFail ${c.retransFail})`);
    }
    return make('inconclusive', 'unknown',
      'a skipped retransmission of a segment still in a host queue bumps TCPSpuriousRtxHostQueues (skb_still_in_host_queue); with the counter at 0 the missing ones were lost elsewhere (the capture?)',
      `inconclusive: ${skipped} retransmission(s) missing on the wire with no host-queue count`);
  }

  if (qdiscHolds) {
    return make('host-queue', 'qdisc',
      `the ${ev.qdisc!.kind} qdisc still holds ${ev.qdisc!.backlogPackets} packet(s): a clone waiting there is owned by the socket (the qdisc runs before the driver), so skb_fclone_busy() is true and __tcp_retransmit_skb() returns -EBUSY whatever the driver does`);
  }
  if (ev.device === 'veth') {
    return make('inconclusive', 'unknown',
      'veth is not tun and its qdisc is empty: something else in the host held the segments',
      `inconclusive: ${skipped} retransmission(s) skipped over veth with an empty qdisc`);
  }
  if (ev.qdisc === null) {
    return make('inconclusive', 'unknown',
      "without the qdisc's backlog a held qdisc cannot be told from a driver that keeps its skbs",
      `inconclusive: ${skipped} retransmission(s) skipped, qdisc backlog unknown`);
  }
  if (w.max !== null && w.max === 0) {
    return make('inconclusive', 'unknown',
      'skb_fclone_busy() needs the clone to still belong to the socket, which keeps sk_wmem_alloc charged; the socket had nothing charged',
      `inconclusive: ${skipped} retransmission(s) skipped while the socket had nothing in flight`);
  }
  return make('no-orphan', 'driver',
    `the qdisc is empty, so the previous copy waited past it, in tun's queue, still owned by the socket${w.max !== null ? ` (sk_wmem_alloc charged: ${wmemText(w)})` : ''}: tun_net_xmit() did not call skb_orphan(), skb_fclone_busy() stayed true, and each retransmission returned -EBUSY (counted in TCPSpuriousRtxHostQueues, not in TCPRetransFail) while tcp_retransmit_timer() backed off all the same`);
}

// ---------------------------------------------------------------------------
// From a scenario run's evidence.


export interface FromScenarioOptions {
  /** The segment to follow: the kernel's FIN (default) or its SYN. */
  segment?: 'FIN' | 'SYN';
  /** The socket's state while it retransmits (default CLOSING for a FIN, SYN-SENT for a SYN). */
  state?: SsState;
  /** The device; default: what the run reported, else 'tun'. */
  device?: TunDeviceKind;
  /** The root qdisc at the end; default: what the run's device reported. */
  qdisc?: TunOrphanEvidence['qdisc'];
}

/** The device's end-of-run numbers, when the run carries them (`result.device`). */
export function runDeviceReport(result: object): { kind: string; numbers: Record<string, number | string> } | null {
  const d = (result as { device?: unknown }).device;
  if (typeof d !== 'object' || d === null) return null;
  const { kind, numbers } = d as { kind?: unknown; numbers?: unknown };
  if (typeof kind !== 'string' || typeof numbers !== 'object' || numbers === null) return null;
  return { kind, numbers: numbers as Record<string, number | string> };
}

function numberAt(numbers: Record<string, number | string>, pattern: RegExp): number | null {
  for (const [k, v] of Object.entries(numbers)) if (pattern.test(k) && typeof v === 'number') return v;
  return null;
}

function isDeviceKind(s: string): s is TunDeviceKind {
  return s === 'tun' || s === 'tun-lazy' || s === 'veth';
}

/** Gather a TunOrphanEvidence from a scenario run. */
export function tunOrphanEvidence(ev: ScenarioEvidence, opts: FromScenarioOptions = {}): TunOrphanEvidence {
  const segment = opts.segment ?? 'FIN';
  const state: SsState = opts.state ?? (segment === 'FIN' ? 'CLOSING' : 'SYN-SENT');
  let tx;
  if (segment === 'FIN') tx = ev.finTransmissions();
  else {
    const first = ev.packets.find((p) => p.from === 'kernel' && p.tcp?.syn && !p.tcp.ack);
    tx = ev.transmissions(first ? { flags: 'S', notFlags: '.', seq: first.seq } : { flags: 'S', notFlags: '.', where: () => false });
  }
  const rows = ev.rto(state);
  let top = rows[0];
  for (const r of rows) if (top === undefined || r.backoff > top.backoff || (r.backoff === top.backoff && r.retransTotal > top.retransTotal)) top = r;
  const maxRto = rows.reduce<number | null>((m, r) => (r.rtoMs !== undefined && (m === null || r.rtoMs > m) ? r.rtoMs : m), null);
  const firstMs = tx.timesMs[0];
  const samples = firstMs === undefined ? [] : ev.socket().filter((s) => s.tMs >= firstMs && s.socket !== null);
  const wmem = samples.flatMap((s) => (s.socket?.skmem ? [{ tMs: s.tMs, bytes: s.socket.skmem.t }] : []));
  const report = runDeviceReport(ev.result);
  const device = opts.device ?? (report && isDeviceKind(report.kind) ? report.kind : 'tun');
  let qdisc: TunOrphanEvidence['qdisc'] = opts.qdisc ?? null;
  if (opts.qdisc === undefined && report) {
    const backlog = numberAt(report.numbers, /^qdisc backlog \(packets\)$/);
    const kind = report.numbers.qdisc;
    if (backlog !== null) qdisc = { kind: typeof kind === 'string' ? kind : 'root', backlogPackets: backlog };
  }
  return {
    device,
    segment,
    wire: { transmissions: tx.packets.length, timesMs: tx.timesMs },
    socket: { maxBackoff: top?.backoff ?? 0, maxRtoMs: maxRto, retrans: top?.retrans ?? 0, retransTotal: top?.retransTotal ?? 0 },
    counters: {
      retransSegs: ev.counter('TcpRetransSegs'),
      retransFail: ev.counter('TcpExtTCPRetransFail'),
      spuriousRtxHostQueues: ev.counter('TcpExtTCPSpuriousRtxHostQueues'),
      lossProbes: ev.counter('TcpExtTCPLossProbes'),
      timeouts: ev.counter('TcpExtTCPTimeouts'),
    },
    wmemAlloc: samples.length > 0 && wmem.length === samples.length ? wmem : null,
    qdisc,
    tunQueueLeft: report ? numberAt(report.numbers, /^left in tun queue$/) : null,
  };
}
