/**
 * The scenario summary's evidence list says which files a run did not
 * write (a run that timed out, or whose worker could not start), instead
 * of pointing at files that are not there.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatSummary } from '../../src/scenario/summary.js';

const dir = mkdtempSync(join(tmpdir(), 'tundrill-summary-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('formatSummary evidence', () => {
  it('marks the files that were not written and leaves the others as they are', () => {
    const at = (n: string) => join(dir, n);
    writeFileSync(at('s.run.json'), '{}');
    writeFileSync(at('s.verdict.json'), '{}');
    const text = formatSummary({
      name: 's', description: 'd', variant: 'ipv4', long: false, evidence: null, seconds: 1, quiet: false,
      verdict: {
        pass: false, summary: 'the run did not finish: timed out after 60 s',
        evidence: { dir, capture: at('s.pcapng'), timeline: at('s.sockets.jsonl'), counters: at('s.counters.json'), marks: at('s.run.json'), verdict: at('s.verdict.json'), script: at('s.pkt') },
      },
    });
    expect(text).toContain(`capture      ${at('s.pcapng')}   (not written)`);
    expect(text).toContain(`sockets      ${at('s.sockets.jsonl')}   (not written)`);
    expect(text).toContain(`counters     ${at('s.counters.json')}   (not written)`);
    expect(text).toContain(`run marks    ${at('s.run.json')}\n`);
    expect(text).not.toContain('tshark -r');
  });
});
