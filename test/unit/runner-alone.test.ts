/**
 * Which runs go on alone, so that their engine spins the last millisecond
 * before each timed event instead of the last 250 µs (engine/clock-wait.ts).
 */
import { describe, expect, it } from 'vitest';
import { runsAlone } from '../../src/runner/execute-runs.js';

describe('runsAlone', () => {
  it('is a single run, or runs one at a time, on a machine with a CPU to spare', () => {
    expect(runsAlone({ jobs: 14, runs: 1, cpus: 2 })).toBe(true);
    expect(runsAlone({ jobs: 1, runs: 40, cpus: 2 })).toBe(true);
  });

  it('is not runs side by side', () => {
    expect(runsAlone({ jobs: 14, runs: 40, cpus: 2 })).toBe(false);
    expect(runsAlone({ jobs: 2, runs: 2, cpus: 8 })).toBe(false);
  });

  it('is not a run held to one CPU, a run in a microVM, or a run on a one-CPU machine', () => {
    expect(runsAlone({ jobs: 1, runs: 1, cpus: 2, oneCpu: true })).toBe(false);
    expect(runsAlone({ jobs: 1, runs: 1, cpus: 2, onTarget: true })).toBe(false);
    expect(runsAlone({ jobs: 1, runs: 1, cpus: 1 })).toBe(false);
  });
});
