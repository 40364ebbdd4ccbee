/**
 * The bench times runs with the evidence a user gets by default: the same
 * capture format, sampler and full-listing interval as `tundrill run`.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planIpv4, requestFor } from '../../src/bench/runs.js';
import { defaultRunnerOptions } from '../../src/runner/options.js';
import { runsAlone } from '../../src/runner/execute-runs.js';
import { ROOT } from '../helpers/cli.js';

describe('bench worker request', () => {
  it('carries the default evidence of tundrill run', () => {
    const run = planIpv4(join(ROOT, 'bench', 'inbound-absolute-bursts.pkt'), 'bursts');
    const req = requestFor(run, '/var/tmp/bench-captures');
    const d = defaultRunnerOptions('/var/tmp/bench-captures');
    expect(req.evidence).toMatchObject({
      format: d.captureFormat,
      ssIntervalMs: d.ssIntervalMs,
      sampler: d.sampler,
      stem: 'bursts_ipv4',
    });
    expect(req.evidence?.ssIntervalMs).toBe(10);
  });

  it('runs as a single tundrill run does: alone, so its engine spins as a lone run\'s', () => {
    const run = planIpv4(join(ROOT, 'bench', 'inbound-absolute-bursts.pkt'), 'bursts');
    expect(requestFor(run, '/var/tmp/bench-captures').alone).toBe(runsAlone({ jobs: 1, runs: 1 }));
  });
});
