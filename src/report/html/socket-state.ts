/**
 * The one place the HTML report reads socket-state records: whatever the
 * timeline file holds (today `ss -tinoe` samples parsed into SsSocket) is
 * turned into the flat series the panels draw. A different record type is
 * a change to this file only.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { SsSocket } from '../../evidence/ss-parser.js';
import type { SsSample } from '../../evidence/ss-sampler.js';
import { parseTimeline } from '../../evidence/timeline.js';

/** One sample of the socket under test (all numbers may be null: not known in that sample). */
export interface SocketStatePoint {
  /** ms since the script's time 0. */
  tMs: number;
  /** TCP state name, or null when the socket was not listed. */
  state: string | null;
  timerKind: string | null;
  timerExpiresMs: number | null;
  timerRetransmits: number | null;
  rtoMs: number | null;
  backoff: number | null;
  cwnd: number | null;
  ssthresh: number | null;
  srttMs: number | null;
  unacked: number | null;
  sacked: number | null;
  lost: number | null;
  wmemAlloc: number | null;
  wmemQueued: number | null;
}

/** The socket a report follows: any TCP socket but listeners and closed ones. */
function underTest(s: SsSocket): boolean {
  return s.state !== 'LISTEN' && s.state !== 'UNCONN';
}

export function pointFromSocket(tMs: number, s: SsSocket | null): SocketStatePoint {
  const i = s?.info;
  return {
    tMs,
    state: s ? s.state : null,
    timerKind: s?.timer ? String(s.timer.kind) : null,
    timerExpiresMs: s?.timer?.expiresMs ?? null,
    timerRetransmits: s?.timer ? s.timer.retransmits : null,
    rtoMs: i?.rtoMs ?? null,
    backoff: i ? i.backoff : null,
    cwnd: i?.cwnd ?? null,
    ssthresh: i?.ssthresh ?? null,
    srttMs: i?.rttMs ?? null,
    unacked: i ? i.unacked : null,
    sacked: i ? i.sacked : null,
    lost: i ? i.lost : null,
    wmemAlloc: s?.skmem ? s.skmem.wmemAlloc : null,
    wmemQueued: s?.skmem ? s.skmem.wmemQueued : null,
  };
}

/** Read a timeline file into points on the script's clock (`originNs`: monotonic ns of time 0). */
export function readSocketStates(file: string | undefined, originNs: bigint): SocketStatePoint[] {
  if (!file || !existsSync(file)) return [];
  const samples = parseTimeline<SsSample>(readFileSync(file, 'utf8'));
  return samples.map((s) => pointFromSocket(Number(s.tsNs - originNs) / 1e6, s.sockets.find(underTest) ?? null));
}
