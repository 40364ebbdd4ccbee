/**
 * Real-time priority for the worker's JavaScript thread while the script's
 * clock runs, as packetdrill gives its own threads (SCHED_RR on machines
 * with more than one CPU). Only the timed part of a run gets it: start-up,
 * compilation and evidence writing stay ordinary, so parallel runs do not
 * hold each other's events back.
 *
 * Two levels, because runs go side by side: the engine runs at SCHED_RR 3,
 * and the commands a script runs while its clock runs start at SCHED_RR 1,
 * the lowest level, as packetdrill's commands inherit its own. A command
 * then finishes as fast as under packetdrill, yet never holds a CPU that
 * another run's engine needs at an event's time: threads of equal SCHED_RR
 * priority wait for each other up to the round-robin quantum (100 ms), and
 * a command's Python start-up alone takes tens of milliseconds of CPU.
 */
import { availableParallelism } from 'node:os';
import * as native from '../native/addon.js';

const SCHED_OTHER = 0;
const SCHED_RR = 2;
/** Above the stall monitor (SCHED_FIFO 2, native/stall_monitor.c), which must not take a CPU from the engine. */
export const ENGINE_RT_PRIORITY = 3;
export const COMMAND_RT_PRIORITY = 1;
/**
 * The clock start's wait for a kernel tick (clock-start.ts): below the
 * engines, since threads of equal SCHED_RR priority wait for each other up
 * to the round-robin quantum, and its spin lasts up to a USER_HZ tick
 * (10 ms) while a worker learns the tick's phase. At the engines' level it
 * held every other run's engine on its CPU for that long: on the gtests
 * corpus an inbound packet was injected 3.1 ms late behind another run's
 * clock start.
 */
export const CLOCK_START_RT_PRIORITY = 2;

let engineRealtime = false;
let poolRaised: Promise<number> | null = null;

/** How many threads libuv's pool has (UV_THREADPOOL_SIZE, 4 by default, 1..1024). */
export function threadpoolSize(env: NodeJS.ProcessEnv = process.env): number {
  const n = Math.trunc(Number(env.UV_THREADPOOL_SIZE));
  return Number.isFinite(n) && n > 0 ? Math.min(n, 1024) : 4;
}

/**
 * libuv's pool threads at the commands' level, once per process. They write
 * the evidence files while a script runs, and one that finishes a task
 * wakes the event loop's thread while holding the loop's work-queue mutex:
 * the engine, at real-time priority, preempted the ordinary pool thread,
 * blocked on that mutex, and waited until ordinary load let the pool thread
 * run again (native/threadpool.c). Resolves with how many were raised.
 */
export function threadpoolRealtime(): Promise<number> {
  if (availableParallelism() <= 1) return Promise.resolve(0);
  poolRaised ??= native.threadpoolRealtime(threadpoolSize(), COMMAND_RT_PRIORITY).catch(() => 0);
  return poolRaised;
}

function setScheduler(policy: number, priority: number): boolean {
  const nr = native.SYS['sched_setscheduler'];
  if (nr === undefined) return false;
  const param = Buffer.alloc(4);
  param.writeInt32LE(priority);
  return native.syscall(nr, [0, policy, param]).ret === 0n;
}

/** Switch the calling thread to the engine's SCHED_RR level; false when not permitted or single-CPU. */
export function enterRealtime(): boolean {
  if (availableParallelism() <= 1) return false;
  engineRealtime = setScheduler(SCHED_RR, ENGINE_RT_PRIORITY);
  return engineRealtime;
}

export function leaveRealtime(): void {
  setScheduler(SCHED_OTHER, 0);
  engineRealtime = false;
}

/**
 * Run `start` (which starts a child process and waits for it) with the
 * calling thread at the commands' level, so that the child inherits that
 * level and not the engine's; the thread waits meanwhile, so its own level
 * does not matter, and it is back at the engine's level afterwards.
 */
export function atCommandPriority<T>(start: () => T): T {
  return atLevel(COMMAND_RT_PRIORITY, start);
}

/** Run `spin` (the clock start's wait for a tick) below the engines' level, and return to it. */
export function belowEngines<T>(spin: () => T): T {
  return atLevel(CLOCK_START_RT_PRIORITY, spin);
}

function atLevel<T>(priority: number, fn: () => T): T {
  if (!engineRealtime) return fn();
  setScheduler(SCHED_RR, priority);
  try {
    return fn();
  } finally {
    setScheduler(SCHED_RR, ENGINE_RT_PRIORITY);
  }
}
