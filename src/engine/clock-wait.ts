/**
 * Waiting for an event's time on the JavaScript thread, so the event runs
 * right on this thread (as packetdrill's main loop does) instead of paying
 * a thread hand-off of a hundred microseconds or more:
 * - far from the deadline, the event loop's own timer (the loop keeps
 *   delivering packets and call completions meanwhile). Not a native
 *   sleep on another thread: its completion reaches this thread through a
 *   thread-safe function, and on a busy machine that hand-off alone made
 *   one wait in thirty end a millisecond or more late, up to 98 ms;
 * - for the last couple of milliseconds, a sleep in the addon
 *   (native.sleepUntil, clock_nanosleep), which a real-time thread wakes
 *   from within microseconds. Not Atomics.wait: V8's background threads
 *   take its process-wide mutex to wake the waiting thread for an
 *   interrupt, and the engine then blocked on that mutex until an ordinary
 *   thread got a CPU again (native/clock.c);
 * - for the last 250 µs, a spin on the clock in the addon
 *   (native.spinUntil), which gives way to other runs' engines while it
 *   has time to spare.
 * Why 250 µs: on this project's machine a kernel sleep at real-time
 * priority wakes more than 50 µs late one time in ten, and up to a few
 * hundred µs; a plain C loop that slept to 50 µs before its deadlines and
 * spun the rest was 100-140 µs late at the 99th percentile, 2-4 µs with
 * 250 µs. Why in the addon: a JavaScript loop on the clock allocates a
 * bigint each turn, and one 250 µs spin in five had a step over 20 µs
 * (page faults of fresh young-generation pages, nine a spin). On
 * bench/inbound-absolute-bursts.pkt (own stamps, 4 × 6 runs
 * interleaved) packets more than 50 µs late went from 37-63 to 15-28 of
 * 1458. The spin's cost: up to 250 µs of CPU per timed event, at the
 * engines' real-time level, where the kernel's own work (softirqs,
 * address set-up, timers) waits; over both corpora at the default -j,
 * the rows that agree and the CPU used stayed within the machine's spread
 * from run to run (two runs each, interleaved with the 50 µs spin).
 * A run that goes on alone (setSpinAhead) spins the last millisecond: on
 * this project's virtual machine the host sometimes wakes an idle CPU
 * hundreds of microseconds late for its timer (a scheduler trace showed
 * the engine's timer interrupt 195-740 µs late on an idle CPU, and its
 * wake-up taking up to 660 µs more), and a 1 ms spin keeps the CPU out of
 * idle across that. On bench/inbound-absolute-bursts.pkt, 40 runs each,
 * interleaved, default evidence: packets more than 100 µs late went from
 * 13 to 0 of 9,720, the worst run's max from 1,289 to 59 µs, the median
 * and p99 unchanged (4.6 / 30.9 against 4.0 / 32.4 µs); without the
 * capture, 50 runs each, from 27 to 5 and from 1,723 to 128 µs. It costs
 * up to a millisecond of CPU per timed event (0.11 s more for the 200
 * lines of bench/inbound-data-acked.pkt), so runs side by side keep the
 * 250 µs spin.
 * Before the first two, which leave time to spare, the socket-state
 * sampler is woken for the packets this thread wrote (native.sockDiagWake).
 */
import * as native from '../native/addon.js';
import { clockStart, START_AFTER_TICK_NS } from './clock-start.js';
import { belowEngines } from './priority.js';
import { trace, TRACING } from './trace.js';

const ASYNC_UNTIL_NS = 2_000_000n;
/** How long before a timed event the engine stops sleeping and spins. */
const SPIN_AHEAD_NS = 250_000n;
/** The same for a run that goes on alone. */
const SPIN_AHEAD_ALONE_NS = 1_000_000n;
let spinNs = SPIN_AHEAD_NS;
/** The longest single sleep native.sleepUntil takes. */
const SLEEP_MAX_NS = 1_000_000_000n;
/** Least time left before a deadline for the rewarm (it took 460-500 µs after a 100 ms sleep). */
const REWARM_MIN_NS = 1_200_000n;
/**
 * The rewarm stops this long before the deadline, whatever it has left
 * (it checks between packets): after the close-wait scenario's 3 s hold it
 * took 1.5-6.4 ms, and the close() it came before ran up to 6 ms late, its
 * FIN past the 4 ms tolerance (a CI run failed so).
 */
const REWARM_STOP_NS = 500_000n;
/** Waits longer than this end REWARM_ROOM_NS earlier than others, to make room for that rewarm. */
const LONG_WAIT_NS = 500_000_000n;
const REWARM_ROOM_NS = 5_000_000n;
/** Sleeps longer than this (ms) aim short and finish in a second step (timerSleep). */
const LONG_SLEEP_MS = 20;

