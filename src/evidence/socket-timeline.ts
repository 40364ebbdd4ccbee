/**
 * The socket-state timeline of a run (`<stem>.sockets.jsonl`): one JSON line
 * per record, the same whichever sampler took it.
 *
 *   {"type":"start","sampler":"sock_diag","intervalMs":10,"tsNs":"..."}
 *   {"type":"socket","tsNs":"...","endNs":"...","sinceNs":"...","cause":"out","packetNs":"...","key":"2e","socket":{...}}
 *   {"type":"gone","tsNs":"...","endNs":"...","sinceNs":"...","cause":"dump","key":"2e","socket":{...last state...}}
 *   {"type":"end","tsNs":"...","stats":{...}}
 *
 * Only changes are written: a `socket` record when a socket (by cookie) is
 * first seen or differs from its last record in more than the fields that
 * move with the clock alone; a `gone` record when a full listing no longer
 * has it. `sinceNs` is the end of the last sample that still showed the
 * previous state (absent on a first sighting), so the change happened in
 * (sinceNs, endNs]. Times are CLOCK_MONOTONIC ns, the capture's clock;
 * `packetNs` is the time stamp of the packet whose query took the sample
 * (cause `in`: a packet written to the TUN, `out`: one read from it).
 */
import type { SockDiagRecord } from '../native/addon.js';
import { decodeInetDiag, socketStateFromSs, stableKey, type SocketState } from './socket-state.js';
import type { SsSocket } from './ss-parser.js';
import { parseTimeline } from './timeline.js';

export type SamplerKind = 'sock_diag' | 'ss';
export type SampleCause = 'dump' | 'in' | 'out' | 'final' | 'ss';

export interface StartRecord {
  type: 'start';
  sampler: SamplerKind;
  intervalMs: number;
  tsNs: bigint;
}

export interface SocketRecord {
  type: 'socket' | 'gone';
  tsNs: bigint;
  endNs: bigint;
  sinceNs?: bigint;
  cause: SampleCause;
  packetNs?: bigint;
  /** The socket's cookie (hex). */
  key: string;
  socket: SocketState;
}

export interface EndRecord {
  type: 'end';
  tsNs: bigint;
  stats: Record<string, number>;
}

export type TimelineRecord = StartRecord | SocketRecord | EndRecord;

/** A sock_diag sampler record as a timeline record. */
export function fromSockDiag(r: SockDiagRecord): SocketRecord {
  const socket = decodeInetDiag(r.data);
  const rec: SocketRecord = { type: r.gone ? 'gone' : 'socket', tsNs: r.tsNs, endNs: r.endNs, cause: r.cause, key: socket.cookie, socket };
  if (r.sinceNs > 0n) rec.sinceNs = r.sinceNs;
  if (r.packetNs > 0n) rec.packetNs = r.packetNs;
  return rec;
}

/**
 * Turns full listings (ss samples) into change records, with the same rule
 * the native sampler applies to its replies.
 */
export class ChangeTracker {
  private last = new Map<string, { key: string; socket: SocketState; seenNs: bigint }>();

  /** Records for one complete listing taken between tsNs and endNs. */
  listing(tsNs: bigint, endNs: bigint, sockets: readonly SocketState[], cause: SampleCause): SocketRecord[] {
    const out: SocketRecord[] = [];
    const seen = new Set<string>();
    const tsMs = Number(tsNs / 1000n) / 1000;
    for (const socket of sockets) {
      const id = socket.cookie || `${socket.state} ${socket.local.address}:${socket.local.port} ${socket.peer.address}:${socket.peer.port}`;
      seen.add(id);
      const key = stableKey(socket, tsMs);
      const prev = this.last.get(id);
      if (prev && prev.key === key) {
        prev.seenNs = endNs;
        continue;
      }
      const rec: SocketRecord = { type: 'socket', tsNs, endNs, cause, key: id, socket };
      if (prev) rec.sinceNs = prev.seenNs;
      out.push(rec);
      this.last.set(id, { key, socket, seenNs: endNs });
    }
    for (const [id, prev] of this.last) {
      if (seen.has(id)) continue;
      out.push({ type: 'gone', tsNs, endNs, sinceNs: prev.seenNs, cause, key: id, socket: prev.socket });
      this.last.delete(id);
    }
    return out;
  }

  /** One ss listing. */
  ssListing(tsNs: bigint, endNs: bigint, sockets: readonly SsSocket[]): SocketRecord[] {
    return this.listing(tsNs, endNs, sockets.map(socketStateFromSs), 'ss');
  }
}

/** The sockets a timeline shows as present, kept up to date record by record. */
export class SocketTable {
  readonly sockets = new Map<string, SocketState>();
  apply(r: SocketRecord): void {
    if (r.type === 'gone') this.sockets.delete(r.key);
    else this.sockets.set(r.key, r.socket);
  }
  list(): SocketState[] {
    return [...this.sockets.values()];
  }
}

const BIG = ['tsNs', 'endNs', 'sinceNs', 'packetNs'];

/** Parse a socket timeline's text. */
export function parseSocketTimeline(text: string): TimelineRecord[] {
  return parseTimeline<Record<string, unknown>>(text).map((r) => {
    for (const k of BIG) if (typeof r[k] === 'string' && /^\d+$/.test(r[k] as string)) r[k] = BigInt(r[k] as string);
    return r as unknown as TimelineRecord;
  });
}

/** The listing at one time: every socket present then. */
export interface SocketSnapshot {
  /** The sample's start and end (CLOCK_MONOTONIC ns). */
  tsNs: bigint;
  endNs: bigint;
  sockets: SocketState[];
  /** What took the sample (for a point that only repeats the state before a change: 'since'). */
  cause: SampleCause | 'since' | 'end';
  packetNs?: bigint;
}

/**
 * The timeline as a series of listings: one at every change (records with
 * the same start time form one listing) and, before a change, one at the
 * last time the previous state was seen, so that each state's bounds are
 * where the samples put them. The end record closes it with the last state.
 */
export function socketSnapshots(records: readonly TimelineRecord[]): SocketSnapshot[] {
  const table = new SocketTable();
  const out: SocketSnapshot[] = [];
  const changes = records.filter((r): r is SocketRecord => r.type === 'socket' || r.type === 'gone');
  changes.sort((a, b) => (a.tsNs < b.tsNs ? -1 : a.tsNs > b.tsNs ? 1 : 0));
  let lastNs = -1n;
  for (let i = 0; i < changes.length; ) {
    const ts = changes[i]!.tsNs;
    let j = i;
    let since = -1n;
    while (j < changes.length && changes[j]!.tsNs === ts) {
      const s = changes[j]!.sinceNs;
      if (s !== undefined && s > since) since = s;
      j++;
    }
    if (since > lastNs && since < ts) out.push({ tsNs: since, endNs: since, sockets: table.list(), cause: 'since' });
    let end = ts;
    for (let k = i; k < j; k++) {
      table.apply(changes[k]!);
      if (changes[k]!.endNs > end) end = changes[k]!.endNs;
    }
    const snap: SocketSnapshot = { tsNs: ts, endNs: end, sockets: table.list(), cause: changes[i]!.cause };
    const pkt = changes[i]!.packetNs;
    if (pkt !== undefined) snap.packetNs = pkt;
    out.push(snap);
    lastNs = end;
    i = j;
  }
  const endRec = records.find((r): r is EndRecord => r.type === 'end');
  if (endRec && endRec.tsNs > lastNs) out.push({ tsNs: endRec.tsNs, endNs: endRec.tsNs, sockets: table.list(), cause: 'end' });
  return out;
}
