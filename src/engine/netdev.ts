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

/** How long receive() waits on the reader thread directly before yielding to the event loop. */
const SYNC_WAIT_MS = 3;

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
    if (this.queue.length === 0 && this.reader) {
      // The kernel usually answers within microseconds of what triggered
      // it: wait for the reader thread directly for a short while before
      // falling back to the event loop's (slower) delivery.
      const limitNs = BigInt(Math.min(SYNC_WAIT_MS, timeoutMs ?? SYNC_WAIT_MS) * 1e6);
      let got = this.reader.take();
      if (got.length === 0 && limitNs > 0n && this.reader.waitFor(nowNs() + limitNs) > 0) got = this.reader.take();
      for (const p of got) this.onPacket(p);
    }
    const next = this.queue.shift();
    if (next) {
      this.io.consumed?.();
      return Promise.resolve(next);
    }
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      this.waiter = (p) => {
        if (timer) clearTimeout(timer);
        if (p) this.io.consumed?.();
        resolve(p);
      };
      // With no time limit a long timer still keeps the process alive:
      // the reader thread alone does not.
      timer = setTimeout(() => {
        this.waiter = null;
        resolve(null);
      }, timeoutMs ?? 2 ** 31 - 1);
    });
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

  /** ... written now (the time of the write, or TunWriteError) ... */
  write(f: InboundFrame): bigint {
    const r = this.io.write(f.frame);
    if (r.ret < 0) {
      throw new TunWriteError(`the device refused the ${f.frame.length}-byte frame: ${errnoName(r.errno)} (${strerror(r.errno)})`);
    }
    return r.tsNs;
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
