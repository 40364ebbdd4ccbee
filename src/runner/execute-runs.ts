/**
 * Carrying out planned runs: each in a worker (long-lived pool workers for
 * a suite, a process of its own for a single run), several at once, with
 * a time limit per run, a line per run on the terminal, the summary and
 * the reports.
 */
import { existsSync } from 'node:fs';
import { deviceSuffix } from '../backend/devices.js';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { EXIT_ENVIRONMENT, EXIT_FAIL, EXIT_PASS } from '../engine/errors.js';
import type { RunResult } from '../engine/result.js';
import { evidenceFile, type EvidenceKind } from '../evidence/files.js';
import type { CaptureFormat } from '../evidence/pcapng.js';
import { maybeWriteRunReport } from '../report/html/policy.js';
import { runLine, summarize, summaryLine, type JsonPlanInfo, type KernelFacts, type ReportedRun } from '../report/reports.js';
import { writeReportFiles } from '../report/write-all.js';
import type { WorkerRequest } from './execute-request.js';
import type { RunnerOptions } from './options.js';
import type { PlannedRun } from './plan.js';
import { runWorker, type WorkerOutcome } from './spawn.js';
import { WorkerPool } from './pool.js';
import { holdStop, releaseStop, stopExitCode, stopSignal } from './stop.js';
import { DEFAULT_STALL_RETRIES, withStallRetries } from './stall-retry.js';
import { cpuGate, type CpuGate } from './cpu-gate.js';
import { balancedOrder, planOrder, type StartOrder } from './run-order.js';

/**
 * Runs at once, at most. A run mostly waits for its script's clock, so
 * several per core keep the machine busy: on 2 cores over the gtests corpus
 * (480 rows, first pass, evidence off) -j 4 took 116.7 s with 469 rows
 * agreeing and -j 10 55.7 s with 471. Where the scripts' own commands are
 * costly the CPUs, not the clocks, set the pace: once `python3` became a
 * pyenv shim at 0.33 s of CPU a call (before interpreter-shims.ts resolved
 * it once) the same corpus needed about a CPU-second a run, and with
 * evidence on -j 10 took 242 s with 437 rows agreeing, -j 4 261 s with
 * 468; its `defaults.sh` and `sysctl` calls alone still take a third of the
 * machine. So with the default, runs beyond one per core start only while
 * the CPUs have room (cpu-gate.ts). With cheaper commands (posix_spawn,
 * the shims resolved), a gate that started one run per 100 ms sample set
 * the pace: both corpora, evidence on, in 98 s with up to 5 runs a core
 * (651-659 rows agreeing over five runs); two starts a sample and up to 7
 * a core take 80 s (654-657 over three), and a start every 33 ms sample
 * 65-68 s (655-658 over four), and with long runs started early and the
 * code in a warm interpreter 52-57 s (653-659 over nine). More at once
 * costs agreement:
 * with no gap between starts and up to 8 a core, 62 s and 636 rows; an
 * explicit -j 12 (no gate) 62 s and 648-656, with more kernel timers a
 * jiffy late.
 */
export function defaultJobs(): number {
  return Math.max(1, availableParallelism() * 7);
}

async function pool<T, R>(
  items: T[], n: number, fn: (item: T, index: number) => Promise<R>, gate?: CpuGate, order: StartOrder = planOrder(items.length),
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let started = 0;
  let running = 0;
  const workers = Array.from({ length: Math.min(n, items.length) }, async () => {
    for (;;) {
      if (started >= items.length) return;
      await gate?.admit(running);
      const i = order.next();
      if (i === undefined) return;
      started++;
      running++;
      try {
        out[i] = await fn(items[i]!, i);
      } finally {
        running--;
        order.finished(i);
      }
    }
  });
  await Promise.all(workers);
  return out;
}

function timeoutResult(run: PlannedRun, ms: number): RunResult {
  return {
    script: run.reportPath, variant: run.variant, verdict: 'timeout', exitCode: EXIT_FAIL, durationMs: ms, warnings: [],
    evidence: {}, packets: { injected: 0, sniffed: 0 }, injectionErrorsUsecs: [],
    firstError: { line: 0, headline: `${run.reportPath}: timed out`, text: `${run.reportPath}: timed out`, kind: 'timeout' },
  };
}

