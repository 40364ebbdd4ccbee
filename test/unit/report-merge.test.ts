import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/engine/result.js';
import { ktapText } from '../../src/report/ktap.js';
import { mergeReports, MergeError, readShardReport } from '../../src/report/merge.js';
import { summarize, writeJson, writeJunit, writeTap, type ReportedRun } from '../../src/report/reports.js';
import { summarizeRepeats } from '../../src/runner/repeat.js';

const tmp = mkdtempSync(join(tmpdir(), 'tundrill-merge-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function row(path: string, verdict: RunResult['verdict'], index: number): ReportedRun {
  const result: RunResult = {
    script: path, variant: 'ipv4', verdict, exitCode: verdict === 'pass' ? 0 : 1, durationMs: 12.5, warnings: [], evidence: {},
    packets: { injected: 3, sniffed: 2 }, injectionErrorsUsecs: [1.5],
    timing: [{ line: 4, kind: 'outbound', expectedUsecs: 100, actualUsecs: 180, toleranceUsecs: 4000 }],
  };
  if (verdict !== 'pass') result.firstError = { line: 9, headline: `${path}:9: error handling packet: bad`, text: `${path}:9: error handling packet: bad\nscript packet: ...`, kind: 'packet' };
  return { path, variant: 'ipv4', result, output: verdict === 'pass' ? '' : 'worker said so', index };
}

function shardFile(name: string, rows: ReportedRun[], shard: { index: number; count: number }, planned: number): string {
  const f = join(tmp, name);
  writeJson(f, rows, summarize(rows, 10), { shard, planned });
  return f;
}

describe('tundrill report merge', () => {
  const all = [row('a.pkt', 'pass', 0), row('b.pkt', 'fail', 1), row('c.pkt', 'pass', 2), row('d.pkt', 'timeout', 3)];
  // c.pkt passed on its second attempt: the first was spoiled by a machine stall.
  all[2]!.result.stallAttempts = [{ headline: 'c.pkt:7: timing error', machineStall: { stalls: [{ atUsecs: 400_000, ms: 30 }], totalMs: 30, lateMs: 26 } }];

  it('puts the rows of the shards back in plan order, with everything the reports need', () => {
    const s1 = shardFile('s1.json', [all[1]!, all[2]!], { index: 1, count: 2 }, 4);
    const s2 = shardFile('s2.json', [all[0]!, all[3]!], { index: 2, count: 2 }, 4);
    const m = mergeReports([readShardReport(s2), readShardReport(s1)]);
    expect(m.warnings).toEqual([]);
    expect(m.runs.map((r) => r.path)).toEqual(['a.pkt', 'b.pkt', 'c.pkt', 'd.pkt']);
    expect(m.summary).toMatchObject({ total: 4, passing: 2, failing: 1, timedOut: 1, seconds: 20 });
    expect(m.runs[1]!.result).toEqual(all[1]!.result);
    expect(m.runs[2]!.result).toEqual(all[2]!.result);
    expect(m.runs[1]!.output).toBe('worker said so');
    // The merged TAP and JUnit are the ones a single run of the plan would write.
    writeTap(join(tmp, 'merged.tap'), m.runs);
    writeTap(join(tmp, 'one.tap'), all);
    expect(readFileSync(join(tmp, 'merged.tap'), 'utf8')).toBe(readFileSync(join(tmp, 'one.tap'), 'utf8'));
    writeJunit(join(tmp, 'merged.xml'), m.runs, m.summary);
    writeJunit(join(tmp, 'one.xml'), all, summarize(all, 20));
    expect(readFileSync(join(tmp, 'merged.xml'), 'utf8')).toBe(readFileSync(join(tmp, 'one.xml'), 'utf8'));
  });

  it('says when a shard is missing or given twice, or the reports come from different plans', () => {
    const s1 = shardFile('t1.json', [all[0]!], { index: 1, count: 3 }, 4);
    const s3 = shardFile('t3.json', [all[3]!], { index: 3, count: 3 }, 4);
    expect(mergeReports([readShardReport(s1), readShardReport(s3)]).warnings).toEqual(['shard 2 of 3 missing: the merged report is incomplete']);
    expect(() => mergeReports([readShardReport(s1), readShardReport(s1)])).toThrow(/shard 1 given twice/);
    const other = shardFile('u2.json', [all[1]!], { index: 2, count: 3 }, 7);
    expect(() => mergeReports([readShardReport(s1), readShardReport(other)])).toThrow(MergeError);
    expect(() => readShardReport(join(tmp, 'nothing.json'))).toThrow(/cannot read a JSON report/);
  });

  it('keeps repeated rows flaky through JSON, and marks them in TAP, JUnit and KTAP', () => {
    const flaky = row('f.pkt', 'fail', 0);
    flaky.repeat = summarizeRepeats([all[0]!.result, all[1]!.result, all[0]!.result]);
    const f = shardFile('r1.json', [flaky], { index: 1, count: 1 }, 1);
    const m = mergeReports([readShardReport(f)]);
    expect(m.runs[0]!.repeat).toMatchObject({ runs: 3, passed: 2, flaky: true });
    expect(m.summary.flaky).toBe(1);
    writeTap(join(tmp, 'f.tap'), m.runs);
    expect(readFileSync(join(tmp, 'f.tap'), 'utf8')).toContain('not ok 1 f.pkt (ipv4) [passed 2/3, flaky]');
    writeJunit(join(tmp, 'f.xml'), m.runs, m.summary);
    expect(readFileSync(join(tmp, 'f.xml'), 'utf8')).toContain('<property name="flaky" value="true"/>');
    expect(ktapText(m.runs)).toContain('# f.pkt (ipv4): passed 2/3, flaky\nnot ok 1 f.pkt (ipv4)');
  });

  it('writes KTAP as the kernel selftests read it', () => {
    expect(ktapText(all)).toBe([
      'KTAP version 1',
      '1..4',
      'ok 1 a.pkt (ipv4)',
      '# b.pkt:9: error handling packet: bad',
      '# script packet: ...',
      '# worker said so',
      'not ok 2 b.pkt (ipv4)',
      'ok 3 c.pkt (ipv4)',
      '# d.pkt:9: error handling packet: bad',
      '# script packet: ...',
      '# worker said so',
      'not ok 4 d.pkt (ipv4) # TIMEOUT',
      '# Totals: pass:2 fail:2 xfail:0 xpass:0 skip:0 error:0',
      '',
    ].join('\n'));
  });
});
