/**
 * The interpreter loop (packetdrill's run.c): take events in script order,
 * anchor relative times, and hand each to its handler (packets, system
 * calls, commands, code), failing at the first event that does not happen
 * as the script says.
 */
import { setNextEventDue } from '../evidence/stream-gate.js';
import { TestFailure } from './errors.js';
import type { RunContext, RunEvent } from './state.js';
import type { EventTiming } from './result.js';
import { isAbsolute, toleranceUsecs, verifyTime } from './timing.js';
import { trace, TRACING } from './trace.js';


export interface EventHandlers {
  packet(ev: RunEvent): Promise<void>;
  syscall(ev: RunEvent): Promise<void>;
  command(ev: RunEvent): Promise<void>;
  code(ev: RunEvent): Promise<void>;
}

/** Human description of an event, as in packetdrill's timing errors. */
export function eventDescription(ev: RunEvent): string {
  switch (ev.ast.type) {
    case 'packet': return ev.ast.packet.direction === 'inbound' ? 'inbound packet' : 'outbound packet';
    case 'syscall': return 'system call start';
    case 'command': return 'command';
    case 'code': return 'data collection for code';
  }
}

/** Inbound packets following inbound packets anchor to the previous one's script time, not to "now". */
function isStartTimeAnchored(ev: RunEvent): boolean {
  return ev.ast.type === 'packet' && ev.ast.packet.direction === 'inbound';
}

/**
 * Where the harness sleeps until the kernel sends a packet, the time from
 * the kernel's send to the harness having handled it, µs: packetdrill's,
 * measured on its own on this project's reference machine (2-core VM,
 * idle): 36-55 µs from a retransmission the kernel's timer sent to the
 * next relative event's anchor (tcp/eor/no-coalesce-retrans.pkt, line 64).
 */
export const PACKET_WAKE_USECS = 40;
/** The same for a packet that was already waiting when the harness asked for it: 20-39 µs after the kernel sent it, 16 µs after the previous one (line 68). */
export const PACKET_NEXT_USECS = 12;
/**
 * The same for the kernel's answer inside the harness's write of an
 * injected packet, µs after the kernel sent it. Side by side on the wire
 * (bench/inbound-data-acked.pkt, 13 runs of 600 lines), packetdrill's next
 * injection left 21-25 µs (median) after the kernel's ACK, its own
 * lateness included; tundrill's anchor, taken from its own handling, lay
 * 19-20 µs after the ACK (median).
 */
export const PACKET_ANSWER_USECS = 20;
/**
 * The most of tundrill's own lag behind that model an anchor leaves out,
 * µs. Beyond it, a stall of tundrill's (a CPU taken by other runs, a
 * garbage collection) moves the anchor on, as a stall of packetdrill's
 * moves its own; otherwise the event after the stall would come late by
 * all of it (+0 inbound lines after a SYN-ACK read 4-12 ms late, in about
 * one corpus run in two).
 */
export const HANDLING_LAG_MAX_USECS = 1000;

/**
 * When the harness is taken to have handled the event before `ev`, the
 * anchor of `ev`'s relative time. packetdrill takes "now" as the next
 * event comes up, which after an outbound packet is the kernel's send time
 * plus packetdrill's own wake-up and handling, some tens of microseconds
 * for a line the kernel sent one packet for. tundrill's wake-up and
 * handling in JavaScript take longer and vary with the machine's load
 * (100-400 µs on a quiet 2-core VM, ms on a loaded one), and where a kernel timer falls near a deadline the verdict
 * follows them (tcp/eor/no-coalesce-retrans.pkt times an ACK 1 ms after
 * a retransmission; one run in ten failed with the anchor at "now", none
 * under packetdrill). So after an outbound packet the anchor is where
 * packetdrill's would be: the packet's send time plus its wake-up; for
 * the kernel's answer inside the write of the injected packet on the line
 * before, its send time plus packetdrill's handling of such an answer;
 * for another packet sent before its line began (one of several sent
 * together), the line's own anchor plus the handling of a packet already
 * waiting; never later than now, nor earlier than HANDLING_LAG_MAX_USECS
 * before it. On bench/inbound-data-acked.pkt packetdrill's next injection
 * left 26-27 µs (median) after the kernel's ACK, which the kernel sent
 * inside packetdrill's write of the data; tundrill's, with the wake-up's
 * 40 µs for that ACK too, 44-45 µs. With the line's own anchor for that
 * ACK instead, the rest of tundrill's write (the kernel's work after the
 * ACK, capture taps and wake-ups included) and its handling moved the
 * anchor: 19-20 µs after the ACK at the median but 56-66 µs at the 99th
 * percentile (8 runs), against a tundrill lateness of 23-34 µs there.
 * After a line the kernel sent several packets for, and after any other
 * event, it is now: packetdrill handles each packet of such a line in
 * turn, and anchored the SACK of sack-shift-sacked-7-5-6-8-9-fack 245-612
 * µs after the last of five packets that left within 7 µs (tundrill
 * anchored at 40 µs after them failed that script's row 13 times in 48
 * runs side by side, against 9 at now).
 */
