/**
 * Seed scenarios run for real, through the CLI, in fresh network
 * namespaces: close-wait and closing-backoff must pass on this kernel, their
 * verdict files must hold the numbers, and tshark must see in the capture
 * the FIN transmissions the scenario reports. Also the two scripts of the
 * CLOSING / CLOSE_WAIT article: as written they fail on their SYN-ACK line,
 * the adapted copies pass.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureBuilt, hasTool, tundrill } from '../helpers/cli.js';

const skip = inject('integrationSkip');
if (skip) console.warn(`skipping scenario runs: ${skip}`);
const HAS_TSHARK = hasTool('tshark');




interface VerdictFile {
  scenario: string;
  pass: boolean;
  summary: string;
  checks: Array<{ name: string; ok: boolean; detail: string }>;
  numbers: Record<string, unknown>;
  evidence: { capture: string; timeline: string; counters: string; marks: string };
}

const readVerdict = (dir: string, stem: string): VerdictFile => JSON.parse(readFileSync(join(dir, `${stem}.verdict.json`), 'utf8')) as VerdictFile;

describe.skipIf(skip !== null)('seed scenarios', () => {
  let dir = '';
  let run: { code: number | null; stdout: string; stderr: string };
  beforeAll(async () => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'tundrill-scenarios-'));
    run = await tundrill(['run', '--capture-dir', dir, 'scenarios/close-wait.ts', 'scenarios/closing-backoff.ts']);
  }, 90_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('both pass, and the summary shows verdict, checks, tables, timeline and evidence', () => {
    expect(run.stderr).toBe('');
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toMatch(/^PASS scenario close-wait \(ipv4\)/m);
    expect(run.stdout).toMatch(/^PASS scenario closing-backoff \(ipv4\)/m);
    for (const heading of ['checks', 'numbers', 'FIN transmissions (kernel)', 'evidence']) expect(run.stdout).toContain(`\n  ${heading}\n`);
    expect(run.stdout).toMatch(/socket under test, as ss prints it \(changes only\)/);
    expect(run.stdout).toContain(join(dir, 'closing-backoff_ipv4.pcapng'));
  });

  it('close-wait: CLOSE-WAIT in every sample until close(), then LAST-ACK', () => {
    const v = readVerdict(dir, 'close-wait_ipv4');
    expect(v.pass).toBe(true);
    expect(v.checks.every((c) => c.ok)).toBe(true);
    // Changes only: CLOSE-WAIT seen at the peer's FIN (0.35 s) and still just before close() (3.35 s).
    expect(v.numbers['CLOSE-WAIT first seen (s)']).toBeLessThanOrEqual(0.36);
    expect(v.numbers['CLOSE-WAIT last seen (s)']).toBeGreaterThanOrEqual(3.34);
    expect(v.numbers['our FIN (s)']).toBeCloseTo(3.35, 2);
    expect(v.numbers['LAST-ACK samples']).toBeGreaterThanOrEqual(3);
  });

  it('closing-backoff: FIN retransmissions with doubling intervals, rto from ss, gone in seconds', () => {
    const v = readVerdict(dir, 'closing-backoff_ipv4');
    expect(v.pass).toBe(true);
    const n = v.numbers;
    const fins = n['FIN transmissions (s)'] as number[];
    expect(fins.length).toBeGreaterThanOrEqual(4);
    expect(fins[0]).toBeCloseTo(0.4, 2);
    expect(n['loss probes']).toBe(1);
    expect(n['ss base rto (ms)']).toBeGreaterThanOrEqual(200);
    expect(n['ss base rto (ms)']).toBeLessThanOrEqual(400);
    const rtos = n['ss rto by backoff 0,1,2.. (ms)'] as number[];
    rtos.forEach((r, i) => expect(r).toBe(rtos[0]! * 2 ** i));
    expect(n['socket gone by (s)']).toBeGreaterThan(2.4);
    expect(n['socket gone by (s)']).toBeLessThan(3.6);
    expect(n['TcpRetransSegs']).toBe(fins.length - 1);
  });

  it.skipIf(!HAS_TSHARK)('tshark sees the FIN transmissions the scenario reports', () => {
    const v = readVerdict(dir, 'closing-backoff_ipv4');
    const r = spawnSync('tshark', ['-r', v.evidence.capture, '-Y', 'tcp.flags.fin == 1 && ip.src == 192.168.0.1', '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'tcp.seq_raw'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const rows = r.stdout.trim().split('\n').map((l) => l.split('\t'));
    const reported = v.numbers['FIN transmissions (s)'] as number[];
    expect(rows).toHaveLength(reported.length);
    expect(new Set(rows.map((x) => x[1])).size).toBe(1);
    const epochs = rows.map((x) => Number(x[0]));
    const tsharkIntervals = epochs.slice(1).map((t, i) => (t - epochs[i]!) * 1000);
    const reportedIntervals = v.numbers['FIN intervals (ms)'] as number[];
    tsharkIntervals.forEach((d, i) => expect(d).toBeCloseTo(reportedIntervals[i]!, 1));
  });
});

describe.skipIf(skip !== null)('the CLOSING / CLOSE_WAIT article scripts', () => {
  it('as written they fail on the SYN-ACK line; the adapted copies pass', async () => {
    ensureBuilt();
    const dir = mkdtempSync(join(tmpdir(), 'tundrill-article-'));
    try {
      // One run per core: the four scripts keep the same times, and four engines
      // due at the same instants on two cores can make each other late (with
      // -j 4, 2 of 4 full test runs had one script fail early, once at line 16,
      // the SYN injected at 0.100 s).
      const r = await tundrill(['run', '--ip_version=ipv4', '--capture-dir', dir, '--json', join(dir, 'r.json'), '-j', String(Math.min(4, availableParallelism())),
        'scenarios/closing.pkt', 'scenarios/close-wait.pkt', 'scenarios/closing-adapted.pkt', 'scenarios/close-wait-adapted.pkt']);
      expect(r.code).toBe(1);
      const report = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')) as { runs: Array<{ script: string; verdict: string; firstError: { line: number; headline: string } | null }> };
      const by = new Map(report.runs.map((x) => [x.script, x]));
      for (const [name, win] of [['closing.pkt', 5840], ['close-wait.pkt', 14600]] as const) {
        const x = by.get(name)!;
        expect(x.verdict).toBe('fail');
        expect(x.firstError!.line, x.firstError!.headline).toBe(17);
        expect(x.firstError!.headline).toBe(`${name}:17: error handling packet: live packet field tcp_window: expected: ${win} (0x${win.toString(16)}) vs actual: 64240 (0xfaf0)`);
      }
      for (const name of ['closing-adapted.pkt', 'close-wait-adapted.pkt']) {
        const x = by.get(name)!;
        expect(x.verdict, `${name}: ${x.firstError?.headline ?? ''}`).toBe('pass');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
