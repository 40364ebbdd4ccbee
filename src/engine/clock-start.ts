/**
 * Start the script's clock just after a kernel clock tick (plus 250 µs), as
 * packetdrill does, so that the kernel's jiffy-based timers fall where they
 * fall under packetdrill. times() changes at a tick of USER_HZ (100 a
 * second), which is also a jiffy boundary.
 *
 * packetdrill spins on times() until it changes: up to 10 ms of CPU a run,
 * 5 ms on average, a tenth of a pool worker's CPU for a short script. A nap
 * instead would see the tick up to its own lateness late. This module
 * spins too, but only for the last few hundred microseconds: the ticks at
 * which times() changes repeat every 20 ms of CLOCK_MONOTONIC (with HZ 100,
 * 300 or 1000 it changes every 10 ms; with HZ 250 every 2 and 3 jiffies in
 * turn, 8 and 12 ms), and jiffies follow the tick, which the kernel keeps
 * on a fixed grid of the monotonic clock. So once a worker has seen one
 * change, it sleeps until shortly before the same phase of a later 20 ms
 * period and spins from there. What it costs: up to 20 ms of waiting instead
 * of 10, asleep.
 *
 * Whenever that fails (the sleep ended too late, no change came when
 * expected) it spins as packetdrill does, and learns the phase again.
 */

const PERIOD_NS = 20_000_000n;
/** How long before the expected change the sleep ends. */
const EARLY_NS = 600_000n;
/** How long past the expected change the short spin waits before giving up on the phase. */
const LATE_NS = 1_000_000n;
/** The least time between now and the change a sleep aims for. */
const LEAD_NS = 1_000_000n;
/** The full spin's limit (a tick of USER_HZ is 10 ms; a stalled machine may take longer). */
const GIVE_UP_NS = 50_000_000n;
export const START_AFTER_TICK_NS = 250_000n;

export interface TickClock {
  /** times(): changes at each USER_HZ tick. */
  ticks(): bigint;
  /** CLOCK_MONOTONIC, ns. */
  nowNs(): bigint;
  /** Sleep the calling thread until about `untilNs` (a kernel sleep, say). */
  sleepUntil(untilNs: bigint): void;
}

export interface ClockStart {
  /** Wait for the next tick and return the script's start time (the tick plus 250 µs). */
  start(): bigint;
  /** How the last start found its tick: by the learned phase or by the full spin. */
  readonly lastWay: 'phase' | 'spin' | null;
}

export function clockStart(clock: TickClock): ClockStart {
  /** CLOCK_MONOTONIC of the last change of times() this worker saw. */
  let seenNs: bigint | null = null;
  let lastWay: 'phase' | 'spin' | null = null;

  /** Spin until times() differs from `from` or the clock passes `limitNs`; the time of the change, or null. */
  const spinFor = (from: bigint, limitNs: bigint): bigint | null => {
    for (;;) {
      const t = clock.ticks();
      const now = clock.nowNs();
      if (t !== from) return now;
      if (now > limitNs) return null;
    }
  };

  /** The learned phase: sleep, then a short spin; null when the phase did not hold. */
  const byPhase = (): bigint | null => {
    if (seenNs === null) return null;
    const now = clock.nowNs();
    const periods = (now + LEAD_NS - seenNs + PERIOD_NS - 1n) / PERIOD_NS;
    const expected = seenNs + periods * PERIOD_NS;
    clock.sleepUntil(expected - EARLY_NS);
    // Woken too late to see the change begin: another way (the next call learns again).
    if (clock.nowNs() > expected - EARLY_NS / 4n) return null;
    return spinFor(clock.ticks(), expected + LATE_NS);
  };

  return {
    start(): bigint {
      let at = byPhase();
      if (at !== null) {
        lastWay = 'phase';
      } else {
        const first = clock.ticks();
        at = spinFor(first, clock.nowNs() + GIVE_UP_NS);
        lastWay = 'spin';
        if (at === null) {
          seenNs = null;
          return clock.nowNs() + START_AFTER_TICK_NS;
        }
      }
      seenNs = at;
      return at + START_AFTER_TICK_NS;
    },
    get lastWay() {
      return lastWay;
    },
  };
}
