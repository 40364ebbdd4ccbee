/**
 * JSON-lines files for timelines (one record a line), e.g. the ss samples of
 * a run: `{"tsNs":"8123456789012","endNs":"8123459876543","sockets":[...]}`.
 *
 * bigint values are written as decimal strings (JSON numbers lose precision
 * past 2^53; CLOCK_MONOTONIC nanoseconds pass that after ~104 days of
 * uptime). readTimeline() turns the `tsNs`/`endNs` strings back into bigints.
 *
 * Writes are synchronous appends to an open file descriptor, so that a
 * worker being stopped still leaves every record it took on disk and close()
 * needs no await. A record is one write(2) of one line; a reader never sees
 * half a line unless the process dies inside that call.
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';

/** JSON text of a value with bigints as decimal strings. */
export function toJsonLine(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) + '\n';
}

export class TimelineWriter {
  private fd: number | null;
  private count = 0;

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

  /** Close the file; calling it again does nothing. */
  close(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    closeSync(fd);
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