/** Somewhere else to carry runs out (a kernel in microVMs), instead of workers on the host. */
export interface RunTarget {
  run(req: WorkerRequest, timeoutMs: number): Promise<WorkerOutcome>;
  kill(sig: NodeJS.Signals): void;
  /** The kernel the reports name. */
  facts: KernelFacts;
}

/** A run the stop signal ended: its evidence is whatever the worker wrote. */
function interruptedResult(run: PlannedRun, sig: NodeJS.Signals, ms: number, ev: { dir: string; stem: string; format: string }): RunResult {
  const r = timeoutResult(run, ms);
  r.verdict = 'error';
  const text = `${run.reportPath}: interrupted by ${sig} before the run finished`;
  r.firstError = { line: 0, headline: text, text, kind: 'interrupted' };
  if (ev.dir) {
    const at = (kind: EvidenceKind): string | undefined => {
      const p = evidenceFile(ev.dir, ev.stem, kind, ev.format as CaptureFormat);
      return existsSync(p) ? p : undefined;
    };
    const capture = at('capture');
    const timeline = at('timeline');
    const counters = at('counters');
    r.evidence = { ...(capture ? { capture } : {}), ...(timeline ? { timeline } : {}), ...(counters ? { counters } : {}) };
  }
  return r;
}

/**
 * Whether each run goes on alone: one at a time, on this machine's kernel
 * (a microVM's guest has CPUs of its own to share), not held to one CPU
 * (--one-cpu: the engine shares it with the reader and the sampler), on
 * a machine with a CPU to spare for the rest. Such a run's engine spins
 * longer before each timed event (engine/clock-wait.ts).
 */
export function runsAlone(o: { jobs: number; runs: number; oneCpu?: boolean; onTarget?: boolean; cpus?: number }): boolean {
  return (o.jobs === 1 || o.runs === 1) && !o.oneCpu && !o.onTarget && (o.cpus ?? availableParallelism()) > 1;
}

