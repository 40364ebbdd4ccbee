import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { durationKey, parseShard, readDurations, splitRuns, ShardError } from '../../src/runner/shard.js';

const run = (name: string, variant = 'ipv4') => ({ scriptPath: `/corpus/${name}`, reportPath: name, variantLabel: variant });
const tmp = mkdtempSync(join(tmpdir(), 'tundrill-shard-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('--shard i/n', () => {
  it('parses i/n and refuses anything else', () => {
    expect(parseShard('2/4')).toEqual({ index: 2, count: 4 });
    for (const bad of ['0/4', '5/4', '2', 'a/b', '1/0', '-1/2']) expect(() => parseShard(bad)).toThrow(ShardError);
  });

  it('without durations splits by count, every row in exactly one part, each part in plan order', () => {
    const runs = Array.from({ length: 10 }, (_, i) => run(`s${String(i).padStart(2, '0')}.pkt`));
    const { parts, expected, known } = splitRuns(runs, 4, new Map());
    expect(known).toBe(0);
    expect(parts.map((p) => p.length).sort()).toEqual([2, 2, 3, 3]);
    expect(expected.reduce((a, b) => a + b, 0)).toBe(10);
    expect(parts.flat().map((r) => r.reportPath).sort()).toEqual(runs.map((r) => r.reportPath));
    for (const p of parts) expect(p.map((r) => runs.indexOf(r))).toEqual([...p.map((r) => runs.indexOf(r))].sort((a, b) => a - b));
  });

  it('balances by expected duration: one long row gets a part of its own', () => {
    const runs = [run('long.pkt'), ...Array.from({ length: 6 }, (_, i) => run(`short${i}.pkt`))];
    const d = new Map([[durationKey('/corpus/long.pkt', 'ipv4'), 6], ...runs.slice(1).map((r) => [durationKey(r.scriptPath, 'ipv4'), 1] as [string, number])]);
    const { parts, expected } = splitRuns(runs, 2, d);
    expect(expected).toEqual([6, 6]);
    expect(parts.find((p) => p.some((r) => r.reportPath === 'long.pkt'))).toHaveLength(1);
  });

  it('is deterministic: the same split whatever order the plan lists equal rows in', () => {
    const runs = ['a', 'b', 'c', 'd', 'e'].flatMap((n) => [run(`${n}.pkt`, 'ipv4'), run(`${n}.pkt`, 'ipv6')]);
    const key = (p: typeof runs) => p.map((r) => `${r.reportPath} ${r.variantLabel}`).sort().join(',');
    const a = splitRuns(runs, 3, new Map()).parts.map(key);
    const b = splitRuns([...runs].reverse(), 3, new Map()).parts.map(key);
    expect(b).toEqual(a);
  });

  it('reads durations from reference tables; unknown rows weigh the median of the known ones', () => {
    const table = join(tmp, 'x-verdicts.tsv');
    writeFileSync(table, '# comment\nscript\tvariant\tverdict\tseconds\tfirst_error\ntcp/a.pkt\tipv4\tpass\t2.50\t\ntcp/b.pkt\tipv6\tfail\t0.50\tb.pkt:3: error\n');
    const d = readDurations([{ table, corpusRoot: '/c' }, { table: join(tmp, 'absent.tsv'), corpusRoot: '/x' }]);
    expect(d.get(durationKey('/c/tcp/a.pkt', 'ipv4'))).toBe(2.5);
    expect(d.get(durationKey('/c/tcp/b.pkt', 'ipv6'))).toBe(0.5);
    const runs = [
      { scriptPath: '/c/tcp/a.pkt', reportPath: 'a.pkt', variantLabel: 'ipv4' },
      { scriptPath: '/c/tcp/b.pkt', reportPath: 'b.pkt', variantLabel: 'ipv6' },
      { scriptPath: '/c/tcp/new.pkt', reportPath: 'new.pkt', variantLabel: 'ipv4' },
    ];
    const s = splitRuns(runs, 2, d);
    expect(s.known).toBe(2);
    // a 2.5 s; new 1.5 s (the median of 2.5 and 0.5) and b 0.5 s together.
    expect(s.expected).toEqual([2.5, 2]);
  });
});