function handledUsecs(ctx: RunContext, now: number): number {
  const last = ctx.lastEvent;
  if (!last || last.ast.type !== 'packet' || last.ast.packet.direction !== 'outbound' || last.actualUsecs === undefined) return now;
  if ((last.sentPackets ?? 1) > 1) return now;
  // ctx.handledUsecs is still the outbound line's own anchor: when it began.
  const sent = Math.trunc(last.actualUsecs);
  const waiting = sent <= ctx.handledUsecs;
  const modelled = !waiting ? sent + PACKET_WAKE_USECS
    : answeredWrite(ctx, last, sent) ? sent + PACKET_ANSWER_USECS
    : ctx.handledUsecs + PACKET_NEXT_USECS;
  return Math.min(now, Math.max(modelled, now - HANDLING_LAG_MAX_USECS));
}

/** Whether `sent`, the send time of `outbound`'s packet, falls in the write of an inbound packet on the line just before it. */
function answeredWrite(ctx: RunContext, outbound: RunEvent, sent: number): boolean {
  const before = ctx.events[outbound.index - 1];
  if (!before || before.ast.type !== 'packet' || before.ast.packet.direction !== 'inbound' || before.actualUsecs === undefined) return false;
  return Math.trunc(before.actualUsecs) <= sent;
}

/**
 * Give a relative or wildcard event its script time (packetdrill's
 * adjust_relative_event_times): an inbound packet after an inbound packet
 * from the previous one's script time, anything else from the moment the
 * previous event was handled (handledUsecs). That moment matters: where
 * the kernel's timers fall a few hundred microseconds from a deadline,
 * the verdict depends on it (the sack-shift-sacked-*-fack scripts time a
 * SACK from the harness having handled the data the kernel sent, and the
 * retransmission it causes lands on a jiffy boundary within 0.3 ms of the
 * tolerance's end).
 */
export function adjustRelativeTimes(ctx: RunContext, ev: RunEvent): void {
  const handled = handledUsecs(ctx, Math.trunc(ctx.clock.nowUsecs()));
  ctx.handledUsecs = handled;
  const t = ev.times;
  if (t.type !== 'any' && t.type !== 'relative' && t.type !== 'relative_range') return;
  const offset = ctx.lastEvent && isStartTimeAnchored(ctx.lastEvent) && isStartTimeAnchored(ev)
    ? ctx.lastEvent.times.usecs
    : handled;
  t.offsetUsecs = offset;
  t.usecs += offset;
  if (t.type === 'relative_range') t.endUsecs += offset;
  if (t.type === 'relative' && ev.ast.type === 'syscall' && ev.syscallEndUsecs !== -1) {
    ev.syscallEndUsecs += offset;
  }
}

/**
 * The inbound packet lines right after `ev` (an inbound packet line whose
 * time is anchored) that are due at the same instant: `+0` after it or
 * after one another, or the same absolute time. These are the events the
 * loop runs next, and their times are those adjustRelativeTimes will give
 * them.
 */
export function inboundDueWith(ctx: RunContext, ev: RunEvent): RunEvent[] {
  const out: RunEvent[] = [];
  if (!isStartTimeAnchored(ev)) return out;
  for (let i = ev.index + 1; i < ctx.events.length; i++) {
    const next = ctx.events[i]!;
    const t = next.times;
    if (!isStartTimeAnchored(next)) break;
    if (!((t.type === 'relative' && t.usecs === 0) || (t.type === 'absolute' && t.usecs === ev.times.usecs))) break;
    out.push(next);
  }
  return out;
}

