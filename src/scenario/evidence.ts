/**
 * Everything a scenario's verify step gets: the run's result, its capture
 * (decoded, on the script's clock), its ss timeline, its kernel counters,
 * and helpers over them. Built from the evidence files the worker left,
 * so a verdict can always be traced back to files a user can open.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { RunResult } from '../engine/result.js';
import type { Counters } from '../evidence/counters.js';
import { readCaptureSync } from '../evidence/pcap-reader.js';
import type { SsState } from '../evidence/ss-parser.js';
import type { SocketState, TcpInfoFields } from '../evidence/socket-state.js';
import { parseSocketTimeline, socketSnapshots } from '../evidence/socket-timeline.js';
import { checkExponentialBackoff, type BackoffCheck, type BackoffOptions } from './backoff.js';
import { packetsFromCapture, transmissionsOf, type Packet, type SegmentMatch, type Transmissions } from './packets.js';
import {
  disappearance,
  rtoSamples,
  series,
  stateSpans,
  timeInState,
  trackSocket,
  type Disappearance,
  type RtoSample,
  type SeriesName,
  type SeriesPoint,
  type SocketFilter,
  type SocketSample,
  type SsPoint,
  type StateSpan,
  type TimeInState,
} from './sockets.js';

export type TransmissionKind = 'original' | 'probe' | 'timeout';

export interface EvidenceFiles {
  dir: string;
  capture: string;
  timeline?: string;
  counters: string;
  /** `<stem>.run.json`: the run's clock marks. */
  marks: string;
  /** `<stem>.verdict.json`, written after verify. */
  verdict: string;
  /** The script that ran (inline scripts are written next to the evidence). */
  script: string;
}

/** How the script's time 0 was placed on the monotonic clock. */
export interface TimeOrigin {
  ns: bigint;
  /** 'engine' when the run reported its clock start, else how it was estimated. */
  source: 'engine' | 'first injected packet' | 'first packet' | 'network ready';
}

export interface EvidenceData {
  scenario: string;
  long: boolean;
  variant: string;
  result: RunResult;
  files: EvidenceFiles;
  origin: TimeOrigin;
  packets: Packet[];
  ss: SsPoint[];
  counters: { start: Counters; end: Counters; diff: Counters };
  sysctls: Record<string, string>;
  /** ms since time 0: the script's last event, and the end of the hold. */
  scriptEndMs?: number;
  holdEndMs?: number;
  holdEnded: 'socket-gone' | 'max' | 'none';
}

export class ScenarioEvidence implements EvidenceData {
  scenario!: string;
  long!: boolean;
  variant!: string;
  result!: RunResult;
  files!: EvidenceFiles;
  origin!: TimeOrigin;
  packets!: Packet[];
  ss!: SsPoint[];
  counters!: { start: Counters; end: Counters; diff: Counters };
  sysctls!: Record<string, string>;
  scriptEndMs?: number;
  holdEndMs?: number;
  holdEnded!: 'socket-gone' | 'max' | 'none';

  constructor(data: EvidenceData) {
    Object.assign(this, data);
  }

  /** A counter's change over the run (0 when it did not change). */
  counter(name: string): number {
    const v = this.counters.diff[name];
    return v === undefined ? 0 : Number(v);
  }

  /** Packets the kernel sent. */
  get kernelPackets(): Packet[] {
    return this.packets.filter((p) => p.from === 'kernel');
  }

  /** Packets the script injected. */
  get peerPackets(): Packet[] {
    return this.packets.filter((p) => p.from === 'peer');
  }

  /** The transmissions (and retransmissions) of the segments that match. */
  transmissions(match: SegmentMatch): Transmissions {
    return transmissionsOf(this.packets, match);
  }

