/** What a run reports to its parent and to reports (terminal, TAP, JUnit, JSON). */
import type { ScriptErrorKind } from '../script/errors.js';
import type { FailureKind } from './errors.js';
import type { SystemDescription } from '../backend/system-under-test.js';

export type Verdict = 'pass' | 'fail' | 'error' | 'timeout' | 'environment';

/**
 * What went wrong first: a test failure at run time (FailureKind), a
 * script that does not parse or whose options are wrong (ScriptErrorKind),
 * the run's time limit, or a scenario's verify step.
 */
export type FirstErrorKind = FailureKind | ScriptErrorKind | 'timeout' | 'scenario';

/**
 * The IP variant a run was made in, as reports label it: `ipv4`, `ipv6`,
 * `ipv4-mapped-v6` (run_all.py's label for ipv4-mapped-ipv6), with
 * `-ksft` variants and others as the plan names them.
 */
export type VariantLabel = string;

export interface FirstError {
  /** Script line at fault (0 when none). */
  line: number;
  /** The first line of the message, `path:line: ...` as packetdrill prints it. */
  headline: string;
  /** The whole text, with packet dumps. */
  text: string;
  kind: FirstErrorKind;
}

export interface EvidencePaths {
  capture?: string;
  timeline?: string;
  counters?: string;
  log?: string;
}

export interface RunResult {
  script: string;
  variant: VariantLabel;
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
