/**
 * Inbound packets due at the same instant (`+0` after an inbound line, or
 * the same absolute time), written back to back: the first packet's event
 * makes the others ready while the clock approaches the deadline (in script
 * order, as they would be one after the other), writes them all, and keeps
 * what became of each for its own event's turn, where it is recorded and
 * checked with the stamp of its own write. The burst stops where one event
 * would have ended the run: a packet that cannot be made (its event reports
 * why), one the device refuses, one written later than its tolerance, or an
 * asynchronous failure of the run.
 */
import type { CaptureNote } from '../evidence/capture-log.js';
import type { ScriptPacket } from './build-packet.js';
import { approach, arrive } from './clock-wait.js';
import type { InboundFrame, NetDevice } from './netdev.js';
import { inboundDueWith, lastEventUsecs } from './run.js';
import type { RunContext, RunEvent } from './state.js';
import { latestOnTimeUsecs } from './timing.js';
import { trace, TRACING } from './trace.js';

/**
 * From before the wait for the first packet's time, the device's reader
 * thread keeps off the device until this thread next waits for a packet
 * or gives the event loop a turn (NetDevice.hold), and at most this long
 * after the packet's time: what the kernel sends in answer (inside the
 * write, mostly) is read by this thread, and the write does not wake the
 * reader thread. On bench/inbound-data-acked.pkt the write of a data
 * segment the kernel ACKs at once took 27-28 µs (median) with the reader
 * thread polling and 12-13 µs held, and the next line began 33-35 µs
 * after the write's stamp instead of 19-21. The bound is for a thread
 * that does not come back to the loop: a packet the kernel sends then is
 * not kept from the reader thread for long.
 */
const READER_HOLD_NS = 10_000_000n;
const INT64_MAX = (1n << 63n) - 1n;

/** An inbound packet ready to write: its event, script packet, frame, due time and capture note. */
export interface ReadyInbound {
  ev: RunEvent;
  pkt: ScriptPacket;
  frame: InboundFrame;
  atNs: bigint;
  note: CaptureNote;
}

/**
 * A packet of a burst after its first, handled ahead of its event's turn:
 * ready (and written at `tsNs`, unless the burst stopped before it), or the
 * failure its event reports.
 */
export type Ahead = { ready: ReadyInbound; tsNs?: bigint } | { failure: unknown };

export class InboundBurst {
  private readonly ahead = new Map<number, Ahead>();

  /**
   * `failureOf` turns an error of making or writing an event's packet into
   * what the event reports.
   */
  constructor(
    private readonly ctx: RunContext,
    private readonly dev: NetDevice,
    private readonly failureOf: (ev: RunEvent, e: unknown) => unknown,
  ) {}

  /** What a burst did for this event's packet, if the event's packet was part of one (once). */
  take(ev: RunEvent): Ahead | undefined {
    const a = this.ahead.get(ev.index);
    if (a) this.ahead.delete(ev.index);
    return a;
  }

  /**
   * Write `first` at its time and the packets due with it right after it;
   * `ready` makes the packet of a later event ready (or throws what keeps
   * it from being made). Returns the stamp of the first write; a refused
   * first write throws.
   */
  async write(first: ReadyInbound, ready: (ev: RunEvent, atNs: bigint) => ReadyInbound): Promise<bigint> {
    if (TRACING) trace('packet ready');
    await approach(first.atNs);
    const followers = this.followers(first, ready);
    // A run that failed meanwhile writes no more than the packet it is at.
    const burst = this.ctx.stopped ? [first] : [first, ...followers];
    this.dev.hold(first.atNs + READER_HOLD_NS);
    if (burst.length === 1) {
      // One packet (most lines): a plain write (a refused one throws).
      arrive(first.atNs);
      const tsNs = this.dev.write(first.frame);
      if (TRACING) trace(`packet written, stamped ${this.ctx.clock.scriptUsecs(tsNs).toFixed(1)}us`);
      return tsNs;
    }
    const frames = burst.map((r) => r.frame);
    const buffers = frames.map((f) => f.frame);
    // Where each write would fail its event's time check, and the burst stop
    // (as checkEventTime checks it: the very first event of a script is not
    // checked; the others are due with the previous packet, their previous event).
    const due = first.ev.times.usecs;
    const firstStop = this.ctx.numEvents > 0 ? this.latestNs(latestOnTimeUsecs(this.ctx.config, first.ev.times, lastEventUsecs(this.ctx))) : INT64_MAX;
    const followerStop = this.latestNs(latestOnTimeUsecs(this.ctx.config, { type: 'absolute', usecs: due, endUsecs: -1 }, due));
    const stopAfterNs = burst.map((_, i) => (i === 0 ? firstStop : followerStop));
    arrive(first.atNs);
    const w = this.dev.writeBurst(frames, buffers, stopAfterNs);
    if (w.refused?.index === 0) throw w.refused.error;
    const firstTs = w.tsNs[0]!;
    if (TRACING) trace(`packet written, stamped ${this.ctx.clock.scriptUsecs(firstTs).toFixed(1)}us`);
    for (let i = 1; i < w.tsNs.length; i++) this.ahead.set(burst[i]!.ev.index, { ready: burst[i]!, tsNs: w.tsNs[i]! });
    if (w.refused) {
      const r = burst[w.refused.index]!;
      this.ahead.set(r.ev.index, { failure: this.failureOf(r.ev, w.refused.error) });
    }
    if (TRACING) trace(`burst of ${burst.length}: ${w.tsNs.length} written, the last stamped ${this.ctx.clock.scriptUsecs(w.tsNs.at(-1)!).toFixed(1)}us`);
    return firstTs;
  }

  /** The packets due with `first`, made ready; the first that cannot be made ends them, its failure kept for its event. */
  private followers(first: ReadyInbound, ready: (ev: RunEvent, atNs: bigint) => ReadyInbound): ReadyInbound[] {
    const out: ReadyInbound[] = [];
    for (const ev of inboundDueWith(this.ctx, first.ev)) {
      try {
        const r = ready(ev, first.atNs);
        this.ahead.set(ev.index, { ready: r });
        out.push(r);
      } catch (e) {
        this.ahead.set(ev.index, { failure: this.failureOf(ev, e) });
        break;
      }
    }
    return out;
  }

  /** The live time after which a write is later than `usecs` (script time) allows; the far future for Infinity (a wildcard time). */
  private latestNs(usecs: number): bigint {
    return Number.isFinite(usecs) ? this.ctx.clock.liveNs(usecs) : INT64_MAX;
  }
}