  /**
   * Every transmission of the kernel's FIN (the first FIN it sent and every
   * later packet carrying the same FIN), or of the peer's with from 'peer'.
   */
  finTransmissions(from: 'kernel' | 'peer' = 'kernel'): Transmissions {
    const first = this.packets.find((p) => p.from === from && p.tcp?.fin);
    if (!first) return transmissionsOf([], {});
    return transmissionsOf(this.packets, { from, flags: 'F', seq: first.seq, length: first.payloadLength });
  }

  /**
   * What sent each transmission: the first of a segment is 'original';
   * of the retransmissions, the first TcpExtTCPLossProbes (the counter's
   * change over the run) are tail-loss 'probe's, the rest 'timeout's of the
   * retransmission timer. Meant for one segment's transmissions, e.g.
   * finTransmissions().
   */
  retransmissionKinds(tx: Transmissions): TransmissionKind[] {
    let probes = this.counter('TcpExtTCPLossProbes');
    const originals = new Set(tx.originals);
    return tx.packets.map((p) => {
      if (originals.has(p)) return 'original';
      if (probes > 0) {
        probes--;
        return 'probe';
      }
      return 'timeout';
    });
  }

  /** Exponential backoff of a series of transmission times. */
  checkBackoff(timesMs: readonly number[], opts?: BackoffOptions): BackoffCheck {
    return checkExponentialBackoff(timesMs, opts);
  }

  /** The socket under test in each ss sample (default: any socket but listeners and closed ones). */
  socket(filter?: SocketFilter): SocketSample[] {
    return trackSocket(this.ss, filter);
  }

  /** The states the socket went through, in order, with their time bounds. */
  states(filter?: SocketFilter): StateSpan[] {
    return stateSpans(this.socket(filter));
  }

  timeInState(state: SsState, filter?: SocketFilter): TimeInState | null {
    return timeInState(this.socket(filter), state);
  }

  /** When the socket left the ss listing (null: never seen, or still there at the end). */
  disappearance(filter?: SocketFilter): Disappearance | null {
    return disappearance(this.socket(filter));
  }

  /** rto, backoff, timer and retransmission counters per ss sample (optionally only in one state). */
  rto(state?: SsState, filter?: SocketFilter): RtoSample[] {
    return rtoSamples(this.socket(filter), state);
  }

  /** The first ss sample that started at or after `tMs` (null if none). */
  sampleAfter(tMs: number): SsPoint | null {
    return this.ss.find((p) => p.tMs >= tMs) ?? null;
  }

  /** tcp_info of the socket under test per sample (kernel field names and units). */
  tcpInfo(filter?: SocketFilter): Array<{ tMs: number; state: SsState; info: Partial<TcpInfoFields> }> {
    return this.socket(filter).flatMap((s) => (s.socket?.tcpInfo ? [{ tMs: s.tMs, state: s.socket.state, info: s.socket.tcpInfo }] : []));
  }

  /** One value of the socket under test over time: rto, backoff, cwnd, wmem_alloc, ..., any tcpi_* or skmem.* field. */
  series(name: SeriesName, filter?: SocketFilter): SeriesPoint[] {
    return series(this.socket(filter), name);
  }

  /**
   * The socket's state right after a packet: the first sample taken at or
   * after the packet's time (with the sock_diag sampler, the query that
   * packet caused). null when no sample follows or the socket is absent.
   */
  stateAt(tMs: number, filter?: SocketFilter): { tMs: number; endMs: number; socket: SocketState } | null {
    const s = this.socket(filter).find((p) => p.tMs >= tMs - 1e-6);
    return s?.socket ? { tMs: s.tMs, endMs: s.endMs, socket: s.socket } : null;
  }

  /** A time in seconds with millisecond resolution, for summaries. */
  static secs(ms: number): string {
    return (ms / 1000).toFixed(3);
  }
}

interface MarksFile {
  monoToRealtimeOffsetNs: string;
  networkReadyNs?: string;
  clockStartNs?: string;
  scriptEndNs?: string;
  holdEndNs?: string;
  holdEnded?: 'socket-gone' | 'max' | 'none';
  sysctls?: Record<string, string>;
}

