/**
 * `--repeat N`: every planned row runs N times; the rows' results are
 * folded into one row each with its pass rate, whether it flips, and per
 * script line the spread of (actual - expected) time over the N runs and
 * the tolerance that would have passed all of them.
 */
import type { EventTiming, RunResult, Verdict } from '../engine/result.js';

/** The spread of one script line's timing error over the repeated runs, in µs. */
export interface LineSpread {
  line: number;
  kind: string;
  /** Runs that reached this line and had its time checked. */
  samples: number;
  minUsecs: number;
  medianUsecs: number;
  p99Usecs: number;
  maxUsecs: number;
  /** The largest tolerance the runs applied to this line. */
  appliedToleranceUsecs: number;
  /** The smallest tolerance that would have passed this line in every run: max |actual - expected|. */
  neededToleranceUsecs: number;
}

export interface RepeatSummary {
  runs: number;
  passed: number;
  /** passed / runs. */
  passRate: number;
  /** Some runs passed and some did not. */
  flaky: boolean;
  /** The verdict of every run, in the order they ran. */
  verdicts: Verdict[];
  /** Lines in script order. */
  lines: LineSpread[];
}

/**
 * How far outside its expected time an event happened (µs, signed): for a
 * point time actual - expected, for a range the distance past the nearer
 * end (0 inside the range).
 */
export function timingError(t: EventTiming): number {
  if (t.expectedEndUsecs === undefined) return t.actualUsecs - t.expectedUsecs;
  if (t.actualUsecs < t.expectedUsecs) return t.actualUsecs - t.expectedUsecs;
  if (t.actualUsecs > t.expectedEndUsecs) return t.actualUsecs - t.expectedEndUsecs;
  return 0;
}

/** The q-quantile (0..1) of sorted values, nearest rank. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** The median of sorted values (the mean of the middle two for an even count). */
export function median(sorted: readonly number[]): number {
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const round = (x: number): number => Math.round(x * 10) / 10;

export function lineSpreads(results: readonly RunResult[]): LineSpread[] {
  const byLine = new Map<number, { kind: string; errors: number[]; applied: number }>();
  for (const r of results) {
    for (const t of r.timing ?? []) {
      let e = byLine.get(t.line);
      if (!e) byLine.set(t.line, (e = { kind: t.kind, errors: [], applied: 0 }));
      e.errors.push(timingError(t));
      e.applied = Math.max(e.applied, t.toleranceUsecs);
    }
  }
  return [...byLine.entries()].sort((a, b) => a[0] - b[0]).map(([line, e]) => {
    const s = [...e.errors].sort((a, b) => a - b);
    return {
      line,
      kind: e.kind,
      samples: s.length,
      minUsecs: round(s[0]!),
      medianUsecs: round(median(s)),
      p99Usecs: round(quantile(s, 0.99)),
      maxUsecs: round(s[s.length - 1]!),
      appliedToleranceUsecs: e.applied,
      neededToleranceUsecs: Math.ceil(Math.max(...s.map(Math.abs))),
    };
  });
}

export function summarizeRepeats(results: readonly RunResult[]): RepeatSummary {
  const passed = results.filter((r) => r.verdict === 'pass').length;
  return {
    runs: results.length,
    passed,
    passRate: results.length ? passed / results.length : 0,
    flaky: passed > 0 && passed < results.length,
    verdicts: results.map((r) => r.verdict),
    lines: lineSpreads(results),
  };
}

/**
 * The one result that stands for a repeated row: the first run that did not
 * pass (its error is the row's error), or the first run when all passed;
 * its duration is the mean of the runs'.
 */
export function representative(results: readonly RunResult[]): RunResult {
  const first = results.find((r) => r.verdict !== 'pass') ?? results[0];
  if (!first) throw new Error('a repeated row without runs');
  const mean = results.reduce((s, r) => s + r.durationMs, 0) / results.length;
  return { ...first, durationMs: mean };
}

/** Runs in rounds: every row once, then every row again, N times (a flake is not hidden behind its own neighbours). */
export function repeatRounds<R>(runs: readonly R[], n: number): Array<{ run: R; row: number; round: number }> {
  const out: Array<{ run: R; row: number; round: number }> = [];
  for (let round = 0; round < n; round++) runs.forEach((run, row) => out.push({ run, row, round }));
  return out;
}

/** One text line per repeated row that flipped or needed more than its tolerance somewhere. */
export function repeatLines(path: string, variant: string, s: RepeatSummary): string[] {
  const ms = (us: number): string => `${us >= 0 ? '+' : ''}${(us / 1000).toFixed(3)}`;
  const head = `${s.flaky ? 'FLAKY' : s.passed === s.runs ? 'STEADY' : 'FAILS'} [${path} (${variant})] passed ${s.passed}/${s.runs}`;
  const out = [head];
  // The lines that would have failed on time, or else the two closest to their tolerance.
  let lines = s.lines.filter((l) => l.neededToleranceUsecs > l.appliedToleranceUsecs);
  if (lines.length === 0 && s.flaky) {
    const ratio = (l: LineSpread): number => l.neededToleranceUsecs / Math.max(1, l.appliedToleranceUsecs);
    lines = [...s.lines].sort((a, b) => ratio(b) - ratio(a)).slice(0, 2).sort((a, b) => a.line - b.line);
  }
  for (const l of lines) {
    out.push(`     line ${l.line} ${l.kind}: actual-expected min ${ms(l.minUsecs)} median ${ms(l.medianUsecs)} p99 ${ms(l.p99Usecs)} max ${ms(l.maxUsecs)} ms over ${l.samples}; tolerance ${l.appliedToleranceUsecs} us, all pass with ${l.neededToleranceUsecs} us`);
  }
  return out;
}
