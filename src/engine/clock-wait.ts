/**
 * Waiting for an event's time on the JavaScript thread. Far from the
 * deadline the thread sleeps (a native timer, so the event loop keeps
 * delivering packets); for the last stretch it spins on the monotonic clock,
 * so the event happens within microseconds of its time and runs right on
 * this thread, as packetdrill's main loop does, instead of paying a
 * thread hand-off of a hundred microseconds or more.
 */
import * as native from '../native/addon.js';

/** How close to the deadline the thread stops sleeping and spins. */
const SPIN_NS = 1_000_000n;

export async function waitUntil(atNs: bigint): Promise<bigint> {
  let now = native.nowNs();
  if (atNs - now > 2n * SPIN_NS) {
    await native.sleepUntil(atNs - SPIN_NS);
    now = native.nowNs();
  }
  while (now < atNs) now = native.nowNs();
  return now;
}
