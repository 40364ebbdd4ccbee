/**
 * Retransmission timing checks: exponential backoff of a series of
 * transmissions, and agreement between what ss reported (rto, backoff) and
 * the retransmissions the TUN reader actually saw.
 *
 * Linux doubles the RTO at each retransmission timeout (icsk_rto <<= 1, up
 * to TCP_RTO_MAX = 120 s) and counts them in icsk_backoff; a tail-loss
 * probe retransmits without backing off. The kernel's timer wheel fires a
 * timer late by up to about 1/8 of its length, so intervals run somewhat
 * longer than the rto ss shows, never shorter.
 */

export const TCP_RTO_MAX_MS = 120_000;

export interface BackoffOptions {
  /** Growth per step; default 2. */
  factor?: number;
  /** Allowed relative deviation of each ratio from `factor`; default 0.2 (20 %). */
  tolerance?: number;
  /** Intervals at this cap may stop growing (ratio 1); default TCP_RTO_MAX (120 s). */
  capMs?: number;
  /** Fewest intervals needed for a verdict; default 2 (three transmissions). */
  minIntervals?: number;
}

export interface BackoffCheck {
  ok: boolean;
  intervalsMs: number[];
  /** intervals[i+1] / intervals[i] */
  ratios: number[];
  /** One line per problem; empty when ok. */
  problems: string[];
  /** What was checked, in words (with the tolerance). */
  description: string;
}

/** Do the intervals between successive transmissions grow by `factor` each time? */
export function checkExponentialBackoff(timesMs: readonly number[], opts: BackoffOptions = {}): BackoffCheck {
  const factor = opts.factor ?? 2;
  const tol = opts.tolerance ?? 0.2;
  const cap = opts.capMs ?? TCP_RTO_MAX_MS;
  const minIntervals = opts.minIntervals ?? 2;
  const intervalsMs = timesMs.slice(1).map((t, i) => t - timesMs[i]!);
  const ratios = intervalsMs.slice(1).map((d, i) => d / intervalsMs[i]!);
  const problems: string[] = [];
  if (intervalsMs.length < minIntervals) {
    problems.push(`${timesMs.length} transmissions give ${intervalsMs.length} interval(s), ${minIntervals} needed`);
  }
  intervalsMs.forEach((d, i) => {
    if (!(d > 0)) problems.push(`interval ${i + 1} is ${d.toFixed(1)} ms (times out of order)`);
  });
  const lo = factor * (1 - tol);
  const hi = factor * (1 + tol);
  ratios.forEach((r, i) => {
    const prev = intervalsMs[i]!;
    const next = intervalsMs[i + 1]!;
    const capped = Math.abs(next - cap) <= cap * tol && prev * factor * (1 - tol) >= cap * (1 - tol);
    if (capped && Math.abs(r - 1) <= tol) return;
    if (!(r >= lo && r <= hi)) {
      problems.push(`interval ${i + 2} (${next.toFixed(1)} ms) is ${r.toFixed(2)}x interval ${i + 1} (${prev.toFixed(1)} ms), expected ${lo.toFixed(2)}..${hi.toFixed(2)}x`);
    }
  });
  return {
    ok: problems.length === 0,
    intervalsMs,
    ratios,
    problems,
    description: `each interval ${factor}x the one before (within ${Math.round(tol * 100)} %, flat at ${cap / 1000} s)`,
  };
}

/** One ss sample as the agreement check needs it. */
export interface RtoObservation {
  tMs: number;
  endMs: number;
  rtoMs?: number;
  backoff: number;
}

export interface RtoAgreementOptions {
  /** The rto before any backoff; default the rto of the first sample with backoff 0. */
  baseRtoMs?: number;
  /** Slack around a sample's time window when counting retransmissions before it; default 5 ms. */
  slackMs?: number;
  /** Allowed deviation of ss's rto from base * 2^backoff: relative (default 0.01) ... */
  rtoTolerance?: number;
  /** ... or absolute, whichever is larger (default 1 ms, ss prints whole ms). */
  rtoToleranceMs?: number;
  /** How late a timeout may fire relative to the rto, as a fraction (default 0.15) plus `lateMs` (default 20 ms). */
  late?: number;
  lateMs?: number;
}

export interface RtoAgreementRow {
  tMs: number;
  rtoMs?: number;
  backoff: number;
  /** Retransmission timeouts seen on the wire before the sample (lower and upper count, given the sample's window). */
  seenBefore: [number, number];
  expectedRtoMs?: number;
  ok: boolean;
  problem?: string;
}

