/**
 * The data of one run's HTML report, assembled from the evidence files the
 * run left beside its capture (capture, events, socket-state timeline,
 * counters, run marks, scenario verdict) and the run's result. Plain JSON:
 * the renderer embeds it in the page and the page draws from it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { basename, relative } from 'node:path';
import type { EventRecord } from '../../engine/event-log.js';
import type { RunResult } from '../../engine/result.js';
import { evidenceFile } from '../../evidence/files.js';
import { readCaptureSync } from '../../evidence/pcap-reader.js';
import { formatTcpOptions } from '../../packet/tcp-options.js';
import { packetsFromCapture, segmentKey, type Packet } from '../../scenario/packets.js';
import { diffPackets, failurePackets, type PacketDiff } from './packet-diff.js';
import { readCongestionControl, readSocketStates, type SocketStatePoint } from './socket-state.js';

export interface LineView {
  n: number;
  text: string;
  /** The event on this line, if it is one. Times in ms of script time. */
  event?: {
    kind: EventRecord['kind'];
    direction?: 'in' | 'out';
    timeType: string;
    expectedMs: number;
    expectedEndMs?: number;
    toleranceMs: number;
    actualMs?: number;
    /** actual minus expected, ms. */
    deltaMs?: number;
    callStartMs?: number;
    callEndMs?: number;
    blocking?: boolean;
    /** Capture frames injected or matched by this line. */
    frames: number[];
  };
  failed: boolean;
}

export interface PacketView {
  frame: number;
  tMs: number;
  dir: 'in' | 'out';
  /** Script notation with numbers relative to each side's ISN, options included. */
  text: string;
  /** Script line that injected or matched it. */
  line?: number;
  /** The capture's comment. */
  note: string;
  /** A segment the kernel sent before (same sequence range and SYN/FIN). */
  retransmission?: 'timeout' | 'loss probe';
  seq: number;
  len: number;
  ack: number;
  win: number;
  syn: boolean;
  fin: boolean;
  rst: boolean;
  hasAck: boolean;
  sack: Array<[number, number]>;
  wscale?: number;
  /** A TCP segment (the sequence graph draws only these). */
  isTcp: boolean;
}

export interface SyscallView {
  line: number;
  text: string;
  startMs: number;
  endMs: number;
  blocking: boolean;
}

export interface RtoRow {
  n: number;
  tMs: number;
  kind: string;
  intervalMs: number | null;
  /** rto from the last socket-state sample before this transmission. */
  ssRtoMs: number | null;
  ssBackoff: number | null;
  /** For the k-th timeout retransmission (from 0): the rto before the first one (backoff removed) times 2^k. */
  expectedMs: number | null;
}

export interface ScenarioView {
  name: string;
  pass: boolean;
  summary: string;
  checks: Array<{ name: string; ok: boolean; detail: string }>;
  numbers: Record<string, unknown>;
  tables: Array<{ title: string; header: string[]; rows: string[][] }>;
}

export interface RunReportModel {
  title: string;
  script: string;
  variant: string;
  verdict: RunResult['verdict'];
  exitCode: number;
  durationMs: number;
  firstError?: { line: number; headline: string; text: string; kind: string; diff?: PacketDiff & { script: string; actual: string } };
  warnings: string[];
  lines: LineView[];
  packets: PacketView[];
  syscalls: SyscallView[];
  states: SocketStatePoint[];
  rto: RtoRow[];
  counters: Array<{ name: string; value: number }>;
  env: Array<[string, string]>;
  files: Array<{ label: string; href: string }>;
  scenario?: ScenarioView;
  /** Script time span the report covers, ms. */
  endMs: number;
  /** Where time 0 came from. */
  origin: string;
  generated: string;
}

export interface RunReportInput {
  /** Folder of the evidence and of the report. */
  dir: string;
  stem: string;
  /** The script file that ran. */
  scriptPath: string;
  result: RunResult;
  /** Scenario verdict, when the run was a scenario's. */
  scenario?: ScenarioView;
}

function big(v: unknown): bigint | undefined {
  return typeof v === 'string' && /^-?\d+$/.test(v) ? BigInt(v) : undefined;
}

function readJson<T>(file: string): T | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export function readEvents(file: string): EventRecord[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as EventRecord);
}

