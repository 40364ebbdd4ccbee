/**
 * Backtick commands: symlink stubs (a link stored as a small text file
 * holding its target) resolved to what they point to, and the verdicts
 * packetdrill's safe_system() gives.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveSymlinkStub, rewriteCommand, runShellCommand } from '../../src/engine/run-command.js';

let dir = '';
let scripts = '';
let real = '';

beforeAll(() => {
  // <dir>/common/defaults.sh            an executable shell script
  // <dir>/tcp/common/defaults.sh        a stub: "../../common/defaults.sh"
  // <dir>/tcp/close/                    where a script would run its commands
  dir = mkdtempSync(join(tmpdir(), 'tundrill-stub-'));
  mkdirSync(join(dir, 'common'));
  mkdirSync(join(dir, 'tcp', 'common'), { recursive: true });
  mkdirSync(join(dir, 'tcp', 'close'));
  real = join(dir, 'common', 'defaults.sh');
  writeFileSync(real, '#!/bin/sh\necho "defaults ran with $*"\n');
  chmodSync(real, 0o755);
  writeFileSync(join(dir, 'tcp', 'common', 'defaults.sh'), '../../common/defaults.sh');
  chmodSync(join(dir, 'tcp', 'common', 'defaults.sh'), 0o644);
  scripts = join(dir, 'tcp', 'close');
  // Things that are not stubs.
  writeFileSync(join(scripts, 'notes.txt'), 'two words');
  writeFileSync(join(scripts, 'multi-line'), '../../common/defaults.sh\n');
  writeFileSync(join(scripts, 'dangling'), '../nowhere.sh');
  writeFileSync(join(scripts, 'empty'), '');
  writeFileSync(join(scripts, 'to-dir'), '../common');
  symlinkSync('../../common/defaults.sh', join(scripts, 'real-link.sh'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('resolveSymlinkStub', () => {
  it('resolves a stub relative to its own folder, from a relative or absolute word', () => {
    expect(resolveSymlinkStub('../common/defaults.sh', scripts)).toBe(real);
    expect(resolveSymlinkStub(join(dir, 'tcp', 'common', 'defaults.sh'), '/')).toBe(real);
  });

  it('leaves executables, real symlinks and ordinary files alone', () => {
    expect(resolveSymlinkStub(real, '/')).toBeNull();
    expect(resolveSymlinkStub('real-link.sh', scripts)).toBeNull();
    expect(resolveSymlinkStub('notes.txt', scripts)).toBeNull();
    expect(resolveSymlinkStub('multi-line', scripts)).toBeNull();
    expect(resolveSymlinkStub('empty', scripts)).toBeNull();
  });

  it('returns null for targets that are missing or not files, and for missing words', () => {
    expect(resolveSymlinkStub('dangling', scripts)).toBeNull();
    expect(resolveSymlinkStub('to-dir', scripts)).toBeNull();
    expect(resolveSymlinkStub('no-such-file', scripts)).toBeNull();
  });
});

describe('rewriteCommand', () => {
  it('replaces a stub that starts a line, keeping its arguments', () => {
    expect(rewriteCommand('../common/defaults.sh', scripts)).toBe(real);
    expect(rewriteCommand('  ../common/defaults.sh -x 1; echo done', scripts)).toBe(`  ${real} -x 1; echo done`);
  });

  it('rewrites each line of a multi-line command', () => {
    expect(rewriteCommand('echo a\n../common/defaults.sh\nsysctl -q x=1', scripts)).toBe(`echo a\n${real}\nsysctl -q x=1`);
  });

  it('leaves other commands as they are', () => {
    for (const c of ['sysctl -q net.ipv4.tcp_sack=0', 'echo ../common/defaults.sh', './missing.sh', 'cat < ../common/defaults.sh', '']) {
      expect(rewriteCommand(c, scripts)).toBe(c);
    }
  });
});

describe('runShellCommand', () => {
  it('runs a stubbed script in the script folder', () => {
    const r = runShellCommand('../common/defaults.sh a b', { cwd: scripts });
    expect(r.ok).toBe(true);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('defaults ran with a b\n');
    expect(r.durationMs).toBeGreaterThan(0);
  });

  it('runs in the given folder with PACKETDRILL_PID set and extra environment', () => {
    const r = runShellCommand('pwd; echo "$PACKETDRILL_PID $EXTRA"', { cwd: scripts, env: { EXTRA: 'x' } });
    expect(r.stdout).toBe(`${scripts}\n${process.pid} x\n`);
  });

  it('fails on a non-zero status, as packetdrill words it', () => {
    const r = runShellCommand('echo oops >&2; exit 3', { cwd: scripts });
    expect(r).toMatchObject({ ok: false, error: 'non-zero status 3', status: 3, stderr: 'oops\n' });
    expect(runShellCommand('no-such-command-here 2>/dev/null', { cwd: scripts }).error).toBe('non-zero status 127');
  });

  it('fails when the shell is interrupted (SIGINT, SIGQUIT)', () => {
    expect(runShellCommand('kill -INT $$', { cwd: scripts })).toMatchObject({ ok: false, error: 'got signal SIGINT' });
    expect(runShellCommand('kill -QUIT $$', { cwd: scripts })).toMatchObject({ ok: false, error: 'got signal SIGQUIT' });
  });

  it('passes when the shell dies of another signal (system(3) reports status 0)', () => {
    expect(runShellCommand('kill -TERM $$', { cwd: scripts }).ok).toBe(true);
  });

  it('fails when the time limit kills the command', () => {
    const r = runShellCommand('sleep 5', { cwd: scripts, timeoutMs: 100 });
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/still running after 100 ms/);
  });
});
