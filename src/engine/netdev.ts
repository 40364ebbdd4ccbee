/**
 * The run's tun0: packets the kernel sends are drained continuously by the
 * addon's reader thread (the kernel holds back retransmissions of segments
 * still queued in the host, so a reader that lags would change TCP's
 * behaviour) and queue here until the engine asks for them; packets the
 * script injects are written at their exact time by the addon's timer
 * thread. Like packetdrill, tun0 carries a virtio-net header and offers
 * TSO/checksum offload, so the kernel may hand over segments larger than
 * the MSS (GSO) and the engine may inject them.
 */
import type { CaptureLog, CaptureRecord } from './capture-log.js';
import { waitUntil } from './clock-wait.js';
import { nowNs } from '../native/addon.js';

/** How long receive() waits on the reader thread directly before yielding to the event loop. */
const SYNC_WAIT_MS = 3;

export const VNET_HDR_LEN = 10;
export const VNET_GSO_NONE = 0;
export const VNET_GSO_TCPV4 = 1;
export const VNET_GSO_TCPV6 = 4;

export interface LivePacket {
  /** The IP packet, without the virtio-net header. */
  data: Buffer;
  /** CLOCK_MONOTONIC ns when the reader thread read it. */
  tsNs: bigint;
  gsoType: number;
  gsoSize: number;
  record: CaptureRecord;
}

/** What the device needs from the native addon. */
export interface TunIo {
  /** Start draining; stop() returns the packets read but not yet delivered. */
  readerStart(onPackets: (pkts: Array<{ data: Buffer; tsNs: bigint }>) => void): {
    stop(): Array<{ data: Buffer; tsNs: bigint }>;
    /** Packets read by the thread but not yet delivered, taken now. */
    take(): Array<{ data: Buffer; tsNs: bigint }>;
    /** Block until a packet is queued or the deadline passes; returns the count queued. */
    waitFor(deadlineNs: bigint): number;
  };
  /** Write now, on this thread; stamped right before write(). */
  write(data: Buffer): { tsNs: bigint; ret: number; errno: number };
  /**
   * A link-layer device (veth): frames carry a header of this many bytes
   * between the virtio-net header and the IP packet; captures keep it.
   */
  linkHeaderLen?: number;
  /** The link-layer header to put in front of an injected IP packet. */
  linkHeader?(ip: Buffer): Buffer;
  /** The engine took a packet the kernel sent (a lazy device reads its queue only then). */
  consumed?(): void;
}

export class TunWriteError extends Error {}

export class NetDevice {
  private queue: LivePacket[] = [];
  private waiter: ((p: LivePacket | null) => void) | null = null;
  private reader: ReturnType<TunIo['readerStart']> | null = null;
  private closed = false;
  /** Timing error of every injection, ns (actual minus scheduled). */
  readonly injectionErrorsNs: bigint[] = [];

  constructor(private readonly io: TunIo, private readonly capture: CaptureLog) {}

  start(): void {
    this.reader = this.io.readerStart((pkts) => {
      for (const p of pkts) this.onPacket(p.data, p.tsNs);
    });
  }

  private onPacket(raw: Buffer, tsNs: bigint): void {
    const link = this.io.linkHeaderLen ?? 0;
    if (raw.length < VNET_HDR_LEN + link) return;
    const gsoType = raw[1]! & 0x7f;
    const gsoSize = raw.readUInt16LE(4);
    const data = raw.subarray(VNET_HDR_LEN + link);
    const record = this.capture.add({ data: raw.subarray(VNET_HDR_LEN), tsNs, direction: 'out' });
    const pkt: LivePacket = { data, tsNs, gsoType, gsoSize, record };
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
      for (const p of got) this.onPacket(p.data, p.tsNs);
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
   * Write an IP packet at `atNs` (monotonic). `gsoMss` > 0 marks a TCP
   * packet larger than the MSS for segmentation, as packetdrill does with
   * --mss. Resolves with the time the write happened.
   */
  async inject(ip: Buffer, atNs: bigint, gsoMss: number, comment: string): Promise<bigint> {
    const hdr = Buffer.alloc(VNET_HDR_LEN);
    if (gsoMss > 0) {
      hdr[1] = ip[0]! >> 4 === 4 ? VNET_GSO_TCPV4 : VNET_GSO_TCPV6;
      hdr.writeUInt16LE(gsoMss, 4);
    }
    const link = this.io.linkHeader?.(ip);
    const frame = Buffer.concat(link ? [hdr, link, ip] : [hdr, ip]);
    await waitUntil(atNs);
    const r = this.io.write(frame);
    if (r.ret < 0) throw new TunWriteError(`tun write failed: errno ${r.errno}`);
    this.injectionErrorsNs.push(r.tsNs - atNs);
    this.capture.add({ data: link ? frame.subarray(VNET_HDR_LEN) : ip, tsNs: r.tsNs, direction: 'in', comment });
    return r.tsNs;
  }

  stop(): void {
    this.closed = true;
    const rest = this.reader?.stop() ?? [];
    this.reader = null;
    // Keep the packets that were read but not yet delivered: they belong in the capture.
    for (const p of rest) this.onPacket(p.data, p.tsNs);
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w(null);
    }
  }
}
