import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_WORKER_NODE_FLAGS, workerNodeFlags } from '../../src/runner/spawn.js';

const saved = process.env.TUNDRILL_NODE_FLAGS;
afterEach(() => {
  if (saved === undefined) delete process.env.TUNDRILL_NODE_FLAGS;
  else process.env.TUNDRILL_NODE_FLAGS = saved;
});

describe("the workers' Node flags", () => {
  it('are the defaults unless TUNDRILL_NODE_FLAGS replaces them', () => {
    delete process.env.TUNDRILL_NODE_FLAGS;
    expect(workerNodeFlags()).toEqual(DEFAULT_WORKER_NODE_FLAGS.split(' '));
    process.env.TUNDRILL_NODE_FLAGS = '--expose-gc  --no-lazy';
    expect(workerNodeFlags()).toEqual(['--expose-gc', '--no-lazy']);
  });

  it('keep V8 from optimizing a hot function, whose install would stop the JS thread mid-script', () => {
    delete process.env.TUNDRILL_NODE_FLAGS;
    const hot = 'function f(x) { return x * 2 + 1; } let s = 0; for (let i = 0; i < 2e7; i++) s += f(i); console.log(s > 0);';
    const run = (flags: string[]) => spawnSync(process.execPath, [...flags, '--trace-opt', '-e', hot], { encoding: 'utf8' });
    // The same code without the cap is optimized, so the check below can fail.
    const uncapped = run(workerNodeFlags().filter((f) => !f.startsWith('--max-opt')));
    expect(uncapped.stdout).toMatch(/completed (optimizing|compiling)/);
    const r = run(workerNodeFlags());
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('true');
    expect(r.stdout).not.toMatch(/completed (optimizing|compiling)/);
  });
});
