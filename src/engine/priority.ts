/**
 * Real-time priority for the worker's JavaScript thread while the script's
 * clock runs, as packetdrill gives its own threads (SCHED_RR at the lowest
 * real-time priority on machines with more than one CPU). Only the timed
 * part of a run gets it: start-up, compilation and evidence writing stay
 * ordinary, so parallel runs do not hold each other's events back.
 */
import { availableParallelism } from 'node:os';
import * as native from '../native/addon.js';

const SCHED_OTHER = 0;
const SCHED_RR = 2;

function setScheduler(policy: number, priority: number): boolean {
  const nr = native.SYS['sched_setscheduler'];
  if (nr === undefined) return false;
  const param = Buffer.alloc(4);
  param.writeInt32LE(priority);
  return native.syscall(nr, [0, policy, param]).ret === 0n;
}

/** Switch the calling thread to SCHED_RR 1; false when not permitted or single-CPU. */
export function enterRealtime(): boolean {
  if (availableParallelism() <= 1) return false;
  return setScheduler(SCHED_RR, 1);
}

export function leaveRealtime(): void {
  setScheduler(SCHED_OTHER, 0);
}
