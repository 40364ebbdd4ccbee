/**
 * A warm Python interpreter for `%{ }%` code, so that a run does not pay
 * Python's start-up for its one code file. Started once per worker for
 * each program `python3` comes to (interpreter-shims.ts programFor: pyenv
 * may select another per folder), it forks for each file; the child does what `python3 FILE`
 * does (FILE as `__main__`, its folder first on sys.path, the run's
 * working folder, environment and network namespace, stdin from
 * /dev/null, exit status from SystemExit or 1 after an uncaught exception
 * printed by sys.excepthook, atexit handlers run) and exits. A fresh
 * `python3` cost 40-65 ms of CPU here (pyenv's site imports certifi
 * through a .pth file), about a quarter of the gtests corpus's CPU time;
 * a fork of the warm one about 6 ms.
 *
 * Only the default code command (`python3`, or `python`) goes through it;
 * any other runs through the shell as before, and so does everything when
 * the interpreter cannot be started or fails (TUNDRILL_NO_WARM_PYTHON=1
 * turns it off).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { constants } from 'node:os';
import { createInterface, type Interface } from 'node:readline';
import { processShims } from './interpreter-shims.js';

const SIGINT = constants.signals.SIGINT;
const SIGPIPE = constants.signals.SIGPIPE;

/** The server: one request (a JSON line) at a time, one status line back. */
const SERVER = String.raw`
import json, os, sys, traceback
import ctypes
_libc = ctypes.CDLL(None, use_errno=True)
_CLONE_NEWNET = 0x40000000
_own_out = os.fdopen(os.dup(1), 'w')
def _enter_netns(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        if _libc.setns(fd, _CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), 'setns ' + path)
    finally:
        os.close(fd)
def _exit_code(e):
    c = e.code
    if c is None:
        return 0
    if isinstance(c, int):
        return c & 0xff
    try:
        sys.stderr.write(str(c) + '\n')
    except Exception:
        pass
    return 1
def _child(req):
    os.chdir(req['cwd'])
    os.environ.clear()
    os.environ.update(req['env'])
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    for fd, path in ((1, req['stdout']), (2, req['stderr'])):
        f = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(f, fd)
        os.close(f)
    path = req['file']
    sys.argv = [path]
    sys.path[0] = os.path.dirname(os.path.abspath(path))
    import runpy
    status = 0
    try:
        runpy.run_path(path, run_name='__main__')
    except SystemExit as e:
        status = _exit_code(e)
    except BaseException as e:
        tb = e.__traceback__
        # The file's own frames only, as python3 FILE prints them.
        while tb is not None and tb.tb_frame.f_code.co_filename != path:
            tb = tb.tb_next
        e.__traceback__ = tb
        try:
            sys.excepthook(type(e), e, tb)
        except Exception:
            traceback.print_exception(type(e), e, tb)
        status = 1
    try:
        import atexit
        atexit._run_exitfuncs()
    except BaseException:
        pass
    for s in (sys.stdout, sys.stderr):
        try:
            s.flush()
        except Exception:
            pass
    os._exit(status)
for line in sys.stdin:
    req = json.loads(line)
    status = None
    try:
        if req.get('netns'):
            _enter_netns(req['netns'])
        pid = os.fork()
    except OSError as e:
        _own_out.write(json.dumps({'error': str(e)}) + '\n')
        _own_out.flush()
        continue
    if pid == 0:
        try:
            _child(req)
        finally:
            os._exit(70)
    _, st = os.waitpid(pid, 0)
    if os.WIFSIGNALED(st):
        import signal
        n = os.WTERMSIG(st)
        reply = {'signal': n, 'text': signal.strsignal(n) or ('Signal %d' % n)}
    else:
        reply = {'status': os.WEXITSTATUS(st)}
    _own_out.write(json.dumps(reply) + '\n')
    _own_out.flush()
`;

/** What running a code file gave: the exit status as the shell reports it, and the output. */
export interface CodeFileResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** The code commands that mean the interpreter itself. */
const PLAIN_COMMANDS = new Set(['python3', 'python']);

export function isPlainPython(command: string): boolean {
  return PLAIN_COMMANDS.has(command.trim());
}

/** The calling thread's network namespace, as a path another process can open. */
function ownNetns(): string | undefined {
  try {
    return join('/proc', readlinkSync('/proc/thread-self'), 'ns/net');
  } catch {
    return undefined;
  }
}