export function lastEventUsecs(ctx: RunContext): number {
  return ctx.lastEvent ? ctx.lastEvent.times.usecs : -1;
}

/** Keep when an event happened, for the run's timing table (two field writes, nothing on the hot path). */
export function recordEventTime(ev: RunEvent, actualUsecs: number, previousUsecs: number): void {
  ev.actualUsecs = actualUsecs;
  ev.previousUsecs = previousUsecs;
}

/** Check the time an event happened at (live monotonic ns) against the script. */
export function checkEventTime(ctx: RunContext, ev: RunEvent, liveNs: bigint): void {
  const actual = ctx.clock.scriptUsecs(liveNs);
  ctx.eventLog?.actual(ev, actual);
  recordEventTime(ev, actual, lastEventUsecs(ctx));
  const err = verifyTime(ctx.config, ev.times, actual, lastEventUsecs(ctx), eventDescription(ev));
  if (err) throw new TestFailure('timing', ev.line, err);
}

/** Advance to the next event (packetdrill's get_next_event); returns undefined at the end. */
function nextEvent(ctx: RunContext): RunEvent | undefined {
  if (ctx.event === undefined && ctx.numEvents === 0 && ctx.lastEvent === undefined) {
    const first = ctx.events[0];
    if (!first) return undefined;
    if (first.times.usecs !== 0) {
      throw new TestFailure('semantic', first.line, 'first event should be at time 0');
    }
    ctx.event = first;
    return first;
  }
  const cur = ctx.event!;
  ctx.scriptLastTimeUsecs = cur.times.usecs;
  ctx.lastEvent = cur;
  const next = ctx.events[cur.index + 1];
  ctx.event = next;
  if (!next) return undefined;
  if (isAbsolute(cur.times) && isAbsolute(next.times) && next.times.usecs < ctx.scriptLastTimeUsecs) {
    throw new TestFailure(
      'semantic',
      next.line,
      `time goes backward in script from ${ctx.scriptLastTimeUsecs} usec to ${next.times.usecs} usec`,
    );
  }
  return next;
}

/**
 * Run every event. Throws TestFailure at the first failure; handlers may
 * also fail asynchronously through `abort` (a blocking system call that
 * returns wrongly while later events run).
 */
export async function runEvents(ctx: RunContext, handlers: EventHandlers, abort: Promise<never>): Promise<void> {
  abort.catch(() => { ctx.stopped = true; });
  try {
    await runEachEvent(ctx, handlers, abort);
  } finally {
    setNextEventDue(null);
  }
}

async function runEachEvent(ctx: RunContext, handlers: EventHandlers, abort: Promise<never>): Promise<void> {
  for (;;) {
    const ev = nextEvent(ctx);
    if (!ev) break;
    adjustRelativeTimes(ctx, ev);
    setNextEventDue(ctx.clock.liveNs(ev.times.usecs));
    ctx.eventLog?.begin(ev, ctx.config, lastEventUsecs(ctx));
    if (TRACING) trace(`line ${ev.line} ${ev.ast.type} at ${ev.times.usecs}us`);
    let step: Promise<void>;
    switch (ev.ast.type) {
      case 'packet': step = handlers.packet(ev); break;
      case 'syscall': step = handlers.syscall(ev); break;
      case 'command': step = handlers.command(ev); break;
      case 'code': step = handlers.code(ev); break;
    }
    await Promise.race([step, abort]);
    ctx.numEvents++;
  }
}

/** The timing table of the events whose time was checked, in script order. */
export function eventTimings(ctx: RunContext): EventTiming[] {
  const out: EventTiming[] = [];
  for (const ev of ctx.events) {
    if (ev.actualUsecs === undefined || ev.times.type === 'any') continue;
    const kind = ev.ast.type === 'packet' ? ev.ast.packet.direction : ev.ast.type;
    const t: EventTiming = {
      line: ev.line, kind, expectedUsecs: ev.times.usecs, actualUsecs: Math.round(ev.actualUsecs * 1000) / 1000,
      toleranceUsecs: toleranceUsecs(ctx.config, ev.times.usecs, ev.previousUsecs ?? -1),
    };
    if (ev.times.type === 'absolute_range' || ev.times.type === 'relative_range') t.expectedEndUsecs = ev.times.endUsecs;
    out.push(t);
  }
  return out;
}
