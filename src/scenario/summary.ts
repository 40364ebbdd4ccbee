/**
 * The terminal summary of a scenario run: the verdict and its checks, the
 * key numbers, the scenario's tables (e.g. retransmission times and
 * intervals), the capture beside the ss view on one time axis, and where
 * the evidence files are.
 */
import { existsSync } from 'node:fs';
import type { Table, Verdict } from './api.js';
import type { ScenarioEvidence, TransmissionKind } from './evidence.js';
import { segmentKey, type Packet, type Transmissions } from './packets.js';
import type { SocketFilter, SocketSample } from './sockets.js';
import { ssStyleLine, type SocketState } from '../evidence/socket-state.js';

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function cut(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}~`;
}

export function formatTable(t: Table, indent = '  '): string[] {
  const widths = t.header.map((h, i) => Math.max(h.length, ...t.rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    indent + cells.map((c, i) => (i === cells.length - 1 ? c : pad(c, widths[i]!))).join('  ').trimEnd();
  return [`${indent}${t.title}`, line(t.header), ...t.rows.map(line)];
}

/** The socket as ss prints it, in one line (brief: state, queues, addresses, timer, skmem, rto, backoff, cwnd, retrans). */
export function ssLine(s: SocketState | null): string {
  if (!s) return '(no socket)';
  return ssStyleLine(s, true);
}

/** What changes of the socket a timeline shows (the timer's countdown does not count). */
function ssKey(s: SocketState | null): string {
  if (!s) return 'none';
  const i = s.tcpInfo;
  return [s.state, s.timer?.kind, s.timer?.retransmits, i?.tcpi_rto, i?.tcpi_backoff, i?.tcpi_retrans, i?.tcpi_total_retrans, i?.tcpi_unacked,
    s.skmem?.t, s.skmem?.w, s.sendQ, s.orphan].join('|');
}

/**
 * A table of one segment's transmissions: time, interval since the one
 * before, what sent it, and what the first ss sample after it showed.
 */
export function transmissionTable(ev: ScenarioEvidence, title: string, tx: Transmissions, kinds?: TransmissionKind[], filter?: SocketFilter): Table {
  const k = kinds ?? ev.retransmissionKinds(tx);
  const samples = ev.socket(filter);
  let timeouts = 0;
  const rows = tx.packets.map((p, i) => {
    const kind = k[i] === 'timeout' ? `timeout ${++timeouts}` : k[i] === 'probe' ? 'loss probe' : 'original';
    const after = samples.find((s) => s.tMs > p.tMs);
    const info = after?.socket?.tcpInfo;
    const sk = after?.socket?.skmem;
    const ssAfter = after?.socket
      ? `${after.socket.state} rto ${info?.tcpi_rto !== undefined ? info.tcpi_rto / 1000 : '-'} backoff ${info?.tcpi_backoff ?? '-'} retrans ${info ? `${info.tcpi_retrans ?? 0}/${info.tcpi_total_retrans ?? 0}` : '-'}${sk ? ` wmem_alloc ${sk.t}` : ''}`
      : after ? '(socket gone)' : '';
    return [String(i), (p.tMs / 1000).toFixed(3), i === 0 ? '' : (p.tMs - tx.packets[i - 1]!.tMs).toFixed(1), kind, `${p.from === 'peer' ? '<' : '>'} ${p.text}`, ssAfter];
  });
  return { title, header: ['#', 'time s', 'interval ms', 'sent by', 'packet', 'socket state right after it'], rows };
}

export interface TimelineOptions {
  /** Socket under test in the ss view. */
  filter?: SocketFilter;
  /** Width of the capture column. */
  width?: number;
  /** Only TCP packets (default true: router solicitations and the like are left out). */
  tcpOnly?: boolean;
}

/** The capture and the ss view side by side, on the script's clock. */
export function timelineView(ev: ScenarioEvidence, opts: TimelineOptions = {}): string[] {
  const width = opts.width ?? 52;
  type Row = { t: number; left: string; right: string; order: number };
  const rows: Row[] = [];
  const seen = new Set<string>();
  const packets: Packet[] = ev.packets.filter((p) => (opts.tcpOnly ?? true ? p.tcp !== undefined : true));
  for (const p of packets) {
    const k = segmentKey(p);
    const rtx = p.tcp && (p.payloadLength > 0 || p.tcp.syn || p.tcp.fin) && seen.has(k);
    seen.add(k);
    rows.push({ t: p.tMs, left: `${p.from === 'peer' ? '<' : '>'} ${p.text}${rtx ? ' (retransmission)' : ''}`, right: '', order: 0 });
  }
  let prev = '';
  const samples: SocketSample[] = ev.socket(opts.filter);
  for (const s of samples) {
    const key = ssKey(s.socket);
    if (key === prev) continue;
    if (prev === '' && !s.socket) {
      prev = key;
      continue;
    }
    prev = key;
    rows.push({ t: s.tMs, left: '', right: ssLine(s.socket), order: 1 });
  }
  rows.sort((a, b) => a.t - b.t || a.order - b.order);
  const out = [`  ${pad('time s', 8)} ${pad('capture (tun0: < injected, > sent by the kernel)', width)}  socket under test, as ss prints it (changes only)`];
  for (const r of rows) out.push(`  ${pad((r.t / 1000).toFixed(3), 8)} ${pad(cut(r.left, width), width)}  ${r.right}`.trimEnd());
  return out;
}

export interface SummaryInput {
  name: string;
  description: string;
  variant: string;
  long: boolean;
  verdict: Verdict;
  evidence: ScenarioEvidence | null;
  /** The script's failure text when it failed. */
  scriptError?: string;
  seconds: number;
  quiet: boolean;
}

export function formatValue(v: unknown): string {
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'number' ? formatNumber(x) : String(x))).join(', ');
  if (typeof v === 'number') return formatNumber(v);
  return String(v);
}

function formatNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  return Math.abs(n) >= 100 ? n.toFixed(1) : n.toFixed(3);
}

export function formatSummary(x: SummaryInput): string {
  const v = x.verdict;
  const out: string[] = [];
  const tag = v.pass ? 'PASS' : 'FAIL';
  out.push(`${tag} scenario ${x.name}${x.long ? ' (long)' : ''} (${x.variant}) ${x.seconds.toFixed(2)}s: ${v.summary}`);
  if (!x.quiet) out.push(`  ${x.description}`);
  if (x.scriptError) out.push(...x.scriptError.split('\n').map((l) => `  ${l}`));
  if (v.checks && v.checks.length > 0) {
    out.push('', '  checks');
    for (const c of v.checks) out.push(`    ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}${c.detail ? `: ${c.detail}` : ''}`);
  }
  if (!x.quiet && v.numbers && Object.keys(v.numbers).length > 0) {
    out.push('', '  numbers');
    const w = Math.max(...Object.keys(v.numbers).map((k) => k.length));
    for (const [k, val] of Object.entries(v.numbers)) out.push(`    ${pad(k, w)}  ${formatValue(val)}`);
  }
  if (!x.quiet) {
    for (const t of v.tables ?? []) out.push('', ...formatTable(t, '  '));
    if (x.evidence) {
      const o = x.evidence.origin;
      out.push('', `  timeline (time 0 = the script's start${o.source === 'engine' ? '' : `, placed by the ${o.source}`})`);
      out.push(...timelineView(x.evidence));
    }
  }
  const f = v.evidence;
  if (f) {
    // A run that ended early (a time limit, a worker that could not start)
    // wrote only some of its files: say which were not written.
    const file = (p: string, extra = ''): string => (existsSync(p) ? `${p}${extra}` : `${p}   (not written)`);
    out.push('', '  evidence');
    out.push(`    capture      ${file(f.capture, `   (tshark -r ${f.capture})`)}`);
    if (f.timeline) out.push(`    sockets      ${file(f.timeline)}`);
    out.push(`    counters     ${file(f.counters)}`);
    out.push(`    run marks    ${file(f.marks)}`);
    out.push(`    verdict      ${f.verdict}`);
    out.push(`    script       ${f.script}`);
  }
  return out.join('\n');
}
