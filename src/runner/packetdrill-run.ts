/**
 * A run carried out by a packetdrill binary instead of tundrill's engine,
 * in the same place a tundrill run would be: the worker's fresh network
 * namespace (with loopback up), its private /tmp, on the host or inside a
 * guest kernel, with a PID namespace of its own. This is how `tundrill
 * conformance --packetdrill PATH` makes packetdrill's own verdicts on the
 * kernel under test, to compare tundrill's with. The binary is the user's; tundrill only starts it, in
 * the script's folder, with the flags packetdrill's run_all.py would pass,
 * and reads its exit status and first error line.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { EXIT_FAIL, EXIT_PASS } from '../engine/errors.js';
import type { RunResult } from '../engine/result.js';

export interface PacketdrillTool {
  /** The packetdrill executable (absolute path, as the worker sees it). */
  binary: string;
  /** Flags before the script name (`--ip_version=ipv4`, `-D NAME=VALUE`, ...). */
  args: string[];
}

/** Why `path` cannot be the packetdrill binary, or undefined when it can. */
export function packetdrillPathProblem(path: string): string | undefined {
  try {
    if (!statSync(path).isFile()) return `${path}: not a file`;
    accessSync(path, constants.X_OK);
    return undefined;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? `${path}: no such file` : `${path}: not executable (${code ?? String(e)})`;
  }
}

/** Output kept per stream: enough for any first error, bounded for scripts that print a lot. */
const KEEP_BYTES = 64 * 1024;

/**
 * packetdrill's first error as its reference verdicts record it: the first
 * line naming a script line (`name.pkt:27: ...`); else packetdrill's own
 * message naming the script (`name.pkt: error executing ...`); else the
 * last line of its error output (where its fatal message goes, after
 * whatever the script's commands printed).
 */
export function packetdrillFirstError(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trimEnd()).filter((l) => l.trim() !== '');
  return lines.find((l) => /\.pkt:\d+:/.test(l)) ?? lines.find((l) => /\.pkt: /.test(l)) ?? lines[lines.length - 1] ?? '';
}

/** The script line a first error names, or 0. */
function lineOf(headline: string): number {
  const m = /\.pkt:(\d+):/.exec(headline);
  return m ? Number(m[1]) : 0;
}

/** The result of one packetdrill run, in the form every report reads. */
export function packetdrillResult(script: string, variant: string, status: number | null, signal: string | null, stderr: string, durationMs: number): RunResult {
  const pass = status === 0;
  const headline = pass ? '' : packetdrillFirstError(stderr) || `${basename(script)}: packetdrill ${signal ? `killed by ${signal}` : `exited with status ${status}`}`;
  return {
    script, variant, verdict: pass ? 'pass' : 'fail', exitCode: pass ? EXIT_PASS : EXIT_FAIL, durationMs,
    warnings: [], evidence: {}, packets: { injected: 0, sniffed: 0 }, injectionErrorsUsecs: [],
    ...(pass ? {} : { firstError: { line: lineOf(headline), headline, text: stderr.trim() || headline, kind: 'packetdrill' as const } }),
  };
}

/**
 * Run `tool` on `scriptPath` in the calling process's namespace. `onKill`
 * receives a function that ends the run at once (a stopped worker).
 */
export function runPacketdrill(tool: PacketdrillTool, scriptPath: string, displayPath: string, variant: string, onKill: (kill: () => void) => void): Promise<RunResult> {
  // A namespace made for the run starts with loopback down; tundrill's own
  // runs bring it up, and so must this one for the verdicts to compare.
  spawnSync('ip', ['link', 'set', 'dev', 'lo', 'up'], { stdio: 'ignore' });
  const started = performance.now();
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      // A PID namespace with its own /proc: packetdrill reads
      // /proc/<getpid()>/task/<tid>/stat to see whether a system call
      // blocks, and the worker's PID namespace has the host's /proc.
      child = spawn('unshare', ['--pid', '--fork', '--mount-proc', '--kill-child=KILL', '--', tool.binary, ...tool.args, basename(scriptPath)], {
        cwd: dirname(scriptPath), stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (e) {
      resolve(packetdrillResult(displayPath, variant, null, null, `${tool.binary}: ${(e as Error).message}`, 0));
      return;
    }
    onKill(() => child.kill('SIGKILL'));
    let stderr = '';
    child.stdout!.resume();
    child.stderr!.on('data', (d: Buffer) => {
      if (stderr.length < KEEP_BYTES) stderr += d.toString();
    });
    child.on('error', (e) => {
      stderr += `${tool.binary}: ${e.message}\n`;
    });
    child.on('close', (status, signal) => {
      resolve(packetdrillResult(displayPath, variant, status, signal, stderr, performance.now() - started));
    });
  });
}
