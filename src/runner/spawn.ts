/**
 * Start a worker in a network namespace of its own and collect its result:
 * `unshare --net` makes the namespace and executes Node in it, so the
 * namespace (its tun0, sockets and sysctls) is gone when the worker exits,
 * however it exits.
 */
import { signalWorker, spawnWorker } from './worker-process.js';
import { fileURLToPath } from 'node:url';
import { EXIT_FAIL } from '../engine/errors.js';
import type { RunResult } from '../engine/result.js';
import type { WorkerRequest } from './worker.js';

const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));

export interface WorkerOutcome {
  result: RunResult | null;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  wallMs: number;
}

/**
 * V8 compiles a function the first time it runs unless told otherwise; in
 * the middle of a script that costs up to a millisecond per event path, a
 * quarter of the timing tolerance. The worker compiles everything up front
 * instead (about 80 ms more start-up), and to baseline (Sparkplug) machine
 * code too: otherwise V8 compiles a batch of functions to it on the JS
 * thread once they have run enough, and on bench/inbound-absolute-
 * bursts.pkt that batch came between the engine reaching a packet's time
 * and its write, 100-150 µs, at the first packet after the warm-up (and
 * inside bursts). Over both corpora the CPU and the rows that agree stayed
 * within the spread from run to run (four runs each, interleaved).
 * Baseline is also the top tier (--max-opt=1, no TurboFan): V8 optimizes a
 * hot function on another thread, but installs the result on the JS thread
 * at its next interrupt check, 35-133 µs of finishing work (--trace-opt)
 * that fell at a deterministic point of a script, mostly on the return
 * from the spin to a packet's time, before its write. On bench/inbound-
 * absolute-bursts.pkt (engine traces) the injections over 25 µs late were
 * such gaps of 37-53 µs between the spin's end and the next line; the
 * own-stamp p99 went from 61.9 to 31.6 µs, and on inbound-data-acked.pkt
 * from 33.8 to 9.2 µs (max 222.7 to 39.3). The engine's work is small and
 * mostly in the addon: the reaction to a packet the kernel sent (wire p50,
 * 21 µs) did not change, and over both corpora the workers used less CPU
 * (63-64 % of the machine against 68-69 %, gtests 38.2-38.5 s against
 * 39.1-39.3 s), no compilations to pay for. The
 * young generation starts at 16 MB a semi-space instead of growing from 1
 * MB: a scavenge stops the JS thread for 1-8 ms on a busy machine, and with
 * a small young generation one fell inside nearly every script of a few
 * hundred milliseconds; at 16 MB the bench scripts run without one (about
 * 32 MB more memory per worker). V8's memory reducer is off: in a script
 * that waits for seconds (nonblocking-connect-bypass-errno waits 13 s), it
 * took the quiet for a moment to shrink the heap, marked it in a hundred
 * steps and stopped the JS thread 2.6-5.3 ms to finish, mid-script. A
 * worker that runs one script after another collects before each clock
 * start (engine/collect-garbage.ts), which keeps its heap small anyway.
 * TUNDRILL_NODE_FLAGS replaces the flags.
 */
export const DEFAULT_WORKER_NODE_FLAGS = '--no-lazy --always-sparkplug --max-opt=1 --expose-gc --no-memory-reducer --max-semi-space-size=32 --min-semi-space-size=16';

export function workerNodeFlags(): string[] {
  const env = process.env.TUNDRILL_NODE_FLAGS;
  return (env ?? DEFAULT_WORKER_NODE_FLAGS).split(' ').filter(Boolean);
}

export function runWorker(req: WorkerRequest, opts: { timeoutMs: number; passthrough: boolean }): Promise<WorkerOutcome> {
  const started = performance.now();
  const arg = Buffer.from(JSON.stringify(req)).toString('base64');
  const child = spawnWorker([...workerNodeFlags(), WORKER, arg], {
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    env: {
      ...process.env, UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? '8', TUNDRILL_PRIVATE_TMP: '1',
      TUNDRILL_TIMEOUT_MS: String(opts.timeoutMs),
    },
  });
  let stdout = '';
  let stderr = '';
  let resultText = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (opts.passthrough) process.stdout.write(d);
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (opts.passthrough) process.stderr.write(d);
  });
  const fd3 = child.stdio[3] as NodeJS.ReadableStream;
  fd3.on('data', (d: Buffer) => { resultText += d.toString(); });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    signalWorker(child, 'SIGTERM');
    setTimeout(() => signalWorker(child, 'SIGKILL'), 5000).unref();
  }, opts.timeoutMs);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      let result: RunResult | null = null;
      const text = resultText || /@@tundrill-result (.*)$/m.exec(stdout)?.[1] || '';
      if (text) {
        try {
          result = JSON.parse(text) as RunResult;
        } catch {
          result = null;
        }
      }
      resolve({ result, exitCode: code ?? (signal ? EXIT_FAIL : null), signal, timedOut, stdout, stderr, wallMs: performance.now() - started });
    });
  });
}
