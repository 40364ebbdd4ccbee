/**
 * Reports of a set of runs: run_all.py's terminal lines and summary, TAP in
 * run_all.py's form, JUnit XML (parsed back with a real XML parser) and
 * JSON.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult, Verdict } from '../../src/engine/result.js';
import { runLine, summarize, summaryLine, writeJson, writeJunit, writeTap, type ReportedRun } from '../../src/report/reports.js';

function run(path: string, variant: string, verdict: Verdict, extra: Partial<RunResult> = {}, output = ''): ReportedRun {
  const result: RunResult = {
    script: path, variant: 'ipv4', verdict, exitCode: verdict === 'pass' ? 0 : 1, durationMs: 412.3456,
    warnings: [], evidence: {}, packets: { injected: 3, sniffed: 4 }, injectionErrorsUsecs: [], ...extra,
  };
  return { path, variant, result, output };
}

const failure = {
  line: 13,
  headline: 'wrong-ack.pkt:13: error handling packet: live packet field tcp_ack_seq: expected: 100 (0x64) vs actual: 101 (0x65)',
  text: [
    'wrong-ack.pkt:13: error handling packet: live packet field tcp_ack_seq: expected: 100 (0x64) vs actual: 101 (0x65)',
    'script packet:  0.011012 . 1:1(0) ack 100 ',
    'actual packet:  0.011048 . 1:1(0) ack 101 win 63 ',
  ].join('\n'),
  kind: 'packet',
};

const RUNS: ReportedRun[] = [
  run('tcp/close/a.pkt', 'ipv4', 'pass', { evidence: { capture: '/c/a_ipv4.pcapng' } }),
  run('tcp/close/wrong-ack.pkt', 'ipv4-mapped-v6', 'fail', { firstError: failure }, 'worker said <this> & "that"\n\n'),
  run('slow.pkt', 'ipv6', 'timeout', { firstError: { line: 0, headline: 'slow.pkt: timed out', text: 'slow.pkt: timed out', kind: 'timeout' } }),
  run('broken.pkt', 'ipv4', 'error', { exitCode: 2, firstError: { line: 3, headline: "broken.pkt:3: parse error at '=': syntax error", text: "broken.pkt:3: parse error at '=': syntax error\nbroken.pkt:3:21: syntax error: unexpected '=', expected ')'", kind: 'syntax' } }),
  run('env.pkt', 'ipv4', 'environment', { exitCode: 4 }, 'no \x01control\x1f chars\tkept'),
];

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tundrill-reports-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('summary', () => {
  it('counts passing, failing (errors included) and timed-out runs', () => {
    expect(summarize(RUNS, 12.5)).toEqual({ total: 5, passing: 1, failing: 3, timedOut: 1, errors: 2, seconds: 12.5 });
  });

  it("prints run_all.py's closing line", () => {
    expect(summaryLine(summarize(RUNS, 12.345), 'tcp/close')).toBe(
      'Ran    5 tests:    1 passing,    3 failing,    1 timed out (12.35 sec): tcp/close',
    );
  });

  it('prints one line per run', () => {
    expect(RUNS.map(runLine)).toEqual([
      'OK   [tcp/close/a.pkt (ipv4)] 0.41s',
      'FAIL [tcp/close/wrong-ack.pkt (ipv4-mapped-v6)] 0.41s',
      'TIME [slow.pkt (ipv6)] 0.41s',
      'FAIL [broken.pkt (ipv4)] 0.41s',
      'FAIL [env.pkt (ipv4)] 0.41s',
    ]);
  });
});

describe('TAP', () => {
  it("writes run_all.py's form: a plan, ok / not ok lines, and # comments for failures", () => {
    const file = join(dir, 'r.tap');
    writeTap(file, RUNS);
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines.slice(0, 3)).toEqual(['TAP version 13', '1..5', 'ok 1 tcp/close/a.pkt (ipv4)']);
    expect(lines[3]).toBe('not ok 2 tcp/close/wrong-ack.pkt (ipv4-mapped-v6)');
    expect(lines.slice(4, 8)).toEqual([
      `# ${failure.headline}`,
      '# script packet:  0.011012 . 1:1(0) ack 100',
      '# actual packet:  0.011048 . 1:1(0) ack 101 win 63',
      '# worker said <this> & "that"',
    ]);
    expect(lines).toContain('not ok 3 slow.pkt (ipv6) # timeout');
    expect(lines).toContain('# slow.pkt: timed out');
    expect(lines).toContain('not ok 4 broken.pkt (ipv4)');
    expect(lines).toContain("# broken.pkt:3:21: syntax error: unexpected '=', expected ')'");
    expect(lines).toContain('not ok 5 env.pkt (ipv4)');
    expect(lines.at(-1)).toBe('');
  });

  it('has a test line for every run, numbered in order, and only comments otherwise', () => {
    const file = join(dir, 'r2.tap');
    writeTap(file, RUNS);
    const body = readFileSync(file, 'utf8').trimEnd().split('\n').slice(2);
    const tests = body.filter((l) => /^(not )?ok \d+ /.test(l));
    expect(tests.map((l) => Number(/ok (\d+)/.exec(l)![1]))).toEqual([1, 2, 3, 4, 5]);
    for (const l of body) expect(l === tests.find((t) => t === l) || l.startsWith('# ')).toBeTruthy();
  });

  it('writes an empty plan for no runs', () => {
    const file = join(dir, 'empty.tap');
    writeTap(file, []);
    expect(readFileSync(file, 'utf8')).toBe('TAP version 13\n1..0\n');
  });
});

/** Parse JUnit XML with Python's XML parser and return its structure. */
function parseXml(file: string): { error?: string; tree?: any } {
  const py = [
    'import json, sys, xml.etree.ElementTree as ET',
    'def conv(e):',
    '    return {"tag": e.tag, "attrib": dict(e.attrib), "text": e.text or "", "children": [conv(c) for c in e]}',
    'try:',
    '    print(json.dumps(conv(ET.parse(sys.argv[1]).getroot())))',
    'except ET.ParseError as err:',
    '    print(json.dumps({"error": str(err)}))',
  ].join('\n');
  const r = spawnSync('python3', ['-c', py, file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python3 failed: ${r.stderr}`);
  const out = JSON.parse(r.stdout) as { error?: string };
  return out.error ? out : { tree: out };
}

const hasPython = spawnSync('python3', ['--version']).status === 0;

describe('JUnit XML', () => {
  it('starts with an XML declaration and escapes what XML needs', () => {
    const file = join(dir, 'j.xml');
    writeJunit(file, RUNS, summarize(RUNS, 3));
    const text = readFileSync(file, 'utf8');
    expect(text.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites ')).toBe(true);
    expect(text).toContain('worker said &lt;this&gt; &amp; &quot;that&quot;');
    expect(text).not.toMatch(/[\x01\x1f]/);
  });

  it.skipIf(!hasPython)('is well-formed and holds one testcase per run with failures, errors and times', () => {
    const file = join(dir, 'j2.xml');
    writeJunit(file, RUNS, summarize(RUNS, 3));
    const { error, tree } = parseXml(file);
    expect(error).toBeUndefined();
    expect(tree.tag).toBe('testsuites');
    expect(tree.attrib).toEqual({ tests: '5', failures: '1', errors: '2', time: '3.000' });
    const suite = tree.children[0];
    expect(suite.tag).toBe('testsuite');
    expect(suite.attrib).toMatchObject({ name: 'tundrill', tests: '5', failures: '1', errors: '2', skipped: '0' });
    const cases = suite.children as any[];
    expect(cases.map((c) => c.attrib.name)).toEqual([
      'tcp/close/a.pkt (ipv4)', 'tcp/close/wrong-ack.pkt (ipv4-mapped-v6)', 'slow.pkt (ipv6)', 'broken.pkt (ipv4)', 'env.pkt (ipv4)',
    ]);
    expect(cases.every((c) => c.tag === 'testcase' && c.attrib.classname === 'tundrill' && c.attrib.time === '0.412')).toBe(true);
    expect(cases[0].children).toEqual([]);
    const f = cases[1].children[0];
    expect(f.tag).toBe('failure');
    expect(f.attrib).toEqual({ message: failure.headline, type: 'fail' });
    expect(f.text).toBe(`${failure.text}\nworker said <this> & "that"\n\n`);
    expect(cases[2].children[0]).toMatchObject({ tag: 'failure', attrib: { type: 'timeout', message: 'slow.pkt: timed out' } });
    expect(cases[3].children[0]).toMatchObject({ tag: 'error', attrib: { type: 'error' } });
    expect(cases[4].children[0]).toMatchObject({ tag: 'error', attrib: { type: 'environment', message: 'environment' } });
    expect(cases[4].children[0].text).toBe('no control chars\tkept');
  });

  it.skipIf(!hasPython)('stays well-formed for an empty set of runs', () => {
    const file = join(dir, 'j3.xml');
    writeJunit(file, [], summarize([], 0));
    const { error, tree } = parseXml(file);
    expect(error).toBeUndefined();
    expect(tree.children[0].children).toEqual([]);
  });
});

describe('JSON', () => {
  it('holds the summary and, per run, the verdict, first error, evidence, packet counts, warnings and timing data', () => {
    const file = join(dir, 'r.json');
    const runs = [RUNS[0]!, RUNS[1]!];
    runs[0]!.result.warnings = ['a.pkt: error executing cleanup command: non-zero status 1'];
    runs[1]!.result.injectionErrorsUsecs = [12.5, -3];
    runs[1]!.result.overhead = { startMs: 40, tunMs: 1, netMs: 5, addonMs: 20 };
    runs[1]!.result.timing = [{ line: 12, kind: 'outbound', expectedUsecs: 10_000, actualUsecs: 10_250.5, toleranceUsecs: 4000 }];
    writeJson(file, runs, summarize(runs, 1.5));
    const body = JSON.parse(readFileSync(file, 'utf8'));
    expect(body.summary).toEqual({ total: 2, passing: 1, failing: 1, timedOut: 0, errors: 0, seconds: 1.5 });
    expect(body.runs).toEqual([
      {
        script: 'tcp/close/a.pkt', variant: 'ipv4', verdict: 'pass', exitCode: 0, durationMs: 412.346, firstError: null,
        evidence: { capture: '/c/a_ipv4.pcapng' }, packets: { injected: 3, sniffed: 4 },
        warnings: ['a.pkt: error executing cleanup command: non-zero status 1'],
        injectionErrorsUsecs: [], overhead: null, timing: [], device: null, output: '',
      },
      {
        script: 'tcp/close/wrong-ack.pkt', variant: 'ipv4-mapped-v6', verdict: 'fail', exitCode: 1, durationMs: 412.346,
        firstError: failure, evidence: {}, packets: { injected: 3, sniffed: 4 }, warnings: [],
        injectionErrorsUsecs: [12.5, -3], overhead: { startMs: 40, tunMs: 1, netMs: 5, addonMs: 20 },
        timing: [{ line: 12, kind: 'outbound', expectedUsecs: 10_000, actualUsecs: 10_250.5, toleranceUsecs: 4000 }], device: null,
        output: 'worker said <this> & "that"\n\n',
      },
    ]);
  });
});
