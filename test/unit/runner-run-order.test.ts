import { describe, expect, it } from 'vitest';
import { balancedOrder, expectedWeights, longestFirst, planOrder } from '../../src/runner/run-order.js';

describe('run start order', () => {
  it('starts the longest expected runs first, ties in plan order', () => {
    expect(longestFirst([0.2, 20.5, 3.1, 20.5, 0.1])).toEqual([1, 3, 2, 0, 4]);
  });

  it('gives a run with no known duration the median of the known ones', () => {
    // known: 1, 5, 9 -> median 5; the unknown run goes with the 5 s one, after it in plan order
    expect(expectedWeights([1, undefined, 9, 5]).weights).toEqual([1, 5, 9, 5]);
    expect(longestFirst([1, undefined, 9, 5])).toEqual([2, 1, 3, 0]);
  });

  it('keeps the plan order when nothing is known', () => {
    expect(longestFirst([undefined, undefined, undefined])).toEqual([0, 1, 2]);
    expect(longestFirst([])).toEqual([]);
  });

  it('ignores durations that are not numbers of seconds', () => {
    expect(expectedWeights([Number.NaN, 2, -1, 4]).weights).toEqual([3, 2, 3, 4]);
  });

  it('plan order hands out every run once', () => {
    const o = planOrder(3);
    expect([o.next(), o.next(), o.next(), o.next()]).toEqual([0, 1, 2, undefined]);
  });

  it('takes at most the long slots from the long end while those run, the rest from the short end', () => {
    // seconds by index: the long end is 1 (20), 4 (13), 2 (10), 6 (8); the short end 5 (0.05), 0 (0.1), 3 (0.2)
    const o = balancedOrder([0.1, 20, 10, 0.2, 13, 0.05, 8], 2);
    expect([o.next(), o.next()]).toEqual([1, 4]);
    // both long slots busy: short ones, shortest first
    expect([o.next(), o.next()]).toEqual([5, 0]);
    // a long run ends: its slot goes to the next long one
    o.finished(4);
    expect(o.next()).toBe(2);
    // a short run ending frees no long slot
    o.finished(5);
    expect(o.next()).toBe(3);
    o.finished(1);
    expect(o.next()).toBe(6);
    expect(o.next()).toBeUndefined();
  });

  it('with no known duration keeps the plan order', () => {
    const o = balancedOrder([undefined, undefined, undefined], 1);
    expect([o.next(), o.next(), o.next(), o.next()]).toEqual([0, 1, 2, undefined]);
  });
});
