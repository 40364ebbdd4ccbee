/**
 * What every script event did, for reports: its expected time and
 * tolerance band as the run anchored them, the time it happened, and for
 * system calls when the call started and returned. Records are plain
 * objects kept in memory while the script runs (a push per event) and
 * written as JSON lines when the run is over.
 */
import type { RunEvent } from './state.js';
import { toleranceUsecs, type Tolerance } from './timing.js';

export interface EventRecord {
  /** Script line of the event. */
  line: number;
  kind: 'packet' | 'syscall' | 'command' | 'code';
  /** Packets: 'in' injected (`<`), 'out' expected from the kernel (`>`). */
  direction?: 'in' | 'out';
  /** How the time was written: absolute, relative, any (`*`), or a range. */
  timeType: string;
  /** Expected script time, µs (start of a range). */
  expectedUsecs: number;
  /** End of a range, or the expected return of a blocking call (`...`), µs; absent otherwise. */
  expectedEndUsecs?: number;
  /** Allowed deviation, µs, as packetdrill computes it for this event. */
  toleranceUsecs: number;
  /** Script time it happened, µs: packet stamp, call start, command start. */
  actualUsecs?: number;
  /** System calls: start and return, µs of script time, and whether written as blocking. */
  callStartUsecs?: number;
  callEndUsecs?: number;
  blocking?: boolean;
}

export class EventLog {
  readonly records: EventRecord[] = [];
  private readonly byIndex = new Map<number, EventRecord>();

  /** The event's times are anchored: note what is expected. */
  begin(ev: RunEvent, tol: Tolerance, lastEventUsecs: number): void {
    const ast = ev.ast;
    const rec: EventRecord = {
      line: ev.line,
      kind: ast.type,
      timeType: ev.times.type,
      expectedUsecs: ev.times.usecs,
      toleranceUsecs: toleranceUsecs(tol, ev.times.usecs, lastEventUsecs),
    };
    if (ast.type === 'packet') rec.direction = ast.packet.direction === 'inbound' ? 'in' : 'out';
    if (ev.times.endUsecs !== -1) rec.expectedEndUsecs = ev.times.endUsecs;
    if (ast.type === 'syscall') {
      rec.blocking = ev.syscallEndUsecs !== -1;
      if (rec.blocking) rec.expectedEndUsecs = ev.syscallEndUsecs;
    }
    this.records.push(rec);
    this.byIndex.set(ev.index, rec);
  }

  /** The event happened at `usecs` of script time. */
  actual(ev: RunEvent, usecs: number): void {
    const r = this.byIndex.get(ev.index);
    if (r && r.actualUsecs === undefined) r.actualUsecs = usecs;
  }

  /** A system call ran from `startUsecs` to `endUsecs` (script time). */
  call(ev: RunEvent, startUsecs: number, endUsecs: number): void {
    const r = this.byIndex.get(ev.index);
    if (!r) return;
    r.callStartUsecs = startUsecs;
    r.callEndUsecs = endUsecs;
    if (r.actualUsecs === undefined) r.actualUsecs = startUsecs;
  }

  /** JSON lines, one per event, in script order. */
  toJsonLines(): string {
    return this.records.map((r) => JSON.stringify(r)).join('\n') + (this.records.length ? '\n' : '');
  }
}
