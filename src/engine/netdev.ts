/**
 * The run's device as the engine sees it: packets the kernel sends are
 * read by the system under test's reader (for tun, a native thread that
 * drains tun0 continuously) and queue here until the engine asks for them;
 * packets the script injects are written at their exact time. The
 * backend's framing turns frames into IP packets and back (for tun, a
 * virtio-net header with packetdrill's GSO marks), so the kernel may hand
 * over segments larger than the MSS and the engine may inject them.
 */
import type { CaptureLog, CaptureNote, CaptureRecord } from '../evidence/capture-log.js';
import { errnoName, nowNs, strerror } from '../native/addon.js';
import type { DeviceFrame, DeviceIo, DeviceReader, LinkFraming } from '../backend/system-under-test.js';
import type { PacketStamps } from './result.js';
import { TRACING, trace } from './trace.js';

function refused(f: InboundFrame, errno: number): TunWriteError {
  return new TunWriteError(`the device refused the ${f.frame.length}-byte frame: ${errnoName(errno)} (${strerror(errno)})`);
}

/**
 * The longest one wait of receive() on the reader directly, ns. The
 * reader's wait lets the event loop's own work cut it short after its
 * first 3 ms (a blocking call's end, a timer due), and receive() waits
 * again once the loop has run.
 */
const SYNC_WAIT_MAX_NS = 1_000_000_000n;
/** Waits cut short this soon in a row (ns) send receive() to the event loop's delivery alone. */
const SHORT_WAIT_NS = 100_000n;
const SHORT_WAITS_MAX = 3;

export interface LivePacket {
  /** The IP packet, without the link header. */
  data: Buffer;
  /** CLOCK_MONOTONIC ns when the kernel sent it (its packet tap's time; the read's where there is none). */
  tsNs: bigint;
  gsoType: number;
  gsoSize: number;
  record: CaptureRecord;
}

/** Called with every packet injected ('in') or read ('out'), as the capture keeps it, and its monotonic stamp. */
export type PacketHook = (data: Buffer, tsNs: bigint, direction: 'in' | 'out') => void;

export class TunWriteError extends Error {}

/** An IP packet to inject and the frame the device takes for it. */
export interface InboundFrame {
  ip: Buffer;
  frame: Buffer;
}

export class NetDevice {
  private queue: LivePacket[] = [];
  private waiter: ((p: LivePacket | null) => void) | null = null;
  private reader: DeviceReader | null = null;
  private closed = false;
  private readonly framing: LinkFraming;
  /** Timing error of every injection, ns (actual minus scheduled). */
  readonly injectionErrorsNs: bigint[] = [];

  constructor(private readonly io: DeviceIo, private readonly capture: CaptureLog, private readonly onPacketHook?: PacketHook) {
    this.framing = io.framing;
  }

  start(): void {
    this.reader = this.io.readerStart((pkts) => {
      for (const p of pkts) this.onPacket(p);
    });
  }

