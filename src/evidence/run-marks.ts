/**
 * The run's clock marks as an evidence source, `<stem>.run.json`: when
 * things happened, on the monotonic clock of the capture and the socket
 * state timeline, with the monotonic-to-realtime offset the capture was
 * written with, the sysctls the run set and why a hold ended.
 */
import { writeFileSync } from 'node:fs';
import type { EvidenceFile } from './files.js';
import type { EvidenceSource } from './source.js';
import { toJsonLine } from './timeline.js';

/** Keep the run going after the script's last event. */
export interface HoldOptions {
  /** Longest hold, ms after the script's last event. */
  maxMs: number;
  /**
   * End the hold once no socket under test is left in the ss listing
   * (every TCP socket except LISTEN and UNCONN ones counts as under test).
   */
  untilSocketGone?: boolean;
  /** After the sockets are gone, keep sampling this long (default: two sampling intervals, at least 200 ms). */
  afterGoneMs?: number;
}

/** `<stem>.run.json`: when things happened, on the monotonic clock of the capture and the ss timeline. */
export interface RunMarks {
  stem: string;
  /** CLOCK_REALTIME minus CLOCK_MONOTONIC, ns, as the capture's timestamps were converted. */
  monoToRealtimeOffsetNs: bigint;
  /** tun0 configured, sysctls written, counters read (just before the script's clock starts). */
  networkReadyNs?: bigint;
  /** The script's time 0, when the engine reports it. */
  clockStartNs?: bigint;
  /** The script's last event done (or the failure). */
  scriptEndNs?: bigint;
  /** The hold over (equal to scriptEndNs without a hold). */
  holdEndNs?: bigint;
  hold?: HoldOptions;
  /** 'socket-gone', 'max' (time limit), or 'none'. */
  holdEnded: 'socket-gone' | 'max' | 'none';
  sysctls: Record<string, string>;
}

/** Writes the marks the runner keeps in `marks` when observation ends (or the worker is stopped). */
export function runMarksSource(path: string, marks: RunMarks): EvidenceSource {
  const write = (): void => writeFileSync(path, toJsonLine(marks));
  return {
    name: 'run-marks',
    start() {},
    stop: write,
    emergencyFlush() {
      if (marks.scriptEndNs === undefined) marks.scriptEndNs = process.hrtime.bigint();
      if (marks.holdEndNs === undefined) marks.holdEndNs = process.hrtime.bigint();
      write();
    },
    files: (): EvidenceFile[] => [{ kind: 'marks', path }],
  };
}
