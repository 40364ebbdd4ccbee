/**
 * Runs that a machine stall spoiled. While runs are carried out, the stall
 * monitor (native stall_monitor.c: a real-time thread of this process that
 * notes every wake-up it could not make on time) watches the machine; one
 * monitor serves every run at once, since a stall of the machine stops
 * them all. When a run fails with a timing error and the stalls in that
 * event's window account for all of its lateness, the failure says so
 * (`firstError.machineStall`): the measurement says nothing about the
 * kernel, so the run is made again, up to `retries` times. Every spoiled
 * attempt stays in the result (`stallAttempts`, and a warning line), so a
 * repeat is never silent; a failure with any other cause, or a stall that
 * does not account for the whole lateness, is reported as it is. A late
 * outbound packet whose kernel timer ran late by the socket-state timeline
 * gets a note too (noteLateKernelTimer), and no retry.
 */
import { existsSync, readFileSync } from 'node:fs';
import { machineStallLine, stallsExplaining, STALL_PERIOD_USECS, STALL_THRESHOLD_USECS } from '../engine/machine-stalls.js';
import { lateKernelTimer, lateKernelTimerLine } from '../evidence/late-kernel-timer.js';
import { parseSocketTimeline } from '../evidence/socket-timeline.js';
import type { RunResult, StallAttempt } from '../engine/result.js';
import * as native from '../native/addon.js';
import { stopSignal } from './stop.js';

/** Attempts after the first one that a machine stall spoiled, by default. */
export const DEFAULT_STALL_RETRIES = 2;

export interface StallMonitor {
  /** Start watching (or join the watch); false when it cannot run here. */
  start(): boolean;
  stop(): void;
  stalls(fromNs: bigint, toNs: bigint): native.StallReport;
}

export const nativeStallMonitor: StallMonitor = {
  start() {
    try {
      native.stallMonitorStart(STALL_PERIOD_USECS, STALL_THRESHOLD_USECS);
      return true;
    } catch {
      return false;
    }
  },
  stop: () => native.stallMonitorStop(),
  stalls: (fromNs, toNs) => native.stallMonitorStalls(fromNs, toNs),
};

/**
 * Failures that may be a late event: timing errors of calls and injected
 * packets, and packet errors (an outbound packet late beyond its tolerance
 * is one); the event's timing entry tells whether it was late.
 */
const lateKinds = new Set(['timing', 'packet']);

/** Note on a timing failure the machine stalls that account for it, if they do. */
export function noteMachineStall(r: RunResult | null | undefined, monitor: StallMonitor): void {
  const err = r?.firstError;
  if (!r || r.verdict !== 'fail' || !err || !lateKinds.has(err.kind) || err.machineStall || !r.clockStartNs) return;
  const t = (r.timing ?? []).filter((x) => x.line === err.line).pop();
  if (!t) return;
  const origin = BigInt(r.clockStartNs);
  const note = stallsExplaining(t, (usecs) => origin + BigInt(Math.round(usecs * 1000)), monitor);
  if (!note) return;
  err.machineStall = note;
  err.text = `${err.text.trimEnd()}\n${machineStallLine(note)}`;
}

/**
 * Note on a late outbound packet what the run's socket-state timeline
 * shows when the kernel's own timer for it ran late (late-kernel-timer.ts).
 * Evidence only: the failure stands and is not made again, since a kernel
 * whose timers fire late could be the defect under test.
 */
export function noteLateKernelTimer(r: RunResult | null | undefined): void {
  const err = r?.firstError;
  if (!r || r.verdict !== 'fail' || !err || !lateKinds.has(err.kind) || err.machineStall || err.kernelTimerLate || !r.clockStartNs) return;
  const t = (r.timing ?? []).filter((x) => x.line === err.line).pop();
  const file = r.evidence.timeline;
  if (!t || t.kind !== 'outbound' || !file || !existsSync(file)) return;
  let note;
  try {
    note = lateKernelTimer(t, parseSocketTimeline(readFileSync(file, 'utf8')), BigInt(r.clockStartNs), r.timing ?? []);
  } catch {
    return; // An unreadable timeline says nothing.
  }
  if (!note) return;
  err.kernelTimerLate = note;
  err.text = `${err.text.trimEnd()}\n${lateKernelTimerLine(note)}`;
}

/** Whether a result is a failure that a machine stall accounts for. */
export function spoiledByStall(r: RunResult | null | undefined): boolean {
  return !!r && r.verdict === 'fail' && r.firstError?.machineStall !== undefined;
}

/**
 * Run `once` until its result is not spoiled by a machine stall, at most
 * 1 + retries times; the outcome returned carries the spoiled attempts.
 * `monitor` null: runs on another machine (a VM's clock is not ours), no
 * stall is looked for.
 */
export async function withStallRetries<T extends { result?: RunResult | null }>(
  once: () => Promise<T>,
  retries: number,
  monitor: StallMonitor | null = nativeStallMonitor,
): Promise<T> {
  const watching = monitor !== null && monitor.start();
  try {
    const spoiled: StallAttempt[] = [];
    for (;;) {
      const outcome = await once();
      const r = outcome.result;
      if (watching) noteMachineStall(r, monitor!);
      noteLateKernelTimer(r);
      if (spoiledByStall(r) && spoiled.length < retries && !stopSignal()) {
        spoiled.push({ headline: r!.firstError!.headline, machineStall: r!.firstError!.machineStall! });
        continue;
      }
      if (r && spoiled.length > 0) {
        r.stallAttempts = [...spoiled, ...(r.stallAttempts ?? [])];
        r.warnings.push(`${stallNote(r)}: ${spoiled.map((a) => a.headline).join('; ')}`);
      }
      return outcome;
    }
  } finally {
    if (watching) monitor!.stop();
  }
}

/** A short note for a run's line: how many attempts stalls spoiled. */
export function stallNote(r: RunResult): string {
  const a = r.stallAttempts ?? [];
  if (a.length === 0) return '';
  const stalls = a.map((x) => `${x.machineStall.totalMs} ms`).join(', ');
  return `${a.length} earlier attempt${a.length > 1 ? 's' : ''} spoiled by machine stalls (${stalls})`;
}
