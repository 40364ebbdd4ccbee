/**
 * `%{ }%` code blocks, the way packetdrill runs them: at each block's time
 * the socket under test's TCP_INFO, TCP_CC_INFO and SO_MEMINFO are read and
 * kept with the block's text; after the script (and its cleanup command)
 * all blocks are written, in order, into one Python file that is run with
 * --code_command (python3: by a warm interpreter, code-interpreter.ts;
 * any other command through shell.ts).
 * A failing assertion prints `<script>:<line>: error in Python code`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runWithWarmInterpreter } from './code-interpreter.js';
import { runShell, shellEnv } from './shell.js';

export type CodeFragment =
  | { kind: 'text'; line: number; text: string }
  | { kind: 'data'; assignments: string };

const PREAMBLE = [
  'import sys',
  'import traceback',
  'def excepthook(etype, value, tb):',
  '  sys.stderr.write("%s:%d: error in Python code\\n" %',
  '                   (_file, _line))',
  '  traceback.print_exception(etype, value, tb)',
  '',
  'sys.excepthook = excepthook',
  '',
].join('\n');

export class CodeRecorder {
  readonly fragments: CodeFragment[] = [];

  addData(assignments: string): void {
    this.fragments.push({ kind: 'data', assignments });
  }

  addText(line: number, text: string): void {
    this.fragments.push({ kind: 'text', line, text });
  }

  /** The Python program for all recorded blocks. */
  program(displayPath: string): string {
    const parts = [PREAMBLE, ''];
    const quoted = displayPath.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
    for (const f of this.fragments) {
      if (f.kind === 'data') parts.push(f.assignments);
      else parts.push(`_file = '${quoted}'\n_line = ${f.line}\n${f.text}\n\n`);
    }
    return parts.join('\n');
  }

  /**
   * Run the program. Returns null on success, or the failure: the line the
   * Python excepthook names (0 if none) and packetdrill's error text.
   */
  async execute(displayPath: string, command: string, cwd: string): Promise<{ line: number; message: string; output: string } | null> {
    if (this.fragments.length === 0) return null;
    const dir = mkdtempSync(join(tmpdir(), 'tundrill-code-'));
    const file = join(dir, 'code.py');
    try {
      writeFileSync(file, this.program(displayPath));
      // The default command through a warm interpreter (code-interpreter.ts), anything else through the shell.
      const warm = await runWithWarmInterpreter(command, file, cwd, shellEnv(cwd), dir);
      const r: { status: number | null; stdout: string; stderr: string; error?: string } = warm ?? runShell(`${command} ${file}`, { cwd });
      const output = `${r.stdout}${r.stderr}`;
      if (r.error) return { line: 0, message: `error running '${command}': ${r.error}`, output };
      if (r.status === 0) return null;
      const m = /^(.*):(\d+): error in Python code$/m.exec(r.stderr);
      if (m) return { line: Number(m[2]), message: 'error in Python code', output };
      return { line: 0, message: `error executing code: '${command}' returned non-zero status ${r.status}`, output };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
