/**
 * The injection-timing goals the side-by-side bench prints: which figures
 * they are judged on, met or not, and the figures too small to judge.
 */
import { describe, expect, it } from 'vitest';
import { checkInjectionGoals, renderInjectionGoals } from '../../src/bench/injection-goals.js';
import type { SideBySideRow, ToolTiming } from '../../src/bench/packetdrill-side.js';
import type { Distribution } from '../../src/bench/stats.js';

const NONE: Distribution = { count: 0, p50: NaN, p99: NaN, max: NaN, mean: NaN };
const d = (count: number, p99: number, max: number): Distribution => ({ count, p50: p99 / 2, p99, max, mean: p99 / 2 });
const tool = (clock: Distribution, afterOutbound: Distribution): ToolTiming => ({
  runs: 3, passed: 3, clock, afterOutbound, burstSpread: NONE, unknown: 0, problems: [],
});

describe('injection goals', () => {
  it('judges the bursts script on p99 and max, and every script against packetdrill', () => {
    const rows: SideBySideRow[] = [
      {
        script: 'inbound-absolute-bursts.pkt', untimedLines: 0,
        packetdrill: tool(d(726, 104.5, 124.9), d(3, 1100, 1100)),
        tundrill: tool(d(726, 48.2, 310.0), d(3, 100, 100)),
      },
      {
        script: 'inbound-data-acked.pkt', untimedLines: 2,
        packetdrill: tool(NONE, d(600, 206.0, 1107.4)),
        tundrill: tool(NONE, d(600, 364.8, 932.3)),
      },
    ];
    const checks = checkInjectionGoals(rows);
    expect(checks.map((c) => [c.script, c.goal, c.figures, c.met])).toEqual([
      ['inbound-absolute-bursts.pkt', 'tundrill p99 ≤ 50 µs (script clock)', '48.2', true],
      ['inbound-absolute-bursts.pkt', 'tundrill max ≤ 300 µs (script clock)', '310.0', false],
      ['inbound-absolute-bursts.pkt', "tundrill p99 below packetdrill's (script clock)", '48.2 vs 104.5', true],
      ['inbound-data-acked.pkt', "tundrill p99 below packetdrill's (after >)", '364.8 vs 206.0', false],
    ]);
    const text = renderInjectionGoals(checks);
    expect(text.split('\n')[0]).toBe('Goals (wire timing, µs):');
    expect(text).toContain('  NOT met  inbound-absolute-bursts.pkt  tundrill max ≤ 300 µs (script clock): 310.0');
    expect(text).toContain("  NOT met  inbound-data-acked.pkt       tundrill p99 below packetdrill's (after >): 364.8 vs 206.0");
    expect(text).toContain('  met      inbound-absolute-bursts.pkt  tundrill p99 ≤ 50 µs (script clock): 48.2');
  });

  it('says so when no figure has enough packets', () => {
    const rows: SideBySideRow[] = [{
      script: 'inbound-absolute-bursts.pkt', untimedLines: 0,
      packetdrill: tool(d(5, 10, 10), NONE), tundrill: tool(d(5, 10, 10), NONE),
    }];
    expect(checkInjectionGoals(rows)).toEqual([]);
    expect(renderInjectionGoals([])).toMatch(/^Goals: nothing to judge/);
  });
});
