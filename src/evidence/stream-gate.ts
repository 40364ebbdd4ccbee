/**
 * When evidence may stream to its files on the engine's thread.
 *
 * Streaming (socket-state records turned into JSON, packets handed to the
 * capture writer) is JavaScript work on the thread that also injects
 * packets and makes system calls at their times. While a script's clock
 * runs, one round can take milliseconds, and more when it meets the
 * engine's background threads of V8 or the allocator; that work, run a
 * moment before an event is due, made the event late. So while the clock
 * runs the engine says when its next event is due, and the periodic
 * streaming rounds wait for a gap: an event at least STREAM_GAP_NS away.
 * A script with such gaps (long waits for timers, holds) streams in them;
 * a dense one keeps its evidence in memory until its end, where it is
 * written in full as before. Nothing is dropped either way.
 *
 * One run per process at a time, as the workers run them.
 */
import { nowNs } from '../native/addon.js';

export const STREAM_GAP_NS = 100_000_000n;

let nextDueNs: bigint | null = null;

/** The engine's next event is due at `ns` (CLOCK_MONOTONIC); null when no clock runs. */
export function setNextEventDue(ns: bigint | null): void {
  nextDueNs = ns;
}

/** Whether a streaming round may run now: no clock runs, or the next event is far enough away. */
export function mayStream(now: bigint = nowNs()): boolean {
  return nextDueNs === null || nextDueNs - now >= STREAM_GAP_NS;
}

/** Run `round` every `everyMs` when mayStream() allows it; the timer does not keep the process alive. */
export function streamInGaps(round: () => void, everyMs: number): NodeJS.Timeout {
  const timer = setInterval(() => { if (mayStream()) round(); }, everyMs);
  timer.unref();
  return timer;
}
