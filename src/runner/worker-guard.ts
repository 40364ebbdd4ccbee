/**
 * What every worker process does to keep evidence and not outlive its run:
 *
 * - SIGTERM, SIGINT and SIGHUP write whatever evidence the run has and end
 *   the worker (the CLI sends SIGTERM for an orderly stop);
 * - its own time limit: a JavaScript timer that writes the evidence, and an
 *   alarm(2) a little later that the kernel delivers even while the
 *   JavaScript thread sits in a blocking system call (SIGALRM ends the
 *   process; its PID namespace takes its children along);
 * - a private /tmp: a tmpfs over /tmp in the worker's own mount namespace,
 *   wiped after each run. Scripts and capture folders that live under the
 *   real /tmp, or on a mount under it, stay reachable through descriptors
 *   opened on them first.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as native from '../native/addon.js';
import { EXIT_FAIL } from '../engine/errors.js';

let flush: (() => void) | null = null;
let stopping = false;

/** The run in progress can write its evidence with `f` (null: no run). */
export function setFlush(f: (() => void) | null): void {
  flush = f;
}

function stop(): void {
  if (stopping) return;
  stopping = true;
  try {
    flush?.();
  } finally {
    process.exit(EXIT_FAIL);
  }
}

/** Stop in order on SIGTERM, SIGINT and SIGHUP. */
export function installStopHandlers(): void {
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, stop);
}

let jsTimer: NodeJS.Timeout | null = null;

/** Enforce `ms` for the run that starts now (0: none). A few seconds later the kernel ends the worker. */
export function armTimeLimit(ms: number): void {
  disarmTimeLimit();
  if (!(ms > 0)) return;
  jsTimer = setTimeout(stop, ms + 1000);
  jsTimer.unref();
  realTimer(Math.ceil(ms / 1000) + 6);
}

export function disarmTimeLimit(): void {
  if (jsTimer) clearTimeout(jsTimer);
  jsTimer = null;
  realTimer(0);
}

/** setitimer(ITIMER_REAL): SIGALRM after `secs` (0 cancels). */
function realTimer(secs: number): void {
  const nr = native.SYS['setitimer'];
  if (nr === undefined) return;
  const spec = Buffer.alloc(32); // struct itimerval: interval {sec, usec}, value {sec, usec}
  spec.writeBigInt64LE(BigInt(secs), 16);
  native.syscall(nr, [0 /* ITIMER_REAL */, spec, null]);
}

/** The worker's private /tmp; `path` maps a host path for the worker, `unmap` maps result text back. */
export interface PrivateTmp {
  active: boolean;
  path(p: string): string;
  unmap(text: string): string;
  wipe(): void;
}

/** Where the real /tmp stays reachable, inside the private one. */
const HOST_TMP = '/tmp/.tundrill-host-tmp';

/** `req` with every host path it names (script, evidence folder, packetdrill binary) as the worker sees it. */
export function mapRequestPaths<R extends { scriptPath: string; evidence: { dir: string }; packetdrill?: { binary: string } }>(req: R, tmp: PrivateTmp): R {
  return {
    ...req, scriptPath: tmp.path(req.scriptPath), evidence: { ...req.evidence, dir: req.evidence.dir && tmp.path(req.evidence.dir) },
    ...(req.packetdrill ? { packetdrill: { ...req.packetdrill, binary: tmp.path(req.packetdrill.binary) } } : {}),
  };
}

/** open(2)'s O_PATH (the same on every Linux architecture Node runs on); Node's fs.constants lacks it. */
const O_PATH = 0o10000000;

/** Mount points strictly under `dir`, in /proc/self/mountinfo's order (a mount before the ones on top of it). */
export function mountPointsUnder(dir: string, mountinfo: string): string[] {
  const out: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const f = line.split(' ');
    if (f.length < 5) continue;
    // Field 5 is the mount point, with space, tab, newline and backslash as octal escapes.
    const point = f[4]!.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (point.startsWith(`${dir}/`)) out.push(point);
  }
  return out;
}

/** Bind what `fd` names at `target` (mount -c: no resolving of the path to what now covers it). */
function bindFd(fd: number, target: string): void {
  const b = spawnSync('mount', ['-c', '--bind', '/proc/self/fd/3', target], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe', fd] });
  if (b.status !== 0) throw new Error(`cannot keep ${target.replace(HOST_TMP, '/tmp')} reachable: ${(b.stderr || '').trim()}`);
}

export function privateTmp(): PrivateTmp {
  const none: PrivateTmp = { active: false, path: (p) => p, unmap: (t) => t, wipe: () => {} };
  if (process.env.TUNDRILL_PRIVATE_TMP !== '1') return none;
  // The real /tmp, held open while the tmpfs covers it, then bound inside it
  // (the kernel follows the descriptor), so commands see it too. What is
  // mounted under it (a microVM guest's evidence share, a user's own tmpfs)
  // is held open too and bound at its place inside, one mount at a time:
  // a recursive bind of the real /tmp, taken after the tmpfs covers it,
  // would copy the tmpfs on top of it.
  let submounts: string[] = [];
  try {
    submounts = mountPointsUnder('/tmp', readFileSync('/proc/self/mountinfo', 'utf8'));
  } catch {
    /* none known */
  }
  const held: Array<[string, number]> = [];
  for (const m of submounts) {
    try {
      // O_PATH: nothing is read, and a FIFO or device bound there is not opened.
      held.push([m, openSync(m, O_PATH)]);
    } catch {
      /* not reachable from here either */
    }
  }
  const fds = [openSync('/tmp', 'r'), ...held.map(([, fd]) => fd)];
  try {
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'mode=1777,size=256m', 'tundrill-tmp', '/tmp'], { encoding: 'utf8' });
    if (r.status !== 0) {
      process.stderr.write(`tundrill worker: no private /tmp: ${(r.stderr || '').trim()}\n`);
      return none;
    }
    mkdirSync(HOST_TMP);
    bindFd(fds[0]!, HOST_TMP);
    for (const [m, fd] of held) bindFd(fd, `${HOST_TMP}/${m.slice(5)}`);
  } finally {
    for (const fd of fds) closeSync(fd);
  }
  return {
    active: true,
    path: (p) => (p === '/tmp' ? HOST_TMP : p.startsWith('/tmp/') ? `${HOST_TMP}/${p.slice(5)}` : p),
    unmap: (t) => t.split(`${HOST_TMP}/`).join('/tmp/'),
    wipe: () => {
      // Never into the real /tmp bound here.
      for (const name of readdirSync('/tmp')) if (`/tmp/${name}` !== HOST_TMP) rmSync(`/tmp/${name}`, { recursive: true, force: true });
    },
  };
}
