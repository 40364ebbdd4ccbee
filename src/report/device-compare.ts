/**
 * The same script or scenario on several devices (tun, tun-lazy, veth),
 * compared: one table per script line (the packets the line injected or
 * matched, with their script times), then the socket states, the MIB
 * counters and the device's own numbers; for a scenario one table of its
 * verdict numbers. A row whose values differ between devices is flagged.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readCaptureSync } from '../evidence/pcap-reader.js';
import type { SocketState } from '../evidence/socket-state.js';
import { parseSocketTimeline, socketSnapshots } from '../evidence/socket-timeline.js';
import type { RunResult } from '../engine/result.js';

export interface CompareTable {
  title: string;
  /** Column heads: what, then one per device. */
  devices: string[];
  rows: Array<{ what: string; values: string[]; differs: boolean }>;
}

/** One device's run of a script variant, with its evidence. */
export interface DeviceRun {
  device: string;
  result: RunResult;
}

/** Times closer than this count as the same when flagging differences. */
export const TIME_FLAG_MS = 1;

interface LinePacket {
  tMs: number;
  text: string;
}

const LINE_NOTE = /script line (\d+)[:;] ([<>] [^;]*)/;

/** Packets of a run's capture per script line, with their script times (ms). */
export function packetsByLine(capturePath: string): Map<number, LinePacket[]> {
  const out = new Map<number, LinePacket[]>();
  if (!existsSync(capturePath)) return out;
  const cap = readCaptureSync(capturePath);
  const marksPath = capturePath.replace(/\.(pcapng|pcap)$/, '.run.json');
  let originRealNs: bigint | null = null;
  if (existsSync(marksPath)) {
    const m = JSON.parse(readFileSync(marksPath, 'utf8')) as { monoToRealtimeOffsetNs?: string; clockStartNs?: string };
    if (m.clockStartNs && m.monoToRealtimeOffsetNs) originRealNs = BigInt(m.clockStartNs) + BigInt(m.monoToRealtimeOffsetNs);
  }
  const origin = originRealNs ?? cap.packets[0]?.tsNs ?? 0n;
  for (const p of cap.packets) {
    for (const c of p.comments) {
      const m = LINE_NOTE.exec(c);
      if (!m) continue;
      const line = Number(m[1]);
      const list = out.get(line) ?? [];
      // The kernel's TS val differs between any two runs (a random offset per connection).
      const text = m[2]!.trim().replace(/^(>.*TS val )\d+/, '$1*');
      list.push({ tMs: Number(p.tsNs - origin) / 1e6, text });
      out.set(line, list);
    }
  }
  return out;
}

/** Values differ when two devices that have one disagree ('-': the device has no such value). */
function differs(values: string[]): boolean {
  const known = values.filter((v) => v !== '-');
  return known.some((v) => v !== known[0]);
}

function row(what: string, values: string[], flag = differs(values)): CompareTable['rows'][number] {
  return { what, values, differs: flag };
}

/** Per-line tables, then socket state, counters and device numbers, for runs of one script variant. */
export function compareScriptRuns(runs: DeviceRun[], scriptLines?: Map<number, string>): CompareTable[] {
  const devices = runs.map((r) => r.device);
  const tables: CompareTable[] = [];
  tables.push({
    title: 'verdict', devices,
    rows: [
      row('verdict', runs.map((r) => r.result.verdict)),
      row('first error', runs.map((r) => r.result.firstError?.headline ?? '-')),
      row('packets injected / sniffed', runs.map((r) => `${r.result.packets.injected} / ${r.result.packets.sniffed}`)),
    ],
  });
  const byLine = runs.map((r) => (r.result.evidence.capture ? packetsByLine(r.result.evidence.capture) : new Map<number, LinePacket[]>()));
  const lines = [...new Set(byLine.flatMap((m) => [...m.keys()]))].sort((a, b) => a - b);
  for (const line of lines) {
    const per = byLine.map((m) => m.get(line) ?? []);
    const n = Math.max(...per.map((p) => p.length));
    const rows: CompareTable['rows'] = [];
    for (let i = 0; i < n; i++) {
      const pk = per.map((p) => p[i]);
      rows.push(row(`packet ${i + 1}`, pk.map((p) => p?.text ?? '(none)')));
      const times = pk.map((p) => p?.tMs);
      const known = times.filter((t): t is number => t !== undefined);
      const spread = known.length ? Math.max(...known) - Math.min(...known) : 0;
      rows.push(row(`packet ${i + 1} time ms`, times.map((t) => (t === undefined ? '-' : t.toFixed(3))), known.length !== times.length || spread > TIME_FLAG_MS));
    }
    const src = scriptLines?.get(line);
    tables.push({ title: `line ${line}${src ? `: ${src.trim()}` : ''}`, devices, rows });
  }
  tables.push(socketTable(runs));
  tables.push(countersTable(runs));
  tables.push(deviceTable(runs));
  return tables;
}

