/**
 * The state of one run: the script, its clock, the fd table and the device,
 * shared by the event handlers (packets, system calls, commands, code).
 */
import type { Event, Script } from '../script/ast.js';
import type { RunConfig } from './config.js';
import type { EventLog } from './event-log.js';
import type { FdTable } from './sockets.js';
import { initialTimes, type EventTimes } from './timing.js';

/** A script event with its times as the run anchors them. */
export interface RunEvent {
  index: number;
  ast: Event;
  line: number;
  times: EventTimes;
  /** For blocking system calls: the expected return time (script time), else -1. */
  syscallEndUsecs: number;
  /** When the event happened (script time, µs), once its time was checked. */
  actualUsecs?: number;
  /** The previous event's script time its tolerance was computed from (-1 for none). */
  previousUsecs?: number;
  /** For an outbound packet line: how many packets the kernel sent for it (the line's payload may come in several). */
  sentPackets?: number;
}

export function toRunEvents(script: Script): RunEvent[] {
  return script.events.map((ast, index) => ({
    index,
    ast,
    line: ast.loc.line,
    times: initialTimes(ast.time),
    syscallEndUsecs: ast.type === 'syscall' && ast.syscall.endUsecs !== undefined ? ast.syscall.endUsecs : -1,
  }));
}

export interface Clock {
  /** CLOCK_MONOTONIC now, in nanoseconds. */
  nowNs(): bigint;
}

export class RunClock {
  /** Live time (monotonic ns) at script time 0. */
  liveStartNs = 0n;
  constructor(private readonly clock: Clock) {}

  nowNs(): bigint {
    return this.clock.nowNs();
  }

  /** Script time (µs since the start) of a live monotonic time. */
  scriptUsecs(liveNs: bigint): number {
    return Number(liveNs - this.liveStartNs) / 1000;
  }

  /** Script time now, in µs. */
  nowUsecs(): number {
    return this.scriptUsecs(this.clock.nowNs());
  }

  /** Live monotonic ns of a script time in µs. */
  liveNs(scriptUsecs: number): bigint {
    return this.liveStartNs + BigInt(Math.round(scriptUsecs * 1000));
  }
}

export interface RunContext {
  config: RunConfig;
  script: Script;
  /** The script path as reported in messages (as given to the runner). */
  displayPath: string;
  /** Folder the script's commands run in. */
  scriptDir: string;
  fds: FdTable;
  clock: RunClock;
  events: RunEvent[];
  /** The event being run. */
  event: RunEvent | undefined;
  lastEvent: RunEvent | undefined;
  /** Script time of the previous event (packetdrill's script_last_time_usecs). */
  scriptLastTimeUsecs: number;
  numEvents: number;
  /**
   * When the harness is taken to have finished the previous event
   * (script µs; see handledUsecs in run.ts), the anchor of relative times.
   */
  handledUsecs: number;
  /**
   * Set once an asynchronous failure (a blocking system call that returned
   * wrongly) ended the run: no event after it may act any more.
   */
  stopped?: boolean;
  /** Expected and actual times of every event, for reports. */
  eventLog?: EventLog;
}

/** A run's context before its first event: every event still to run, no time anchored yet. */
export function newRunContext(base: Pick<RunContext, 'config' | 'script' | 'displayPath' | 'scriptDir' | 'fds' | 'clock' | 'eventLog'>): RunContext {
  return { ...base, events: toRunEvents(base.script), event: undefined, lastEvent: undefined, scriptLastTimeUsecs: 0, numEvents: 0, handledUsecs: 0 };
}
