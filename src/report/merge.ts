/**
 * `tundrill report merge`: the JSON reports of the shards of one plan
 * (`--shard i/n --json F` on each runner) read back into one list of rows,
 * in the plan's order, from which every report format is written as if
 * one runner had run the whole plan.
 */
import { readFileSync } from 'node:fs';
import type { EventTiming, FirstError, RunResult, Verdict } from '../engine/result.js';
import type { RepeatSummary } from '../runner/repeat.js';
import { summarize, type JsonPlanInfo, type ReportedRun, type Summary } from './reports.js';

export class MergeError extends Error {}

/** A row as writeJson writes it. */
interface JsonRow {
  script: string;
  variant: string;
  verdict: Verdict;
  exitCode: number;
  durationMs: number;
  firstError: FirstError | null;
  evidence?: RunResult['evidence'];
  packets?: RunResult['packets'];
  warnings?: string[];
  stallAttempts?: RunResult['stallAttempts'];
  injectionErrorsUsecs?: number[];
  packetStamps?: RunResult['packetStamps'];
  overhead?: RunResult['overhead'] | null;
  timing?: EventTiming[];
  output?: string;
  index?: number;
  repeat?: RepeatSummary;
}

interface JsonReport {
  summary: Summary;
  plan?: JsonPlanInfo;
  runs: JsonRow[];
}

export interface ShardReport {
  file: string;
  plan: JsonPlanInfo;
  summary: Summary;
  runs: ReportedRun[];
}

function rowToRun(row: JsonRow, file: string): ReportedRun {
  if (typeof row.script !== 'string' || typeof row.variant !== 'string' || typeof row.verdict !== 'string') {
    throw new MergeError(`${file}: a row without script, variant or verdict: is this a tundrill --json report?`);
  }
  const result: RunResult = {
    script: row.script,
    variant: row.variant as RunResult['variant'],
    verdict: row.verdict,
    exitCode: row.exitCode,
    durationMs: row.durationMs,
    warnings: row.warnings ?? [],
    evidence: row.evidence ?? {},
    packets: row.packets ?? { injected: 0, sniffed: 0 },
    injectionErrorsUsecs: row.injectionErrorsUsecs ?? [],
  };
  if (row.firstError) result.firstError = row.firstError;
  if (row.overhead) result.overhead = row.overhead;
  if (row.packetStamps) result.packetStamps = row.packetStamps;
  if (row.timing) result.timing = row.timing;
  if (row.stallAttempts) result.stallAttempts = row.stallAttempts;
  const r: ReportedRun = { path: row.script, variant: row.variant, result, output: row.output ?? '' };
  if (row.index !== undefined) r.index = row.index;
  if (row.repeat) r.repeat = row.repeat;
  return r;
}

export function readShardReport(file: string): ShardReport {
  let body: JsonReport;
  try {
    body = JSON.parse(readFileSync(file, 'utf8')) as JsonReport;
  } catch (e) {
    throw new MergeError(`${file}: cannot read a JSON report: ${(e as Error).message}`);
  }
  if (!body || !Array.isArray(body.runs) || typeof body.summary !== 'object') {
    throw new MergeError(`${file}: not a tundrill --json report (no summary and runs)`);
  }
  return { file, plan: body.plan ?? {}, summary: body.summary, runs: body.runs.map((row) => rowToRun(row, file)) };
}

export interface Merged {
  runs: ReportedRun[];
  summary: Summary;
  /** Problems that do not stop the merge (a shard missing, a row twice). */
  warnings: string[];
  plan: JsonPlanInfo;
}

/**
 * Merge shard reports. Rows that carry their plan index are put back in
 * plan order and checked for gaps and duplicates; otherwise rows keep the
 * order of the files given. `seconds` is the sum of the shards' times
 * (runner time, not the wall time of a parallel fleet).
 */
export function mergeReports(reports: readonly ShardReport[]): Merged {
  if (reports.length === 0) throw new MergeError('report merge: no JSON reports given');
  const warnings: string[] = [];
  const runs = reports.flatMap((r) => r.runs);
  const indexed = runs.every((r) => r.index !== undefined);
  if (indexed) runs.sort((a, b) => a.index! - b.index!);
  const plannedValues = new Set(reports.map((r) => r.plan.planned).filter((p) => p !== undefined));
  if (plannedValues.size > 1) throw new MergeError(`report merge: the reports come from different plans (${[...plannedValues].join(' vs ')} rows planned)`);
  const planned = [...plannedValues][0];
  const counts = new Set(reports.map((r) => r.plan.shard?.count).filter((c) => c !== undefined));
  if (counts.size > 1) throw new MergeError(`report merge: the reports split the plan differently (${[...counts].join(' vs ')} shards)`);
  const seenShards = new Map<number, string>();
  for (const r of reports) {
    const i = r.plan.shard?.index;
    if (i === undefined) continue;
    const before = seenShards.get(i);
    if (before) throw new MergeError(`report merge: shard ${i} given twice (${before}, ${r.file})`);
    seenShards.set(i, r.file);
  }
  const count = [...counts][0];
  if (count !== undefined) {
    const missing = Array.from({ length: count }, (_, k) => k + 1).filter((k) => !seenShards.has(k));
    if (missing.length) warnings.push(`shard${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of ${count} missing: the merged report is incomplete`);
  }
  if (indexed) {
    for (let k = 1; k < runs.length; k++) {
      if (runs[k]!.index === runs[k - 1]!.index) warnings.push(`row ${runs[k]!.path} (${runs[k]!.variant}) appears twice`);
    }
  }
  if (planned !== undefined && runs.length !== planned && count !== undefined && seenShards.size === count) {
    warnings.push(`${runs.length} rows merged, ${planned} planned`);
  }
  const seconds = reports.reduce((s, r) => s + (r.summary.seconds ?? 0), 0);
  const plan: JsonPlanInfo = {};
  if (planned !== undefined) plan.planned = planned;
  const repeat = reports.find((r) => r.plan.repeat !== undefined)?.plan.repeat;
  if (repeat !== undefined) plan.repeat = repeat;
  return { runs, summary: summarize(runs, seconds), warnings, plan };
}
