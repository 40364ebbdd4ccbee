/**
 * `/bin/sh -c` for the script's commands and code, started as system(3)
 * starts it (native spawnWait: posix_spawn, no copy of the harness's page
 * tables), so that a command costs the harness about what it costs
 * packetdrill, in the harness's environment with a pyenv `python3` shim
 * resolved once (interpreter-shims.ts). Output comes back as text.
 */
import { constants } from 'node:os';
import * as native from '../native/addon.js';
import { processShims } from './interpreter-shims.js';

export interface ShellResult {
  /** Exit status; null when a signal ended the shell or it never ran. */
  status: number | null;
  /** The signal that ended the shell, by name (SIGINT), or null. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Why the shell did not run to its end: it could not start, or ran out of time. */
  error?: string;
}

const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(
  Object.entries(constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]),
);

/** The environment commands run with in `cwd`: the harness's, with the shims' PATH; `extra` adds to it. */
export function shellEnv(cwd: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, PATH: processShims().pathFor(cwd), ...extra };
}

/** Run `command` in `cwd`; `env` adds to (or overrides) the harness's environment. */
export function runShell(command: string, opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): ShellResult {
  const env = shellEnv(opts.cwd, opts.env);
  const r = native.spawnWait('/bin/sh', ['sh', '-c', command], { cwd: opts.cwd, env, timeoutMs: opts.timeoutMs ?? 0 });
  const out: ShellResult = {
    status: r.status,
    signal: r.signal === null ? null : SIGNAL_NAMES.get(r.signal) ?? null,
    stdout: r.stdout.toString('utf8'),
    stderr: r.stderr.toString('utf8'),
  };
  if (r.spawnErrno !== 0) out.error = `cannot run /bin/sh: ${native.strerror(r.spawnErrno)} (${native.errnoName(r.spawnErrno)})`;
  else if (r.timedOut) out.error = `still running after ${opts.timeoutMs} ms, stopped`;
  return out;
}
