/**
 * The socket-state timeline of a run as a scenario sees it: listings on the
 * script's clock (one at every change, and one at the last sighting of the
 * state before it), the socket under test picked out of each, and what a
 * kernel engineer asks of it: which states the socket went through and for
 * how long, when it disappeared, its rto and backoff over time, any
 * tcp_info or skmem field as a series, and its state at any packet.
 *
 * Times: the kernel's socket table is read somewhere between a sample's
 * start (`tMs`, the request) and its end (`endMs`, the reply complete).
 * Durations are therefore given as a lower and an upper bound.
 */
import type { SsState } from '../evidence/ss-parser.js';
import type { SocketState, TcpInfoFields } from '../evidence/socket-state.js';
import type { SampleCause } from '../evidence/socket-timeline.js';

type SsSocket = SocketState;

export interface SsPoint {
  /** ms since the script's time 0 when the sample was requested. */
  tMs: number;
  /** ms since the script's time 0 when the reply was complete. */
  endMs: number;
  sockets: SocketState[];
  /** What took it: a packet ('in' written to the TUN, 'out' read from it), a periodic listing, ... */
  cause?: SampleCause | 'since' | 'end';
  /** ms since time 0 of the packet whose query took it. */
  packetMs?: number;
}

/** Which socket of a listing is under test. */
export type SocketFilter =
  | ((s: SsSocket) => boolean)
  | { state?: SsState; localPort?: number; peerPort?: number; peerAddress?: string };

/** The default: every TCP socket but listeners and closed ones. */
export function defaultSocketFilter(s: SsSocket): boolean {
  return s.state !== 'LISTEN' && s.state !== 'UNCONN';
}

export function socketPredicate(f: SocketFilter | undefined): (s: SsSocket) => boolean {
  if (f === undefined) return defaultSocketFilter;
  if (typeof f === 'function') return f;
  return (s) =>
    defaultSocketFilter(s) &&
    (f.state === undefined || s.state === f.state) &&
    (f.localPort === undefined || s.local.port === f.localPort) &&
    (f.peerPort === undefined || s.peer.port === f.peerPort) &&
    (f.peerAddress === undefined || s.peer.address === f.peerAddress || s.peer.address === `::ffff:${f.peerAddress}`);
}

/** One sample of the socket under test (socket null: not in that listing). */
export interface SocketSample {
  tMs: number;
  endMs: number;
  socket: SsSocket | null;
}

export function trackSocket(points: readonly SsPoint[], filter?: SocketFilter): SocketSample[] {
  const pick = socketPredicate(filter);
  return points.map((p) => ({ tMs: p.tMs, endMs: p.endMs, socket: p.sockets.find(pick) ?? null }));
}

/** An unbroken run of samples in which the socket was in one state. */
export interface StateSpan {
  state: SsState;
  /** Start of the first sample that showed the state. */
  firstSeenMs: number;
  /** End of the last sample that showed the state. */
  lastSeenMs: number;
  samples: number;
  /** The state began after this (start of the sample before, or the first sample's start). */
  enteredAfterMs: number;
  /** The state ended before this (end of the sample after; null while it lasted to the last sample). */
  leftBeforeMs: number | null;
  /** Shortest time in the state the samples allow: last sample's start minus first sample's end (>= 0). */
  minDurationMs: number;
  /** Longest: leftBefore (or last seen) minus enteredAfter. */
  maxDurationMs: number;
}

/** The states the socket went through, in order (a socket absent from a sample ends a span). */
export function stateSpans(samples: readonly SocketSample[]): StateSpan[] {
  const spans: StateSpan[] = [];
  let cur: { state: SsState; first: number; last: number; n: number; enteredAfter: number; lastStart: number; firstEnd: number } | null = null;
  const close = (nextEnd: number | null): void => {
    if (!cur) return;
    const leftBefore = nextEnd;
    spans.push({
      state: cur.state,
      firstSeenMs: cur.first,
      lastSeenMs: cur.last,
      samples: cur.n,
      enteredAfterMs: cur.enteredAfter,
      leftBeforeMs: leftBefore,
      minDurationMs: Math.max(0, cur.lastStart - cur.firstEnd),
      maxDurationMs: (leftBefore ?? cur.last) - cur.enteredAfter,
    });
    cur = null;
  };
  samples.forEach((s, i) => {
    const state = s.socket?.state ?? null;
    if (cur && state !== cur.state) close(s.endMs);
    if (state !== null) {
      if (!cur) {
        const enteredAfter = i > 0 ? samples[i - 1]!.tMs : s.tMs;
        cur = { state, first: s.tMs, last: s.endMs, n: 1, enteredAfter, lastStart: s.tMs, firstEnd: s.endMs };
      } else {
        cur.last = s.endMs;
        cur.lastStart = s.tMs;
        cur.n++;
      }
    }
  });
  close(null);
  return spans;
}

/** Time spent in a state: its spans added up (null when never seen). */
export interface TimeInState {
  state: SsState;
  firstSeenMs: number;
  lastSeenMs: number;
  samples: number;
  minDurationMs: number;
  maxDurationMs: number;
  spans: StateSpan[];
}

export function timeInState(samples: readonly SocketSample[], state: SsState): TimeInState | null {
  const spans = stateSpans(samples).filter((s) => s.state === state);
  if (spans.length === 0) return null;
  return {
    state,
    firstSeenMs: spans[0]!.firstSeenMs,
    lastSeenMs: spans[spans.length - 1]!.lastSeenMs,
    samples: spans.reduce((n, s) => n + s.samples, 0),
    minDurationMs: spans.reduce((n, s) => n + s.minDurationMs, 0),
    maxDurationMs: spans.reduce((n, s) => n + s.maxDurationMs, 0),
    spans,
  };
}

