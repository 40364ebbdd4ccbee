/**
 * Event-level tracing for timing investigations (TUNDRILL_TRACE=1): lines
 * are kept in memory with the script time they were taken at and printed
 * when the run ends, so tracing does not slow down what it measures.
 */
import * as native from '../native/addon.js';

export const TRACING = process.env.TUNDRILL_TRACE === '1';
const lines: Array<[bigint, string]> = [];
let origin = 0n;

export function traceOrigin(liveStartNs: bigint): void {
  origin = liveStartNs;
}

export function trace(text: string): void {
  if (TRACING) lines.push([native.nowNs(), text]);
}

export function flushTrace(): void {
  if (!TRACING) return;
  for (const [ns, text] of lines) process.stderr.write(`[trace ${(Number(ns - origin) / 1000).toFixed(0)}us] ${text}\n`);
  lines.length = 0;
}
