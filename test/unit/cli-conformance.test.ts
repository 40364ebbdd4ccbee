/**
 * The conformance runner's reading of packetdrill's reference verdicts and
 * of the script line an error names.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corpora, errorLine, quietArgs, readReference, sharedDir } from '../../src/cli/conformance.js';

const projectRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const shared = resolve(projectRoot, '../shared');

const SAMPLE = [
  '# packetdrill verdicts, a comment line',
  '# another comment',
  'script\tvariant\tverdict\tseconds\tfirst_error',
  'tcp/blocking/blocking-accept.pkt\tipv4\tpass\t0.61\t',
  'tcp/blocking/blocking-accept.pkt\tipv4-mapped-v6\tpass\t0.50',
  'tcp/mtu_probe/basic-v6.pkt\tipv6\tfail\t0.41\tbasic-v6.pkt:29: error handling packet: bad value in outbound TCP option (kind=2): expected: mss 600 actual: mss 1460',
  'tcp/x/flaky.pkt\tipv4\tflaky\t1.00\tflaky.pkt:7: timing error: expected outbound packet at 0.1 sec',
  '',
  'incomplete-row.pkt\tipv4',
  '',
].join('\n');

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tundrill-conf-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('readReference', () => {
  it('reads rows, skipping comments, the header, blank and incomplete lines', () => {
    const file = join(dir, 'ref.tsv');
    writeFileSync(file, SAMPLE);
    expect(readReference(file)).toEqual([
      { script: 'tcp/blocking/blocking-accept.pkt', variant: 'ipv4', verdict: 'pass', seconds: 0.61, firstError: '' },
      { script: 'tcp/blocking/blocking-accept.pkt', variant: 'ipv4-mapped-v6', verdict: 'pass', seconds: 0.5, firstError: '' },
      {
        script: 'tcp/mtu_probe/basic-v6.pkt', variant: 'ipv6', verdict: 'fail', seconds: 0.41,
        firstError: 'basic-v6.pkt:29: error handling packet: bad value in outbound TCP option (kind=2): expected: mss 600 actual: mss 1460',
      },
      { script: 'tcp/x/flaky.pkt', variant: 'ipv4', verdict: 'flaky', seconds: 1, firstError: 'flaky.pkt:7: timing error: expected outbound packet at 0.1 sec' },
    ]);
  });
});

describe('errorLine', () => {
  it('reads the line a packetdrill error names', () => {
    expect(errorLine('basic-v6.pkt:29: error handling packet: bad value')).toBe(29);
    expect(errorLine('a.pkt:1: runtime error in write call: Expected result 999 but got 1000')).toBe(1);
    expect(errorLine("syntax-error.pkt:3: parse error at '=': syntax error")).toBe(3);
  });

  it('returns 0 when there is no script line', () => {
    expect(errorLine('')).toBe(0);
    expect(errorLine('a.pkt: error executing init command: non-zero status 1')).toBe(0);
    expect(errorLine('tundrill: internal error')).toBe(0);
    expect(errorLine('see a.pkt:12: in the middle')).toBe(0);
    expect(errorLine('a.txt:12: not a script')).toBe(0);
  });

  it('reads the first line of a multi-line text', () => {
    expect(errorLine('a.pkt:5: error handling packet: x\nscript packet: ...\nb.pkt:9: other')).toBe(5);
  });
});

describe('corpora', () => {
  it('point at ../shared beside the project', () => {
    expect(sharedDir()).toBe(shared);
    const [g, s] = corpora();
    expect(g).toEqual({
      name: 'gtests', root: join(shared, 'corpus', 'packetdrill-gtests'),
      reference: join(shared, 'reference', 'packetdrill-gtests-verdicts.tsv'), ksft: false,
    });
    expect(s).toMatchObject({ name: 'selftests', root: join(shared, 'corpus', 'linux-selftests'), ksft: true });
  });
});

describe.skipIf(!existsSync(join(shared, 'reference')))('the shared reference verdicts', () => {
  it('read cleanly: known verdicts and variants, and every failure names a script line of its own script', () => {
    for (const c of corpora()) {
      const rows = readReference(c.reference);
      expect(rows.length, c.name).toBeGreaterThan(100);
      for (const r of rows) {
        expect(['pass', 'fail', 'flaky']).toContain(r.verdict);
        expect(['ipv4', 'ipv4-mapped-v6', 'ipv6']).toContain(r.variant);
        expect(r.script.endsWith('.pkt')).toBe(true);
        expect(Number.isFinite(r.seconds)).toBe(true);
        if (r.verdict === 'fail' && errorLine(r.firstError) > 0) {
          expect(r.firstError.startsWith(`${r.script.split('/').pop()}:`), r.firstError).toBe(true);
        }
      }
      expect(rows.filter((r) => r.verdict === 'fail' && errorLine(r.firstError) > 0).length, c.name).toBeGreaterThan(0);
    }
  });

  it('name scripts that exist in the corpus', () => {
    for (const c of corpora()) {
      for (const r of readReference(c.reference)) expect(existsSync(join(c.root, r.script)), r.script).toBe(true);
    }
  });
});

describe('the runner options of conformance runs', () => {
  const gtests = corpora()[0]!;
  it('keep no evidence by default: the verdicts of bare runs', () => {
    const o = quietArgs(gtests, 4, 'tun');
    expect([o.capture, o.ssIntervalMs, o.report, o.jobs, o.ksft]).toEqual([false, 0, 'none', 4, false]);
  });
  it('with --evidence, keep what `tundrill run` keeps by default, in the folder given', () => {
    const o = quietArgs(corpora()[1]!, 3, 'veth', '/var/tmp/ev');
    expect(o).toMatchObject({ capture: true, captureDir: '/var/tmp/ev', captureFormat: 'pcapng', ssIntervalMs: 10, sampler: 'sock_diag', report: 'default', devices: ['veth'], jobs: 3, ksft: true });
    expect(quietArgs(gtests, undefined, 'tun', '/var/tmp/ev', 'ss')).toMatchObject({ sampler: 'ss', ssIntervalMs: 100 });
    expect(quietArgs(gtests, undefined, 'tun').jobs).toBeUndefined();
  });
});

describe('tundrill conformance --help', () => {
  it('prints the usage and exits 0, running nothing', async () => {
    const { runConformance } = await import('../../src/cli/conformance.js');
    const out: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((s: string) => { out.push(String(s)); return true; }) as typeof process.stdout.write;
    try {
      expect(await runConformance(['--help'])).toBe(0);
    } finally {
      process.stdout.write = write;
    }
    expect(out.join('')).toMatch(/^usage: tundrill conformance \[options\]/);
    expect(out.join('')).toMatch(/--check/);
  });
});
