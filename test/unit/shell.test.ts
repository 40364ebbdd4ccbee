/**
 * /bin/sh -c through the addon's spawnWait (posix_spawn): what a command
 * gets (folder, environment, stdin, signal dispositions) and what comes
 * back (status, signal, output, time limit).
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { runShell } from '../../src/engine/shell.js';
import { spawnWait } from '../../src/native/addon.js';

const env = { PATH: '/usr/bin:/bin' };

describe('runShell', () => {
  it('runs in the folder, with the variables given, and collects both outputs', () => {
    const r = runShell('pwd; echo "$A"; echo err >&2; exit 3', { cwd: '/etc', env: { ...env, A: 'x y' } });
    expect(r).toEqual({ status: 3, signal: null, stdout: '/etc\nx y\n', stderr: 'err\n' });
  });

  it('adds to the harness\'s own environment', () => {
    process.env.TUNDRILL_SHELL_TEST = 'from the harness';
    try {
      expect(runShell('echo "$TUNDRILL_SHELL_TEST"', { cwd: '/' }).stdout).toBe('from the harness\n');
      expect(runShell('echo "$TUNDRILL_SHELL_TEST"', { cwd: '/', env: { TUNDRILL_SHELL_TEST: 'given' } }).stdout).toBe('given\n');
    } finally {
      delete process.env.TUNDRILL_SHELL_TEST;
    }
  });

  it('gives the command an empty stdin, never the harness\'s', () => {
    expect(runShell('wc -c', { cwd: '/', env }).stdout.trim()).toBe('0');
  });

  it('reports the signal that ended the shell', () => {
    expect(runShell('kill -INT $$', { cwd: '/', env })).toMatchObject({ status: null, signal: 'SIGINT' });
  });

  it('starts commands with default signal actions, as system(3) does from a plain process', () => {
    // Node ignores SIGPIPE; a pipeline's writer must still die of it.
    const r = runShell('yes | head -c 3 >/dev/null; trap', { cwd: '/', env });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
  });

  it('stops a command at its time limit, even one that left a child holding its output', () => {
    const t0 = performance.now();
    const r = runShell('echo started; sleep 10', { cwd: '/', env, timeoutMs: 200 });
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(r.signal).toBe('SIGTERM');
    expect(r.stdout).toBe('started\n');
    expect(r.error).toMatch(/still running after 200 ms/);
    // One that ignores SIGTERM gets SIGKILL.
    expect(runShell('trap "" TERM; sleep 10', { cwd: '/', env, timeoutMs: 200 }).signal).toBe('SIGKILL');
  });

  it('says why a program could not start', () => {
    const r = spawnWait('/nonexistent/sh', ['sh'], { cwd: '/' });
    expect(r.spawnErrno).toBe(2);
    expect(r.status).toBeNull();
  });

  it('gives the same output as spawnSync for a large output', () => {
    const cmd = 'seq 1 200000';
    const mine = runShell(cmd, { cwd: '/', env }).stdout;
    expect(mine).toBe(spawnSync('/bin/sh', ['-c', cmd], { encoding: 'utf8', env, maxBuffer: 1 << 24 }).stdout);
  });

  it('keeps output up to maxBuffer and says it left the rest out', () => {
    const r = spawnWait('/bin/sh', ['sh', '-c', 'seq 1 100000'], { cwd: '/', env, maxBuffer: 100 });
    expect(r.stdout.length).toBe(100);
    expect(r.truncated).toBe(true);
    expect(r.status).toBe(0);
  });
});
