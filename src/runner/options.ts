/**
 * What the runner needs to know to carry out runs: concurrency, time
 * limits, evidence and reports. `tundrill run` fills it from its command
 * line (cli/args.ts); conformance, bench and scenarios fill it themselves.
 */
import { join } from 'node:path';
import type { CaptureFormat } from '../evidence/pcapng.js';
import type { OptionSetting } from '../script/index.js';

export interface RunnerOptions {
  /** packetdrill options for every run, in order (override the scripts' option lines). */
  packetdrill: OptionSetting[];
  /** Runs at once; default defaultJobs(). */
  jobs?: number;
  /** Per-run time limit. */
  timeoutSecs: number;
  /** Where evidence goes. */
  captureDir: string;
  /** Keep evidence at all. */
  capture: boolean;
  captureFormat: CaptureFormat;
  /** Socket-state sampling interval; 0 turns it off. */
  ssIntervalMs: number;
  /** Report files. */
  tap?: string;
  junit?: string;
  json?: string;
  verbose: boolean;
  /** Only the summary on the terminal. */
  quiet: boolean;
  /** Scenario runs: the long version of a scenario. */
  long: boolean;
}

/** The defaults `tundrill run` starts from. */
export function defaultRunnerOptions(captureDir = join(process.cwd(), 'captures')): RunnerOptions {
  return {
    packetdrill: [], timeoutSecs: 180, captureDir, capture: true, captureFormat: 'pcapng', ssIntervalMs: 100,
    verbose: false, quiet: false, long: false,
  };
}
