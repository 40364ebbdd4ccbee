/**
 * Machine stalls: stretches of time in which the machine did not run: the
 * stall monitor's timer (native stall_monitor.c) fired that late, its own
 * waits for a CPU not counted. On a virtual machine whose host does not
 * schedule it, no thread of the run and no part of the kernel under test
 * runs either: packets and system calls that fall in such a stretch are
 * late by the stall, not by anything the kernel did.
 *
 * A timing failure is put down to the machine only when the stalls in its
 * window account for all of its lateness beyond the tolerance: a 30 ms
 * stall explains a packet 20 ms late, a 2 ms stall does not.
 */
import type { StallReport } from '../native/addon.js';
import type { EventTiming } from './result.js';

/** How often the monitor wakes, and how late a wake-up must be to count (µs). */
export const STALL_PERIOD_USECS = 1000;
export const STALL_THRESHOLD_USECS = 1000;

export interface MachineStall {
  /** Script time (µs) the monitor should have woken at. */
  atUsecs: number;
  /** How long it could not run, ms (at least; the stall may have begun up to a period earlier). */
  ms: number;
}

/** The stalls that explain a timing failure. */
export interface MachineStallNote {
  stalls: MachineStall[];
  /** Their sum, ms. */
  totalMs: number;
  /** How late the event was beyond its tolerance, ms. */
  lateMs: number;
}

export interface StallSource {
  stalls(fromNs: bigint, toNs: bigint): StallReport;
}

/**
 * Whether the stalls around a late event account for its lateness.
 * `liveNs` maps script µs to monotonic ns. Early events, and monitors that
 * could not run at real-time priority, are never put down to the machine.
 */
export function stallsExplaining(
  t: EventTiming,
  liveNs: (usecs: number) => bigint,
  source: StallSource,
): MachineStallNote | null {
  const lateUsecs = t.actualUsecs - (t.expectedEndUsecs ?? t.expectedUsecs) - t.toleranceUsecs;
  if (lateUsecs <= 0) return null;
  const fromUsecs = t.expectedUsecs - t.toleranceUsecs - STALL_PERIOD_USECS;
  const fromNs = liveNs(fromUsecs);
  const toNs = liveNs(t.actualUsecs);
  const report = source.stalls(fromNs, toNs);
  if (!report.realtime || report.stalls.length === 0) return null;
  const origin = liveNs(0);
  let sumUsecs = 0;
  const stalls: MachineStall[] = [];
  for (const [a, b] of report.stalls) {
    const from = a < fromNs ? fromNs : a;
    const to = b > toNs ? toNs : b;
    if (to <= from) continue;
    const usecs = Number(to - from) / 1000;
    // The monitor notes a stall from the wake-up it missed: it may have begun up to a period before.
    sumUsecs += usecs + STALL_PERIOD_USECS;
    stalls.push({ atUsecs: Math.round(Number(a - origin) / 1000), ms: Math.round(Number(b - a) / 1e5) / 10 });
  }
  if (stalls.length === 0 || sumUsecs < lateUsecs) return null;
  return {
    stalls,
    totalMs: Math.round(stalls.reduce((s, x) => s + x.ms, 0) * 10) / 10,
    lateMs: Math.round(lateUsecs / 100) / 10,
  };
}

/** One line for reports: what stalled, when, and what to do. */
export function machineStallLine(n: MachineStallNote): string {
  const at = n.stalls.map((s) => `${s.ms} ms at ${(s.atUsecs / 1e6).toFixed(3)} s`).join(', ');
  return `machine stall: the machine did not run for ${at} (a timer fired that late, not counting waits for a CPU); that accounts for the ${n.lateMs} ms beyond the tolerance, ` +
    'so the lateness is this machine\'s, not the kernel\'s (run again on a quieter machine or with fewer jobs)';
}
