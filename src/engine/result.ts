/** What a run reports to its parent and to reports (terminal, TAP, JUnit, JSON). */
import type { IpVersion } from './config.js';
import type { SystemDescription } from '../backend/system-under-test.js';

export type Verdict = 'pass' | 'fail' | 'error' | 'timeout' | 'environment';

export interface FirstError {
  /** Script line at fault (0 when none). */
  line: number;
  /** The first line of the message, `path:line: ...` as packetdrill prints it. */
  headline: string;
  /** The whole text, with packet dumps. */
  text: string;
  kind: string;
}

export interface EvidencePaths {
  capture?: string;
  timeline?: string;
  counters?: string;
  log?: string;
}

export interface RunResult {
  script: string;
  variant: IpVersion;
  verdict: Verdict;
  exitCode: number;
  durationMs: number;
  firstError?: FirstError;
  warnings: string[];
  evidence: EvidencePaths;
  /** Packets written to and read from tun0. */
  packets: { injected: number; sniffed: number };
  /** Injection timing error in µs (actual minus scheduled) per injected packet. */
  injectionErrorsUsecs: number[];
  /** The system under test the run ran against (absent when it never opened one). */
  system?: SystemDescription;
  /** Set-up costs, in ms. */
  overhead?: { startMs: number; tunMs: number; netMs: number; addonMs: number };
}