class WarmInterpreter {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: Interface;
  private readonly replies: string[] = [];
  private waiting: ((line: string | null) => void) | null = null;
  private dead = false;
  private busy: Promise<unknown> = Promise.resolve();

  constructor(program: string, env: NodeJS.ProcessEnv) {
    // In /, so that no module in a script's folder stands in for one the server imports.
    this.child = spawn(program, ['-c', SERVER], { cwd: '/', env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.on('error', () => this.end());
    this.child.on('exit', () => this.end());
    this.child.stdin.on('error', () => this.end());
    this.child.stderr.resume();
    this.lines = createInterface({ input: this.child.stdout });
    this.lines.on('line', (line) => {
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = null;
        w(line);
      } else {
        this.replies.push(line);
      }
    });
    this.lines.on('close', () => this.end());
  }

  get alive(): boolean {
    return !this.dead;
  }

  private end(): void {
    this.dead = true;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w(null);
    }
  }

  private next(): Promise<string | null> {
    const line = this.replies.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.dead) return Promise.resolve(null);
    return new Promise((resolve) => { this.waiting = resolve; });
  }

  /** Run `file`; null when the interpreter could not (the caller then runs it the ordinary way). */
  run(req: { file: string; cwd: string; env: NodeJS.ProcessEnv; stdout: string; stderr: string }): Promise<CodeFileResult | null> {
    const go = async (): Promise<CodeFileResult | null> => {
      if (this.dead) return null;
      const netns = ownNetns();
      this.child.stdin.write(`${JSON.stringify({ ...req, ...(netns ? { netns } : {}) })}\n`);
      const line = await this.next();
      if (line === null) return null;
      let reply: { status?: number; signal?: number; text?: string; error?: string };
      try {
        reply = JSON.parse(line) as typeof reply;
      } catch {
        this.kill();
        return null;
      }
      if (reply.error !== undefined) return null;
      const read = (p: string): string => {
        try {
          return readFileSync(p, 'utf8');
        } catch {
          return '';
        }
      };
      if (reply.signal === undefined) return { status: reply.status ?? 1, stdout: read(req.stdout), stderr: read(req.stderr) };
      // As the shell that runs `python3 FILE` reports a child a signal ended
      // (sh names the signal, except SIGINT and SIGPIPE).
      const named = reply.signal !== SIGINT && reply.signal !== SIGPIPE ? `${reply.text ?? `Signal ${reply.signal}`}\n` : '';
      return { status: 128 + reply.signal, stdout: read(req.stdout), stderr: `${read(req.stderr)}${named}` };
    };
    const r = this.busy.then(go, go);
    this.busy = r;
    return r;
  }

  kill(): void {
    this.dead = true;
    this.child.kill('SIGKILL');
  }
}

/** The warm interpreters, by program (a worker's own environment does not change between runs). */
const interpreters = new Map<string, WarmInterpreter>();
let exitHooked = false;

/**
 * Run the code file `file` with `command` (which isPlainPython accepts) in
 * `cwd` with `env` (shell.ts shellEnv(cwd)), through the warm interpreter
 * of the program `command` comes to there; null when none can run it.
 */
export async function runWithWarmInterpreter(
  command: string, file: string, cwd: string, env: NodeJS.ProcessEnv, outDir: string,
): Promise<CodeFileResult | null> {
  if (process.env.TUNDRILL_NO_WARM_PYTHON === '1' || !isPlainPython(command)) return null;
  // The interpreter `command` comes to in `cwd` (pyenv may select a
  // different one per folder): one warm interpreter per program, whatever
  // the folder, since each child takes its run's folder and environment.
  const program = processShims().programFor(command.trim(), cwd);
  if (!program) return null;
  let w = interpreters.get(program);
  if (!w || !w.alive) {
    w = new WarmInterpreter(program, env);
    interpreters.set(program, w);
    if (!exitHooked) {
      exitHooked = true;
      process.once('exit', closeWarmInterpreters);
    }
  }
  const r = await w.run({ file, cwd, env, stdout: join(outDir, 'stdout'), stderr: join(outDir, 'stderr') });
  if (!r) {
    w.kill();
    interpreters.delete(program);
  }
  return r;
}

/** Stop every warm interpreter (at exit, and in tests). */
export function closeWarmInterpreters(): void {
  for (const w of interpreters.values()) w.kill();
  interpreters.clear();
}
