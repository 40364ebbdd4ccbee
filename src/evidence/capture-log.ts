/**
 * Every packet written to or read from tun0, in the order it happened, with
 * the C-side timestamp and a note of the script line it belongs to (a packet's
 * text is formatted when the file is written, not while the script runs). Records
 * stay in memory until the run ends (notes are added when a packet is
 * matched, after it arrived) and are then written to the capture file; a
 * run that is being killed writes what it has synchronously.
 */

/** A note, or what makes it: text is made only when the capture is written, off the script's clock. */
export type CaptureNote = string | (() => string);

export interface CaptureRecord {
  data: Buffer;
  tsNs: bigint;
  direction: 'in' | 'out';
  notes?: CaptureNote[];
}

/** A record's notes as the capture file's comment ('; ' between them). */
export function captureComment(rec: CaptureRecord): string | undefined {
  if (!rec.notes || rec.notes.length === 0) return undefined;
  return rec.notes.map((n) => (typeof n === 'string' ? n : n())).join('; ');
}

export interface CaptureSink {
  write(rec: { data: Buffer; tsNs: bigint; direction: 'in' | 'out'; comment?: string }): void;
  close(): Promise<void>;
  closeSync(): void;
}

export class CaptureLog {
  readonly records: CaptureRecord[] = [];
  injected = 0;
  sniffed = 0;

  add(rec: CaptureRecord): CaptureRecord {
    this.records.push(rec);
    if (rec.direction === 'in') this.injected++;
    else this.sniffed++;
    return rec;
  }

  /** Add a note to a record; notes accumulate (a packet can be matched and then rejected). */
  note(rec: CaptureRecord, note: CaptureNote): void {
    (rec.notes ??= []).push(note);
  }

  private ordered(): CaptureRecord[] {
    // Injected packets are stamped by the writer thread, sniffed ones by the
    // reader thread: sort by time so the capture reads in wire order.
    return [...this.records].sort((a, b) => (a.tsNs < b.tsNs ? -1 : a.tsNs > b.tsNs ? 1 : 0));
  }

  /** Every record, in wire order, with its notes made into the comment. */
  private writeRecords(sink: CaptureSink): void {
    for (const r of this.ordered()) sink.write({ data: r.data, tsNs: r.tsNs, direction: r.direction, comment: captureComment(r) });
  }

  async writeTo(sink: CaptureSink): Promise<void> {
    this.writeRecords(sink);
    await sink.close();
  }

  writeToSync(sink: CaptureSink): void {
    this.writeRecords(sink);
    sink.closeSync();
  }
}
