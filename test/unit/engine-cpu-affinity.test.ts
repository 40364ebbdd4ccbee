import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cpuMask } from '../../src/engine/cpu-affinity.js';
import { ROOT } from '../helpers/cli.js';

describe('cpuMask', () => {
  it('sets the one bit of the CPU in a 1024-CPU set', () => {
    const m = cpuMask(0);
    expect(m.length).toBe(128);
    expect(m[0]).toBe(1);
    expect(cpuMask(9)[1]).toBe(2);
    expect(cpuMask(1023)[127]).toBe(0x80);
    expect([...cpuMask(9)].filter((b) => b !== 0)).toHaveLength(1);
  });

  it('refuses CPUs outside the set', () => {
    expect(() => cpuMask(-1)).toThrow(RangeError);
    expect(() => cpuMask(1024)).toThrow('no such CPU: 1024');
    expect(() => cpuMask(1.5)).toThrow(RangeError);
  });
});

/**
 * In a child process: keep it on one CPU, start a thread, then read every
 * thread's allowed CPUs. `pidns`: in a PID namespace of its own with the
 * host's /proc, as a worker runs.
 */
function keptChild(pidns: boolean): { cpu: number | null; threads: number; allowed: string[] } {
  const code = `
    import { readdirSync, readFileSync } from 'node:fs';
    import { Worker } from 'node:worker_threads';
    const a = await import(${JSON.stringify(join(ROOT, 'dist', 'engine', 'cpu-affinity.js'))});
    const threads = a.threadIds().length;
    const cpu = a.keepWorkerOnOneCpu();
    const w = new Worker('setTimeout(() => {}, 300)', { eval: true });
    await new Promise((r) => setTimeout(r, 100));
    const allowed = readdirSync('/proc/self/task').map((t) => /^Cpus_allowed_list:\\s*(\\S+)/m.exec(readFileSync('/proc/self/task/' + t + '/status', 'utf8'))[1]);
    await w.terminate();
    console.log(JSON.stringify({ cpu, threads, allowed }));`;
  const node = [process.execPath, '--input-type=module', '-e', code];
  const r = pidns ? spawnSync('unshare', ['--pid', '--fork', ...node], { encoding: 'utf8' }) : spawnSync(node[0]!, node.slice(1), { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as { cpu: number | null; threads: number; allowed: string[] };
}

describe('keepWorkerOnOneCpu', () => {
  it('puts every thread, and threads started after, on the CPU the process was on', () => {
    const out = keptChild(false);
    expect(out.cpu).not.toBeNull();
    expect(out.allowed.length).toBeGreaterThan(out.threads);
    expect(new Set(out.allowed)).toEqual(new Set([String(out.cpu)]));
  });

  it("moves the threads of a worker in a PID namespace of its own, whose /proc names them by the host's ids", () => {
    if (process.getuid?.() !== 0) return;
    const out = keptChild(true);
    expect(out.cpu).not.toBeNull();
    expect(new Set(out.allowed)).toEqual(new Set([String(out.cpu)]));
  });
});
