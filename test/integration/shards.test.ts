/**
 * `--shard i/n` and `tundrill report merge` through the real CLI: four
 * shards of a folder run one after the other, merged, give the rows and
 * verdicts of one run of the whole folder, in the same order, in JSON,
 * TAP, JUnit and KTAP.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureBuilt, FIXTURES, tundrill } from '../helpers/cli.js';

const skip = inject('integrationSkip');
if (skip) console.warn(`skipping shard tests: ${skip}`);

interface Report {
  summary: { total: number; passing: number; failing: number };
  plan?: { shard?: { index: number; count: number }; planned?: number };
  runs: Array<{ script: string; variant: string; verdict: string; index?: number }>;
}
const read = (f: string) => JSON.parse(readFileSync(f, 'utf8')) as Report;
const rows = (r: Report) => r.runs.map((x) => `${x.script} (${x.variant}): ${x.verdict}`);
/** The result lines of a TAP or KTAP file, without the diagnostics (their timings differ between runs). */
const results = (f: string) => readFileSync(f, 'utf8').split('\n').filter((l) => /^(not )?ok /.test(l));

// Failing scripts (fail and error verdicts) that fail the same way whatever the load; IPv4 only: 8 rows.
const FOLDER = join(FIXTURES, 'fail');
const common = ['--ip_version=ipv4', '--no-capture', '--ss-interval', '0', '-q'];
let work = '';

describe.skipIf(skip !== null)('tundrill run --shard, report merge', () => {
  beforeAll(() => {
    ensureBuilt();
    work = mkdtempSync(join(tmpdir(), 'tundrill-shards-'));
  });
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('four shards merged give the rows and verdicts of one run', async () => {
    const one = await tundrill(['run', ...common, '--json', join(work, 'one.json'), '--tap', join(work, 'one.tap'), '--ktap', join(work, 'one.ktap'), FOLDER]);
    // The worst exit status of the rows: syntax-error.pkt's 2.
    expect(one.code, one.stderr).toBe(2);
    const whole = read(join(work, 'one.json'));
    expect(whole.runs.length).toBe(8);
    const parts: Report[] = [];
    for (let i = 1; i <= 4; i++) {
      const r = await tundrill(['run', ...common, '--shard', `${i}/4`, '--json', join(work, `s${i}.json`), FOLDER]);
      expect([1, 2], r.stderr).toContain(r.code);
      parts.push(read(join(work, `s${i}.json`)));
    }
    // Without reference durations for these scripts, the split is by count: 2 rows each, each row in one shard.
    expect(parts.map((p) => p.runs.length)).toEqual([2, 2, 2, 2]);
    expect(parts.map((p) => p.plan)).toEqual([1, 2, 3, 4].map((index) => ({ shard: { index, count: 4 }, planned: 8 })));
    expect(parts.flatMap((p) => p.runs.map((x) => x.index)).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);

    const m = await tundrill(['report', 'merge', '--json', join(work, 'm.json'), '--tap', join(work, 'm.tap'), '--junit', join(work, 'm.xml'),
      '--ktap', join(work, 'm.ktap'), ...[4, 2, 3, 1].map((i) => join(work, `s${i}.json`))]);
    expect(m.stdout).toMatch(/^Ran {4}8 tests: .* 4 reports merged$/m);
    expect(m.code).toBe(1);
    const merged = read(join(work, 'm.json'));
    expect(rows(merged)).toEqual(rows(whole));
    expect(merged.summary).toMatchObject({ total: whole.summary.total, passing: whole.summary.passing, failing: whole.summary.failing });
    expect(results(join(work, 'm.tap'))).toEqual(results(join(work, 'one.tap')));
    expect(results(join(work, 'm.ktap'))).toEqual(results(join(work, 'one.ktap')));
    expect(readFileSync(join(work, 'm.xml'), 'utf8').match(/<testcase /g)).toHaveLength(8);

    // A shard left out is reported, and the merge fails.
    const partial = await tundrill(['report', 'merge', join(work, 's1.json'), join(work, 's2.json')]);
    expect(partial.stderr).toContain('tundrill: report merge: shards 3, 4 of 4 missing: the merged report is incomplete');
    expect(partial.code).toBe(1);
  }, 600_000);

  it('refuses a bad --shard with a usage error', async () => {
    const r = await tundrill(['run', '--shard', '5/4', FOLDER]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('tundrill: --shard 5/4: i must be between 1 and n');
  });
});
