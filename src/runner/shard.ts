/**
 * `--shard i/n`: one of n deterministic parts of a run plan, balanced by
 * expected duration, so that n CI runners each take one part and finish at
 * about the same time.
 *
 * Durations come from verdict tables in the reference format
 * (`script<TAB>variant<TAB>verdict<TAB>seconds<TAB>first_error`, script
 * relative to its corpus folder); rows found there weigh their seconds,
 * other rows the median of the known ones, and without any known duration
 * every row weighs the same (an even split by count). Rows are dealt
 * longest first to the part with the least expected time so far (ties:
 * the lower part), and each part keeps the plan's order.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { expectedWeights } from './run-order.js';

export interface Shard {
  /** 1-based. */
  index: number;
  count: number;
}

export class ShardError extends Error {}

export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) throw new ShardError(`--shard takes i/n (e.g. 2/4), not '${text}'`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index < 1 || index > count) throw new ShardError(`--shard ${text}: i must be between 1 and n`);
  return { index, count };
}

/** What the planner needs of a planned run. */
export interface ShardableRun {
  scriptPath: string;
  reportPath: string;
  variantLabel: string;
}

/** A verdict table and the corpus folder its script names are relative to. */
export interface DurationSource {
  table: string;
  corpusRoot: string;
}

/** Expected seconds per `absolute script path<TAB>variant`. */
export type Durations = Map<string, number>;

export function durationKey(scriptPath: string, variantLabel: string): string {
  return `${resolve(scriptPath)}\t${variantLabel}`;
}

export function readDurations(sources: DurationSource[]): Durations {
  const out: Durations = new Map();
  for (const src of sources) {
    if (!existsSync(src.table)) continue;
    for (const line of readFileSync(src.table, 'utf8').split('\n')) {
      if (!line || line.startsWith('#') || line.startsWith('script\t')) continue;
      const [script, variant, , seconds] = line.split('\t');
      const s = Number(seconds);
      if (!script || !variant || !Number.isFinite(s) || s < 0) continue;
      out.set(durationKey(join(src.corpusRoot, script), variant), s);
    }
  }
  return out;
}

/**
 * The reference tables beside a checkout: `<shared>/reference/<corpus>-verdicts.tsv`
 * for the corpus folder `<shared>/corpus/<corpus>`.
 */
export function referenceDurationSources(sharedDir: string): DurationSource[] {
  const refDir = join(sharedDir, 'reference');
  if (!existsSync(refDir)) return [];
  return ['packetdrill-gtests', 'linux-selftests'].map((corpus) => ({
    table: join(refDir, `${corpus}-verdicts.tsv`),
    corpusRoot: join(sharedDir, 'corpus', corpus),
  })).filter((s) => existsSync(s.table));
}

export interface ShardPlan<R> {
  /** The runs of every part, each in plan order. */
  parts: R[][];
  /** Expected seconds of every part (row counts when no duration was known). */
  expected: number[];
  /** How many rows had a known duration. */
  known: number;
}

/** Each run's expected seconds, where the tables know it. */
export function expectedSeconds(runs: readonly ShardableRun[], durations: Durations): Array<number | undefined> {
  return runs.map((r) => durations.get(durationKey(r.scriptPath, r.variantLabel)));
}

export function splitRuns<R extends ShardableRun>(runs: readonly R[], count: number, durations: Durations): ShardPlan<R> {
  if (count < 1) throw new ShardError('a plan splits into at least one part');
  const { weights: weight, known } = expectedWeights(expectedSeconds(runs, durations));
  const order = runs.map((_, i) => i).sort((a, b) => {
    if (weight[b]! !== weight[a]!) return weight[b]! - weight[a]!;
    const ka = `${runs[a]!.reportPath}\t${runs[a]!.variantLabel}`;
    const kb = `${runs[b]!.reportPath}\t${runs[b]!.variantLabel}`;
    return ka < kb ? -1 : ka > kb ? 1 : a - b;
  });
  const totals = new Array<number>(count).fill(0);
  const owner = new Array<number>(runs.length);
  for (const i of order) {
    let best = 0;
    for (let p = 1; p < count; p++) if (totals[p]! < totals[best]! - 1e-9) best = p;
    owner[i] = best;
    totals[best]! += weight[i]!;
  }
  const parts: R[][] = Array.from({ length: count }, () => []);
  runs.forEach((r, i) => parts[owner[i]!]!.push(r));
  return { parts, expected: totals.map((t) => Math.round(t * 1000) / 1000), known };
}
