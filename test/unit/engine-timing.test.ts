/**
 * The tolerance check every event goes through: a fixed tolerance or a
 * percentage of the gap since the previous event, whichever is larger, and
 * packetdrill's exact wording of timing errors.
 */
import { describe, expect, it } from 'vitest';
import { initialTimes, isAbsolute, secs, verifyTime, type EventTimes, type Tolerance } from '../../src/engine/timing.js';

const DEFAULTS: Tolerance = { toleranceUsecs: 4000, tolerancePercent: 12.5 };

const at = (usecs: number): EventTimes => ({ type: 'absolute', usecs, endUsecs: -1, offsetUsecs: -1 });
const rel = (usecs: number, offset: number): EventTimes => ({ type: 'relative', usecs, endUsecs: -1, offsetUsecs: offset });

describe('secs', () => {
  it('prints seconds with six decimals, like %.6f', () => {
    expect(secs(0)).toBe('0.000000');
    expect(secs(100_000)).toBe('0.100000');
    expect(secs(1_234_567)).toBe('1.234567');
    expect(secs(-20_000)).toBe('-0.020000');
  });
});

describe('initialTimes / isAbsolute', () => {
  it('keeps the script times and marks unanchored values', () => {
    expect(initialTimes({ kind: 'absolute', usecs: 5 })).toEqual({ type: 'absolute', usecs: 5, endUsecs: -1, offsetUsecs: -1 });
    expect(initialTimes({ kind: 'relative', usecs: 7 })).toEqual({ type: 'relative', usecs: 7, endUsecs: -1, offsetUsecs: -1 });
    expect(initialTimes({ kind: 'any' })).toEqual({ type: 'any', usecs: 0, endUsecs: -1, offsetUsecs: -1 });
    expect(initialTimes({ kind: 'absolute_range', usecs: 1, endUsecs: 2 })).toEqual({ type: 'absolute_range', usecs: 1, endUsecs: 2, offsetUsecs: -1 });
    expect(initialTimes({ kind: 'relative_range', usecs: 1, endUsecs: 2 })).toEqual({ type: 'relative_range', usecs: 1, endUsecs: 2, offsetUsecs: -1 });
  });
  it('tells absolute times from relative ones', () => {
    expect(isAbsolute(at(1))).toBe(true);
    expect(isAbsolute({ type: 'absolute_range', usecs: 1, endUsecs: 2, offsetUsecs: -1 })).toBe(true);
    expect(isAbsolute(rel(1, 0))).toBe(false);
    expect(isAbsolute({ type: 'any', usecs: 0, endUsecs: -1, offsetUsecs: -1 })).toBe(false);
    expect(isAbsolute({ type: 'relative_range', usecs: 1, endUsecs: 2, offsetUsecs: 0 })).toBe(false);
  });
});

describe('verifyTime: fixed tolerance', () => {
  it('accepts anything within the tolerance on either side, inclusive', () => {
    expect(verifyTime(DEFAULTS, at(100_000), 100_000, -1, 'outbound packet')).toBeNull();
    expect(verifyTime(DEFAULTS, at(100_000), 104_000, -1, 'outbound packet')).toBeNull();
    expect(verifyTime(DEFAULTS, at(100_000), 96_000, -1, 'outbound packet')).toBeNull();
  });

  it('reports a late event in packetdrill words', () => {
    expect(verifyTime(DEFAULTS, at(100_000), 120_000, -1, 'outbound packet')).toBe(
      'timing error: expected outbound packet at 0.100000 sec but happened at 0.120000 sec; tolerance 0.004000 sec',
    );
    expect(verifyTime(DEFAULTS, at(100_000), 104_001, -1, 'outbound packet')).toMatch(/happened at 0\.104001 sec/);
  });

  it('reports an early event the same way', () => {
    expect(verifyTime(DEFAULTS, at(100_000), 95_999, -1, 'system call start')).toBe(
      'timing error: expected system call start at 0.100000 sec but happened at 0.095999 sec; tolerance 0.004000 sec',
    );
  });

  it('uses the configured fixed tolerance', () => {
    const tol = { toleranceUsecs: 50_000, tolerancePercent: 0 };
    expect(verifyTime(tol, at(100_000), 140_000, -1, 'inbound packet')).toBeNull();
    expect(verifyTime(tol, at(100_000), 160_000, -1, 'inbound packet')).toBe(
      'timing error: expected inbound packet at 0.100000 sec but happened at 0.160000 sec; tolerance 0.050000 sec',
    );
  });

  it('never fails a wildcard time', () => {
    expect(verifyTime(DEFAULTS, { type: 'any', usecs: 0, endUsecs: -1, offsetUsecs: -1 }, 99e6, -1, 'outbound packet')).toBeNull();
  });
});

