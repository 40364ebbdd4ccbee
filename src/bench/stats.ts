/** Small statistics for the benchmark: percentiles, medians, summaries. */

export interface Distribution {
  count: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile (`q` in 0..1) of values sorted ascending; NaN when empty. */
export function percentileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export function sortedCopy(values: readonly number[]): number[] {
  return Array.from(values).sort((a, b) => a - b);
}

export function median(values: readonly number[]): number {
  return percentileSorted(sortedCopy(values), 0.5);
}

export function distribution(values: readonly number[]): Distribution {
  const s = sortedCopy(values);
  let sum = 0;
  for (const v of s) sum += v;
  return {
    count: s.length,
    p50: percentileSorted(s, 0.5),
    p99: percentileSorted(s, 0.99),
    max: s.length ? s[s.length - 1]! : NaN,
    mean: s.length ? sum / s.length : NaN,
  };
}

/** How many values are at least `limit`. */
export function countAtLeast(values: readonly number[], limit: number): number {
  let n = 0;
  for (const v of values) if (v >= limit) n++;
  return n;
}
