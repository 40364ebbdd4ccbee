/**
 * Timing and threading of system-call events, as packetdrill's
 * run_system_call_event does it: a call expected to return at once runs
 * at its time and is checked before the next event; a call written with
 * `...` (blocking) runs on its own thread while later events go on, and
 * its return time is checked when it returns. Only one blocking call may
 * be in flight; a second one waits up to a second for the first.
 */
import type { SyscallResult } from '../native/addon.js';
import { TestFailure } from './errors.js';
import { checkEventTime, recordEventTime } from './run.js';
import { SyscallFailure, type PreparedSyscall } from './run-syscall.js';
import type { RunContext, RunEvent } from './state.js';
import { verifyTime } from './timing.js';
import { trace, TRACING } from './trace.js';

export interface ExecutingCall {
  /** Resolves when the call returns. */
  done: Promise<SyscallResult>;
  /** Resolves once the calling thread sleeps in the kernel, or the call has returned. */
  blockedOrDone: Promise<void>;
}

export interface SyscallExecutor {
  /** Start a system call at `atNs` (monotonic) on a thread of its own. */
  start(nr: number, args: PreparedSyscall['args'], atNs: bigint, hold: unknown[]): ExecutingCall;
  /** Resolves at `atNs` with the wake-up time. */
  sleepUntil(atNs: bigint): Promise<bigint>;
  /** Run a call now, on this thread. */
  runNow(nr: number, args: PreparedSyscall['args']): SyscallResult;
}

interface InFlight {
  ev: RunEvent;
  done: Promise<void>;
  settled: boolean;
}

export class SyscallEvents {
  private inFlight: InFlight | null = null;

  constructor(
    private readonly ctx: RunContext,
    private readonly exec: SyscallExecutor,
    private readonly prepare: (ev: RunEvent) => PreparedSyscall,
    /** Called with the failure of a blocking call that fails while later events run. */
    private readonly onAsyncFailure: (f: TestFailure) => void,
  ) {}

  private runtimeError(ev: RunEvent, e: Error): TestFailure {
    const name = ev.ast.type === 'syscall' ? ev.ast.syscall.name : '?';
    if (e instanceof SyscallFailure && e.bare) return new TestFailure('syscall', ev.line, e.message.trimEnd());
    return new TestFailure('syscall', ev.line, `runtime error in ${name} call: ${e.message}`);
  }

  /**
   * Evaluate the call's arguments ahead of its time (so it can start on
   * time); packetdrill evaluates them at the event's time, so an error is
   * reported only once that time has come.
   */
  private async safePrepare(ev: RunEvent): Promise<PreparedSyscall> {
    try {
      return this.prepare(ev);
    } catch (e) {
      await this.exec.sleepUntil(this.ctx.clock.liveNs(ev.times.usecs));
      if (e instanceof TestFailure) throw e;
      throw this.runtimeError(ev, e as Error);
    }
  }

  private complete(ev: RunEvent, call: PreparedSyscall, r: SyscallResult): void {
    try {
      call.complete(r);
    } catch (e) {
      if (e instanceof TestFailure) throw e;
      throw this.runtimeError(ev, e as Error);
    }
  }

