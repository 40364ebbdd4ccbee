/**
 * Capture writer: pcapng (default) or classic pcap, chosen by the file name
 * (".pcap" gives classic pcap, anything else pcapng).
 *
 * pcapng layout: one Section Header Block, one Interface Description Block
 * (LINKTYPE_RAW = 101, i.e. bare IPv4/IPv6 packets as a TUN device carries
 * them; if_name; if_tsresol 9 = nanosecond timestamps), then one Enhanced
 * Packet Block per packet with the whole packet, `epb_flags` direction bits
 * and an optional `opt_comment` (e.g. "script line 12: < S 0:0(0) win 32792").
 *
 * Direction is seen from the interface of the kernel under test:
 * 'in'  = a packet the harness injected (a script's `<` line),
 * 'out' = a packet the kernel sent (a script's `>` line).
 *
 * Timestamps are given as CLOCK_MONOTONIC nanoseconds (the clock the native
 * addon stamps packets with, and `process.hrtime.bigint()`); the writer adds
 * a monotonic-to-realtime offset so captures show real dates.
 *
 * `write` only copies into an in-memory chunk; full chunks are written in
 * the background at positions fixed when the chunk is sealed, every
 * `flushIntervalMs`, on `flush()` and on `close()`. The file on disk is
 * always a sequence of whole blocks. `closeSync()` writes everything
 * synchronously for exit paths (and is installed as a process 'exit'
 * handler unless `closeOnExit: false`), so a worker that is being torn down
 * still leaves a complete, valid file.
 */

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export type CaptureDirection = 'in' | 'out';

export type CaptureFormat = 'pcapng' | 'pcap';

export interface CapturePacket {
  /** The packet bytes, starting with the IP header. */
  data: Uint8Array;
  /** CLOCK_MONOTONIC nanoseconds; default: now. */
  tsNs?: bigint | number;
  /** 'in' = injected by the harness, 'out' = sent by the kernel. */
  direction?: CaptureDirection;
  /** Per-packet comment (pcapng only). */
  comment?: string;
}

export interface CaptureWriterOptions {
  /** Default: '.pcap' file name gives 'pcap', otherwise 'pcapng'. */
  format?: CaptureFormat;
  /** Interface name in the capture. Default 'tun0'. */
  ifName?: string;
  /** Interface description (pcapng only). */
  ifDescription?: string;
  /** Link type. Default 101 (LINKTYPE_RAW). */
  linkType?: number;
  /** Snapshot length; 0 means unlimited. Default 262144. Longer packets are cut to it. */
  snaplen?: number;
  /**
   * Nanoseconds to add to CLOCK_MONOTONIC stamps to get CLOCK_REALTIME.
   * Default: measured when the writer opens (see `monoToRealtimeOffsetNs`).
   */
  monoToRealtimeOffsetNs?: bigint;
  /** Section comment (pcapng only), e.g. the script and variant. */
  sectionComment?: string;
  /** Application name recorded in the section header. Default 'tundrill'. */
  userAppl?: string;
  /** Seal the current chunk and write it in the background once it holds this many bytes. Default 64 KiB. */
  flushThresholdBytes?: number;
  /** Also write pending data this often (ms); 0 disables the timer. Default 1000. */
  flushIntervalMs?: number;
  /** Install a process 'exit' handler that calls `closeSync()`. Default true. */
  closeOnExit?: boolean;
}

/** LINKTYPE_RAW: packets begin with an IPv4 or IPv6 header. */
export const LINKTYPE_RAW = 101;
export const DEFAULT_SNAPLEN = 262144;

const BT_SHB = 0x0a0d0d0a;
const BT_IDB = 0x00000001;
const BT_EPB = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const OPT_ENDOFOPT = 0;
const OPT_COMMENT = 1;
const SHB_HARDWARE = 2;
const SHB_OS = 3;
const SHB_USERAPPL = 4;
const IF_NAME = 2;
const IF_DESCRIPTION = 3;
const IF_TSRESOL = 9;
const EPB_FLAGS = 2;
const EPB_FLAG_INBOUND = 0b01;
const EPB_FLAG_OUTBOUND = 0b10;
/** Classic pcap with nanosecond timestamps. */
const PCAP_MAGIC_NS = 0xa1b23c4d;
const MAX_OPTION_BYTES = 0xfff0;

