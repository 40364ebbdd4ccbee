/**
 * `%{ }%` blocks: the Python program packetdrill would write for them, run
 * for real with python3, and the script line a failing assertion names.
 */
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { CodeRecorder } from '../../src/engine/run-code.js';

const hasPython = spawnSync('python3', ['--version']).status === 0;

describe('CodeRecorder.program', () => {
  it('starts with the excepthook that names the failing script line', async () => {
    const c = new CodeRecorder();
    c.addText(7, 'assert True');
    const p = c.program('t.pkt');
    expect(p.startsWith('import sys\nimport traceback\ndef excepthook(etype, value, tb):\n')).toBe(true);
    expect(p).toContain('  sys.stderr.write("%s:%d: error in Python code\\n" %\n                   (_file, _line))\n');
    expect(p).toContain('sys.excepthook = excepthook\n');
  });

  it('writes data and blocks in the order recorded, each block with its file and line', async () => {
    const c = new CodeRecorder();
    c.addData('tcpi_state = 1\ntcpi_rto = 204000');
    c.addText(12, 'assert tcpi_state == 1');
    c.addData('tcpi_state = 8');
    c.addText(20, 'print(tcpi_state)');
    const p = c.program('dir/t.pkt');
    const order = ['tcpi_state = 1', "_file = 'dir/t.pkt'\n_line = 12\nassert tcpi_state == 1\n", 'tcpi_state = 8', "_file = 'dir/t.pkt'\n_line = 20\nprint(tcpi_state)\n"];
    let at = 0;
    for (const part of order) {
      const i = p.indexOf(part, at);
      expect(i, part).toBeGreaterThanOrEqual(at);
      at = i + part.length;
    }
  });

  it('quotes the path for a Python string literal', async () => {
    const c = new CodeRecorder();
    c.addText(1, 'pass');
    expect(c.program("it's\\odd.pkt")).toContain("_file = 'it\\'s\\\\odd.pkt'");
  });
});

describe.skipIf(!hasPython)('CodeRecorder.execute with python3', () => {
  it('does nothing when there is no block', async () => {
    expect(await new CodeRecorder().execute('t.pkt', 'false', tmpdir())).toBeNull();
  });

  it('passes when every assertion holds', async () => {
    const c = new CodeRecorder();
    c.addData('tcpi_state = 1\ntcpi_snd_cwnd = 10');
    c.addText(5, 'assert tcpi_state == 1, tcpi_state');
    c.addData('tcpi_state = 1\ntcpi_snd_cwnd = 20');
    c.addText(9, 'assert tcpi_snd_cwnd == 20, tcpi_snd_cwnd');
    expect(await c.execute('t.pkt', 'python3', tmpdir())).toBeNull();
  });

  it('names the line of the block that fails, with the traceback as output', async () => {
    const c = new CodeRecorder();
    c.addData('tcpi_state = 1');
    c.addText(5, 'assert tcpi_state == 1');
    c.addData('tcpi_state = 8');
    c.addText(9, 'x = 1\nassert tcpi_state == 1, tcpi_state');
    c.addText(14, 'assert False, "never reached"');
    const r = await c.execute('my.pkt', 'python3', tmpdir());
    expect(r).not.toBeNull();
    expect(r!.line).toBe(9);
    expect(r!.message).toBe('error in Python code');
    expect(r!.output).toMatch(/^my\.pkt:9: error in Python code$/m);
    expect(r!.output).toContain('AssertionError: 8');
    expect(r!.output).not.toContain('never reached');
  });

  it('names the line for any Python exception, not only assertions', async () => {
    const c = new CodeRecorder();
    c.addText(3, 'print(no_such_name)');
    const r = await c.execute('t.pkt', 'python3', tmpdir());
    expect(r).toMatchObject({ line: 3, message: 'error in Python code' });
    expect(r!.output).toContain('NameError');
  });

  it('reports a code command that fails without the hook, with its status', async () => {
    const c = new CodeRecorder();
    c.addText(3, 'pass');
    expect(await c.execute('t.pkt', 'false', tmpdir())).toMatchObject({
      line: 0, message: "error executing code: 'false' returned non-zero status 1",
    });
    expect(await c.execute('t.pkt', 'python3 -c "import sys; sys.exit(4)"', tmpdir())).toMatchObject({
      line: 0, message: 'error executing code: \'python3 -c "import sys; sys.exit(4)"\' returned non-zero status 4',
    });
  });

  it('runs the command in the given folder', async () => {
    const c = new CodeRecorder();
    c.addText(2, `import os\nassert os.getcwd() == ${JSON.stringify(tmpdir())}, os.getcwd()`);
    expect(await c.execute('t.pkt', 'python3', tmpdir())).toBeNull();
  });
});
