/**
 * Names of a run's evidence files, the one place they are made: every
 * file of a run sits in one folder and starts with the run's stem (e.g.
 * `close-wait_ipv4`):
 *   <stem>.pcapng (or .pcap)  every packet in and out of the device, annotated
 *   <stem>.ss.jsonl           socket-state samples of the namespace
 *   <stem>.counters.json      kernel MIB counters at start and end, and their difference
 *   <stem>.run.json           the run's clock marks (see RunMarks)
 *   <stem>.verdict.json       a scenario's verdict
 */
import { join } from 'node:path';
import type { CaptureFormat } from './pcapng.js';

export type EvidenceKind = 'capture' | 'timeline' | 'counters' | 'marks' | 'verdict';

/** One file an evidence source wrote. */
export interface EvidenceFile {
  kind: EvidenceKind;
  path: string;
}

const SUFFIX: Readonly<Record<Exclude<EvidenceKind, 'capture'>, string>> = {
  timeline: '.ss.jsonl',
  counters: '.counters.json',
  marks: '.run.json',
  verdict: '.verdict.json',
};

/** Path of a run's evidence file of `kind` (`format` names the capture's). */
export function evidenceFile(dir: string, stem: string, kind: EvidenceKind, format: CaptureFormat = 'pcapng'): string {
  return join(dir, stem + (kind === 'capture' ? `.${format}` : SUFFIX[kind]));
}

/** Every evidence path of a run. */
export function evidenceFiles(dir: string, stem: string, format: CaptureFormat): Record<EvidenceKind, string> {
  return {
    capture: evidenceFile(dir, stem, 'capture', format),
    timeline: evidenceFile(dir, stem, 'timeline'),
    counters: evidenceFile(dir, stem, 'counters'),
    marks: evidenceFile(dir, stem, 'marks'),
    verdict: evidenceFile(dir, stem, 'verdict'),
  };
}