/** CLOCK_MONOTONIC now, in nanoseconds. */
export function monotonicNowNs(): bigint {
  return process.hrtime.bigint();
}

/**
 * CLOCK_REALTIME minus CLOCK_MONOTONIC, in nanoseconds, measured now
 * (millisecond accuracy, which is what the wall clock gives here).
 */
export function monoToRealtimeOffsetNs(): bigint {
  const before = process.hrtime.bigint();
  const wallNs = BigInt(Date.now()) * 1_000_000n;
  const after = process.hrtime.bigint();
  return wallNs - (before + after) / 2n;
}

/** The format a file name asks for: '.pcap' is classic pcap, anything else pcapng. */
export function captureFormatFor(file: string): CaptureFormat {
  return path.extname(file).toLowerCase() === '.pcap' ? 'pcap' : 'pcapng';
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

function utf8(text: string): Buffer {
  const b = Buffer.from(text, 'utf8');
  return b.length > MAX_OPTION_BYTES ? b.subarray(0, MAX_OPTION_BYTES) : b;
}

interface Option {
  code: number;
  value: Buffer;
}

function optionsLength(opts: readonly Option[]): number {
  if (opts.length === 0) return 0;
  let n = 4; // opt_endofopt
  for (const o of opts) n += 4 + pad4(o.value.length);
  return n;
}

function writeOptions(buf: Buffer, at: number, opts: readonly Option[]): number {
  if (opts.length === 0) return at;
  for (const o of opts) {
    buf.writeUInt16LE(o.code, at);
    buf.writeUInt16LE(o.value.length, at + 2);
    o.value.copy(buf, at + 4);
    at += 4 + pad4(o.value.length);
  }
  buf.writeUInt32LE(OPT_ENDOFOPT, at);
  return at + 4;
}

function block(type: number, body: Buffer, opts: readonly Option[]): Buffer {
  const total = 12 + pad4(body.length) + optionsLength(opts);
  const b = Buffer.alloc(total);
  b.writeUInt32LE(type, 0);
  b.writeUInt32LE(total, 4);
  body.copy(b, 8);
  writeOptions(b, 8 + pad4(body.length), opts);
  b.writeUInt32LE(total, total - 4);
  return b;
}

interface Chunk {
  buf: Buffer;
  pos: number;
}

export class PcapngWriter {
  /** The format being written. */
  readonly format: CaptureFormat;
  /** The file being written. */
  readonly path: string;
  /** Offset added to monotonic stamps. */
  readonly offsetNs: bigint;

  private fd: number;
  private readonly snaplen: number;
  private readonly threshold: number;
  private readonly chunkSize: number;
  private cur: Buffer;
  private curLen = 0;
  /** File position of the next sealed chunk. */
  private nextPos: number;
  private readonly queue: Chunk[] = [];
  private inFlight: Chunk | null = null;
  private waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private error: Error | null = null;
  private closed = false;
  private closeFdWhenIdle = false;
  private syncClosed = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly exitHandler: (() => void) | null;
  private count = 0;

  private constructor(file: string, fd: number, opts: CaptureWriterOptions) {
    this.path = file;
    this.fd = fd;
    this.format = opts.format ?? captureFormatFor(file);
    this.offsetNs = opts.monoToRealtimeOffsetNs ?? monoToRealtimeOffsetNs();
    this.snaplen = opts.snaplen ?? DEFAULT_SNAPLEN;
    if (!Number.isInteger(this.snaplen) || this.snaplen < 0) throw new RangeError(`bad snaplen ${this.snaplen}`);
    this.threshold = Math.max(1, opts.flushThresholdBytes ?? 64 * 1024);
    this.chunkSize = Math.max(this.threshold + 4096, 128 * 1024);
    this.cur = Buffer.allocUnsafe(this.chunkSize);
    const header = this.headerBytes(opts);
    fs.writeSync(fd, header, 0, header.length, 0);
    this.nextPos = header.length;
    const interval = opts.flushIntervalMs ?? 1000;
    if (interval > 0) {
      this.timer = setInterval(() => this.sealAndKick(), interval);
      this.timer.unref();
    }
    if (opts.closeOnExit !== false) {
      this.exitHandler = () => {
        try {
          this.closeSync();
        } catch (e) {
          process.stderr.write(`tundrill: could not finish capture ${this.path}: ${(e as Error).message}\n`);
        }
      };
      process.on('exit', this.exitHandler);
    } else {
      this.exitHandler = null;
    }
  }

  /** Creates (or truncates) `file`, creating its folder, and writes the file header. */
  static async open(file: string, opts: CaptureWriterOptions = {}): Promise<PcapngWriter> {
    await fs.promises.mkdir(path.dirname(path.resolve(file)), { recursive: true });
    const fd = await new Promise<number>((resolve, reject) => {
      fs.open(file, 'w', 0o644, (err, fd) => (err ? reject(err) : resolve(fd)));
    });
    try {
      return new PcapngWriter(file, fd, opts);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  /** Synchronous `open`. */
  static openSync(file: string, opts: CaptureWriterOptions = {}): PcapngWriter {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    const fd = fs.openSync(file, 'w', 0o644);
    try {
      return new PcapngWriter(file, fd, opts);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  /** Packets written so far. */
  get packetCount(): number {
    return this.count;
  }

  /** True once `close` or `closeSync` has run. */
  get isClosed(): boolean {
    return this.closed;
  }

  private headerBytes(opts: CaptureWriterOptions): Buffer {
    const linkType = opts.linkType ?? LINKTYPE_RAW;
    if (this.format === 'pcap') {
      const h = Buffer.alloc(24);
      h.writeUInt32LE(PCAP_MAGIC_NS, 0);
      h.writeUInt16LE(2, 4);
      h.writeUInt16LE(4, 6);
      h.writeInt32LE(0, 8);
      h.writeUInt32LE(0, 12);
      h.writeUInt32LE(this.snaplen === 0 ? DEFAULT_SNAPLEN : this.snaplen, 16);
      h.writeUInt32LE(linkType, 20);
      return h;
    }
    const shbBody = Buffer.alloc(16);
    shbBody.writeUInt32LE(BYTE_ORDER_MAGIC, 0);
    shbBody.writeUInt16LE(1, 4);
    shbBody.writeUInt16LE(0, 6);
    shbBody.writeBigInt64LE(-1n, 8); // section length not given
    const shbOpts: Option[] = [];
    if (opts.sectionComment !== undefined) shbOpts.push({ code: OPT_COMMENT, value: utf8(opts.sectionComment) });
    shbOpts.push({ code: SHB_HARDWARE, value: utf8(os.arch()) });
    shbOpts.push({ code: SHB_OS, value: utf8(`${os.type()} ${os.release()}`) });
    shbOpts.push({ code: SHB_USERAPPL, value: utf8(opts.userAppl ?? 'tundrill') });
    const idbBody = Buffer.alloc(8);
    idbBody.writeUInt16LE(linkType, 0);
    idbBody.writeUInt16LE(0, 2);
    idbBody.writeUInt32LE(this.snaplen, 4);
    const idbOpts: Option[] = [{ code: IF_NAME, value: utf8(opts.ifName ?? 'tun0') }];
    if (opts.ifDescription !== undefined) idbOpts.push({ code: IF_DESCRIPTION, value: utf8(opts.ifDescription) });
    idbOpts.push({ code: IF_TSRESOL, value: Buffer.from([9]) });
    return Buffer.concat([block(BT_SHB, shbBody, shbOpts), block(BT_IDB, idbBody, idbOpts)]);
  }

  /**
   * Records one packet. Never blocks: the bytes are copied into memory and
   * written later. Throws only when the writer is closed.
   */
  write(pkt: CapturePacket): void {
    if (this.closed) throw new Error(`capture writer for ${this.path} is closed`);
    const data = pkt.data;
    const capLen = this.snaplen > 0 && data.length > this.snaplen ? this.snaplen : data.length;
    const mono = pkt.tsNs === undefined ? process.hrtime.bigint() : typeof pkt.tsNs === 'bigint' ? pkt.tsNs : BigInt(Math.round(pkt.tsNs));
    const ts = mono + this.offsetNs;

    if (this.format === 'pcap') {
      const len = 16 + capLen;
      const at = this.reserve(len);
      const b = this.cur;
      const sec = ts / 1_000_000_000n;
      b.writeUInt32LE(Number(sec & 0xffffffffn), at);
      b.writeUInt32LE(Number(ts - sec * 1_000_000_000n), at + 4);
      b.writeUInt32LE(capLen, at + 8);
      b.writeUInt32LE(data.length, at + 12);
      b.set(data.subarray(0, capLen), at + 16);
    } else {
      const comment = pkt.comment;
      let commentLen = 0;
      let commentBuf: Buffer | null = null;
      if (comment !== undefined && comment.length > 0) {
        commentLen = Buffer.byteLength(comment, 'utf8');
        if (commentLen > MAX_OPTION_BYTES) {
          commentBuf = utf8(comment);
          commentLen = commentBuf.length;
        }
      }
      const hasFlags = pkt.direction !== undefined;
      let optLen = 0;
      if (hasFlags) optLen += 8;
      if (commentLen > 0) optLen += 4 + pad4(commentLen);
      if (optLen > 0) optLen += 4;
      const total = 28 + pad4(capLen) + optLen + 4;
      const at = this.reserve(total);
      const b = this.cur;
      b.writeUInt32LE(BT_EPB, at);
      b.writeUInt32LE(total, at + 4);
      b.writeUInt32LE(0, at + 8); // interface id
      b.writeUInt32LE(Number((ts >> 32n) & 0xffffffffn), at + 12);
      b.writeUInt32LE(Number(ts & 0xffffffffn), at + 16);
      b.writeUInt32LE(capLen, at + 20);
      b.writeUInt32LE(data.length, at + 24);
      b.set(data.subarray(0, capLen), at + 28);
      let p = at + 28 + pad4(capLen);
      b.fill(0, at + 28 + capLen, p);
      if (hasFlags) {
        b.writeUInt16LE(EPB_FLAGS, p);
        b.writeUInt16LE(4, p + 2);
        b.writeUInt32LE(pkt.direction === 'in' ? EPB_FLAG_INBOUND : EPB_FLAG_OUTBOUND, p + 4);
        p += 8;
      }
      if (commentLen > 0) {
        b.writeUInt16LE(OPT_COMMENT, p);
        b.writeUInt16LE(commentLen, p + 2);
        if (commentBuf !== null) commentBuf.copy(b, p + 4);
        else b.write(comment!, p + 4, commentLen, 'utf8');
        p += 4 + commentLen;
        const padEnd = p + (pad4(commentLen) - commentLen);
        b.fill(0, p, padEnd);
        p = padEnd;
      }
      if (optLen > 0) {
        b.writeUInt32LE(OPT_ENDOFOPT, p);
        p += 4;
      }
      b.writeUInt32LE(total, p);
    }
    this.count++;
    if (this.curLen >= this.threshold) this.sealAndKick();
  }

  /** Reserves `len` bytes in the current chunk and returns where they start. */
  private reserve(len: number): number {
    if (this.curLen + len > this.cur.length) {
      this.seal();
      if (len > this.cur.length) this.cur = Buffer.allocUnsafe(len);
    }
    const at = this.curLen;
    this.curLen += len;
    return at;
  }

  /** Moves the current chunk to the write queue at its file position. */
  private seal(): void {
    if (this.curLen === 0) return;
    this.queue.push({ buf: this.cur.subarray(0, this.curLen), pos: this.nextPos });
    this.nextPos += this.curLen;
    this.cur = Buffer.allocUnsafe(this.chunkSize);
    this.curLen = 0;
  }

  private sealAndKick(): void {
    this.seal();
    this.kick();
  }

  /** Starts the next background write if none is running. */
  private kick(): void {
    if (this.inFlight !== null) return;
    const next = this.queue.shift();
    if (next === undefined) {
      this.settleWaiters();
      return;
    }
    this.inFlight = next;
    this.writeChunk(next, 0);
  }

  private writeChunk(chunk: Chunk, done: number): void {
    fs.write(this.fd, chunk.buf, done, chunk.buf.length - done, chunk.pos + done, (err, n) => {
      if (err) {
        this.error ??= new Error(`writing capture ${this.path}: ${err.message}`);
        this.inFlight = null;
        this.queue.length = 0;
        this.finishIdle();
        return;
      }
      if (done + n < chunk.buf.length && this.inFlight === chunk) {
        this.writeChunk(chunk, done + n);
        return;
      }
      this.inFlight = null;
      if (this.closeFdWhenIdle) {
        this.finishIdle();
        return;
      }
      this.kick();
    });
  }

  private finishIdle(): void {
    if (this.closeFdWhenIdle && this.fd >= 0) {
      const fd = this.fd;
      this.fd = -1;
      fs.close(fd, () => undefined);
    }
    this.settleWaiters();
  }

  private settleWaiters(): void {
    if (this.inFlight !== null || this.queue.length > 0) return;
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) {
      if (this.error) w.reject(this.error);
      else w.resolve();
    }
  }

  /** Writes everything recorded so far; resolves when it is in the file. */
  flush(): Promise<void> {
    if (this.closed) return this.error ? Promise.reject(this.error) : Promise.resolve();
    return this.drain();
  }

  private drain(): Promise<void> {
    if (this.error) return Promise.reject(this.error);
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.sealAndKick();
    });
  }

  /** Flushes and closes the file. Rejects if any write failed. */
  async close(): Promise<void> {
    if (this.closed) {
      if (this.error) throw this.error;
      return;
    }
    this.closed = true;
    this.stopTimers();
    try {
      await this.drain();
    } finally {
      if (this.fd >= 0 && !this.closeFdWhenIdle) {
        const fd = this.fd;
        this.fd = -1;
        await new Promise<void>((resolve) => fs.close(fd, () => resolve()));
      }
    }
    if (this.error) throw this.error;
  }

  /**
   * Writes everything synchronously and closes the file. Safe to call from
   * process 'exit' handlers and after `close()` (then it does nothing).
   */
  closeSync(): void {
    if (this.syncClosed || this.fd < 0) {
      this.closed = true;
      return;
    }
    this.syncClosed = true;
    this.closed = true;
    this.stopTimers();
    this.seal();
    const pending: Chunk[] = [];
    if (this.inFlight !== null) pending.push(this.inFlight);
    pending.push(...this.queue);
    this.queue.length = 0;
    if (this.fd >= 0) {
      // A chunk whose background write is still running is written again
      // here with the same bytes at the same position, so nothing depends on
      // that write finishing.
      for (const c of pending) {
        let done = 0;
        while (done < c.buf.length) done += fs.writeSync(this.fd, c.buf, done, c.buf.length - done, c.pos + done);
      }
      if (this.inFlight !== null) {
        // Closing now could let the running write hit a reused descriptor.
        this.closeFdWhenIdle = true;
      } else {
        fs.closeSync(this.fd);
        this.fd = -1;
      }
    }
    this.settleWaitersAfterSync();
  }

  private settleWaitersAfterSync(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) {
      if (this.error) w.reject(this.error);
      else w.resolve();
    }
  }

  private stopTimers(): void {
    if (this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
    if (this.exitHandler !== null) process.removeListener('exit', this.exitHandler);
  }
}

/** Same writer under a format-neutral name. */
export { PcapngWriter as CaptureWriter };