  /** Wait (up to a second) until no blocking call is in flight; true if idle. */
  async awaitIdle(maxMs = 1000): Promise<boolean> {
    const f = this.inFlight;
    if (!f || f.settled) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), maxMs); });
    const ok = await Promise.race([f.done.then(() => true, () => true), timeout]);
    clearTimeout(timer);
    return ok;
  }

  async run(ev: RunEvent): Promise<void> {
    if (ev.ast.type !== 'syscall') throw new Error('not a system call event');
    const blocking = ev.syscallEndUsecs !== -1;
    if (!blocking) {
      await this.awaitIdle();
      await this.runNonBlocking(ev);
      return;
    }
    if (!(await this.awaitIdle())) {
      throw this.runtimeError(ev, new Error('blocking system call while another blocking system call is already in progress'));
    }
    const call = await this.safePrepare(ev);
    const atNs = this.ctx.clock.liveNs(ev.times.usecs);
    const numEventsAtStart = this.ctx.numEvents;
    const lastEvent = this.ctx.lastEvent;
    const run = call.nr === null ? null : this.exec.start(call.nr, call.args, atNs, call.keepAlive);
    const flight: InFlight = { ev, settled: false, done: Promise.resolve() };
    const finish = async (): Promise<void> => {
      const r = run ? await run.done : await this.emulated(call, atNs);
      this.ctx.eventLog?.call(ev, this.ctx.clock.scriptUsecs(r.startNs), this.ctx.clock.scriptUsecs(r.endNs));
      // The start of the call is checked against the event's time, the
      // return against the `...` end time with a tolerance computed from
      // the call's own duration.
      if (numEventsAtStart > 0) {
        recordEventTime(ev, this.ctx.clock.scriptUsecs(r.startNs), lastEvent ? lastEvent.times.usecs : -1);
        const err = verifyTime(this.ctx.config, ev.times, this.ctx.clock.scriptUsecs(r.startNs),
          lastEvent ? lastEvent.times.usecs : -1, 'system call start');
        if (err) throw new TestFailure('timing', ev.line, err);
      }
      this.complete(ev, call, r);
      const endErr = verifyTime(
        this.ctx.config,
        { type: ev.times.type, usecs: ev.syscallEndUsecs, endUsecs: 0, offsetUsecs: ev.times.offsetUsecs },
        this.ctx.clock.scriptUsecs(r.endNs),
        ev.times.usecs,
        'system call return',
      );
      if (endErr) throw new TestFailure('timing', ev.line, endErr);
    };
    flight.done = finish().then(
      () => { flight.settled = true; },
      (e: unknown) => {
        flight.settled = true;
        this.onAsyncFailure(e instanceof TestFailure ? e : new TestFailure('internal', ev.line, String(e)));
      },
    );
    this.inFlight = flight;
    if (run) await Promise.race([run.blockedOrDone, flight.done]);
    if (TRACING) trace('blocking call in flight');
  }

  /** A call carried out in JS (no kernel entry), at its time. */
  private async emulated(call: PreparedSyscall, atNs: bigint): Promise<SyscallResult> {
    await this.exec.sleepUntil(atNs);
    if (!call.emulate) throw new Error(`${call.name}: no system call and no emulation`);
    return call.emulate();
  }

  private async runNonBlocking(ev: RunEvent): Promise<void> {
    const call = await this.safePrepare(ev);
    const atNs = this.ctx.clock.liveNs(ev.times.usecs);
    let r: SyscallResult;
    if (call.nr === null) {
      r = await this.emulated(call, atNs);
    } else {
      await this.exec.sleepUntil(atNs);
      r = this.exec.runNow(call.nr, call.args);
      void call.keepAlive;
    }
    this.ctx.eventLog?.call(ev, this.ctx.clock.scriptUsecs(r.startNs), this.ctx.clock.scriptUsecs(r.endNs));
    if (TRACING) trace(`call ran ${this.ctx.clock.scriptUsecs(r.startNs).toFixed(0)}..${this.ctx.clock.scriptUsecs(r.endNs).toFixed(0)}us`);
    if (this.ctx.numEvents > 0) checkEventTime(this.ctx, ev, r.startNs);
    this.complete(ev, call, r);
  }

  /**
   * At the end of the script: a blocking call still in flight after a
   * second is an error, as in packetdrill.
   */
  async finish(): Promise<void> {
    const f = this.inFlight;
    if (!f) return;
    if (!(await this.awaitIdle())) {
      throw new TestFailure('syscall', f.ev.line, 'runtime error: exiting while a blocking system call is in progress');
    }
  }
}
