/**
 * packetdrill's verdicts made by `conformance --packetdrill`: how a
 * packetdrill run's outcome becomes a verdict and first error, how several
 * runs of a row make a flaky one, the reference file written and read
 * back, the link tree that resolves the corpora's symlink stubs, and the
 * command-line combinations conformance refuses.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readReference, runConformance } from '../../src/cli/conformance.js';
import { UsageError } from '../../src/cli/args.js';
import { formatReference, inLinkTree, linkTree, referenceRow } from '../../src/cli/packetdrill-reference.js';
import { packetdrillFirstError, packetdrillResult } from '../../src/runner/packetdrill-run.js';

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tundrill-pdref-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('a packetdrill run as a result', () => {
  it('takes the first line that names a script line as the first error', () => {
    const err = 'sh: 1: warning\nclose.pkt:27: error handling packet: timing error\nscript packet: 0.1 F.\nclose.pkt:30: other';
    expect(packetdrillFirstError(err)).toBe('close.pkt:27: error handling packet: timing error');
  });

  it('falls back to packetdrill\'s message naming the script, then to the last line', () => {
    expect(packetdrillFirstError('\nsh: 1: ../common/defaults.sh: Permission denied\nx.pkt: error executing init command: non-zero status 126\n'))
      .toBe('x.pkt: error executing init command: non-zero status 126');
    expect(packetdrillFirstError('sysctl: cannot stat /proc/sys/net/ipv4/tcp_ecn_option\nopen: No such file or directory\n')).toBe('open: No such file or directory');
    expect(packetdrillFirstError('')).toBe('');
  });

  it('passes on exit status 0 and fails otherwise, with the line and the whole text', () => {
    const pass = packetdrillResult('a.pkt', 'ipv4', 0, null, 'noise', 120);
    expect(pass).toMatchObject({ script: 'a.pkt', variant: 'ipv4', verdict: 'pass', exitCode: 0, durationMs: 120 });
    expect(pass.firstError).toBeUndefined();
    const fail = packetdrillResult('a.pkt', 'ipv6', 1, null, 'a.pkt:9: runtime error in write call\nmore\n', 50);
    expect(fail).toMatchObject({ verdict: 'fail', exitCode: 1, firstError: { line: 9, headline: 'a.pkt:9: runtime error in write call', text: 'a.pkt:9: runtime error in write call\nmore', kind: 'packetdrill' } });
  });

  it('says how packetdrill ended when it printed nothing', () => {
    expect(packetdrillResult('dir/b.pkt', 'ipv4', null, 'SIGKILL', '', 1).firstError?.headline).toBe('b.pkt: packetdrill killed by SIGKILL');
    expect(packetdrillResult('b.pkt', 'ipv4', 3, null, '', 1).firstError).toMatchObject({ line: 0, headline: 'b.pkt: packetdrill exited with status 3' });
  });
});

describe('a row over several packetdrill runs', () => {
  const pass = { pass: true, firstError: '', seconds: 1 };
  const failAt = (line: number, seconds = 2) => ({ pass: false, firstError: `a.pkt:${line}: timing error`, seconds });
  it('keeps the verdict that every run gave, with the mean duration', () => {
    expect(referenceRow('t/a.pkt', 'ipv4', [pass, { ...pass, seconds: 3 }])).toEqual({ script: 't/a.pkt', variant: 'ipv4', verdict: 'pass', seconds: 2, firstError: '' });
    expect(referenceRow('t/a.pkt', 'ipv4', [failAt(7, 1), failAt(7, 3)])).toMatchObject({ verdict: 'fail', seconds: 2, firstError: 'a.pkt:7: timing error' });
  });
  it('is flaky when the verdict or the failing line changes', () => {
    expect(referenceRow('t/a.pkt', 'ipv4', [pass, failAt(7)]).verdict).toBe('flaky');
    expect(referenceRow('t/a.pkt', 'ipv4', [failAt(7), failAt(8)]).verdict).toBe('flaky');
  });
});

describe('a reference file', () => {
  it('is read back as written, tabs and newlines in errors flattened', () => {
    const rows = [
      { script: 'tcp/a.pkt', variant: 'ipv4', verdict: 'pass' as const, seconds: 0.5, firstError: '' },
      { script: 'tcp/b.pkt', variant: 'ipv6', verdict: 'fail' as const, seconds: 1.25, firstError: 'b.pkt:3: bad\tvalue\nthen' },
      { script: 'tcp/c.pkt', variant: 'ipv4-mapped-v6', verdict: 'flaky' as const, seconds: 2, firstError: 'c.pkt:1: x' },
    ];
    const file = join(dir, 'ref.tsv');
    writeFileSync(file, formatReference(rows, ['made on a test kernel', 'second heading line']));
    const text = readFileSync(file, 'utf8');
    expect(text.split('\n').slice(0, 3)).toEqual(['# made on a test kernel', '# second heading line', 'script\tvariant\tverdict\tseconds\tfirst_error']);
    expect(readReference(file)).toEqual([rows[0], { ...rows[1], firstError: 'b.pkt:3: bad value then' }, rows[2]]);
  });
});

describe('the link tree packetdrill runs the corpus from', () => {
  it('links every file, and links a symlink stub to what it names', () => {
    const root = join(dir, 'corpus');
    mkdirSync(join(root, 'common'), { recursive: true });
    mkdirSync(join(root, 'tcp', 'common'), { recursive: true });
    mkdirSync(join(root, 'tcp', 'close'), { recursive: true });
    writeFileSync(join(root, 'common', 'defaults.sh'), '#!/bin/sh\nexit 0\n');
    chmodSync(join(root, 'common', 'defaults.sh'), 0o755);
    writeFileSync(join(root, 'tcp', 'common', 'defaults.sh'), '../../common/defaults.sh');
    chmodSync(join(root, 'tcp', 'common', 'defaults.sh'), 0o444);
    writeFileSync(join(root, 'tcp', 'close', 'a.pkt'), '`../common/defaults.sh`\n');
    const tree = join(dir, 'tree');
    linkTree(root, tree);
    expect(readlinkSync(join(tree, 'tcp', 'close', 'a.pkt'))).toBe(join(root, 'tcp', 'close', 'a.pkt'));
    expect(readlinkSync(join(tree, 'tcp', 'common', 'defaults.sh'))).toBe(join(root, 'common', 'defaults.sh'));
    expect(readlinkSync(join(tree, 'common', 'defaults.sh'))).toBe(join(root, 'common', 'defaults.sh'));
    expect(inLinkTree(join(root, 'tcp', 'close', 'a.pkt'), root, tree)).toBe(join(tree, 'tcp', 'close', 'a.pkt'));
  });
});

describe('conformance refuses', () => {
  const refused = (argv: string[]) => runConformance(argv).then(() => 'accepted', (e: unknown) => (e instanceof UsageError ? e.message : `other: ${String(e)}`));
  it('another kernel without a reference made on it', async () => {
    expect(await refused(['--kernel', 'debian:6.1'])).toMatch(/made on this host's kernel; give --packetdrill PATH .* or --reference FILE/);
  });
  it('saving another kernel\'s rows over the host baseline', async () => {
    expect(await refused(['--kernel', 'debian:6.1', '--reference', join(dir, 'r.tsv'), '--corpus', 'gtests', '--save'])).toMatch(/name another file with --out FILE/);
  });
  it('a reference file for both corpora, and reference options without --packetdrill', async () => {
    expect(await refused(['--reference', join(dir, 'r.tsv')])).toMatch(/one corpus's rows: add --corpus/);
    expect(await refused(['--save-reference', join(dir, 'r.tsv'), '--corpus', 'gtests'])).toMatch(/needs --packetdrill PATH/);
    expect(await refused(['--reference-runs', '0', '--packetdrill', '/bin/true'])).toMatch(/whole number >= 1/);
  });
  it('a packetdrill binary that cannot run, and both ways of getting a reference at once', async () => {
    expect(await refused(['--packetdrill', join(dir, 'absent')])).toMatch(/--packetdrill .*absent: no such file/);
    expect(await refused(['--packetdrill', '/bin/true', '--reference', join(dir, 'r.tsv'), '--corpus', 'gtests'])).toMatch(/give one of them/);
  });
});
