/**
 * The one place the HTML report reads socket-state records: the run's
 * socket timeline (typed SocketState records, changes only) is turned into
 * the flat series the panels draw. A different record type is a change to
 * this file only.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { SocketState } from '../../evidence/socket-state.js';
import { parseSocketTimeline, socketSnapshots } from '../../evidence/socket-timeline.js';

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
function underTest(s: SocketState): boolean {
  return s.state !== 'LISTEN' && s.state !== 'UNCONN';
}

export function pointFromSocket(tMs: number, s: SocketState | null): SocketStatePoint {
  const i = s?.tcpInfo;
  const num = (v: number | undefined): number | null => (v === undefined ? null : v);
  const usToMs = (v: number | undefined): number | null => (v === undefined ? null : v / 1000);
  return {
    tMs,
    state: s ? s.state : null,
    timerKind: s?.timer ? String(s.timer.kind) : null,
    timerExpiresMs: s?.timer?.expiresMs ?? null,
    timerRetransmits: s?.timer ? s.timer.retransmits : null,
    rtoMs: usToMs(i?.tcpi_rto),
    backoff: num(i?.tcpi_backoff),
    cwnd: num(i?.tcpi_snd_cwnd),
    ssthresh: i?.tcpi_snd_ssthresh !== undefined && i.tcpi_snd_ssthresh < 0xffff ? i.tcpi_snd_ssthresh : null,
    srttMs: usToMs(i?.tcpi_rtt),
    unacked: num(i?.tcpi_unacked),
    sacked: num(i?.tcpi_sacked),
    lost: num(i?.tcpi_lost),
    wmemAlloc: s?.skmem ? s.skmem.t : null,
    wmemQueued: s?.skmem ? s.skmem.w : null,
  };
}

/** Read a timeline file into points on the script's clock (`originNs`: monotonic ns of time 0). */
export function readSocketStates(file: string | undefined, originNs: bigint): SocketStatePoint[] {
  if (!file || !existsSync(file)) return [];
  const snapshots = socketSnapshots(parseSocketTimeline(readFileSync(file, 'utf8')));
  return snapshots.map((s) => pointFromSocket(Number(s.tsNs - originNs) / 1e6, s.sockets.find(underTest) ?? null));
}

/** The congestion control of the first socket under test that names one. */
export function readCongestionControl(file: string | undefined): string | undefined {
  if (!file || !existsSync(file)) return undefined;
  for (const r of parseSocketTimeline(readFileSync(file, 'utf8'))) {
    if (r.type === 'socket' && underTest(r.socket) && r.socket.cong) return r.socket.cong;
  }
  return undefined;
}
