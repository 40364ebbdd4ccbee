import { describe, expect, it } from 'vitest';
import { phaseTimes } from '../../src/bench/trace-lines.js';

describe('bench trace lines', () => {
  it("reads the run's phases, with and without the worker's CPU", () => {
    const out = [
      "[trace -176542us] phase start (179.2 ms since process start, 189.6 ms of this process's CPU)",
      '[trace -174825us] phase parsed (180.9 ms since process start)',
      'not a trace line',
      "[trace 56028us] phase system closed (411.7 ms since process start, 262.7 ms of this process's CPU)",
    ].join('\n');
    expect([...phaseTimes(out)]).toEqual([['start', 179.2], ['parsed', 180.9], ['system closed', 411.7]]);
  });
});
