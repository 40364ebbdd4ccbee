/**
 * Script time versus live time, and the tolerance check packetdrill applies
 * to every event: a fixed tolerance (--tolerance_usecs, 4000 by default) or a
 * percentage of the gap since the previous event (--tolerance_percent,
 * 12.5 by default), whichever is larger.
 */
import type { TimeSpec } from '../script/ast.js';

export type TimeType = 'absolute' | 'relative' | 'any' | 'absolute_range' | 'relative_range';

/** An event's times once relative times are anchored (microseconds of script time). */
export interface EventTimes {
  type: TimeType;
  usecs: number;
  /** End of a range, or -1. */
  endUsecs: number;
  /** Base a relative time was anchored to, or -1. */
  offsetUsecs: number;
}

export function initialTimes(t: TimeSpec): EventTimes {
  switch (t.kind) {
    case 'absolute': return { type: 'absolute', usecs: t.usecs, endUsecs: -1, offsetUsecs: -1 };
    case 'relative': return { type: 'relative', usecs: t.usecs, endUsecs: -1, offsetUsecs: -1 };
    case 'any': return { type: 'any', usecs: 0, endUsecs: -1, offsetUsecs: -1 };
    case 'absolute_range': return { type: 'absolute_range', usecs: t.usecs, endUsecs: t.endUsecs, offsetUsecs: -1 };
    case 'relative_range': return { type: 'relative_range', usecs: t.usecs, endUsecs: t.endUsecs, offsetUsecs: -1 };
  }
}

export function isAbsolute(t: EventTimes): boolean {
  return t.type === 'absolute' || t.type === 'absolute_range';
}

export function secs(usecs: number): string {
  return (usecs / 1e6).toFixed(6);
}

function signedSecs(usecs: number): string {
  const s = secs(usecs);
  return usecs >= 0 ? `+${s}` : s;
}

export interface Tolerance {
  toleranceUsecs: number;
  tolerancePercent: number;
}

/**
 * The tolerance of an event expected at `usecs`: the fixed one, or the
 * percentage of the gap since the previous event (`lastEventUsecs`, -1
 * when none), whichever is larger.
 */
export function toleranceUsecs(tol: Tolerance, usecs: number, lastEventUsecs: number): number {
  let tolerance = tol.toleranceUsecs;
  if (lastEventUsecs !== -1) {
    const dynamic = Math.trunc((tol.tolerancePercent / 100) * (usecs - lastEventUsecs));
    if (dynamic > tolerance) tolerance = dynamic;
  }
  return tolerance;
}

/**
 * The latest script time (µs) at which verifyTime accepts what `times`
 * expects (Infinity for a wildcard time).
 */
export function latestOnTimeUsecs(
  tol: Tolerance,
  times: { type: TimeType; usecs: number; endUsecs: number },
  lastEventUsecs: number,
): number {
  if (times.type === 'any') return Infinity;
  return latestUsecs(times, toleranceUsecs(tol, times.usecs, lastEventUsecs));
}

function isRange(type: TimeType): boolean {
  return type === 'absolute_range' || type === 'relative_range';
}

/** The end of what `times` expects, plus `tolerance`: later is late (verifyTime, latestOnTimeUsecs). */
function latestUsecs(times: { type: TimeType; usecs: number; endUsecs: number }, tolerance: number): number {
  return (isRange(times.type) ? times.endUsecs : times.usecs) + tolerance;
}

/**
 * Check that something expected at `scriptUsecs` (or within
 * `scriptUsecs`~`scriptEndUsecs`) happened at `actualUsecs` (both in script
 * time). `lastEventUsecs` is the previous event's script time, or -1.
 * Returns an error text, or null when the time is within tolerance.
 */
export function verifyTime(
  tol: Tolerance,
  times: { type: TimeType; usecs: number; endUsecs: number; offsetUsecs: number },
  actualUsecs: number,
  lastEventUsecs: number,
  description: string,
): string | null {
  if (times.type === 'any') return null;
  const tolerance = toleranceUsecs(tol, times.usecs, lastEventUsecs);
  const late = actualUsecs > latestUsecs(times, tolerance);
  if (isRange(times.type)) {
    if (actualUsecs < times.usecs - tolerance || late) {
      if (times.type === 'absolute_range') {
        return `timing error: expected ${description} in time range ${secs(times.usecs)}~${secs(times.endUsecs)} sec but happened at ${secs(actualUsecs)} sec`;
      }
      const off = times.offsetUsecs;
      return `timing error: expected ${description} in relative time range +${secs(times.usecs - off)}~+${secs(times.endUsecs - off)} sec but happened at ${signedSecs(actualUsecs - off)} sec`;
    }
    return null;
  }
  if (actualUsecs < times.usecs - tolerance || late) {
    return `timing error: expected ${description} at ${secs(times.usecs)} sec but happened at ${secs(actualUsecs)} sec; tolerance ${secs(tolerance)} sec`;
  }
  return null;
}
