import { describe, expect, it } from 'vitest';
import type { EventTiming, RunResult } from '../../src/engine/result.js';
import { lineSpreads, quantile, repeatLines, repeatRounds, representative, summarizeRepeats, timingError } from '../../src/runner/repeat.js';

function result(verdict: RunResult['verdict'], timing: EventTiming[], durationMs = 100): RunResult {
  return {
    script: 'x.pkt', variant: 'ipv4', verdict, exitCode: verdict === 'pass' ? 0 : 1, durationMs, warnings: [], evidence: {},
    packets: { injected: 0, sniffed: 0 }, injectionErrorsUsecs: [], timing,
    ...(verdict === 'pass' ? {} : { firstError: { line: 7, headline: 'x.pkt:7: timing error', text: 'x.pkt:7: timing error', kind: 'timing' } }),
  };
}
const at = (line: number, expected: number, actual: number, tol = 4000, end?: number): EventTiming => ({
  line, kind: 'outbound', expectedUsecs: expected, actualUsecs: actual, toleranceUsecs: tol, ...(end !== undefined ? { expectedEndUsecs: end } : {}),
});

describe('--repeat N statistics', () => {
  it('measures a point time as actual - expected and a range by the distance past its nearer end', () => {
    expect(timingError(at(1, 1000, 1300))).toBe(300);
    expect(timingError(at(1, 1000, 900))).toBe(-100);
    expect(timingError(at(1, 1000, 1500, 4000, 2000))).toBe(0);
    expect(timingError(at(1, 1000, 2600, 4000, 2000))).toBe(600);
    expect(timingError(at(1, 1000, 400, 4000, 2000))).toBe(-600);
  });

  it('takes quantiles by nearest rank', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(quantile(xs, 0.99)).toBe(99);
    expect(quantile(xs, 0.5)).toBe(50);
    expect(quantile([5], 0.99)).toBe(5);
  });

  it('spreads per line over the runs, with the tolerance that would have passed them all', () => {
    const runs = [
      result('pass', [at(5, 10_000, 10_100), at(7, 20_000, 21_000)]),
      result('fail', [at(5, 10_000, 9_950), at(7, 20_000, 25_500)]),
      result('pass', [at(5, 10_000, 10_020), at(7, 20_000, 22_000)]),
    ];
    const [l5, l7] = lineSpreads(runs);
    expect(l5).toMatchObject({ line: 5, samples: 3, minUsecs: -50, medianUsecs: 20, maxUsecs: 100, p99Usecs: 100, neededToleranceUsecs: 100 });
    expect(l7).toMatchObject({ line: 7, samples: 3, minUsecs: 1000, medianUsecs: 2000, maxUsecs: 5500, appliedToleranceUsecs: 4000, neededToleranceUsecs: 5500 });
    const s = summarizeRepeats(runs);
    expect(s).toMatchObject({ runs: 3, passed: 2, flaky: true, verdicts: ['pass', 'fail', 'pass'] });
    expect(s.passRate).toBeCloseTo(2 / 3);
    const text = repeatLines('x.pkt', 'ipv4', s);
    expect(text[0]).toBe('FLAKY [x.pkt (ipv4)] passed 2/3');
    expect(text[1]).toMatch(/^ {5}line 7 outbound: .* max \+5\.500 ms over 3; tolerance 4000 us, all pass with 5500 us$/);
    expect(text).toHaveLength(2);
  });

  it('a row that always passes or always fails is not flaky; the failing run stands for the row', () => {
    expect(summarizeRepeats([result('pass', []), result('pass', [])]).flaky).toBe(false);
    expect(summarizeRepeats([result('fail', []), result('timeout', [])]).flaky).toBe(false);
    const rep = representative([result('pass', [], 100), result('fail', [], 300)]);
    expect(rep.verdict).toBe('fail');
    expect(rep.durationMs).toBe(200);
  });

  it('runs in rounds: every row once, then again', () => {
    expect(repeatRounds(['a', 'b'], 3).map((x) => `${x.run}${x.round}`)).toEqual(['a0', 'b0', 'a1', 'b1', 'a2', 'b2']);
  });
});
