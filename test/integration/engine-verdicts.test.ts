/**
 * The real CLI (`node bin/tundrill.js run`) on small scripts of our own,
 * each run in a fresh network namespace: scripts that pass, and scripts
 * that must fail at a known line with packetdrill's message and packet
 * dumps. The failing line of each fixture carries a `// fails` comment.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureBuilt, FIXTURES, tundrill, type CliResult } from '../helpers/cli.js';

const skip = inject('integrationSkip');
if (skip) console.warn(`skipping CLI verdict tests: ${skip}`);





/** The 1-based line of a fixture that carries the `// fails` marker. */
function failingLine(file: string): number {
  const lines = readFileSync(file, 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes('// fails'));
  if (i < 0) throw new Error(`${file} has no "// fails" marker`);
  return i + 1;
}

interface JsonReport {
  summary: { total: number; passing: number; failing: number };
  runs: Array<{ script: string; variant: string; verdict: string; exitCode: number; durationMs: number; firstError: { line: number; headline: string; text: string; kind: string } | null; packets: { injected: number; sniffed: number } }>;
}

let work = '';

/** Run one fixture as ipv4, with a JSON report; returns the CLI result and the report. */
async function runFixture(rel: string, extra: string[] = []): Promise<{ cli: CliResult; report: JsonReport; line: number | null }> {
  const file = join(FIXTURES, rel);
  const json = join(work, `${rel.replace(/\W/g, '_')}.json`);
  const cli = await tundrill(['run', '--ip_version=ipv4', '--no-capture', '--ss-interval', '0', '--json', json, ...extra, file], work);
  const report = JSON.parse(readFileSync(json, 'utf8')) as JsonReport;
  const line = readFileSync(file, 'utf8').includes('// fails') ? failingLine(file) : null;
  return { cli, report, line };
}

const TIME = String.raw` +\d+\.\d{6}`;

