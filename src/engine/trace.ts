/**
 * Event-level tracing for timing investigations (TUNDRILL_TRACE=1): lines
 * are kept in memory with the script time they were taken at and printed
 * when the run ends, so tracing does not slow down what it measures.
 */
import { appendFileSync, writeSync } from 'node:fs';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import * as native from '../native/addon.js';

export const TRACING = process.env.TUNDRILL_TRACE === '1';
/** Where the lines go instead of stderr (TUNDRILL_TRACE_FILE): a pool worker's stderr is shown only for a failed run. */
const TRACE_FILE = process.env.TUNDRILL_TRACE_FILE;
const lines: Array<[bigint, string]> = [];
let origin = 0n;

/**
 * Garbage collections, at the time they started: a pause of the JS thread
 * that no other trace line shows. performance.now() is mapped to the
 * monotonic clock of the other lines once, when the observer starts.
 */
if (TRACING) {
  const nsAtStart = native.nowNs();
  const msAtStart = performance.now();
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const at = nsAtStart + BigInt(Math.round((e.startTime - msAtStart) * 1e6));
      const kind = ((e as { detail?: { kind?: number } }).detail)?.kind;
      lines.push([at, `gc (kind ${kind ?? '?'}) for ${(e.duration * 1000).toFixed(0)}us`]);
    }
  }).observe({ entryTypes: ['gc'] });
}

export function traceOrigin(liveStartNs: bigint): void {
  origin = liveStartNs;
}

export function trace(text: string): void {
  if (TRACING) lines.push([native.nowNs(), text]);
}

export function flushTrace(): void {
  if (!TRACING) return;
  // Written synchronously: the worker may exit right after.
  lines.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const text = lines.map(([ns, t]) => `[trace ${(Number(ns - origin) / 1000).toFixed(0)}us] ${t}\n`).join('');
  lines.length = 0;
  if (TRACE_FILE) {
    appendFileSync(TRACE_FILE, text);
    return;
  }
  const buf = Buffer.from(text);
  for (let off = 0; off < buf.length; ) {
    try {
      off += writeSync(2, buf, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
    }
  }
}
