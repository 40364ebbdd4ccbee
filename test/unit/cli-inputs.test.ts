/**
 * Mistakes on the command line end the command before any run, with one
 * line saying what is wrong and what to do, and exit status 2.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, ROOT, tundrill } from '../helpers/cli.js';

let dir: string;
beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'tundrill-inputs-'));
  mkdirSync(join(dir, 'folder'));
  writeFileSync(join(dir, 'file'), 'x');
  writeFileSync(join(dir, 'a.pkt'), '0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n');
}, 180_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** One line on stderr, nothing on stdout, exit 2; the line matches `re`. */
async function oneLine(args: string[], re: RegExp): Promise<void> {
  const r = await tundrill(args.map((a) => a.replace('$D', dir)));
  expect(r.stderr).toMatch(re);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stdout).toBe('');
  expect(r.code).toBe(2);
}

describe('parse', () => {
  it('with no file is a usage error', () => oneLine(['parse'], /^tundrill: parse: no script given/));
  it('of a missing file', () => oneLine(['parse', '$D/missing.pkt'], /missing\.pkt: no such file or folder \(check the path\)/));
  it('of a folder', () => oneLine(['parse', '$D/folder'], /folder: it is a folder \(name a file\)/));
});

describe('run: options', () => {
  it('--help prints the usage and exits 0', async () => {
    const r = await tundrill(['run', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage:/);
  });
  it.each([
    [['-j', '1.5'], /-j\/--jobs must be a whole number from 1 to 64, not 1\.5/],
    [['-j', '65'], /-j\/--jobs must be a whole number from 1 to 64, not 65/],
    [['-j', '0'], /--jobs needs a number >= 1/],
    [['--timeout', '2147484'], /--timeout must be more than 0 and at most 2147483 seconds/],
    [['--ss-interval', '1e12'], /--sample-interval must be 0 \(off\) or from 1 to 60000 ms/],
    [['--frobnicate'], /unknown option --frobnicate/],
  ])('%j is refused before any run', (opts, re) => oneLine(['run', ...opts, '$D/a.pkt'], re));
});

describe('run: paths', () => {
  it('a missing script', () => oneLine(['run', '$D/missing.pkt'], /cannot read .*missing\.pkt: no such file or folder/));
  it('a missing scenario', () => oneLine(['run', '$D/folder/x.ts'], /no such file or folder/));
  it('a scenario that is a folder', () => {
    mkdirSync(join(dir, 'dir.ts'), { recursive: true });
    return oneLine(['run', '$D/dir.ts'], /dir\.ts: it is a folder \(name a script file\)/);
  });
  it('--json naming a folder', () => oneLine(['run', '--json', '$D/folder', '$D/a.pkt'], /--json .*folder: is a folder \(name a file/));
  it('--tap in a folder that cannot be created', () => oneLine(['run', '--tap', '$D/file/nope/r.tap', '$D/a.pkt'], /--tap .*: cannot create the folder .*nope: a part of the path is a file/));
  it('--junit under a file', () => oneLine(['run', '--junit', '$D/file/r.xml', '$D/a.pkt'], /--junit .*: .*file is not a folder/));
  it('--capture-dir naming a file', () => oneLine(['run', '--capture-dir', '$D/file', '$D/a.pkt'], /--capture-dir .*file: is a file, not a folder/));
  it('--capture-dir that cannot be created', () => oneLine(['run', '--capture-dir', '$D/file/sub', '$D/a.pkt'], /--capture-dir .*: cannot create/));
  it('a script folder without scripts', () => oneLine(['run', '$D/folder'], /no \.pkt scripts found/));
  it.skipIf(process.getuid?.() === 0)('an unreadable script', () => {
    const p = join(dir, 'secret.pkt');
    writeFileSync(p, 'x');
    chmodSync(p, 0);
    return oneLine(['run', p], /permission denied/);
  });
});

describe('errors without stack traces', () => {
  it('an unexpected error is one line; TUNDRILL_DEBUG=1 shows the trace', async () => {
    const { spawnSync } = await import('node:child_process');
    const code = `import { reportUnexpected } from ${JSON.stringify(join(ROOT, 'dist', 'cli', 'failure.js'))};
      const e = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: 'ENOSPC', path: '/x/y.json', syscall: 'write' });
      console.log(reportUnexpected(e));`;
    const plain = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', env: { ...process.env, TUNDRILL_DEBUG: '' } });
    expect(plain.stdout.trim()).toBe('tundrill: cannot write /x/y.json: no space left on the device (free some space or choose another place) (TUNDRILL_DEBUG=1 shows where it happened)');
    const debug = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', env: { ...process.env, TUNDRILL_DEBUG: '1' } });
    expect(debug.stdout).toMatch(/internal error: Error: ENOSPC[^\n]*\n\s+at /);
  });
});

describe('output', () => {
  it('more than 64 KiB of errors reach a slow reader in full before the exit', async () => {
    const files = Array.from({ length: 1500 }, (_, i) => join(dir, `missing-file-with-a-long-name-to-fill-the-pipe-${i}.pkt`));
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'tundrill.js'), 'parse', ...files], { stdio: ['ignore', 'pipe', 'pipe'] });
    // The listeners go on before the pause: Node resumes (and discards) a
    // child's paused output that nobody listens to once the child exits,
    // and a child that exits during the pause would then never be heard.
    let err = '';
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    const closed = new Promise<number | null>((done) => child.on('close', done));
    child.stderr.pause();
    await new Promise((r) => setTimeout(r, 1000));
    child.stderr.resume();
    const code = await closed;
    expect(code).toBe(2);
    expect(err.length).toBeGreaterThan(64 * 1024);
    expect(err.trimEnd().split('\n')).toHaveLength(1500);
  });
});

