/**
 * The engine's waits: the event loop's timer far from a deadline (other
 * callbacks run meanwhile), then arrive() on this thread alone.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { nowNs, useNativeBinding } from '../../src/native/addon.js';
import { approach, arrive, waitUntil } from '../../src/engine/clock-wait.js';
import { fakeNativeBinding } from '../fakes/native-binding.js';

describe('clock waits', () => {
  beforeAll(() => useNativeBinding(fakeNativeBinding()));

  it('approach() returns before the deadline, with at most a few milliseconds left, and lets the event loop run', async () => {
    for (const aheadMs of [4, 10, 25]) {
      const at = nowNs() + BigInt(aheadMs * 1e6);
      let ticked = false;
      setTimeout(() => { ticked = true; }, 1);
      await approach(at);
      const left = Number(at - nowNs()) / 1e6;
      expect(left).toBeGreaterThan(0);
      expect(left).toBeLessThanOrEqual(3.5);
      expect(ticked).toBe(true);
      const reached = arrive(at);
      expect(reached >= at).toBe(true);
      expect(Number(reached - at) / 1e6).toBeLessThan(1);
    }
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
});
