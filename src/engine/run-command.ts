/**
 * Backtick commands: run with /bin/sh in the run's namespace, in the
 * script's folder, with packetdrill's environment (PACKETDRILL_PID), and
 * judged as packetdrill's safe_system() judges them, started as system(3)
 * starts them (shell.ts).
 */
import { accessSync, constants, lstatSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { runShell } from './shell.js';

export interface CommandResult {
  ok: boolean;
  /** packetdrill's wording of the failure, e.g. `non-zero status 1`. */
  error?: string;
  status: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/**
 * A checkout made without symlink support stores a symlink as a small text
 * file holding the link target. The packetdrill corpora use such links for
 * their shared `defaults.sh`; resolve them so the command runs what the
 * link points to. Returns the target path or null when `word` is not such a
 * stub.
 */
export function resolveSymlinkStub(word: string, cwd: string): string | null {
  const path = isAbsolute(word) ? word : resolve(cwd, word);
  try {
    const st = lstatSync(path);
    if (!st.isFile() || st.size === 0 || st.size > 4096) return null;
    try {
      accessSync(path, constants.X_OK);
      return null; // executable: a real program
    } catch {
      /* not executable: maybe a stub */
    }
    const text = readFileSync(path, 'utf8');
    if (text.includes('\n') || text.includes(' ') || text.includes('\0')) return null;
    const target = resolve(dirname(path), text);
    if (!statSync(target).isFile()) return null;
    return target;
  } catch {
    return null;
  }
}

/** Replace symlink-stub paths that start a line of a shell command by their targets. */
export function rewriteCommand(commandLine: string, cwd: string): string {
  return commandLine
    .split('\n')
    .map((line) => {
      const m = /^(\s*)([^\s;&|<>()$`'"]+)(.*)$/s.exec(line);
      if (!m) return line;
      const [, lead, word, rest] = m as unknown as [string, string, string, string];
      if (!word.includes('/')) return line;
      const target = resolveSymlinkStub(word, cwd);
      return target ? `${lead}${target}${rest}` : line;
    })
    .join('\n');
}

export function runShellCommand(commandLine: string, opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): CommandResult {
  const started = performance.now();
  const cmd = rewriteCommand(commandLine, opts.cwd);
  const r = runShell(cmd, {
    cwd: opts.cwd,
    env: { PACKETDRILL_PID: String(process.pid), ...(opts.env ?? {}) },
    ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
  });
  const durationMs = performance.now() - started;
  const base = { status: r.status, stdout: r.stdout, stderr: r.stderr, durationMs };
  if (r.error) return { ...base, ok: false, error: r.error };
  if (r.signal === 'SIGINT' || r.signal === 'SIGQUIT') {
    return { ...base, ok: false, error: `got signal ${r.signal}` };
  }
  if (r.signal) {
    // system(3) reports a child killed by another signal as exit status 0.
    return { ...base, ok: true };
  }
  if (r.status !== 0) return { ...base, ok: false, error: `non-zero status ${r.status}` };
  return { ...base, ok: true };
}
