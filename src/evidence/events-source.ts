/**
 * The script events of a run as an evidence source: each event's expected
 * time, tolerance, actual time and system-call start and return, recorded
 * in memory by the engine while the script runs and written as JSON lines
 * (`<stem>.events.jsonl`) once the run is over.
 */
import { writeFileSync } from 'node:fs';
import type { EvidenceFile } from './files.js';
import type { EvidenceSource } from './source.js';

/** The engine's record of the events, as JSON lines. */
export interface EventLines {
  toJsonLines(): string;
}

export function eventsSource(path: string, events: EventLines): EvidenceSource {
  let written = false;
  const write = (): void => {
    writeFileSync(path, events.toJsonLines());
    written = true;
  };
  return {
    name: 'events',
    start() {},
    stop() {},
    finish: write,
    emergencyFlush() {
      if (!written) write();
    },
    files: (): EvidenceFile[] => [{ kind: 'events', path }],
  };
}
