/**
 * Carrying out planned runs: each in a worker (long-lived pool workers for
 * a suite, a process of its own for a single run), several at once, with
 * a time limit per run, a line per run on the terminal, the summary and
 * the reports.
 */
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { EXIT_ENVIRONMENT, EXIT_FAIL, EXIT_PASS } from '../engine/errors.js';
import type { RunResult } from '../engine/result.js';
import { runLine, summarize, summaryLine, writeJson, writeJunit, writeTap, type ReportedRun } from '../report/reports.js';
import type { RunnerOptions } from './options.js';
import type { PlannedRun } from './plan.js';
import { runWorker } from './spawn.js';
import { WorkerPool } from './pool.js';

/**
 * Runs at once. A run mostly waits for its script's clock, so several per
 * core keep the machine busy; measured on 2 cores over the gtests corpus
 * (480 rows, first pass): -j 4 116.7 s / 469 agree, -j 6 83.4 s / 474,
 * -j 8 63.9 s / 471, -j 10 55.7 s / 471 -- agreement does not drop with
 * -j up to 10, so the default is 5 per core.
 */
export function defaultJobs(): number {
  return Math.max(1, availableParallelism() * 5);
}

async function pool<T, R>(items: T[], n: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(n, items.length) }, async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      out[i] = await fn(items[i]!, i);
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

export async function executeRuns(
  runs: PlannedRun[], args: RunnerOptions, label: string, opts: { writeReports?: boolean } = {},
): Promise<{ reported: ReportedRun[]; exitCode: number; seconds: number }> {
  const jobs = args.jobs ?? defaultJobs();
  const started = performance.now();
  const single = runs.length === 1;
  // Several runs share long-lived workers (one fresh namespace per run);
  // a single run gets a process of its own.
  const workers = single || process.env.TUNDRILL_ONE_PROCESS_PER_RUN === '1'
    ? null
    : new WorkerPool(Math.min(jobs, runs.length), {
      // A private /tmp would hide scripts or captures that live under /tmp.
      privateTmp: !runs.some((r) => r.scriptPath.startsWith('/tmp/')) && !(args.capture && resolve(args.captureDir).startsWith('/tmp/')),
      passthrough: false,
    });
  // Stopping the CLI stops its workers, which write what evidence they have.
  const stopWorkers = (sig: NodeJS.Signals): void => {
    workers?.kill(sig);
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGTERM', stopWorkers);
  process.once('SIGINT', stopWorkers);
  const reported = await pool(runs, jobs, async (run) => {
    const request = {
        scriptPath: run.scriptPath,
        displayPath: run.scriptPath.split('/').pop()!,
        options: run.options,
        variant: run.variantLabel,
        verbose: args.verbose,
        evidence: {
          dir: args.capture ? join(resolve(args.captureDir), dirname(run.evidenceStem)) : '',
          stem: run.evidenceStem.split('/').pop()!,
          format: args.captureFormat,
          ssIntervalMs: args.ssIntervalMs,
        },
      };
    const outcome = workers
      ? await workers.run(request, args.timeoutSecs * 1000)
      : await runWorker(request, { timeoutMs: args.timeoutSecs * 1000, passthrough: single && args.verbose });
    let result = outcome.result;
    if (outcome.timedOut) result = timeoutResult(run, outcome.wallMs);
    if (!result) {
      result = timeoutResult(run, outcome.wallMs);
      result.verdict = 'error';
      const why = outcome.stderr.trim() || `worker exited with status ${outcome.exitCode ?? outcome.signal}`;
      result.firstError = { line: 0, headline: `${run.reportPath}: ${why.split('\n')[0]}`, text: why, kind: 'internal' };
      result.exitCode = outcome.exitCode === EXIT_ENVIRONMENT ? EXIT_ENVIRONMENT : EXIT_FAIL;
    }
    const r: ReportedRun = { path: run.reportPath, variant: run.variantLabel, result, output: `${outcome.stdout}${outcome.stderr}`.trim() };
    if (!args.quiet) {
      process.stdout.write(`${runLine(r)}\n`);
      if (single && result.evidence.capture) {
        const ev = result.evidence;
        process.stdout.write(`     evidence: ${[ev.capture, ev.timeline, ev.counters].filter(Boolean).join(', ')}\n`);
      }
      if (result.verdict !== 'pass' && result.firstError) process.stderr.write(`${result.firstError.text}\n`);
      for (const w of result.warnings) process.stderr.write(`${w}\n`);
    }
    return r;
  });
  process.off('SIGTERM', stopWorkers);
  process.off('SIGINT', stopWorkers);
  workers?.close();
  const s = summarize(reported, (performance.now() - started) / 1000);
  if (!single || args.quiet) process.stdout.write(`${summaryLine(s, label)}\n`);
  if (opts.writeReports !== false) writeReports(args, reported, s.seconds);
  let exitCode = EXIT_PASS;
  for (const r of reported) exitCode = Math.max(exitCode, r.result.exitCode === EXIT_ENVIRONMENT ? 4 : r.result.exitCode);
  return { reported, exitCode, seconds: s.seconds };
}

export function writeReports(args: RunnerOptions, reported: ReportedRun[], seconds: number): void {
  const s = summarize(reported, seconds);
  if (args.tap) writeTap(args.tap, reported);
  if (args.junit) writeJunit(args.junit, reported, s);
  if (args.json) writeJson(args.json, reported, s);
}

