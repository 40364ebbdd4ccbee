/**
 * `npm run bench -- --packetdrill PATH`: a wrong path is a one-line usage
 * error; with a packetdrill binary named by TUNDRILL_PACKETDRILL (built
 * outside the project), both harnesses run the bench scripts in capture
 * namespaces and every injected packet of a passing run is matched to its
 * script line on the wire.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { ensureBuilt, hasTool, ROOT } from '../helpers/cli.js';
import type { SideBySideRow, ToolTiming } from '../../src/bench/packetdrill-side.js';

const BENCH = join(ROOT, 'dist', 'bench', 'run.js');
const PACKETDRILL = process.env.TUNDRILL_PACKETDRILL ?? '';
const skip = inject('integrationSkip');
const dir = mkdtempSync(join(tmpdir(), 'tundrill-bench-pd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function bench(args: string[]): { code: number | null; stdout: string; stderr: string } {
  ensureBuilt();
  const r = spawnSync(process.execPath, [BENCH, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('bench --packetdrill', () => {
  it('refuses a path that is not an executable file in one line, exit 2', () => {
    for (const path of [join(dir, 'absent'), join(ROOT, 'package.json')]) {
      const r = bench(['--packetdrill', path]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(new RegExp(`^bench: --packetdrill ${path}: (no such file|not executable)`))]);
    }
  });

  it.skipIf(skip !== null || !PACKETDRILL || !hasTool('tcpdump'))('matches every injected packet of both harnesses to its line on the wire', () => {
    const json = join(dir, 'side.json');
    const r = bench(['--only', 'packetdrill', '--packetdrill', PACKETDRILL, '--quick', '--no-corpus', '--json', json]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/side by side with packetdrill/);
    const rows = (JSON.parse(readFileSync(json, 'utf8')) as { sideBySide: SideBySideRow[] }).sideBySide;
    const byName = new Map(rows.map((row) => [row.script, row]));
    // inbound-absolute-bursts.pkt: 242 inbound lines on the script's clock, one after `> F.`;
    // inbound-data-acked.pkt: 200 segments after the kernel's ACKs, 2 lines after system calls.
    const expected: Record<string, { clock: number; after: number; unknown: number }> = {
      'inbound-absolute-bursts.pkt': { clock: 242, after: 1, unknown: 0 },
      'inbound-data-acked.pkt': { clock: 0, after: 200, unknown: 2 },
    };
    for (const [name, want] of Object.entries(expected)) {
      const row = byName.get(name);
      expect(row, name).toBeDefined();
      for (const t of [row!.packetdrill, row!.tundrill] as ToolTiming[]) {
        if (t.passed < t.runs) {
          expect(t.problems.length).toBeGreaterThan(0); // a failing run (a loaded machine) says why
          continue;
        }
        expect(t.problems).toEqual([]);
        expect([t.clock.count, t.afterOutbound.count, t.unknown]).toEqual([want.clock, want.after, want.unknown]);
        if (t.clock.count) expect(t.clock.p50).toBeGreaterThanOrEqual(0);
      }
      expect(row!.tundrill.own?.count).toBeGreaterThan(0);
      expect(row!.packetdrill.own).toBeUndefined();
    }
  }, 300_000);
});
