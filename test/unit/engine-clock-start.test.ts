/**
 * The clock start on a simulated kernel: times() follows jiffies as the
 * kernel converts them (jiffies * USER_HZ / HZ, USER_HZ 100), jiffies
 * follow a tick grid of the monotonic clock, and every reading of the
 * clock costs a microsecond, so a spin's length shows as clock time.
 */
import { describe, expect, it } from 'vitest';
import { clockStart, START_AFTER_TICK_NS, type TickClock } from '../../src/engine/clock-start.js';

interface SimKernel extends TickClock {
  /** Monotonic time of every change of times() up to `untilNs`. */
  changes(untilNs: bigint): bigint[];
  /** ns spent spinning (clock readings) since the last reset. */
  spunNs: bigint;
  now: bigint;
  /** Extra lateness of the next sleeps' wake-ups. */
  wakeLateNs: bigint;
  /** Move the tick grid (a kernel whose jiffies jumped). */
  gridOffsetNs: bigint;
  idle(ns: bigint): void;
}

function simKernel(hz: number, gridOffsetNs = 1_234_567n): SimKernel {
  const tick = BigInt(Math.round(1e9 / hz));
  const ticksAt = (t: bigint, off: bigint) => ((t - off) / tick) * 100n / BigInt(hz);
  const k: SimKernel = {
    now: 5_000_000_000n,
    spunNs: 0n,
    wakeLateNs: 0n,
    gridOffsetNs,
    ticks() {
      k.now += 1000n;
      k.spunNs += 1000n;
      return ticksAt(k.now, k.gridOffsetNs);
    },
    nowNs() {
      k.now += 1000n;
      k.spunNs += 1000n;
      return k.now;
    },
    sleepUntil(untilNs) {
      if (untilNs > k.now) k.now = untilNs;
      k.now += 20_000n + k.wakeLateNs;
    },
    changes(untilNs) {
      const out: bigint[] = [];
      let prev = ticksAt(k.now, k.gridOffsetNs);
      for (let t = k.now; t <= untilNs; t += 1000n) {
        const v = ticksAt(t, k.gridOffsetNs);
        if (v !== prev) out.push(t);
        prev = v;
      }
      return out;
    },
    idle(ns) {
      k.now += ns;
    },
  };
  return k;
}

/** The true change that `start` returned just after (within `slackNs`). */
function nearestChange(k: SimKernel, fromNs: bigint, startNs: bigint): bigint {
  const saved = k.now;
  k.now = fromNs;
  const all = k.changes(startNs);
  k.now = saved;
  return all[all.length - 1]!;
}

describe('clock start at a kernel tick', () => {
  for (const hz of [100, 250, 300, 1000]) {
    it(`HZ ${hz}: starts 250 µs after a change of times(), and after the first start spins less than a millisecond`, () => {
      const k = simKernel(hz);
      const cs = clockStart(k);
      const ways: string[] = [];
      for (let run = 0; run < 12; run++) {
        k.idle(BigInt(37_000_000 + run * 3_100_000));
        const from = k.now;
        k.spunNs = 0n;
        const at = cs.start();
        ways.push(cs.lastWay!);
        const change = nearestChange(k, from, at);
        // The change was seen within a couple of clock readings.
        expect(at - START_AFTER_TICK_NS - change).toBeGreaterThanOrEqual(0n);
        expect(at - START_AFTER_TICK_NS - change).toBeLessThanOrEqual(3000n);
        if (run > 0) expect(k.spunNs).toBeLessThan(1_000_000n);
      }
      expect(ways[0]).toBe('spin');
      expect(ways.slice(1).every((w) => w === 'phase')).toBe(true);
    });
  }

  it('a sleep that ends too late falls back to the full spin, still at a change', () => {
    const k = simKernel(250);
    const cs = clockStart(k);
    cs.start();
    k.idle(41_000_000n);
    k.wakeLateNs = 900_000n;
    const from = k.now;
    const at = cs.start();
    expect(cs.lastWay).toBe('spin');
    const change = nearestChange(k, from, at);
    expect(at - START_AFTER_TICK_NS - change).toBeLessThanOrEqual(3000n);
    k.wakeLateNs = 0n;
    k.idle(13_000_000n);
    cs.start();
    expect(cs.lastWay).toBe('phase');
  });

  it('a tick grid that moved is learned again', () => {
    const k = simKernel(250);
    const cs = clockStart(k);
    cs.start();
    k.idle(30_000_000n);
    k.gridOffsetNs += 2_345_000n;
    const from = k.now;
    const at = cs.start();
    const change = nearestChange(k, from, at);
    expect(at - START_AFTER_TICK_NS - change).toBeLessThanOrEqual(3000n);
    k.idle(17_000_000n);
    k.spunNs = 0n;
    cs.start();
    expect(cs.lastWay).toBe('phase');
    expect(k.spunNs).toBeLessThan(1_000_000n);
  });
});