export interface RtoAgreement {
  ok: boolean;
  baseRtoMs?: number;
  rows: RtoAgreementRow[];
  /** Each timeout-driven retransmission with the interval before it and the rto in force then. */
  intervals: Array<{ tMs: number; intervalMs: number; rtoMs: number; ok: boolean }>;
  problems: string[];
  description: string;
}

/**
 * Check that each ss sample agrees with the retransmissions seen so far:
 * its backoff equals the number of timeout retransmissions that reached the
 * wire before it, its rto is the base rto doubled that many times (capped
 * at 120 s), and each timeout retransmission came one rto (as ss showed it)
 * after the transmission before it, give or take the timer's lateness.
 *
 * `rtoTimesMs` are the retransmissions sent by the retransmission timer;
 * `previousMs` is the transmission each of the first one's interval counts
 * from (the original or a tail-loss probe).
 */
export function checkRtoAgreement(
  samples: readonly RtoObservation[],
  rtoTimesMs: readonly number[],
  previousMs: number | undefined,
  opts: RtoAgreementOptions = {},
): RtoAgreement {
  const slack = opts.slackMs ?? 5;
  const rel = opts.rtoTolerance ?? 0.01;
  const abs = opts.rtoToleranceMs ?? 1;
  const late = opts.late ?? 0.15;
  const lateMs = opts.lateMs ?? 20;
  const problems: string[] = [];
  const base = opts.baseRtoMs ?? samples.find((s) => s.backoff === 0 && s.rtoMs !== undefined)?.rtoMs;
  const expectedRto = (backoff: number): number | undefined =>
    base === undefined ? undefined : Math.min(base * 2 ** backoff, TCP_RTO_MAX_MS);
  const rows: RtoAgreementRow[] = samples.map((s) => {
    const lo = rtoTimesMs.filter((t) => t < s.tMs - slack).length;
    const hi = rtoTimesMs.filter((t) => t <= s.endMs + slack).length;
    const row: RtoAgreementRow = { tMs: s.tMs, backoff: s.backoff, seenBefore: [lo, hi], ok: true };
    if (s.rtoMs !== undefined) row.rtoMs = s.rtoMs;
    const exp = expectedRto(s.backoff);
    if (exp !== undefined) row.expectedRtoMs = exp;
    const why: string[] = [];
    if (s.backoff < lo || s.backoff > hi) {
      why.push(`backoff ${s.backoff} but ${lo === hi ? lo : `${lo}..${hi}`} timeout retransmission(s) on the wire`);
    }
    if (exp !== undefined && s.rtoMs !== undefined && Math.abs(s.rtoMs - exp) > Math.max(abs, exp * rel)) {
      why.push(`rto ${s.rtoMs} ms, expected ${exp} ms (${base} ms << ${s.backoff})`);
    }
    if (why.length > 0) {
      row.ok = false;
      row.problem = why.join('; ');
      problems.push(`ss at ${(s.tMs / 1000).toFixed(3)} s: ${row.problem}`);
    }
    return row;
  });
  if (base === undefined) problems.push('no ss sample with backoff 0 and an rto: no base rto');
  const intervals: RtoAgreement['intervals'] = [];
  let prev = previousMs;
  rtoTimesMs.forEach((t, k) => {
    if (prev !== undefined) {
      const rto = expectedRto(k);
      if (rto !== undefined) {
        const d = t - prev;
        const ok = d >= rto * (1 - rel) - abs && d <= rto * (1 + late) + lateMs;
        intervals.push({ tMs: t, intervalMs: d, rtoMs: rto, ok });
        if (!ok) {
          problems.push(`timeout retransmission ${k + 1} at ${(t / 1000).toFixed(3)} s came ${d.toFixed(1)} ms after the previous transmission; the rto was ${rto} ms`);
        }
      }
    }
    prev = t;
  });
  const r: RtoAgreement = {
    ok: problems.length === 0,
    rows,
    intervals,
    problems,
    description: `backoff = timeout retransmissions seen so far; rto = base << backoff (within ${Math.round(rel * 100)} % or ${abs} ms); each timeout retransmission one rto after the previous transmission (up to ${Math.round(late * 100)} % + ${lateMs} ms late)`,
  };
  if (base !== undefined) r.baseRtoMs = base;
  return r;
}
