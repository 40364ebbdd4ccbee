/**
 * JSON-lines files for timelines (one record a line), e.g. the ss samples of
 * a run: `{"tsNs":"8123456789012","endNs":"8123459876543","sockets":[...]}`.
 *
 * bigint values are written as decimal strings (JSON numbers lose precision
 * past 2^53; CLOCK_MONOTONIC nanoseconds pass that after ~104 days of
 * uptime). readTimeline() turns the `tsNs`/`endNs` strings back into bigints.
 *
 * Writes are appends to an open file descriptor: write() synchronously, so
 * that a worker being stopped still leaves every record it took on disk;
 * writeInBackground() from libuv's threads, for records streamed while a
 * run goes on (the JavaScript thread only turns them into text). A record
 * is never split across write(2) calls' boundaries by another record; a
 * reader never sees half a line unless the process dies inside a call.
 */
import { closeSync, openSync, readFileSync, write as fsWrite, writeSync } from 'node:fs';

/** JSON text of a value with bigints as decimal strings. */
export function toJsonLine(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) + '\n';
}

/** All of `buf` to `fd`, from libuv's threads. */
function writeAll(fd: number, buf: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (off: number): void => {
      if (off >= buf.length) return resolve();
      fsWrite(fd, buf, off, buf.length - off, null, (err, n) => (err ? reject(err) : step(off + n)));
    };
    step(0);
  });
}

export class TimelineWriter {
  private fd: number | null;
  private count = 0;
  private background: Promise<void> = Promise.resolve();
  private inFlight = 0;
  private backgroundError: Error | null = null;

  /** Create (or truncate) the file at `path`. */
  constructor(readonly path: string) {
    try {
      this.fd = openSync(path, 'w');
    } catch (e) {
      throw new Error(`cannot create timeline file ${path}: ${(e as Error).message}`);
    }
  }

  /** Number of records written. */
  get records(): number {
    return this.count;
  }

  get closed(): boolean {
    return this.fd === null;
  }

  /** Append one record. Records arriving after close() are an error. */
  write(record: unknown): void {
    if (this.fd === null) throw new Error(`timeline ${this.path} is closed`);
    const buf = Buffer.from(toJsonLine(record), 'utf8');
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
    this.count++;
  }

  /**
   * Append records off the JavaScript thread, as one write after the
   * background writes before it. flushed() tells when they are on disk.
   */
  writeInBackground(records: readonly unknown[]): void {
    if (this.fd === null) throw new Error(`timeline ${this.path} is closed`);
    if (records.length === 0) return;
    const fd = this.fd;
    const buf = Buffer.from(records.map(toJsonLine).join(''), 'utf8');
    this.count += records.length;
    this.inFlight++;
    this.background = this.background
      .then(() => writeAll(fd, buf))
      .catch((e: unknown) => { this.backgroundError ??= e as Error; })
      .finally(() => { this.inFlight--; });
  }

  /** Resolves when every background write is done; rejects with the first one that failed. */
  async flushed(): Promise<void> {
    await this.background;
    if (this.backgroundError) throw new Error(`cannot write timeline ${this.path}: ${this.backgroundError.message}`);
  }

  /** Close the file (after the background writes in flight); calling it again does nothing. */
  close(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    if (this.inFlight === 0) closeSync(fd);
    // Never close under a write in flight: the number could be reused.
    else void this.background.finally(() => closeSync(fd));
  }
}

/** Parse a JSON-lines timeline; `tsNs` and `endNs` fields come back as bigints. */
export function parseTimeline<T = Record<string, unknown>>(text: string): T[] {
  const out: T[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line) as Record<string, unknown>;
    } catch (e) {
      throw new Error(`timeline line ${i + 1}: ${(e as Error).message}`);
    }
    for (const k of ['tsNs', 'endNs']) {
      if (typeof rec[k] === 'string' && /^\d+$/.test(rec[k] as string)) rec[k] = BigInt(rec[k] as string);
    }
    out.push(rec as T);
  }
  return out;
}

/** Read and parse a JSON-lines timeline file. */
export function readTimeline<T = Record<string, unknown>>(path: string): T[] {
  return parseTimeline<T>(readFileSync(path, 'utf8'));
}
