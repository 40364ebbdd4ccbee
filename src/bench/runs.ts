/**
 * Running scripts for the benchmark through the real CLI code: runs are
 * planned as `tundrill run --ip_version=ipv4` plans them and executed by
 * executeRuns (as `tundrill run -j N` does: long-lived pool workers, a
 * fresh network namespace per run), or one at a time by runWorker (as a
 * single `tundrill run script.pkt` does: a process of its own) when the
 * spawn-to-result time of a single worker is wanted.
 */
import type { DeviceKind } from '../backend/devices.js';
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunResult } from '../engine/result.js';
import { executeRuns, runsAlone } from '../runner/execute-runs.js';
import { defaultRunnerOptions } from '../runner/options.js';
import { planRuns, type PlannedRun } from '../runner/plan.js';
import { runWorker, workerNodeFlags, type WorkerOutcome } from '../runner/spawn.js';

type WorkerRequest = Parameters<typeof runWorker>[0];
import type { ReportedRun } from '../report/reports.js';

const IPV4 = [{ name: 'ip_version', value: 'ipv4' }];

/** The IPv4 run of a script, with its own evidence stem (runs must not share capture files). */
export function planIpv4(scriptPath: string, stem: string): PlannedRun {
  const [run] = planRuns([scriptPath], { ksft: false, user: IPV4 });
  if (!run) throw new Error(`${scriptPath}: no IPv4 run planned`);
  return { ...run, evidenceStem: `${stem}_${run.variantLabel}` };
}

/**
 * Run with environment variables set for the CLI code and the workers it
 * spawns (they inherit the environment when they start).
 */
async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.keys(vars).map((k) => [k, process.env[k]] as const);
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

export interface BatchOptions {
  jobs: number;
  captureDir: string;
  /** Workers keep an event trace (printed on their stderr at the end). */
  trace: boolean;
  /** One worker process per run instead of the CLI's pool of long-lived workers. */
  processPerRun?: boolean;
  /** The path between kernel and harness (default tun). */
  device?: DeviceKind;
}

export interface Batch {
  reported: ReportedRun[];
  wallSeconds: number;
}

/** Run a set as `tundrill run -q -j N` does; its summary line is not printed. */
export async function runBatch(runs: PlannedRun[], opts: BatchOptions): Promise<Batch> {
  const args = { ...defaultRunnerOptions(opts.captureDir), jobs: opts.jobs, quiet: true, devices: [opts.device ?? 'tun'] };
  const write = process.stdout.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  const started = performance.now();
  try {
    const env = { TUNDRILL_TRACE: opts.trace ? '1' : '0', TUNDRILL_ONE_PROCESS_PER_RUN: opts.processPerRun ? '1' : '0' };
    const { reported } = await withEnv(env, () => executeRuns(runs, args, 'bench'));
    return { reported, wallSeconds: (performance.now() - started) / 1000 };
  } finally {
    process.stdout.write = write;
  }
}

/**
 * The request executeRuns would send for a run of a single `tundrill run
 * script.pkt` (the bench's workers run one at a time), with the evidence
 * it takes by default (capture, sampler and its full-listing interval).
 */
export function requestFor(run: PlannedRun, captureDir: string, device: DeviceKind = 'tun'): WorkerRequest {
  const defaults = defaultRunnerOptions(captureDir);
  return {
    device,
    ...(runsAlone({ jobs: 1, runs: 1 }) ? { alone: true } : {}),
    scriptPath: run.scriptPath,
    displayPath: basename(run.scriptPath),
    options: run.options,
    variant: run.variantLabel,
    verbose: false,
    evidence: {
      dir: join(captureDir, dirname(run.evidenceStem)),
      stem: basename(run.evidenceStem),
      format: defaults.captureFormat,
      ssIntervalMs: defaults.ssIntervalMs,
      sampler: defaults.sampler ?? 'sock_diag',
    },
  };
}

/** One worker, spawned and waited for by the CLI's runWorker. */
export function runOneWorker(run: PlannedRun, captureDir: string, trace: boolean): Promise<WorkerOutcome> {
  return withEnv({ TUNDRILL_TRACE: trace ? '1' : '0' }, () =>
    runWorker(requestFor(run, captureDir), { timeoutMs: 180_000, passthrough: false }));
}

const WORKER = fileURLToPath(new URL('../runner/worker.js', import.meta.url));

export interface TracedRun {
  result: RunResult | null;
  /** The worker's stderr: its event trace. */
  trace: string;
}

/**
 * One traced worker, started as runWorker starts it (same namespace,
 * Node flags and request) but with its stderr going to a file: a trace
 * runs to hundreds of kB, written all at once just before the worker
 * exits, and what does not fit in a pipe's buffer by then is lost.
 */
export function runTracedWorker(run: PlannedRun, captureDir: string, device: DeviceKind = 'tun'): Promise<TracedRun> {
  const arg = Buffer.from(JSON.stringify(requestFor(run, captureDir, device))).toString('base64');
  const tracePath = join(captureDir, `trace-${process.pid}-${Math.random().toString(36).slice(2)}.txt`);
  const fd = openSync(tracePath, 'w');
  const child = spawn('unshare', ['--net', '--', process.execPath, ...workerNodeFlags(), WORKER, arg], {
    stdio: ['ignore', 'ignore', fd, 'pipe'],
    env: { ...process.env, TUNDRILL_TRACE: '1', UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? '8' },
  });
  closeSync(fd);
  let text = '';
  (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => { text += d.toString(); });
  return new Promise((resolve) => {
    let settled = false;
    const finish = (extra: string): void => {
      if (settled) return;
      settled = true;
      let result: RunResult | null = null;
      try {
        result = text ? (JSON.parse(text) as RunResult) : null;
      } catch {
        result = null;
      }
      const trace = readFileSync(tracePath, 'utf8') + extra;
      rmSync(tracePath, { force: true });
      resolve({ result, trace });
    };
    child.on('error', (e) => finish(`\ncould not start the worker: ${e.message}\n`));
    child.on('close', () => finish(''));
  });
}
