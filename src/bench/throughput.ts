/**
 * Throughput: N trivial runs through executeRuns at several -j values, on
 * the CLI's pool of long-lived workers (what `tundrill run -j N` uses) and,
 * for comparison, with one worker process per run.
 */
import { planIpv4, runBatch } from './runs.js';
import { median } from './stats.js';
import { num, renderTable } from './table.js';

export type WorkerMode = 'pool' | 'process per run';

export interface ThroughputOptions {
  trivialScript: string;
  runs: number;
  jobs: number[];
  modes: WorkerMode[];
  captureDir: string;
  progress(text: string): void;
}

export interface ThroughputRow {
  mode: WorkerMode;
  jobs: number;
  runs: number;
  passed: number;
  wallSeconds: number;
  runsPerSecond: number;
  /** Median of the workers' own run durations, ms. */
  medianRunMs: number;
}

export async function measureThroughput(opts: ThroughputOptions): Promise<ThroughputRow[]> {
  const out: ThroughputRow[] = [];
  for (const mode of opts.modes) {
    for (const jobs of opts.jobs) {
      opts.progress(`throughput: ${opts.runs} trivial runs at -j ${jobs} (${mode})`);
      const tag = mode === 'pool' ? 'pool' : 'process';
      const runs = Array.from({ length: opts.runs }, (_x, i) => planIpv4(opts.trivialScript, `throughput/${tag}-j${jobs}/trivial-${i}`));
      const b = await runBatch(runs, { jobs, captureDir: opts.captureDir, trace: false, processPerRun: mode !== 'pool' });
      out.push({
        mode,
        jobs,
        runs: b.reported.length,
        passed: b.reported.filter((r) => r.result.verdict === 'pass').length,
        wallSeconds: b.wallSeconds,
        runsPerSecond: b.reported.length / b.wallSeconds,
        medianRunMs: median(b.reported.map((r) => r.result.durationMs)),
      });
    }
  }
  return out;
}

export function renderThroughput(rows: ThroughputRow[]): string {
  return [
    'Throughput of trivial runs (executeRuns, as `tundrill run -j N`)',
    renderTable(
      [{ title: 'workers' }, '-j', 'runs ok', 'wall s', 'runs/s', 'median run ms (in worker)'],
      rows.map((r) => [r.mode, r.jobs, `${r.passed}/${r.runs}`, num(r.wallSeconds, 2), num(r.runsPerSecond, 2), num(r.medianRunMs, 1)]),
    ),
  ].join('\n');
}
