/**
 * Periodic `ss` samples of the calling process's network namespace (the
 * worker already lives in the run's namespace, so ss is simply spawned).
 *
 * Each sample is stamped with CLOCK_MONOTONIC nanoseconds:
 * process.hrtime.bigint() reads CLOCK_MONOTONIC on Linux (libuv's
 * uv_hrtime), the clock the native addon stamps packets and system calls
 * with, so samples line up with the capture. `tsNs` is taken just before ss
 * is spawned and `endNs` when its output is complete; the kernel's socket
 * table was read between the two (ss dumps it a millisecond or so after
 * starting).
 *
 * Ticks fall on a fixed grid (start + k * intervalMs). Two ss processes never
 * run at once: a tick that comes while ss still runs is skipped. stop()
 * resolves once the sample in flight (and, if asked, one final sample) has
 * been delivered.
 *
 * The default command is `ss -tinoemHa`: -t TCP, -i tcp_info, -n numeric,
 * -o timers, -e details (uid, inode, cookie), -m socket memory (skmem: t is
 * sk_wmem_alloc), -H no header, and -a because
 * without it ss hides LISTEN, SYN-RECV and TIME-WAIT sockets, which a state
 * timeline needs.
 */
import { spawn } from 'node:child_process';
import { parseSs, type SsSocket } from './ss-parser.js';

export const DEFAULT_SS_ARGS: readonly string[] = ['-t', '-i', '-n', '-o', '-e', '-m', '-H', '-a'];

export interface SsSample {
  /** CLOCK_MONOTONIC ns just before ss was started. */
  tsNs: bigint;
  /** CLOCK_MONOTONIC ns when ss's output was complete. */
  endNs: bigint;
  sockets: SsSocket[];
  /** ss's output verbatim (only with keepText). */
  text?: string;
}

export interface SsSamplerOptions {
  /** Sampling period; default 100 ms. */
  intervalMs?: number;
  onSample: (sample: SsSample) => void;
  /**
   * Failures (ss missing, non-zero exit, unparsable output, a throwing
   * onSample). Without it they are kept in `errors`. Sampling goes on.
   */
  onError?: (err: Error) => void;
  /**
   * Either an ss filter expression appended to the command line (e.g.
   * ['sport', '=', ':8080']), or a predicate applied to parsed sockets.
   * Note that an ss filter naming a single state makes ss drop its State
   * column; such sockets are parsed with state 'UNKNOWN'.
   */
  filter?: readonly string[] | ((socket: SsSocket) => boolean);
  /** ss options; default DEFAULT_SS_ARGS. */
  args?: readonly string[];
  /** ss executable; default `ss` from PATH. */
  command?: string;
  /** Keep the raw output in each sample's `text`. */
  keepText?: boolean;
  /** Take one more sample when stop() is called. Default false. */
  finalSample?: boolean;
}

export interface SsSampler {
  /** Stop ticking; resolves after the last sample has been delivered. */
  stop(): Promise<void>;
  /** Samples delivered so far. */
  readonly samples: number;
  /** Ticks skipped because the previous ss was still running. */
  readonly skipped: number;
  /** Errors when no onError was given (at most the first 100). */
  readonly errors: readonly Error[];
}

/** Run ss once and return its output with the monotonic times around it. */
export function runSsOnce(
  args: readonly string[] = DEFAULT_SS_ARGS,
  command = 'ss',
): Promise<{ text: string; tsNs: bigint; endNs: bigint }> {
  return new Promise((resolve, reject) => {
    const tsNs = process.hrtime.bigint();
    let child;
    try {
      child = spawn(command, [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      reject(new Error(`cannot run ${command}: ${(e as Error).message}`));
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new Error(`cannot run ${command}: ${e.message}`)));
    child.on('close', (code, signal) => {
      const endNs = process.hrtime.bigint();
      if (code !== 0) {
        const why = signal ? `was killed by ${signal}` : `exited with status ${code}`;
        const msg = Buffer.concat(err).toString('utf8').trim();
        reject(new Error(`${command} ${args.join(' ')} ${why}${msg ? `: ${msg}` : ''}`));
        return;
      }
      resolve({ text: Buffer.concat(out).toString('utf8'), tsNs, endNs });
    });
  });
}

export function startSsSampler(opts: SsSamplerOptions): SsSampler {
  const intervalMs = opts.intervalMs ?? 100;
  if (!(intervalMs > 0)) throw new Error(`ss sampler interval must be positive, got ${intervalMs}`);
  const filter = opts.filter;
  const args = [...(opts.args ?? DEFAULT_SS_ARGS), ...(Array.isArray(filter) ? filter : [])];
  const select = typeof filter === 'function' ? filter : null;
  const command = opts.command ?? 'ss';
  const errors: Error[] = [];
  let samples = 0;
  let skipped = 0;
  let stopped = false;
  let inFlight: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;
  const startNs = process.hrtime.bigint();
  const intervalNs = BigInt(Math.round(intervalMs * 1e6));
  let tick = 0n;

  const report = (e: Error): void => {
    if (opts.onError) {
      try {
        opts.onError(e);
      } catch {
        // A failing error handler must not stop sampling.
      }
    } else if (errors.length < 100) errors.push(e);
  };

  const sampleOnce = async (): Promise<void> => {
    let r: { text: string; tsNs: bigint; endNs: bigint };
    try {
      r = await runSsOnce(args, command);
    } catch (e) {
      report(e as Error);
      return;
    }
    let sockets: SsSocket[];
    try {
      sockets = parseSs(r.text);
    } catch (e) {
      report(new Error(`ss output not understood: ${(e as Error).message}`));
      return;
    }
    if (select) sockets = sockets.filter(select);
    const sample: SsSample = { tsNs: r.tsNs, endNs: r.endNs, sockets };
    if (opts.keepText) sample.text = r.text;
    samples++;
    try {
      opts.onSample(sample);
    } catch (e) {
      report(new Error(`ss sample handler failed: ${(e as Error).message}`));
    }
  };

  const schedule = (): void => {
    if (stopped) return;
    const now = process.hrtime.bigint();
    tick++;
    let due = startNs + tick * intervalNs;
    if (due <= now) {
      // Skip the ticks that passed while ss was running.
      const behind = (now - due) / intervalNs + 1n;
      skipped += Number(behind);
      tick += behind;
      due = startNs + tick * intervalNs;
    }
    timer = setTimeout(run, Number((due - now) / 1_000_000n));
    timer.unref();
  };

  const run = (): void => {
    timer = null;
    if (stopped || inFlight) return;
    inFlight = sampleOnce().finally(() => {
      inFlight = null;
      schedule();
    });
  };

  run();

  return {
    get samples() {
      return samples;
    },
    get skipped() {
      return skipped;
    },
    get errors() {
      return errors;
    },
    async stop() {
      if (stopped) {
        if (inFlight) await inFlight;
        return;
      }
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      while (inFlight) await inFlight;
      if (opts.finalSample) await sampleOnce();
    },
  };
}
