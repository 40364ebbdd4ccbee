/**
 * What the runner needs to know to carry out runs: concurrency, time
 * limits, evidence and reports. `tundrill run` fills it from its command
 * line (cli/args.ts); conformance, bench and scenarios fill it themselves.
 */
import { join } from 'node:path';
import type { CaptureFormat } from '../evidence/pcapng.js';
import type { OptionSetting } from '../script/index.js';
import type { SamplerKind } from '../evidence/socket-timeline.js';
import type { ReportMode } from '../report/html/policy.js';
import type { DeviceKind } from '../backend/devices.js';

/** Default sampling intervals: a sock_diag dump costs microseconds, an ss process milliseconds. */
export const SOCK_DIAG_INTERVAL_MS = 10;
export const SS_INTERVAL_MS = 100;

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
  /** Socket-state sampling interval (full listings), ms; 0 turns it off. */
  ssIntervalMs: number;
  /** Socket-state sampler: sock_diag (netlink, after every packet and every interval) or ss (a process every interval). */
  sampler?: SamplerKind;
  /** Report files. */
  tap?: string;
  junit?: string;
  json?: string;
  ktap?: string;
  verbose: boolean;
  /** Only the summary on the terminal. */
  quiet: boolean;
  /** Scenario runs: the long version of a scenario. */
  long: boolean;
  /** HTML reports: 'html' for every run, 'none' for none, 'default' (or absent) for scenarios and failures. */
  report?: ReportMode;
  /** The devices to run on (`--device`); more than one compares them. */
  devices: DeviceKind[];
  /** Attempts after one that a machine stall spoiled (`--stall-retries`; default DEFAULT_STALL_RETRIES). */
  stallRetries?: number;
  /** `--one-cpu`: runs one at a time, each worker's threads on one CPU (engine/cpu-affinity.ts). */
  oneCpu?: boolean;
}

/** The defaults `tundrill run` starts from. */
export function defaultRunnerOptions(captureDir = join(process.cwd(), 'captures')): RunnerOptions {
  return {
    packetdrill: [], timeoutSecs: 180, captureDir, capture: true, captureFormat: 'pcapng', ssIntervalMs: SOCK_DIAG_INTERVAL_MS, sampler: 'sock_diag',
    verbose: false, quiet: false, long: false, report: 'default', devices: ['tun'],
  };
}
