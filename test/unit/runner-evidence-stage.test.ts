/**
 * Staged evidence: a run writes to a local folder, and its files and the
 * result's paths end up in the folder the request named.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stageEvidence } from '../../src/runner/evidence-stage.js';
import type { WorkerRequest } from '../../src/runner/execute-request.js';
import type { RunResult } from '../../src/engine/result.js';

const root = mkdtempSync(join(tmpdir(), 'tundrill-stage-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const req = (dir: string): WorkerRequest => ({
  scriptPath: '/s/x.pkt', displayPath: 'x.pkt', options: [], variant: 'ipv4', verbose: false,
  evidence: { dir, stem: 'x_ipv4', format: 'pcapng', ssIntervalMs: 100 },
});

describe('stageEvidence', () => {
  it('writes under the stage and moves files and paths to the requested folder', () => {
    const dest = join(root, 'dest');
    const staged = stageEvidence(req(dest), join(root, 'stage'), 7);
    const stage = staged.req.evidence.dir;
    expect(stage).toBe(join(root, 'stage', '7'));
    writeFileSync(join(stage, 'x_ipv4.pcapng'), 'capture');
    writeFileSync(join(stage, 'x_ipv4.counters.json'), '{}');
    const result = { evidence: { capture: join(stage, 'x_ipv4.pcapng'), counters: join(stage, 'x_ipv4.counters.json') } } as unknown as RunResult;
    const out = staged.finish(result);
    expect(out.evidence.capture).toBe(join(dest, 'x_ipv4.pcapng'));
    expect(out.evidence.counters).toBe(join(dest, 'x_ipv4.counters.json'));
    expect(readFileSync(join(dest, 'x_ipv4.pcapng'), 'utf8')).toBe('capture');
    expect(existsSync(stage)).toBe(false);
  });

  it('changes nothing without a stage folder or without evidence', () => {
    const r = req(join(root, 'd2'));
    expect(stageEvidence(r, undefined, 1).req).toBe(r);
    const none = req('');
    expect(stageEvidence(none, join(root, 'stage'), 2).req).toBe(none);
  });
});
