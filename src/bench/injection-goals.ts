/**
 * The injection-timing goals, checked on the side-by-side figures (wire
 * timing, both tools in the same runs): on the script of bursts of packets
 * due at the same instant, tundrill's lateness at most 50 µs at the 99th
 * percentile and 300 µs at most; on every script, tundrill's 99th
 * percentile below packetdrill's. A figure over too few packets (a few
 * lines per run) says nothing and is left out.
 */
import type { Distribution } from './stats.js';
import type { SideBySideRow, ToolTiming } from './packetdrill-side.js';
import { num } from './table.js';

export const BURSTS_SCRIPT = 'inbound-absolute-bursts.pkt';
export const BURSTS_P99_US = 50;
export const BURSTS_MAX_US = 300;
/** Fewer packets than this in a figure: no goal is judged on it. */
export const MIN_PACKETS = 20;

export interface GoalCheck {
  script: string;
  goal: string;
  /** The figures the goal was judged on. */
  figures: string;
  met: boolean;
}

const MEASURES: Array<{ name: string; of: (t: ToolTiming) => Distribution }> = [
  { name: 'script clock', of: (t) => t.clock },
  { name: 'after >', of: (t) => t.afterOutbound },
];

export function checkInjectionGoals(rows: readonly SideBySideRow[]): GoalCheck[] {
  const out: GoalCheck[] = [];
  for (const r of rows) {
    for (const m of MEASURES) {
      const td = m.of(r.tundrill);
      const pd = m.of(r.packetdrill);
      if (td.count < MIN_PACKETS) continue;
      if (r.script === BURSTS_SCRIPT && m.name === 'script clock') {
        out.push({ script: r.script, goal: `tundrill p99 ≤ ${BURSTS_P99_US} µs (${m.name})`, figures: num(td.p99, 1), met: td.p99 <= BURSTS_P99_US });
        out.push({ script: r.script, goal: `tundrill max ≤ ${BURSTS_MAX_US} µs (${m.name})`, figures: num(td.max, 1), met: td.max <= BURSTS_MAX_US });
      }
      if (pd.count < MIN_PACKETS) continue;
      out.push({
        script: r.script,
        goal: `tundrill p99 below packetdrill's (${m.name})`,
        figures: `${num(td.p99, 1)} vs ${num(pd.p99, 1)}`,
        met: td.p99 < pd.p99,
      });
    }
  }
  return out;
}

export function renderInjectionGoals(checks: readonly GoalCheck[]): string {
  if (checks.length === 0) return `Goals: nothing to judge (no figure over at least ${MIN_PACKETS} packets)`;
  const width = Math.max(...checks.map((c) => c.script.length));
  return [
    'Goals (wire timing, µs):',
    ...checks.map((c) => `  ${c.met ? 'met    ' : 'NOT met'}  ${c.script.padEnd(width)}  ${c.goal}: ${c.figures}`),
  ].join('\n');
}
