/**
 * The order a plan's runs start in. Reports keep the plan's order whatever
 * the start order.
 *
 * Where each run's expected duration is known (packetdrill's seconds in a
 * reference verdict table), long runs start early, so that a suite does not
 * end waiting for a long script that started last: in plan (alphabetical)
 * order the gtests corpus's zerocopy and user_timeout scripts, 2-4 s each,
 * started in its last 5 seconds and left the machine idle for its last 3.
 * But not only long runs: a long script mostly sleeps, and with every slot
 * held by one (plain longest-first) the CPUs were 3-14 % busy for 10 s and
 * the gtests corpus took 57 s instead of 49. So up to half the slots take
 * runs from the long end of the list, the others from the short end, which
 * keep the CPUs busy; the two ends meet at runs of middling length, the
 * last to start.
 */
import { median } from './repeat.js';

/** A duration in seconds that can weigh a run. */
const usable = (d: number | undefined): d is number => d !== undefined && Number.isFinite(d) && d >= 0;

/**
 * What each run is expected to weigh: its known seconds, or the median of
 * the known ones where unknown; 1 each when none is known.
 */
export function expectedWeights(expected: ReadonlyArray<number | undefined>): { weights: number[]; known: number } {
  const knownValues = expected.filter(usable);
  const fallback = knownValues.length > 0 ? median(knownValues.sort((a, b) => a - b)) : 1;
  const weights = expected.map((d) => (usable(d) ? d : fallback));
  return { weights, known: knownValues.length };
}

/** Indices of the runs, longest expected first (ties, and a plan with no known duration, in plan order). */
export function longestFirst(expected: ReadonlyArray<number | undefined>): number[] {
  const { weights, known } = expectedWeights(expected);
  const order = expected.map((_, i) => i);
  if (known === 0) return order;
  return order.sort((a, b) => weights[b]! - weights[a]! || a - b);
}

/** Which run starts next, given which are running. */
export interface StartOrder {
  /** The index of the run to start next; undefined when every run has started. */
  next(): number | undefined;
  /** A run started by next() has finished. */
  finished(index: number): void;
}

/** Plan order. */
export function planOrder(count: number): StartOrder {
  let k = 0;
  return { next: () => (k < count ? k++ : undefined), finished: () => {} };
}

/**
 * Up to `longSlots` runs at once from the long end of the expected
 * durations, the rest from the short end; plan order when no duration is
 * known.
 */
export function balancedOrder(expected: ReadonlyArray<number | undefined>, longSlots: number): StartOrder {
  if (expectedWeights(expected).known === 0) return planOrder(expected.length);
  const sorted = longestFirst(expected);
  let lo = 0;
  let hi = sorted.length - 1;
  const long = new Set<number>();
  return {
    next() {
      if (lo > hi) return undefined;
      if (long.size < longSlots) {
        const i = sorted[lo++]!;
        long.add(i);
        return i;
      }
      return sorted[hi--]!;
    },
    finished(i) {
      long.delete(i);
    },
  };
}