  private onPacket(frame: DeviceFrame): void {
    const { data: raw, tsNs } = frame;
    const d = this.framing.decode(raw);
    if (!d) return;
    const kept = this.framing.linkType === 'raw-ip' ? d.ip : raw.subarray(this.framing.captureOffset);
    const record = this.capture.add({ data: kept, tsNs, direction: 'out' });
    this.onPacketHook?.(kept, tsNs, 'out');
    const pkt: LivePacket = { data: d.ip, tsNs, gsoType: d.gsoType, gsoSize: d.gsoSize, record };
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w(pkt);
    } else {
      this.queue.push(pkt);
    }
  }

  /** Packets read but not yet taken by the engine. */
  pending(): number {
    return this.queue.length;
  }

  /**
   * The next packet the kernel sent, in order; null when none arrives
   * within `timeoutMs` (null: wait forever).
   */
  receive(timeoutMs: number | null): Promise<LivePacket | null> {
    const deadlineNs = timeoutMs === null ? null : nowNs() + BigInt(Math.round(timeoutMs * 1e6));
    if (this.queue.length === 0) this.waitDirect(deadlineNs);
    const next = this.queue.shift();
    if (next) {
      this.io.consumed?.();
      return Promise.resolve(next);
    }
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      let resume: NodeJS.Timeout | undefined;
      const waiter = (p: LivePacket | null): void => {
        if (timer) clearTimeout(timer);
        if (resume) clearTimeout(resume);
        if (p) this.io.consumed?.();
        resolve(p);
      };
      this.waiter = waiter;
      // With no time limit a long timer still keeps the process alive:
      // the reader thread alone does not.
      timer = setTimeout(() => {
        if (this.waiter === waiter) this.waiter = null;
        if (resume) clearTimeout(resume);
        resolve(null);
      }, deadlineNs === null ? 2 ** 31 - 1 : Math.max(0, Number(deadlineNs - nowNs()) / 1e6));
      // The direct wait ended for the event loop's work: once the loop
      // has run, wait directly again. From a timer, not setImmediate():
      // while an immediate is pending the loop reports work due at once,
      // and each wait would end after its first 3 ms.
      let shortWaits = 0;
      const again = (): void => {
        resume = undefined;
        if (this.waiter !== waiter || this.closed) return;
        if (deadlineNs !== null && nowNs() >= deadlineNs) return;
        const t0 = nowNs();
        this.waitDirect(deadlineNs, false); // a packet goes to the waiter
        if (this.waiter !== waiter) return;
        shortWaits = nowNs() - t0 < SHORT_WAIT_NS ? shortWaits + 1 : 0;
        if (shortWaits < SHORT_WAITS_MAX) resume = setTimeout(again, 0);
      };
      if (this.reader) resume = setTimeout(again, 0);
    });
  }

  /**
   * Wait on the reader directly (the kernel wakes this thread for the
   * packet), until a packet, `deadlineNs`, or work for the event loop;
   * what arrived goes to the queue.
   */
  private waitDirect(deadlineNs: bigint | null, spin = true): void {
    if (!this.reader) return;
    let got = this.reader.take();
    if (got.length === 0) {
      const now = nowNs();
      let until = now + SYNC_WAIT_MAX_NS;
      if (deadlineNs !== null && deadlineNs < until) until = deadlineNs;
      if (until > now && this.reader.waitFor(until, spin) > 0) got = this.reader.take();
      if (TRACING) trace(`direct wait ${Number(nowNs() - now) / 1000}us: ${got.length}`);
    }
    for (const p of got) this.onPacket(p);
  }

  /**
   * Injecting an IP packet takes three steps, so that packets due at the
   * same instant can be written back to back and recorded afterwards: the
   * frame of an IP packet, ready to write (`gsoMss` > 0 marks a TCP packet
   * larger than the MSS for segmentation, as packetdrill does with --mss) ...
   */
  frame(ip: Buffer, gsoMss: number): InboundFrame {
    return { ip, frame: this.framing.encode(ip, gsoMss) };
  }

  /**
   * Keep the reader thread off the device until `untilNs`, or until this
   * thread next waits for a packet or gives the event loop a turn,
   * whichever comes first: meanwhile this thread reads what the kernel
   * sends itself. Ending it at the loop's turn keeps the reader thread's
   * wake-up away from the engine's events, which come while the loop
   * waits (a hold that ran out 0.5 ms after an injection woke the reader
   * thread right at the next injection, 0.5 ms later, 70-95 µs late).
   */
  hold(untilNs: bigint): void {
    const reader = this.reader;
    if (!reader?.hold) return;
    reader.hold(untilNs);
    this.holdRelease ??= setImmediate(() => {
      this.holdRelease = null;
      if (this.reader === reader) reader.hold!(0n);
    });
  }

  private holdRelease: NodeJS.Immediate | null = null;

  /** ... written now (the time of the write, or TunWriteError) ... */
  write(f: InboundFrame): bigint {
    const r = this.io.write(f.frame);
    if (r.ret < 0) throw refused(f, r.errno);
    return r.tsNs;
  }

  /**
   * ... or several written back to back (in one call where the device can;
   * `buffers`: their frames' bytes, made ready with them): the time of each
   * write made, in order; stops after a frame written later than its
   * `stopAfterNs`, and at a refused frame (`refused`: its index and error).
   */
  writeBurst(frames: readonly InboundFrame[], buffers: Buffer[], stopAfterNs: bigint[]): { tsNs: bigint[]; refused?: { index: number; error: TunWriteError } } {
    if (this.io.writeBurst) {
      const r = this.io.writeBurst(buffers, stopAfterNs);
      if (r.ret >= 0) return { tsNs: r.tsNs };
      const index = r.tsNs.length - 1;
      return { tsNs: r.tsNs.slice(0, index), refused: { index, error: refused(frames[index]!, r.errno) } };
    }
    const tsNs: bigint[] = [];
    for (const [index, f] of frames.entries()) {
      const r = this.io.write(f.frame);
      if (r.ret < 0) return { tsNs, refused: { index, error: refused(f, r.errno) } };
      tsNs.push(r.tsNs);
      if (r.tsNs > stopAfterNs[index]!) break;
    }
    return { tsNs };
  }

  /** ... and kept: its lateness against `atNs`, its capture record (stamped `tsNs`) and the packet hook. */
  noteInjected(f: InboundFrame, atNs: bigint, tsNs: bigint, note: CaptureNote): void {
    this.injectionErrorsNs.push(tsNs - atNs);
    const kept = this.framing.linkType === 'raw-ip' ? f.ip : this.framing.captured?.(f.frame, f.ip) ?? f.frame.subarray(this.framing.captureOffset);
    this.capture.add({ data: kept, tsNs, direction: 'in', notes: [note] });
    this.onPacketHook?.(kept, tsNs, 'in');
  }

  /** After stop(): how the packets the kernel sent were stamped (null when the reader had no kernel stamps). */
  stamps: PacketStamps | null = null;

  stop(): void {
    this.closed = true;
    if (this.holdRelease) clearImmediate(this.holdRelease);
    this.holdRelease = null;
    const rest = this.reader?.stop() ?? [];
    const st = this.reader?.stampStats?.() ?? null;
    if (st) {
      this.stamps = {
        kernel: st.stamped,
        read: st.unstamped,
        readLagMaxUs: Math.round(st.lagMaxNs / 100) / 10,
        readLagMeanUs: st.lagCount > 0 ? Math.round(st.lagSumNs / st.lagCount / 100) / 10 : 0,
        directReads: st.directReads,
      };
    }
    this.reader = null;
    // Keep the packets that were read but not yet delivered: they belong in the capture.
    for (const p of rest) this.onPacket(p);
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w(null);
    }
  }
}