export async function executeRuns(
  runs: PlannedRun[], args: RunnerOptions, label: string,
  opts: {
    writeReports?: boolean;
    target?: RunTarget;
    /** Each run's expected seconds (undefined: unknown): long runs start early (run-order.ts). */
    expectedSeconds?: ReadonlyArray<number | undefined>;
  } = {},
): Promise<{ reported: ReportedRun[]; exitCode: number; seconds: number }> {
  const target = opts.target;
  // On another kernel the VMs are the workers: as many runs at once as the target takes.
  const jobs = args.oneCpu ? 1 : args.jobs ?? (target ? runs.length : defaultJobs());
  const started = performance.now();
  const single = runs.length === 1;
  const alone = runsAlone({ jobs, runs: runs.length, oneCpu: args.oneCpu, onTarget: target !== undefined });
  // Several runs share long-lived workers (one fresh namespace per run);
  // a single run gets a process of its own.
  const workers = target
    ? { run: (req: WorkerRequest, ms: number) => target.run(req, ms), kill: (sig: NodeJS.Signals) => target.kill(sig), close: () => undefined }
    : single || process.env.TUNDRILL_ONE_PROCESS_PER_RUN === '1'
    ? null
    : new WorkerPool(Math.min(jobs, runs.length), {
      // Every run gets a private /tmp; paths under the real /tmp stay reachable.
      privateTmp: true,
      passthrough: false,
    });
  // SIGINT, SIGTERM, SIGHUP: no new runs; workers write their evidence (stop.ts).
  holdStop();
  const printedSyntax = new Set<string>();
  // With the default -j, runs beyond one per core start only while the CPUs
  // have room (cpu-gate.ts); an explicit -j N runs N at once.
  const gate = !target && args.jobs === undefined && jobs > availableParallelism()
    ? cpuGate({ free: availableParallelism() })
    : undefined;
  const all = await pool(runs, jobs, async (run): Promise<ReportedRun | null> => {
    if (stopSignal()) return null;
    const request = {
        scriptPath: run.scriptPath,
        displayPath: run.scriptPath.split('/').pop()!,
        options: run.options,
        variant: run.variantLabel,
        verbose: args.verbose,
        device: args.devices[0] ?? 'tun',
        ...(args.oneCpu ? { oneCpu: true } : {}),
        ...(alone ? { alone: true } : {}),
        ...(run.packetdrill ? { packetdrill: run.packetdrill } : {}),
        evidence: {
          dir: args.capture ? join(resolve(args.captureDir), dirname(run.evidenceStem)) : '',
          stem: run.evidenceStem.split('/').pop()! + deviceSuffix(args.devices[0] ?? 'tun'),
          format: args.captureFormat,
          ssIntervalMs: args.ssIntervalMs,
          sampler: args.sampler ?? 'sock_diag',
        },
      };
    const outcome = await withStallRetries(() => workers
      ? workers.run(request, args.timeoutSecs * 1000)
      : runWorker(request, { timeoutMs: args.timeoutSecs * 1000, passthrough: single && args.verbose }),
    args.stallRetries ?? DEFAULT_STALL_RETRIES, target ? null : undefined);
    let result = outcome.result;
    if (outcome.timedOut) result = timeoutResult(run, outcome.wallMs);
    const sig = stopSignal();
    if (!result && sig) result = interruptedResult(run, sig, outcome.wallMs, request.evidence);
    if (!result) {
      result = timeoutResult(run, outcome.wallMs);
      result.verdict = 'error';
      const why = outcome.stderr.trim() || `worker exited with status ${outcome.exitCode ?? outcome.signal}`;
      result.firstError = { line: 0, headline: `${run.reportPath}: ${why.split('\n')[0]}`, text: why, kind: 'internal' };
      result.exitCode = outcome.exitCode === EXIT_ENVIRONMENT ? EXIT_ENVIRONMENT : EXIT_FAIL;
    }
    const r: ReportedRun = {
      path: run.reportPath, variant: run.variantLabel, result, output: `${outcome.stdout}${outcome.stderr}`.trim(),
      ...(target ? { kernel: target.facts } : {}),
    };
    const html = maybeWriteRunReport(args.report ?? 'default', { dir: request.evidence.dir, stem: request.evidence.stem, scriptPath: run.scriptPath }, result);
    if (html) r.html = html;
    if (!args.quiet) {
      process.stdout.write(`${runLine(r)}\n`);
      if (single && result.evidence.capture) {
        const ev = result.evidence;
        process.stdout.write(`     evidence: ${[ev.capture, ev.timeline, ev.counters].filter(Boolean).join(', ')}\n`);
        if (html) process.stdout.write(`     report: ${html}\n`);
      }
      // A script's syntax error is the same in every variant: print it once.
      const text = result.firstError?.text;
      if (result.verdict !== 'pass' && text && !(result.firstError!.kind === 'syntax' && printedSyntax.has(text))) {
        process.stderr.write(`${text}\n`);
        if (result.firstError!.kind === 'syntax') printedSyntax.add(text);
      }
      for (const w of result.warnings) process.stderr.write(`${w}\n`);
    }
    return r;
  }, gate, opts.expectedSeconds ? balancedOrder(opts.expectedSeconds, Math.ceil(jobs / 2)) : undefined);
  gate?.close();
  const reported = all.filter((r): r is ReportedRun => r !== null);
  releaseStop();
  workers?.close();
  if (stopSignal() && reported.length < runs.length) process.stderr.write(`tundrill: ${runs.length - reported.length} of ${runs.length} runs not started (${stopSignal()})\n`);
  const s = summarize(reported, (performance.now() - started) / 1000);
  if (!single || args.quiet) process.stdout.write(`${summaryLine(s, label)}\n`);
  if (opts.writeReports !== false) writeReports(args, reported, s.seconds);
  let exitCode = EXIT_PASS;
  for (const r of reported) exitCode = Math.max(exitCode, r.result.exitCode === EXIT_ENVIRONMENT ? 4 : r.result.exitCode);
  if (stopSignal()) exitCode = stopExitCode();
  return { reported, exitCode, seconds: s.seconds };
}

export function writeReports(args: RunnerOptions, reported: ReportedRun[], seconds: number, plan: JsonPlanInfo = {}, title = 'tundrill run'): void {
  const s = summarize(reported, seconds);
  const index = args.capture ? { file: join(resolve(args.captureDir), 'index.html'), title, mode: args.report ?? 'default' } : undefined;
  const written = writeReportFiles({ ...args, ...(index ? { index } : {}) }, reported, s, plan);
  if (written.index && !args.quiet) process.stdout.write(`report index: ${written.index}\n`);
}

