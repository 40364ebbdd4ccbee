import { describe, expect, it } from 'vitest';
import { expectedWeights, longestFirst } from '../../src/runner/run-order.js';

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
});