/** The sockets present at the end of each run's socket-state timeline: state, backoff, retransmissions and skmem t / w. */
function socketTable(runs: DeviceRun[]): CompareTable {
  const last = runs.map((r): SocketState[] | null => {
    const p = r.result.evidence.timeline;
    if (!p || !existsSync(p)) return null;
    const snaps = socketSnapshots(parseSocketTimeline(readFileSync(p, 'utf8')));
    for (let i = snaps.length - 1; i >= 0; i--) if (snaps[i]!.sockets.length > 0) return snaps[i]!.sockets;
    return [];
  });
  const n = Math.max(0, ...last.map((l) => l?.length ?? 0));
  const rows: CompareTable['rows'] = [];
  for (let i = 0; i < n; i++) {
    const s = last.map((l) => l?.[i]);
    const info = (x: SocketState | undefined) => x?.tcpInfo;
    rows.push(row(`socket ${i + 1} state`, s.map((x) => x?.state ?? '-')));
    rows.push(row(`socket ${i + 1} backoff / retrans`, s.map((x) => {
      const t = info(x);
      return t ? `${t.tcpi_backoff ?? 0} / ${t.tcpi_retrans ?? 0}/${t.tcpi_total_retrans ?? 0}` : '-';
    })));
    rows.push(row(`socket ${i + 1} segs_out`, s.map((x) => String(info(x)?.tcpi_segs_out ?? '-'))));
    rows.push(row(`socket ${i + 1} skmem t / w`, s.map((x) => (x?.skmem ? `${x.skmem.t} / ${x.skmem.w}` : '-'))));
  }
  return { title: 'sockets at the end of the socket-state timeline', devices: runs.map((r) => r.device), rows };
}

/** MIB counter differences over the run: every counter that moved on some device. */
function countersTable(runs: DeviceRun[]): CompareTable {
  const diffs = runs.map((r) => {
    const p = r.result.evidence.counters;
    if (!p || !existsSync(p)) return {} as Record<string, number>;
    return (JSON.parse(readFileSync(p, 'utf8')) as { diff: Record<string, number> }).diff;
  });
  const names = [...new Set(diffs.flatMap((d) => Object.keys(d).filter((k) => d[k] !== 0)))].sort();
  return {
    title: 'MIB counters (difference over the run)', devices: runs.map((r) => r.device),
    rows: names.map((k) => row(k, diffs.map((d) => String(d[k] ?? 0)))),
  };
}

function deviceTable(runs: DeviceRun[]): CompareTable {
  const names = [...new Set(runs.flatMap((r) => Object.keys(r.result.device?.numbers ?? {})))];
  return {
    title: 'device numbers at the end of the run', devices: runs.map((r) => r.device),
    rows: names.map((k) => row(k, runs.map((r) => String(r.result.device?.numbers[k] ?? '-')), false)),
  };
}

/** Scenario verdicts side by side: pass, summary and every number. */
export function compareScenarioVerdicts(
  name: string,
  outcomes: Array<{ device: string; pass: boolean; summary: string; numbers: Record<string, unknown> }>,
): CompareTable {
  const devices = outcomes.map((o) => o.device);
  const keys = [...new Set(outcomes.flatMap((o) => Object.keys(o.numbers)))];
  return {
    title: `scenario ${name}`, devices,
    rows: [
      row('verdict', outcomes.map((o) => (o.pass ? 'pass' : 'FAIL'))),
      row('summary', outcomes.map((o) => o.summary)),
      ...keys.map((k) => row(k, outcomes.map((o) => (o.numbers[k] === undefined || o.numbers[k] === null ? '-' : String(o.numbers[k]))))),
    ],
  };
}

/** A table as text: columns padded, a `≠` in front of each row whose values differ. */
export function formatCompareTable(t: CompareTable, maxCell = 60): string {
  const cut = (s: string): string => (s.length > maxCell ? `${s.slice(0, maxCell - 1)}…` : s);
  const head = ['', '', ...t.devices];
  const body = t.rows.map((r) => [r.differs ? '≠' : ' ', r.what, ...r.values.map(cut)]);
  const widths = head.map((_, i) => Math.max(head[i]!.length, ...body.map((b) => b[i]!.length)));
  const fmt = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [`== ${t.title}`, fmt(head), ...body.map(fmt)].join('\n');
}
