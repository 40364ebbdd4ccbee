/**
 * Event-level tracing for timing investigations (TUNDRILL_TRACE=1): lines
 * are kept in memory with the script time they were taken at and printed
 * when the run ends, so tracing does not slow down what it measures.
 */
import { writeSync } from 'node:fs';
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
  // Written synchronously: the worker may exit right after.
  const text = lines.map(([ns, t]) => `[trace ${(Number(ns - origin) / 1000).toFixed(0)}us] ${t}\n`).join('');
  lines.length = 0;
  const buf = Buffer.from(text);
  for (let off = 0; off < buf.length; ) {
    try {
      off += writeSync(2, buf, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
    }
  }
}
