/**
 * Kernel MIB counters of the run's namespace as an evidence source: read
 * when the device is up and when observation ends, written with their
 * difference.
 */
import { writeFileSync } from 'node:fs';
import { diffCounters, readCounters, type Counters } from './counters.js';
import type { EvidenceFile } from './files.js';
import type { EvidenceSource } from './source.js';

export function countersSource(path: string): EvidenceSource {
  let before: Counters | null = null;
  const write = (): void => {
    if (!before) return;
    const after = readCounters();
    writeFileSync(path, JSON.stringify({ start: before, end: after, diff: diffCounters(before, after) }, (_k, v) =>
      (typeof v === 'bigint' ? Number(v) : v), 2) + '\n');
  };
  return {
    name: 'counters',
    start() {
      before = readCounters();
    },
    stop: write,
    emergencyFlush: write,
    files: (): EvidenceFile[] => [{ kind: 'counters', path }],
  };
}