export interface Disappearance {
  /** Start of the last sample that still listed the socket. */
  lastSeenMs: number;
  /** End of the first sample after it without the socket. */
  goneByMs: number;
  lastState: SsState;
  /** From the first sample that listed it to goneBy: the longest the samples allow. */
  lifetimeMaxMs: number;
}

/** When the socket left the ss listing for good; null if it was never seen or still there at the end. */
export function disappearance(samples: readonly SocketSample[]): Disappearance | null {
  let last = -1;
  let first = -1;
  samples.forEach((s, i) => {
    if (s.socket) {
      last = i;
      if (first < 0) first = i;
    }
  });
  if (last < 0 || last === samples.length - 1) return null;
  const gone = samples[last + 1]!;
  return {
    lastSeenMs: samples[last]!.tMs,
    goneByMs: gone.endMs,
    lastState: samples[last]!.socket!.state,
    lifetimeMaxMs: gone.endMs - samples[first]!.tMs,
  };
}

/** What the socket's state said about the retransmission timer in one sample. */
export interface RtoSample {
  tMs: number;
  endMs: number;
  state: SsState;
  rtoMs?: number;
  backoff: number;
  /** timer:(on,...,N): icsk_retransmits. */
  timerRetransmits?: number;
  timerKind?: string;
  timerExpiresMs?: number | null;
  /** retrans:CUR/TOTAL */
  retrans: number;
  retransTotal: number;
  unacked: number;
  socket: SocketState;
}

export function rtoSamples(samples: readonly SocketSample[], state?: SsState): RtoSample[] {
  const out: RtoSample[] = [];
  for (const s of samples) {
    const sock = s.socket;
    const info = sock?.tcpInfo;
    if (!sock || !info) continue;
    if (state !== undefined && sock.state !== state) continue;
    const r: RtoSample = {
      tMs: s.tMs,
      endMs: s.endMs,
      state: sock.state,
      backoff: info.tcpi_backoff ?? 0,
      retrans: info.tcpi_retrans ?? 0,
      retransTotal: info.tcpi_total_retrans ?? 0,
      unacked: info.tcpi_unacked ?? 0,
      socket: sock,
    };
    if (info.tcpi_rto !== undefined) r.rtoMs = info.tcpi_rto / 1000;
    if (sock.timer) {
      r.timerRetransmits = sock.timer.retransmits;
      r.timerKind = sock.timer.kind;
      r.timerExpiresMs = sock.timer.expiresMs;
    }
    out.push(r);
  }
  return out;
}

/** Series names: short names for what kernel engineers look at, or any tcp_info field (tcpi_*) or skmem key (skmem.t, ...). */
export const SERIES: Readonly<Record<string, (s: SocketState) => number | undefined>> = {
  rto: (s) => (s.tcpInfo?.tcpi_rto === undefined ? undefined : s.tcpInfo.tcpi_rto / 1000),
  backoff: (s) => s.tcpInfo?.tcpi_backoff,
  cwnd: (s) => s.tcpInfo?.tcpi_snd_cwnd,
  ssthresh: (s) => s.tcpInfo?.tcpi_snd_ssthresh,
  unacked: (s) => s.tcpInfo?.tcpi_unacked,
  retrans: (s) => s.tcpInfo?.tcpi_retrans,
  total_retrans: (s) => s.tcpInfo?.tcpi_total_retrans,
  rtt: (s) => (s.tcpInfo?.tcpi_rtt === undefined ? undefined : s.tcpInfo.tcpi_rtt / 1000),
  timer_retransmits: (s) => s.timer?.retransmits,
  timer_expires: (s) => s.timer?.expiresMs,
  wmem_alloc: (s) => s.skmem?.t,
  wmem_queued: (s) => s.skmem?.w,
  rmem_alloc: (s) => s.skmem?.r,
  sndbuf: (s) => s.skmem?.tb,
  fwd_alloc: (s) => s.skmem?.f,
  send_q: (s) => s.sendQ,
  recv_q: (s) => s.recvQ,
};

export type SeriesName = keyof typeof SERIES | `tcpi_${string}` | `skmem.${string}`;

export interface SeriesPoint {
  tMs: number;
  endMs: number;
  state: SsState;
  value: number;
}

/** One value of the socket under test over time (samples where it is absent or has no such value are left out). */
export function series(samples: readonly SocketSample[], name: SeriesName): SeriesPoint[] {
  let get = SERIES[name];
  if (!get && name.startsWith('tcpi_')) get = (s) => s.tcpInfo?.[name as keyof TcpInfoFields];
  if (!get && name.startsWith('skmem.')) get = (s) => (s.skmem as unknown as Record<string, number> | undefined)?.[name.slice(6)];
  if (!get) throw new Error(`unknown series ${name}: use one of ${Object.keys(SERIES).join(', ')}, a tcpi_* field or skmem.<r|rb|t|tb|f|w|o|bl|d>`);
  const out: SeriesPoint[] = [];
  for (const s of samples) {
    const v = s.socket ? get(s.socket) : undefined;
    if (s.socket && v !== undefined) out.push({ tMs: s.tMs, endMs: s.endMs, state: s.socket.state, value: v });
  }
  return out;
}
