/**
 * The warm interpreter for `%{ }%` code gives what `python3 FILE` gives:
 * each program below runs both ways, and the exit status and the output
 * must be the same (tracebacks included).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { closeWarmInterpreters, isPlainPython, runWithWarmInterpreter } from '../../src/engine/code-interpreter.js';
import { runShell, shellEnv } from '../../src/engine/shell.js';

const hasPython = spawnSync('python3', ['--version']).status === 0;
const work = mkdtempSync(join(tmpdir(), 'tundrill-warm-python-'));
afterAll(() => {
  closeWarmInterpreters();
  rmSync(work, { recursive: true, force: true });
});

let n = 0;
/** `program` run by python3 through the shell and by the warm interpreter. */
async function bothWays(program: string, env: NodeJS.ProcessEnv = {}): Promise<{ shell: { status: number | null; out: string }; warm: { status: number; out: string } }> {
  const dir = join(work, String(n++));
  spawnSync('mkdir', ['-p', dir]);
  const file = join(dir, 'code.py');
  writeFileSync(file, program);
  const shell = runShell(`python3 ${file}`, { cwd: work, env });
  const warm = await runWithWarmInterpreter('python3', file, work, shellEnv(work, env), dir);
  expect(warm, 'the warm interpreter ran the file').not.toBeNull();
  return { shell: { status: shell.status, out: `${shell.stdout}|${shell.stderr}` }, warm: { status: warm!.status, out: `${warm!.stdout}|${warm!.stderr}` } };
}

describe('isPlainPython', () => {
  it('takes the interpreter itself and nothing else', () => {
    expect(isPlainPython('python3')).toBe(true);
    expect(isPlainPython(' python ')).toBe(true);
    expect(isPlainPython('python3 -u')).toBe(false);
    expect(isPlainPython('/usr/bin/python3')).toBe(false);
    expect(isPlainPython('false')).toBe(false);
  });
});

describe.skipIf(!hasPython)('warm interpreter against python3 FILE', () => {
  const cases: Array<[string, string]> = [
    ['a passing file with output on both streams', 'import sys\nprint("out")\nsys.stderr.write("err\\n")\n'],
    ['an assertion that fails, through a custom excepthook', [
      'import sys, traceback',
      'def hook(t, v, tb):',
      '  sys.stderr.write("x.pkt:9: error in Python code\\n")',
      '  traceback.print_exception(t, v, tb)',
      'sys.excepthook = hook',
      'def f():',
      '  assert 1 == 2, "one is not two"',
      'f()',
      '',
    ].join('\n')],
    ['a NameError with the default hook', 'print(no_such_name)\n'],
    ['a syntax error', 'x = (1,\n'],
    ['sys.exit with a number', 'import sys\nprint("before")\nsys.exit(4)\n'],
    ['sys.exit with a text', 'import sys\nsys.exit("bye")\n'],
    ['what the file sees of itself', [
      'import os, sys',
      'print(__name__, os.path.basename(sys.argv[0]), os.path.basename(sys.path[0]) == os.path.basename(os.path.dirname(__file__)), os.getcwd())',
      '',
    ].join('\n')],
    ['atexit handlers and unflushed output', 'import atexit, sys\natexit.register(lambda: print("at exit"))\nsys.stdout.write("no newline")\n'],
    ['stdin at end of file', 'import sys\nprint(repr(sys.stdin.read()))\n'],
    ['a death by signal', 'import os, signal\nos.kill(os.getpid(), signal.SIGTERM)\n'],
  ];
  for (const [name, program] of cases) {
    it(name, async () => {
      const r = await bothWays(program);
      expect(r.warm).toEqual(r.shell);
    });
  }

  it('the environment of the run', async () => {
    const r = await bothWays('import os\nprint(os.environ.get("TUNDRILL_TEST_VAR"))\n', { TUNDRILL_TEST_VAR: 'seen' });
    expect(r.warm).toEqual(r.shell);
    expect(r.warm.out).toBe('seen\n|');
  });

  it('keeps no state from one file to the next', async () => {
    const first = await bothWays('import sys\nsys.modules["tundrill_marker"] = 1\nglobal_x = 5\n');
    expect(first.warm.status).toBe(0);
    const second = await bothWays('import sys\nprint("tundrill_marker" in sys.modules, "global_x" in globals())\n');
    expect(second.warm).toEqual(second.shell);
    expect(second.warm.out).toBe('False False\n|');
  });

  it('is not used for another code command', async () => {
    expect(await runWithWarmInterpreter('python3 -u', join(work, 'none.py'), work, shellEnv(work), work)).toBeNull();
  });
});
