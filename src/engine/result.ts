/** What a run reports to its parent and to reports (terminal, TAP, JUnit, JSON). */
import type { ScriptErrorKind } from '../script/errors.js';
import type { FailureKind } from './errors.js';
import type { SystemDescription } from '../backend/system-under-test.js';
import type { MachineStallNote } from './machine-stalls.js';
import type { LateKernelTimer } from '../evidence/late-kernel-timer.js';

export type Verdict = 'pass' | 'fail' | 'error' | 'timeout' | 'environment';

/**
 * What went wrong first: a test failure at run time (FailureKind), a
 * script that does not parse or whose options are wrong (ScriptErrorKind),
 * the run's time limit, a scenario's verify step, a stop signal (interrupted),
 * or, for a run a packetdrill binary carried out, packetdrill's own report.
 */
export type FirstErrorKind = FailureKind | ScriptErrorKind | 'timeout' | 'scenario' | 'interrupted' | 'packetdrill';

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
  /** A timing failure whose lateness machine stalls account for (see machine-stalls.ts). */
  machineStall?: MachineStallNote;
  /** A late outbound packet whose kernel timer, by the socket-state timeline, ran late (see late-kernel-timer.ts). */
  kernelTimerLate?: LateKernelTimer;
}

/** An attempt of a run that a machine stall spoiled: its first error and the stall. */
export interface StallAttempt {
  headline: string;
  machineStall: MachineStallNote;
}

export interface EvidencePaths {
  capture?: string;
  timeline?: string;
  counters?: string;
  /** Every script event's expected and actual times (`<stem>.events.jsonl`). */
  events?: string;
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
  /** How the packets the kernel sent were stamped, where the device gives the kernel's times. */
  packetStamps?: PacketStamps;
  /** CLOCK_MONOTONIC ns (decimal) of the script's time 0, on the machine the run ran on. */
  clockStartNs?: string;
  /** When each checked event happened against its script time (see EventTiming). */
  timing?: EventTiming[];
  /** The device between kernel and harness (tun, tun-lazy, veth) and its numbers at the end (queues, drops). */
  device?: { kind: string; numbers: Record<string, number | string> };
  /** The system under test the run ran against (absent when it never opened one). */
  system?: SystemDescription;
  /** Earlier attempts of this run that failed only because the machine stalled (runner/stall-retry.ts). */
  stallAttempts?: StallAttempt[];
  /** Set-up costs, in ms. */
  overhead?: { startMs: number; tunMs: number; netMs: number; addonMs: number };
}

/**
 * Packets the kernel sent carry the time its packet tap saw them (as
 * packetdrill's sniffed packets do), not the later time the reader thread
 * read them: how many did, how many kept the read time (no frame of
 * theirs on the stamp socket), and how far behind the reads came (for
 * packets sent while the reader ran: one sent while the namespace was set
 * up waited for the reader to start), and how many of them the engine read
 * from the TUN itself while it waited for them, ahead of the reader thread.
 */
export interface PacketStamps {
  kernel: number;
  read: number;
  readLagMaxUs: number;
  readLagMeanUs: number;
  directReads: number;
}

/**
 * One script event whose time was checked: its script time, the time it
 * happened (both µs of script time) and the tolerance it was given.
 * Events at `*` and the first event (time 0, the anchor) have none.
 */
export interface EventTiming {
  line: number;
  /** inbound, outbound, syscall, command or code. */
  kind: string;
  expectedUsecs: number;
  /** End of a time range (`a~b`), absent otherwise. */
  expectedEndUsecs?: number;
  actualUsecs: number;
  toleranceUsecs: number;
}