export interface LoadEvidenceRequest {
  scenario: string;
  long: boolean;
  variant: string;
  result: RunResult;
  files: EvidenceFiles;
  /**
   * Script time (µs) of the event at each script line, as written (relative
   * times added up), to place time 0 when the run did not report it.
   */
  lineTimesUsecs: Map<number, number>;
}

function big(v: string | undefined): bigint | undefined {
  return v !== undefined && /^-?\d+$/.test(v) ? BigInt(v) : undefined;
}

/** Read a run's evidence files into a ScenarioEvidence. */
export function loadEvidence(req: LoadEvidenceRequest): ScenarioEvidence {
  const f = req.files;
  if (!existsSync(f.marks)) throw new Error(`evidence incomplete: ${f.marks} is missing`);
  const marks = JSON.parse(readFileSync(f.marks, 'utf8')) as MarksFile;
  const offset = big(marks.monoToRealtimeOffsetNs) ?? 0n;
  const capture = existsSync(f.capture) ? readCaptureSync(f.capture) : { format: 'pcapng' as const, interfaces: [], sectionComments: [], packets: [] };

  // Time 0: from the engine when it reported it, else from the first
  // injected packet and the time its script line gives it.
  let origin: TimeOrigin | undefined;
  const clockStart = big(marks.clockStartNs);
  if (clockStart !== undefined) origin = { ns: clockStart, source: 'engine' };
  if (!origin) {
    let injections = 0;
    for (const rec of capture.packets) {
      if (rec.direction !== 'in') continue;
      const m = /^script line (\d+):/.exec(rec.comments[0] ?? '');
      const usecs = m ? req.lineTimesUsecs.get(Number(m[1])) : undefined;
      if (usecs !== undefined) {
        const errUsecs = req.result.injectionErrorsUsecs[injections] ?? 0;
        const scheduledNs = rec.tsNs - offset - BigInt(Math.round(errUsecs * 1000));
        origin = { ns: scheduledNs - BigInt(Math.round(usecs * 1000)), source: 'first injected packet' };
        break;
      }
      injections++;
    }
  }
  if (!origin && capture.packets.length > 0) origin = { ns: capture.packets[0]!.tsNs - offset, source: 'first packet' };
  if (!origin) origin = { ns: big(marks.networkReadyNs) ?? 0n, source: 'network ready' };
  const o = origin.ns;
  const ms = (ns: bigint | undefined): number | undefined => (ns === undefined ? undefined : Number(ns - o) / 1e6);

  const packets = packetsFromCapture(capture, { originNs: o, monoToRealtimeOffsetNs: offset });
  let ss: SsPoint[] = [];
  if (f.timeline && existsSync(f.timeline)) {
    ss = socketSnapshots(parseSocketTimeline(readFileSync(f.timeline, 'utf8'))).map((s) => {
      const p: SsPoint = { tMs: Number(s.tsNs - o) / 1e6, endMs: Number(s.endNs - o) / 1e6, sockets: s.sockets, cause: s.cause };
      if (s.packetNs !== undefined) p.packetMs = Number(s.packetNs - o) / 1e6;
      return p;
    });
  }
  let counters = { start: {} as Counters, end: {} as Counters, diff: {} as Counters };
  if (existsSync(f.counters)) counters = JSON.parse(readFileSync(f.counters, 'utf8')) as typeof counters;
  const data: EvidenceData = {
    scenario: req.scenario,
    long: req.long,
    variant: req.variant,
    result: req.result,
    files: f,
    origin,
    packets,
    ss,
    counters,
    sysctls: marks.sysctls ?? {},
    holdEnded: marks.holdEnded ?? 'none',
  };
  const se = ms(big(marks.scriptEndNs));
  const he = ms(big(marks.holdEndNs));
  if (se !== undefined) data.scriptEndMs = se;
  if (he !== undefined) data.holdEndMs = he;
  return new ScenarioEvidence(data);
}
