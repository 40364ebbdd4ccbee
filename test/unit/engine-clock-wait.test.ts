/**
 * The engine's waits: the event loop's timer far from a deadline (other
 * callbacks run meanwhile), then arrive() on this thread alone. What is
 * checked here holds on a loaded machine too; how close to the deadline
 * the waits land is measured by `npm run bench`, not asserted.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { nativeBinding, nowNs, useNativeBinding } from '../../src/native/addon.js';
import { approach, arrive, setRewarm, setSpinAhead, useCoarseSleep, waitUntil } from '../../src/engine/clock-wait.js';
import { fakeNativeBinding } from '../fakes/native-binding.js';

describe('clock waits', () => {
  beforeAll(() => useNativeBinding(fakeNativeBinding()));
  afterEach(() => useCoarseSleep(null));

  it('approach() sleeps asynchronously until two milliseconds before a far deadline', async () => {
    const asked: bigint[] = [];
    useCoarseSleep(async (until) => { asked.push(until); });
    const at = nowNs() + 25_000_000n;
    await approach(at);
    expect(asked).toEqual([at - 2_000_000n]);
  });

  it('approach() does not sleep when the deadline is within three milliseconds', async () => {
    const asked: bigint[] = [];
    useCoarseSleep(async (until) => { asked.push(until); });
    await approach(nowNs() + 2_900_000n);
    await approach(nowNs() - 1_000_000n);
    expect(asked).toEqual([]);
  });

  it('with the event loop\'s timer, approach() lets other callbacks run and arrive() reaches the deadline', async () => {
    for (const aheadMs of [4, 10, 25]) {
      const at = nowNs() + BigInt(aheadMs * 1e6);
      let ticked = false;
      setTimeout(() => { ticked = true; }, 1);
      await approach(at);
      expect(ticked).toBe(true);
      expect(arrive(at) >= at).toBe(true);
    }
  });

  it('arrive() reaches a deadline further off than the spin allows (a sleep first)', () => {
    const at = nowNs() + 15_000_000n;
    expect(arrive(at) >= at).toBe(true);
  });

  it('arrive() sleeps in the addon, never in Atomics.wait (V8 wakes that wait holding a process-wide mutex)', () => {
    const fake = fakeNativeBinding();
    const slept: bigint[] = [];
    useNativeBinding({ ...fake, sleepUntil(d) { slept.push(d); let t = fake.nowNs(); while (t < d) t = fake.nowNs(); return t; } });
    const wait = vi.spyOn(Atomics, 'wait');
    try {
      const at = nowNs() + 3_000_000n;
      expect(arrive(at) >= at).toBe(true);
      expect(slept).toEqual([at - 250_000n]);
      expect(wait).not.toHaveBeenCalled();
    } finally {
      wait.mockRestore();
      useNativeBinding(fakeNativeBinding());
    }
  });

  it('arrive() spins the last millisecond for a run that goes on alone, the last 250 µs otherwise', () => {
    const fake = fakeNativeBinding();
    const slept: bigint[] = [];
    const spun: { deadline: bigint; from: bigint }[] = [];
    useNativeBinding({
      ...fake,
      sleepUntil(d) { slept.push(d); let t = fake.nowNs(); while (t < d) t = fake.nowNs(); return t; },
      spinUntil(d) { spun.push({ deadline: d, from: fake.nowNs() }); return fake.spinUntil(d); },
    });
    try {
      setSpinAhead(true);
      const at = nowNs() + 3_000_000n;
      expect(arrive(at) >= at).toBe(true);
      setSpinAhead(false);
      const at2 = nowNs() + 3_000_000n;
      expect(arrive(at2) >= at2).toBe(true);
      expect(slept).toEqual([at - 1_000_000n, at2 - 250_000n]);
      // A spin (none when the sleep woke past the deadline) began after the sleep.
      for (const { deadline, from } of spun) expect(deadline - from <= (deadline === at ? 1_000_000n : 250_000n)).toBe(true);
    } finally {
      setSpinAhead(false);
      useNativeBinding(fakeNativeBinding());
    }
  });

  it('arrive() returns at once, with the time, for a deadline already past', () => {
    const at = nowNs() - 5_000_000n;
    expect(arrive(at) >= at + 5_000_000n).toBe(true);
  });

  it('a deadline nearer than the asynchronous part is waited for on this thread alone', async () => {
    const at = nowNs() + 2_500_000n;
    let ticked = false;
    setTimeout(() => { ticked = true; }, 0);
    const reached = await waitUntil(at);
    expect(reached >= at).toBe(true);
    // No timer turn between the start and the deadline: the wait never yielded to the event loop.
    expect(ticked).toBe(false);
  });

  it('wakes the socket-state sampler only where the wait has time to spare', async () => {
    const binding = nativeBinding();
    const woken: string[] = [];
    let phase = '';
    const original = binding.sockDiagWake;
    binding.sockDiagWake = () => { woken.push(phase); };
    try {
      useCoarseSleep(async () => {});
      phase = 'approach far';
      await approach(nowNs() + 25_000_000n);
      phase = 'approach near';
      await approach(nowNs() + 2_500_000n);
      phase = 'arrive far';
      arrive(nowNs() + 5_000_000n);
      phase = 'arrive within the spin';
      arrive(nowNs() + 20_000n);
      phase = 'arrive past';
      arrive(nowNs() - 1_000n);
    } finally {
      binding.sockDiagWake = original;
    }
    expect(woken).toEqual(['approach far', 'arrive far']);
  });
});

describe('the rewarm after a long wait', () => {
  beforeAll(() => useNativeBinding(fakeNativeBinding()));
  afterEach(() => { useCoarseSleep(null); setRewarm(null); });

  it('runs when the asynchronous sleep ends with time to spare, and not after a short wait', async () => {
    let runs = 0;
    setRewarm(() => { runs++; });
    useCoarseSleep(async () => {});
    await approach(nowNs() + 25_000_000n);
    expect(runs).toBe(1);
    await approach(nowNs() + 2_500_000n); // no asynchronous sleep
    expect(runs).toBe(1);
  });

  it('leaves a long wait 5 ms earlier, to make room for the rewarm after it', async () => {
    const targets: bigint[] = [];
    useCoarseSleep(async (until) => { targets.push(until); });
    const long = nowNs() + 900_000_000n;
    await approach(long);
    const short = nowNs() + 25_000_000n;
    await approach(short);
    expect(targets).toEqual([long - 7_000_000n, short - 2_000_000n]);
  });

  it('is told to stop half a millisecond before the deadline', async () => {
    const until: bigint[] = [];
    setRewarm((u) => { until.push(u); });
    useCoarseSleep(async () => {});
    const at = nowNs() + 25_000_000n;
    await approach(at);
    expect(until).toEqual([at - 500_000n]);
  });

  it('does not run when the sleep woke too near the deadline', async () => {
    let runs = 0;
    setRewarm(() => { runs++; });
    const at = nowNs() + 25_000_000n;
    useCoarseSleep(async () => {
      // The timer wakes late: 0.5 ms before the deadline.
      const until = at - 500_000n;
      while (nowNs() < until) await new Promise((r) => setTimeout(r, 1));
    });
    await approach(at);
    expect(runs).toBe(0);
  });
});
