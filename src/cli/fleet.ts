/**
 * The run options for CI fleets and flake hunting, between planning and
 * executing a plan: `--shard i/n` keeps one part of the plan, `--repeat N`
 * runs every row N times and folds the runs back into one row each.
 */
import { resolve } from 'node:path';
import type { RunResult } from '../engine/result.js';
import { repeatLines, repeatRounds, representative, summarizeRepeats } from '../runner/repeat.js';
import { parseShard, readDurations, referenceDurationSources, splitRuns, ShardError, type Durations, type Shard } from '../runner/shard.js';
import type { JsonPlanInfo, ReportedRun } from '../report/reports.js';
import type { RunArgs } from './args.js';
import { UsageError } from './args.js';
import type { PlannedRun } from '../runner/plan.js';

export type Execute = (runs: PlannedRun[], args: RunArgs, label: string, opts: { writeReports?: boolean })
  => Promise<{ reported: ReportedRun[]; exitCode: number; seconds: number }>;

/** The folder beside the checkout that holds the corpora and their reference verdicts. */
export function sharedDir(projectRoot: string): string {
  return resolve(projectRoot, '..', 'shared');
}

const durationsByRoot = new Map<string, Durations>();

/** packetdrill's seconds per row, from the reference tables beside the checkout (empty without them); read once. */
export function referenceDurations(projectRoot: string): Durations {
  let d = durationsByRoot.get(projectRoot);
  if (!d) durationsByRoot.set(projectRoot, (d = readDurations(referenceDurationSources(sharedDir(projectRoot)))));
  return d;
}

export function shardOf(args: RunArgs): Shard | undefined {
  if (args.shard === undefined) return undefined;
  try {
    return parseShard(args.shard);
  } catch (e) {
    if (e instanceof ShardError) throw new UsageError(e.message);
    throw e;
  }
}

export interface PlanPart {
  runs: PlannedRun[];
  /** Each run's index in the whole plan. */
  indices: number[];
  plan: JsonPlanInfo;
  /** A line saying which part this is and what it is expected to take, for the terminal. */
  note?: string;
}

/** This runner's part of the plan. */
export function planPart(runs: PlannedRun[], args: RunArgs, projectRoot: string, extraRows = 0): PlanPart {
  const shard = shardOf(args);
  const plan: JsonPlanInfo = { planned: runs.length + extraRows };
  const repeat = args.repeat ?? 1;
  if (repeat > 1) plan.repeat = repeat;
  if (!shard) return { runs, indices: runs.map((_, i) => i), plan };
  const split = splitRuns(runs.map((r, i) => ({ ...r, i })), shard.count, referenceDurations(projectRoot));
  const part = split.parts[shard.index - 1]!;
  plan.shard = shard;
  const by = split.known > 0 ? `${split.expected[shard.index - 1]} s expected (durations known for ${split.known} of ${runs.length} rows)` : 'split by count';
  return {
    runs: part.map(({ i: _i, ...r }) => r),
    indices: part.map((r) => r.i),
    plan,
    note: `shard ${shard.index}/${shard.count}: ${part.length} of ${runs.length} rows, ${by}`,
  };
}

/** Run a part of the plan, each row `args.repeat` times; one reported row per planned row. */
export async function executePart(part: PlanPart, args: RunArgs, label: string, execute: Execute): Promise<{ reported: ReportedRun[]; exitCode: number; seconds: number }> {
  const repeat = args.repeat ?? 1;
  if (repeat <= 1) {
    const r = await execute(part.runs, args, label, { writeReports: false });
    r.reported.forEach((row, k) => { row.index = part.indices[k]!; });
    return r;
  }
  const rounds = repeatRounds(part.runs, repeat);
  const r = await execute(rounds.map((x) => x.run), args, `${label} (x${repeat})`, { writeReports: false });
  const byRow: ReportedRun[][] = part.runs.map(() => []);
  r.reported.forEach((row, k) => byRow[rounds[k]!.row]!.push(row));
  const reported = byRow.map((rows, k): ReportedRun => {
    const results: RunResult[] = rows.map((x) => x.result);
    const summary = summarizeRepeats(results);
    const result = representative(results);
    if (summary.flaky && result.verdict === 'pass') result.verdict = 'fail';
    const out: ReportedRun = {
      path: rows[0]!.path, variant: rows[0]!.variant, result,
      output: rows.find((x) => x.result.verdict !== 'pass')?.output ?? '',
      index: part.indices[k]!, repeat: summary,
    };
    return out;
  });
  if (!args.quiet) {
    for (const row of reported) if (row.repeat!.flaky) process.stdout.write(`${repeatLines(row.path, row.variant, row.repeat!).join('\n')}\n`);
  }
  const flaky = reported.filter((x) => x.repeat!.flaky).length;
  const steady = reported.filter((x) => x.repeat!.passed === x.repeat!.runs).length;
  process.stdout.write(`Repeated ${reported.length} rows ${repeat} times: ${steady} always pass, ${flaky} flaky, ${reported.length - steady - flaky} always fail\n`);
  const exitCode = Math.max(r.exitCode, reported.some((x) => x.result.verdict !== 'pass') ? 1 : 0);
  return { reported, exitCode, seconds: r.seconds };
}
