import { describe, expect, it } from 'vitest';
import { machineStallLine, stallsExplaining, type StallSource } from '../../src/engine/machine-stalls.js';
import type { EventTiming } from '../../src/engine/result.js';

const ORIGIN = 1_000_000_000n;
const live = (usecs: number): bigint => ORIGIN + BigInt(Math.round(usecs * 1000));

/** A monitor that noted the given stalls, [from, to] in µs of script time. */
function monitor(stalls: Array<[number, number]>, realtime = true): StallSource {
  return {
    stalls: (from, to) => ({
      stalls: stalls.map(([a, b]) => [live(a), live(b)] as [bigint, bigint]).filter(([a, b]) => b >= from && a <= to),
      wakeups: 1000,
      running: true,
      realtime,
    }),
  };
}

const late = (actualUsecs: number): EventTiming => ({ line: 9, kind: 'outbound', expectedUsecs: 400_000, actualUsecs, toleranceUsecs: 4_000 });

describe('stallsExplaining', () => {
  it('a stall as long as the lateness explains it', () => {
    const note = stallsExplaining(late(430_000), live, monitor([[398_000, 428_000]]));
    expect(note).not.toBeNull();
    expect(note!.lateMs).toBe(26);
    expect(note!.totalMs).toBe(30);
    expect(note!.stalls).toEqual([{ atUsecs: 398_000, ms: 30 }]);
    expect(machineStallLine(note!)).toMatch(/did not run for 30 ms at 0\.398 s \(a timer fired that late, not counting waits for a CPU\); that accounts for the 26 ms beyond the tolerance/);
  });

  it('a short stall does not explain a long lateness', () => {
    expect(stallsExplaining(late(430_000), live, monitor([[410_000, 412_000]]))).toBeNull();
  });

  it('stalls outside the window do not count', () => {
    expect(stallsExplaining(late(430_000), live, monitor([[100_000, 200_000], [500_000, 600_000]]))).toBeNull();
  });

  it('several stalls add up, each counted from up to a period before its missed wake-up', () => {
    const note = stallsExplaining(late(430_000), live, monitor([[400_000, 412_000], [415_000, 427_000]]));
    expect(note?.stalls.length).toBe(2);
    expect(note?.totalMs).toBe(24);
  });

  it('an event on time or early is never put down to the machine', () => {
    expect(stallsExplaining(late(402_000), live, monitor([[398_000, 428_000]]))).toBeNull();
    expect(stallsExplaining(late(300_000), live, monitor([[250_000, 428_000]]))).toBeNull();
  });

  it('a monitor without real-time priority explains nothing', () => {
    expect(stallsExplaining(late(430_000), live, monitor([[398_000, 428_000]], false))).toBeNull();
  });

  it('a range is late from its end', () => {
    const t: EventTiming = { ...late(430_000), expectedEndUsecs: 420_000 };
    expect(stallsExplaining(t, live, monitor([[419_000, 425_000]]))?.lateMs).toBe(6);
  });
});
