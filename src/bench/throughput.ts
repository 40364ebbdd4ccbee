/** Throughput: N trivial runs through the CLI's worker pool at several -j values. */
import { planIpv4, runBatch } from './runs.js';
import { median } from './stats.js';
import { num, renderTable } from './table.js';

export interface ThroughputOptions {
  trivialScript: string;
  runs: number;
  jobs: number[];
  captureDir: string;
  progress(text: string): void;
}

export interface ThroughputRow {
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
  for (const jobs of opts.jobs) {
    opts.progress(`throughput: ${opts.runs} trivial runs at -j ${jobs}`);
    const runs = Array.from({ length: opts.runs }, (_x, i) => planIpv4(opts.trivialScript, `throughput/j${jobs}/trivial-${i}`));
    const b = await runBatch(runs, { jobs, captureDir: opts.captureDir, trace: false });
    out.push({
      jobs,
      runs: b.reported.length,
      passed: b.reported.filter((r) => r.result.verdict === 'pass').length,
      wallSeconds: b.wallSeconds,
      runsPerSecond: b.reported.length / b.wallSeconds,
      medianRunMs: median(b.reported.map((r) => r.result.durationMs)),
    });
  }
  return out;
}

export function renderThroughput(rows: ThroughputRow[]): string {
  return [
    'Throughput of trivial runs (worker pool of `tundrill run -j N`)',
    renderTable(
      ['-j', 'runs ok', 'wall s', 'runs/s', 'median run ms (in worker)'],
      rows.map((r) => [r.jobs, `${r.passed}/${r.runs}`, num(r.wallSeconds, 2), num(r.runsPerSecond, 2), num(r.medianRunMs, 1)]),
    ),
  ].join('\n');
}