/** The script line a capture comment names (`script line 17: ...`). */
export function commentLine(comments: readonly string[]): number | undefined {
  for (const c of comments) {
    const m = /script line (\d+)/.exec(c);
    if (m) return Number(m[1]);
  }
  return undefined;
}

/** Mark the kernel's retransmissions; the first `lossProbes` of them count as loss probes. */
export function packetViews(packets: readonly Packet[], lossProbes: number): PacketView[] {
  const seen = new Set<string>();
  let probes = lossProbes;
  return packets.map((p) => {
    const t = p.tcp;
    let text = p.text;
    const sack: Array<[number, number]> = [];
    let wscale: number | undefined;
    if (t) {
      const opts = t.options.filter((o) => o.type !== 'eol');
      if (opts.length) text += ` <${formatTcpOptions(opts)}>`;
      for (const o of t.options) {
        if (o.type === 'wscale') wscale = o.shift;
        if (o.type === 'sack') for (const b of o.blocks) sack.push([b.left, b.right]);
      }
    }
    const v: PacketView = {
      frame: p.frame, tMs: p.tMs, dir: p.direction, text, note: p.comments.join('; '),
      seq: p.seq, len: p.payloadLength, ack: p.ack, win: t ? t.window : 0,
      syn: !!t?.syn, fin: !!t?.fin, rst: !!t?.rst, hasAck: !!t?.ack, sack, isTcp: t !== undefined,
    };
    const line = commentLine(p.comments);
    if (line !== undefined) v.line = line;
    if (wscale !== undefined) v.wscale = wscale;
    if (p.from === 'kernel' && t && (p.payloadLength > 0 || t.syn || t.fin)) {
      const k = segmentKey(p);
      if (seen.has(k)) {
        v.retransmission = probes > 0 ? 'loss probe' : 'timeout';
        if (probes > 0) probes--;
      }
      seen.add(k);
    }
    return v;
  });
}

/** SACK blocks are absolute; make them relative to the ISN of the side whose data they acknowledge. */
function relativeSack(packets: Packet[], views: PacketView[]): void {
  const kernelIsn = packets.find((p) => p.from === 'kernel' && p.tcp?.syn)?.rawSeq;
  const peerIsn = packets.find((p) => p.from === 'peer' && p.tcp?.syn)?.rawSeq;
  for (const v of views) {
    const isn = v.dir === 'in' ? kernelIsn : peerIsn;
    if (isn !== undefined) v.sack = v.sack.map(([l, r]) => [(l - isn) >>> 0, (r - isn) >>> 0]);
  }
}

/** Intervals of the most retransmitted kernel segment against the rto ss showed. */
export function rtoRows(packets: readonly PacketView[], states: readonly SocketStatePoint[]): RtoRow[] {
  const groups = new Map<string, PacketView[]>();
  for (const p of packets) {
    if (p.dir !== 'out' || !(p.len > 0 || p.syn || p.fin)) continue;
    const k = `${p.seq}|${p.len}|${p.syn}|${p.fin}`;
    const g = groups.get(k) ?? [];
    g.push(p);
    groups.set(k, g);
  }
  let best: PacketView[] = [];
  for (const g of groups.values()) if (g.length > best.length) best = g;
  if (best.length < 2) return [];
  let baseRto: number | null = null;
  let timeouts = 0;
  return best.map((p, n) => {
    let before: SocketStatePoint | undefined;
    for (const s of states) {
      if (s.tMs > p.tMs) break;
      if (s.rtoMs !== null) before = s;
    }
    let expectedMs: number | null = null;
    if (p.retransmission === 'timeout') {
      if (baseRto === null && before?.rtoMs != null) baseRto = before.rtoMs / 2 ** (before.backoff ?? 0);
      if (baseRto !== null) expectedMs = baseRto * 2 ** timeouts;
      timeouts++;
    }
    return {
      n,
      tMs: p.tMs,
      kind: n === 0 ? 'original' : p.retransmission ?? 'retransmission',
      intervalMs: n === 0 ? null : p.tMs - best[n - 1]!.tMs,
      ssRtoMs: before?.rtoMs ?? null,
      ssBackoff: before?.backoff ?? null,
      expectedMs,
    };
  });
}