/**
 * Resolves at about `untilNs`, never much later (a millisecond early is
 * fine: arrive() waits out the rest): the event loop's timer, whole
 * milliseconds, again while more than a millisecond is left (its clock is
 * the loop's, taken when the loop last woke, so it can fire early). A long
 * sleep aims short by 1 ms and 0.5 % of its length, and the next step
 * sleeps the rest: on a virtual machine a long sleep wakes late by more
 * than the two milliseconds the engine keeps in hand (on this project's
 * machine, at real-time priority, 1-second sleeps 1.9-2.6 ms late, the
 * 3-second hold of the close-wait scenario 3-6 ms, which made its close()
 * and FIN late past their tolerance).
 */
function timerSleep(untilNs: bigint): Promise<void> {
  return new Promise<void>((resolve) => {
    const step = (): void => {
      const ms = Math.floor(Number(untilNs - native.nowNs()) / 1e6);
      if (ms < 1) resolve();
      else setTimeout(step, ms > LONG_SLEEP_MS ? ms - 1 - Math.ceil(ms / 200) : ms);
    };
    step();
  });
}

let coarseSleep: (untilNs: bigint) => Promise<unknown> = timerSleep;
let rewarm: ((untilNs: bigint) => void) | null = null;

/**
 * What to run when a long wait ends, a couple of milliseconds before its
 * deadline (null: nothing): after a sleep of tens of milliseconds the
 * engine's code and data are out of the CPU's caches, and the first event
 * after it ran 70-80 µs slower than the same event without the sleep. It
 * runs only while more than REWARM_MIN_NS are left.
 */
export function setRewarm(fn: ((untilNs: bigint) => void) | null): void {
  rewarm = fn;
}

/** Tests on a virtual clock: how the asynchronous part of a wait sleeps (null: the event loop's timer). */
export function useCoarseSleep(sleep: ((untilNs: bigint) => Promise<unknown>) | null): void {
  coarseSleep = sleep ?? timerSleep;
}

/** Whether this run goes on alone (no other run's engine needs a CPU): it then spins longer before each timed event. */
export function setSpinAhead(alone: boolean): void {
  spinNs = alone ? SPIN_AHEAD_ALONE_NS : SPIN_AHEAD_NS;
}

export async function waitUntil(atNs: bigint): Promise<bigint> {
  await approach(atNs);
  return arrive(atNs);
}

/**
 * The first part of waitUntil: the asynchronous wait, up to a couple of
 * milliseconds before `atNs` (at once when it is nearer). The event loop
 * runs meanwhile; after it, arrive() reaches the deadline without letting
 * anything else run.
 */
export async function approach(atNs: bigint): Promise<void> {
  const rest = atNs - native.nowNs() - ASYNC_UNTIL_NS;
  if (rest <= 1_000_000n) return;
  native.sockDiagWake();
  if (TRACING) trace(`approach: asleep for ${rest / 1000n}us`);
  // After a long sleep the rewarm takes longer: wake in time for it.
  await coarseSleep(atNs - ASYNC_UNTIL_NS - (rest > LONG_WAIT_NS ? REWARM_ROOM_NS : 0n));
  if (TRACING) trace('approach: woke');
  // Only with time to spare: a timer that woke late leaves none.
  if (rewarm && atNs - native.nowNs() > REWARM_MIN_NS) {
    // Below the engines' level, as the clock start: after a long sleep it
    // took up to 6.4 ms, and at the engines' own level a thread keeps its
    // CPU from the other runs' engines until it is done.
    const fn = rewarm;
    belowEngines(() => fn(atNs - REWARM_STOP_NS));
    if (TRACING) trace('approach: rewarmed');
  }
}

/** The rest of waitUntil, on this thread alone: a sleep, then a spin to `atNs`. Returns the time reached. */
export function arrive(atNs: bigint): bigint {
  let now = native.nowNs();
  if (atNs - now > spinNs) {
    native.sockDiagWake();
    while (atNs - now > spinNs) {
      const to = atNs - spinNs;
      now = native.sleepUntil(to - now > SLEEP_MAX_NS ? now + SLEEP_MAX_NS : to);
    }
    if (TRACING) trace(`arrive: woke ${(atNs - now) / 1000n}us before the deadline`);
  }
  const reached = now < atNs ? native.spinUntil(atNs) : now;
  if (TRACING) trace(`arrive: ${(reached - atNs) / 1000n}us late`);
  return reached;
}

const tickStart = clockStart({
  ticks: () => native.syscall(native.SYS['times']!, [null]).ret,
  nowNs: native.nowNs,
  sleepUntil: (untilNs) => {
    native.sleepUntil(untilNs);
  },
});

/**
 * Start the script's clock just after a kernel clock tick, plus 250 µs
 * (clock-start.ts). The caller runs this below the engines' level
 * (priority.ts belowEngines), so other runs' events go on meanwhile.
 */
export function scheduleStart(): bigint {
  if (native.SYS['times'] === undefined) return native.nowNs() + START_AFTER_TICK_NS;
  const at = tickStart.start();
  if (TRACING) trace(`clock start: tick found by ${tickStart.lastWay}`);
  return at;
}