describe.skipIf(skip !== null)('tundrill run: verdicts on fixture scripts', () => {
  beforeAll(() => {
    ensureBuilt();
    work = mkdtempSync(join(tmpdir(), 'tundrill-verdicts-'));
  });
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  describe('scripts that pass', () => {
    for (const name of ['passive-open', 'active-open', 'blocking', 'code-holds']) {
      it(`${name}.pkt passes with exit status 0 and no message`, async () => {
        const { cli, report } = await runFixture(`pass/${name}.pkt`);
        expect(cli.stderr, cli.stderr).toBe('');
        expect(cli.code).toBe(0);
        expect(report.summary).toMatchObject({ total: 1, passing: 1, failing: 0 });
        expect(report.runs[0]).toMatchObject({ script: `${name}.pkt`, variant: 'ipv4', verdict: 'pass', exitCode: 0, firstError: null });
        expect(report.runs[0]!.packets.injected).toBeGreaterThan(0);
      });
    }

    it('blocking.pkt takes the time its blocking calls wait', async () => {
      const { report } = await runFixture('pass/blocking.pkt');
      // accept() waits 100 ms and read() 50 ms.
      expect(report.runs[0]!.durationMs).toBeGreaterThanOrEqual(150);
    });
  });

  describe('scripts that fail at a given line', () => {
    /** Check exit status 1, the `<script>:<line>: ` headline, and the JSON report's first error. */
    async function expectFailure(rel: string, message: RegExp, kind: string): Promise<string[]> {
      const { cli, report, line } = await runFixture(rel);
      const name = rel.split('/').pop()!;
      const lines = cli.stderr.replace(/\n+$/, '').split('\n');
      expect(cli.code, cli.stderr).toBe(1);
      expect(lines[0]!.startsWith(`${name}:${line}: `), lines[0]).toBe(true);
      expect(lines[0]!.slice(`${name}:${line}: `.length)).toMatch(message);
      const run = report.runs[0]!;
      expect(run.verdict).toBe('fail');
      expect(run.exitCode).toBe(1);
      expect(run.firstError).toMatchObject({ line, headline: lines[0], kind });
      return lines;
    }

    it('wrong flags: live packet field tcp_fin, with the script and actual packets', async () => {
      const lines = await expectFailure(
        'fail/wrong-flags.pkt',
        /^error handling packet: live packet field tcp_fin: expected: 1 \(0x1\) vs actual: 0 \(0x0\)$/,
        'packet',
      );
      expect(lines[1]).toMatch(new RegExp(`^script packet:${TIME} F\\. 1:1\\(0\\) ack 101 $`));
      expect(lines[2]).toMatch(new RegExp(`^actual packet:${TIME} \\. 1:1\\(0\\) ack 101 win \\d+ $`));
    });

    it('a packet too late: timing error with the default 4 ms tolerance', async () => {
      const lines = await expectFailure(
        'fail/late-packet.pkt',
        /^error handling packet: timing error: expected outbound packet at \d+\.\d{6} sec but happened at \d+\.\d{6} sec; tolerance 0\.004000 sec$/,
        'packet',
      );
      const [, expected, actual] = /at (\d+\.\d+) sec but happened at (\d+\.\d+) sec/.exec(lines[0]!)!.map(Number);
      // The retransmission waits for the retransmission timer (at least 200 ms).
      expect(actual! - expected!).toBeGreaterThan(0.15);
      expect(lines[1]).toMatch(new RegExp(`^script packet:${TIME} P\\. 1:1001\\(1000\\) ack 1 $`));
      expect(lines[2]).toMatch(new RegExp(`^actual packet:${TIME} P\\. 1:1001\\(1000\\) ack 1 win \\d+ $`));
    });

    it('a packet that never comes: Timed out waiting for packet, after about 2 s', async () => {
      const lines = await expectFailure('fail/missing-packet.pkt', /^error handling packet: Timed out waiting for packet$/, 'packet');
      expect(lines).toHaveLength(1);
    });

    it('a wrong return value: runtime error in write call', async () => {
      await expectFailure('fail/wrong-return.pkt', /^runtime error in write call: Expected result 999 but got 1000 with errno \d+ \(.*\)$/, 'syscall');
    });

    it('a wrong ack: live packet field tcp_ack_seq', async () => {
      const lines = await expectFailure(
        'fail/wrong-ack.pkt',
        /^error handling packet: live packet field tcp_ack_seq: expected: 100 \(0x64\) vs actual: 101 \(0x65\)$/,
        'packet',
      );
      expect(lines[1]).toMatch(new RegExp(`^script packet:${TIME} \\. 1:1\\(0\\) ack 100 $`));
      expect(lines[2]).toMatch(new RegExp(`^actual packet:${TIME} \\. 1:1\\(0\\) ack 101 win \\d+ $`));
    });

    it('a wrong option value: bad value in outbound TCP option (kind=2)', async () => {
      const lines = await expectFailure(
        'fail/wrong-option.pkt',
        /^error handling packet: bad value in outbound TCP option \(kind=2\): expected: mss 1000 actual: mss 1460$/,
        'packet',
      );
      expect(lines[1]).toMatch(new RegExp(`^script packet:${TIME} S\\. 0:0\\(0\\) ack 1 <mss 1000,nop,nop,sackOK,nop,wscale 7>$`));
      expect(lines[2]).toMatch(new RegExp(`^actual packet:${TIME} S\\. 0:0\\(0\\) ack 1 win \\d+ <mss 1460,nop,nop,sackOK,nop,wscale \\d+>$`));
    });

    it('a %{ }% assertion that fails: error in Python code, with the traceback', async () => {
      const lines = await expectFailure('fail/code-fails.pkt', /^error in Python code$/, 'code');
      expect(lines).toContain('AssertionError: 1');
    });

    it('a syntax error: exit status 2 with <script>:<line>:<column>', async () => {
      const { cli, report, line } = await runFixture('fail/syntax-error.pkt');
      expect(cli.code).toBe(2);
      const lines = cli.stderr.trimEnd().split('\n');
      expect(lines[0]).toBe(`syntax-error.pkt:${line}: parse error at '=': syntax error`);
      expect(lines[1]).toMatch(new RegExp(`^syntax-error\\.pkt:${line}:\\d+: syntax error: unexpected '=', expected '\\)'$`));
      const col = Number(/^syntax-error\.pkt:\d+:(\d+):/.exec(lines[1]!)![1]);
      const text = readFileSync(join(FIXTURES, 'fail', 'syntax-error.pkt'), 'utf8').split('\n')[line! - 1]!;
      expect(text[col - 1]).toBe('=');
      expect(report.runs[0]).toMatchObject({ verdict: 'error', exitCode: 2, firstError: { line, kind: 'syntax' } });
      expect(report.runs[0]!.packets).toEqual({ injected: 0, sniffed: 0 });
    });
  });

  it('a missing script is a usage error (exit status 2)', async () => {
    const missing = join(work, 'no-such-dir');
    const cli = await tundrill(['run', missing], work);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toBe(`tundrill: cannot read ${missing}: no such file or folder (check the path)\n`);
  });
});