function kernelHz(): string {
  for (const f of [`/boot/config-${release()}`]) {
    if (!existsSync(f)) continue;
    const m = /^CONFIG_HZ=(\d+)$/m.exec(readFileSync(f, 'utf8'));
    if (m) return m[1]!;
  }
  return 'not known (no kernel config readable)';
}

interface MarksFile {
  monoToRealtimeOffsetNs?: string;
  clockStartNs?: string;
  networkReadyNs?: string;
  scriptEndNs?: string;
  holdEndNs?: string;
  holdEnded?: string;
  hold?: { maxMs: number; untilSocketGone?: boolean };
  sysctls?: Record<string, string>;
  system?: { backend: string; device: string; kernel: string; details?: Record<string, string> };
}

/** Assemble the report data of one run from its evidence. */
export function buildRunModel(input: RunReportInput): RunReportModel {
  const { dir, stem, result } = input;
  const ev = result.evidence;
  const pcapng = evidenceFile(dir, stem, 'capture', 'pcapng');
  const capturePath = ev.capture ?? [pcapng, evidenceFile(dir, stem, 'capture', 'pcap')].find((p) => existsSync(p)) ?? pcapng;
  const eventsPath = ev.events ?? evidenceFile(dir, stem, 'events');
  const timelinePath = ev.timeline ?? evidenceFile(dir, stem, 'timeline');
  const countersPath = ev.counters ?? evidenceFile(dir, stem, 'counters');
  const marksPath = evidenceFile(dir, stem, 'marks');
  const marks = readJson<MarksFile>(marksPath) ?? {};
  const offset = big(marks.monoToRealtimeOffsetNs) ?? 0n;
  const capture = existsSync(capturePath) ? readCaptureSync(capturePath) : null;
  let originNs = big(marks.clockStartNs);
  let origin = 'the script clock start the run reported';
  if (originNs === undefined) {
    const first = capture?.packets[0];
    originNs = first ? first.tsNs - offset : big(marks.networkReadyNs) ?? 0n;
    origin = first ? 'the first packet (the run reported no clock start)' : 'network ready';
  }
  const counterFile = readJson<{ diff?: Record<string, number> }>(countersPath);
  const counters = Object.entries(counterFile?.diff ?? {})
    .filter(([, v]) => typeof v === 'number' && v !== 0)
    .map(([name, value]) => ({ name, value: value as number }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const lossProbes = counters.find((c) => c.name === 'TcpExtTCPLossProbes')?.value ?? 0;
  const rawPackets = capture ? packetsFromCapture(capture, { originNs, monoToRealtimeOffsetNs: offset }) : [];
  const packets = packetViews(rawPackets, lossProbes);
  relativeSack(rawPackets, packets);
  const states = readSocketStates(timelinePath, originNs);
  const events = readEvents(eventsPath);

  const source = existsSync(input.scriptPath) ? readFileSync(input.scriptPath, 'utf8') : '';
  const failLine = result.verdict !== 'pass' ? result.firstError?.line ?? 0 : 0;
  const framesByLine = new Map<number, number[]>();
  for (const p of packets) {
    if (p.line === undefined) continue;
    const l = framesByLine.get(p.line) ?? [];
    l.push(p.frame);
    framesByLine.set(p.line, l);
  }
  const byLine = new Map<number, EventRecord>();
  for (const e of events) byLine.set(e.line, e);
  const ms = (us: number | undefined): number | undefined => (us === undefined ? undefined : us / 1000);
  const lines: LineView[] = source.replace(/\n$/, '').split('\n').map((text, i) => {
    const n = i + 1;
    const lv: LineView = { n, text, failed: n === failLine };
    const e = byLine.get(n);
    if (e) {
      const event: NonNullable<LineView['event']> = {
        kind: e.kind, timeType: e.timeType, expectedMs: e.expectedUsecs / 1000, toleranceMs: e.toleranceUsecs / 1000,
        frames: framesByLine.get(n) ?? [],
      };
      if (e.direction) event.direction = e.direction;
      if (e.expectedEndUsecs !== undefined) event.expectedEndMs = e.expectedEndUsecs / 1000;
      if (e.actualUsecs !== undefined) {
        event.actualMs = e.actualUsecs / 1000;
        event.deltaMs = event.actualMs - event.expectedMs;
      }
      if (e.callStartUsecs !== undefined) event.callStartMs = ms(e.callStartUsecs)!;
      if (e.callEndUsecs !== undefined) event.callEndMs = ms(e.callEndUsecs)!;
      if (e.blocking !== undefined) event.blocking = e.blocking;
      lv.event = event;
    }
    return lv;
  });
  const syscalls: SyscallView[] = events
    .filter((e) => e.kind === 'syscall' && e.callStartUsecs !== undefined)
    .map((e) => ({
      line: e.line,
      text: (lines[e.line - 1]?.text ?? '').trim().replace(/^[+]?[\d.~*]+\s+/, ''),
      startMs: e.callStartUsecs! / 1000,
      endMs: (e.callEndUsecs ?? e.callStartUsecs!) / 1000,
      blocking: !!e.blocking,
    }));

  const endCandidates = [
    ...packets.map((p) => p.tMs), ...states.map((s) => s.tMs), ...syscalls.map((s) => s.endMs),
  ];
  const holdEnd = big(marks.holdEndNs);
  if (holdEnd !== undefined) endCandidates.push(Number(holdEnd - originNs) / 1e6);
  const endMs = Math.max(1, ...endCandidates);

  const model: RunReportModel = {
    title: `${basename(input.scriptPath)} (${result.variant})`,
    script: result.script,
    variant: String(result.variant),
    verdict: result.verdict,
    exitCode: result.exitCode,
    durationMs: result.durationMs,
    warnings: result.warnings,
    lines,
    packets,
    syscalls,
    states,
    rto: rtoRows(packets, states),
    counters,
    env: [],
    files: [],
    endMs,
    origin,
    generated: new Date().toISOString(),
  };
  if (result.firstError) {
    const fe = result.firstError;
    model.firstError = { line: fe.line, headline: fe.headline, text: fe.text, kind: fe.kind };
    const fp = failurePackets(fe.text);
    if (fp) {
      const d = diffPackets(fp.script, fp.actual);
      const timing = /timing error: (.*)$/m.exec(fe.text);
      if (timing && !d.rows.some((r) => r.differs)) d.summary = `the packets agree; the time does not: ${timing[1]}`;
      model.firstError.diff = { ...d, ...fp };
    }
  }
  if (input.scenario) model.scenario = input.scenario;

  const cc = states.length ? readCongestionControl(timelinePath) : undefined;
  const iface = capture?.interfaces[0];
  const sys = marks.system;
  model.env = [
    ['kernel', sys ? sys.kernel : `${release()} (where the report was written; the run did not record its kernel)`],
    ['HZ', kernelHz()],
    ['device', sys ? `${sys.device} (backend ${sys.backend}, in the run's own network namespace)` : `${(iface as { name?: string } | undefined)?.name ?? 'tun0'}`],
    ...Object.entries(sys?.details ?? {}),
    ['congestion control', cc ?? 'not seen in the socket-state samples'],
    ['sysctls set for the run', Object.entries(marks.sysctls ?? {}).map(([k, v]) => `${k}=${v}`).join(', ') || '(none)'],
    ['hold', marks.hold ? `up to ${marks.hold.maxMs} ms${marks.hold.untilSocketGone ? ', until the socket is gone' : ''}; ended: ${marks.holdEnded ?? 'none'}` : 'none'],
    ['time 0', origin],
    ['capture', capture ? `${capture.format}, ${capture.packets.length} packets${capture.sectionComments[0] ? `: ${capture.sectionComments[0]}` : ''}` : 'none'],
    ['packets (result)', `${result.packets.injected} injected, ${result.packets.sniffed} sniffed`],
  ];
  const rel = (p: string): string => relative(dir, p) || basename(p);
  const fileList: Array<[string, string]> = [
    ['capture', capturePath], ['events', eventsPath], ['socket state', timelinePath], ['counters', countersPath],
    ['run marks', marksPath], ['scenario verdict', evidenceFile(dir, stem, 'verdict')], ['script', input.scriptPath],
  ];
  model.files = fileList.filter(([, p]) => existsSync(p)).map(([label, p]) => ({ label, href: encodeURI(rel(p)) }));
  return model;
}

/** The congestion control the socket reported, from the first sample that has one. */