describe('verifyTime: percentage tolerance', () => {
  it('grows with the gap since the previous event (12.5% of 1 s = 125 ms)', () => {
    expect(verifyTime(DEFAULTS, at(1_000_000), 1_120_000, 0, 'outbound packet')).toBeNull();
    expect(verifyTime(DEFAULTS, at(1_000_000), 1_126_000, 0, 'outbound packet')).toBe(
      'timing error: expected outbound packet at 1.000000 sec but happened at 1.126000 sec; tolerance 0.125000 sec',
    );
  });

  it('is measured from the previous event, not from time 0', () => {
    // Gap of 0.2 s: 25 ms.
    expect(verifyTime(DEFAULTS, at(1_000_000), 1_030_000, 800_000, 'outbound packet')).toBe(
      'timing error: expected outbound packet at 1.000000 sec but happened at 1.030000 sec; tolerance 0.025000 sec',
    );
  });

  it('never goes below the fixed tolerance', () => {
    // Gap of 10 ms: 1.25 ms < 4 ms.
    expect(verifyTime(DEFAULTS, at(110_000), 113_900, 100_000, 'outbound packet')).toBeNull();
    expect(verifyTime(DEFAULTS, at(110_000), 114_100, 100_000, 'outbound packet')).toMatch(/tolerance 0\.004000 sec$/);
  });

  it('truncates the dynamic tolerance to whole microseconds', () => {
    // 12.5% of 33 333 µs = 4166.625 µs -> 4166 µs.
    expect(verifyTime(DEFAULTS, at(33_333), 37_500, 0, 'outbound packet')).toMatch(/tolerance 0\.004166 sec$/);
    expect(verifyTime(DEFAULTS, at(33_333), 37_499, 0, 'outbound packet')).toBeNull();
  });

  it('is not applied to the first event (no previous event)', () => {
    expect(verifyTime(DEFAULTS, at(1_000_000), 1_010_000, -1, 'outbound packet')).toMatch(/tolerance 0\.004000 sec$/);
  });

  it('uses a configured percentage', () => {
    const tol = { toleranceUsecs: 0, tolerancePercent: 50 };
    expect(verifyTime(tol, at(200_000), 290_000, 100_000, 'outbound packet')).toMatch(/tolerance 0\.050000 sec$/);
    expect(verifyTime(tol, at(200_000), 250_000, 100_000, 'outbound packet')).toBeNull();
  });
});

describe('verifyTime: ranges', () => {
  const absRange: EventTimes = { type: 'absolute_range', usecs: 100_000, endUsecs: 200_000, offsetUsecs: -1 };

  it('accepts the range widened by the tolerance at both ends', () => {
    expect(verifyTime(DEFAULTS, absRange, 150_000, -1, 'outbound packet')).toBeNull();
    expect(verifyTime(DEFAULTS, absRange, 96_000, -1, 'outbound packet')).toBeNull();
    expect(verifyTime(DEFAULTS, absRange, 204_000, -1, 'outbound packet')).toBeNull();
  });

  it('reports an absolute range without a tolerance', () => {
    expect(verifyTime(DEFAULTS, absRange, 250_000, -1, 'outbound packet')).toBe(
      'timing error: expected outbound packet in time range 0.100000~0.200000 sec but happened at 0.250000 sec',
    );
    expect(verifyTime(DEFAULTS, absRange, 50_000, -1, 'outbound packet')).toBe(
      'timing error: expected outbound packet in time range 0.100000~0.200000 sec but happened at 0.050000 sec',
    );
  });

  it('reports a relative range from its base, with signed offsets', () => {
    // Written `+0.1~+0.2` after an event at 1.0 s.
    const r: EventTimes = { type: 'relative_range', usecs: 1_100_000, endUsecs: 1_200_000, offsetUsecs: 1_000_000 };
    expect(verifyTime(DEFAULTS, r, 1_150_000, -1, 'outbound packet')).toBeNull();
    expect(verifyTime(DEFAULTS, r, 1_300_000, -1, 'outbound packet')).toBe(
      'timing error: expected outbound packet in relative time range +0.100000~+0.200000 sec but happened at +0.300000 sec',
    );
    expect(verifyTime(DEFAULTS, r, 950_000, -1, 'outbound packet')).toBe(
      'timing error: expected outbound packet in relative time range +0.100000~+0.200000 sec but happened at -0.050000 sec',
    );
  });

  it('widens a range by the percentage tolerance of the gap to its start', () => {
    // Previous event at 0, range starts at 1 s: 125 ms.
    const r: EventTimes = { type: 'absolute_range', usecs: 1_000_000, endUsecs: 1_100_000, offsetUsecs: -1 };
    expect(verifyTime(DEFAULTS, r, 1_220_000, 0, 'outbound packet')).toBeNull();
    expect(verifyTime(DEFAULTS, r, 880_000, 0, 'outbound packet')).toBeNull();
    expect(verifyTime(DEFAULTS, r, 1_230_000, 0, 'outbound packet')).not.toBeNull();
  });
});
