/**
 * Admission of new runs by how busy the machine's CPUs are.
 *
 * A run mostly waits for its script's clock, so several runs per core keep
 * a machine busy without crowding it, until the scripts' own commands
 * (shell scripts, `sysctl`, Python checks) and the kernel's work fill every
 * core: then each run's timed events wait for a CPU and verdicts flip.
 * How many runs a machine can afford depends on the corpus, not only on the
 * core count. So beyond one run per core, the next run starts only while
 * the CPUs were less than `busyLimit` busy over the last sample period, and
 * not sooner than `gapMs` after the previous start (its commands need some
 * time to show up in the figures).
 */
import { readFileSync } from 'node:fs';

export interface CpuTimes {
  busy: number;
  total: number;
}

/** The machine's CPU time so far, from /proc/stat's first line (in USER_HZ ticks). */
export function readCpuTimes(text: string = readFileSync('/proc/stat', 'utf8')): CpuTimes | null {
  const line = text.slice(0, text.indexOf('\n'));
  const f = line.trim().split(/\s+/);
  if (f[0] !== 'cpu' || f.length < 5) return null;
  const n = f.slice(1).map(Number);
  if (n.some((x) => !Number.isFinite(x))) return null;
  // user nice system idle iowait irq softirq steal (guest time is inside user)
  const idle = (n[3] ?? 0) + (n[4] ?? 0);
  const total = n.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

export interface CpuGateOptions {
  /** Runs that start without asking (one per core). */
  free: number;
  /** Busy fraction (0-1) above which no further run starts. */
  busyLimit?: number;
  /** How often the CPU figures are read, ms. */
  periodMs?: number;
  /** Least time between two starts beyond the free ones, ms. */
  gapMs?: number;
  /** The figures; /proc/stat by default (null: not available, and the gate stays open). */
  read?: () => CpuTimes | null;
  /** Timers, for tests. */
  setTimer?: (fn: () => void, ms: number) => { unref?(): void };
  clearTimer?: (t: unknown) => void;
  now?: () => number;
}

export interface CpuGate {
  /** Resolves when a run may start, given how many are running now. */
  admit(running: number): Promise<void>;
  close(): void;
}

export const DEFAULT_BUSY_LIMIT = 0.85;
/**
 * CPU figures are read every 33 ms; runs already waiting go at the next
 * sample, one a sample, so each start shows in the figures before the
 * next. Where scripts take under a second (most of the gtests corpus),
 * this rate, not the CPUs, sets the pace. Both corpora, default evidence,
 * first attempts, once a run's spin for the clock start no longer held
 * other runs' engines (priority.ts):
 *
 *   sample   rows agreeing        both corpora  gtests      machine busy
 *   100 ms   654, 656, 659        83 s          60 s        58 %
 *    50 ms   656, 655, 655, 656   70-72 s       51-52 s     63-65 %
 *    33 ms   658, 656, 658, 655   65-68 s       47-49 s     68-70 %
 *    25 ms   652, 653             63 s          46 s        73 %
 *
 * Once long runs started early (run-order.ts) and code ran in a warm
 * interpreter, the runs' CPU set the pace again: 653-659 rows over nine
 * runs in 52-57 s (gtests 39-42 s) at 33 ms, and 652, 653, 651 in
 * 58-59 s at 50 ms; a busy limit of 80 % instead of 85 % gave 657, 653,
 * 649 for 1-2 s more.
 *
 * /proc/stat counts in 10 ms ticks, so a 33 ms sample of 2 CPUs sees
 * about 7 of them: a coarse figure, but enough to hold runs back when
 * the CPUs are full.
 */
export const DEFAULT_PERIOD_MS = 33;
/**
 * A run asking one sample period after the last start may start. Earlier,
 * with 100 ms samples: a gap of a whole period let the gate set the pace
 * (both corpora in 98 s, the CPUs 41 % busy); 50 ms, 80 s and as many rows
 * agreeing (651-659 against 654-657 over a few runs each); 20 ms, the busy
 * limit set the pace; no gap at all, 62 s and 636 rows.
 */
export const DEFAULT_GAP_MS = 33;

export function cpuGate(opts: CpuGateOptions): CpuGate {
  const limit = opts.busyLimit ?? DEFAULT_BUSY_LIMIT;
  const period = opts.periodMs ?? DEFAULT_PERIOD_MS;
  const gap = opts.gapMs ?? DEFAULT_GAP_MS;
  const read = opts.read ?? (() => { try { return readCpuTimes(); } catch { return null; } });
  const setTimer = opts.setTimer ?? ((fn, ms) => setInterval(fn, ms));
  const clearTimer = opts.clearTimer ?? ((t) => clearInterval(t as NodeJS.Timeout));
  const now = opts.now ?? (() => performance.now());
  let last = read();
  let fraction: number | null = null;
  let lastStart = -Infinity;
  const waiting: Array<() => void> = [];

  const open = (): boolean => last === null || (fraction !== null && fraction < limit && now() - lastStart >= gap);
  const release = (): void => {
    while (waiting.length > 0 && open()) {
      lastStart = now();
      waiting.shift()!();
    }
  };
  const timer = last === null ? null : setTimer(() => {
    const cur = read();
    if (cur && last && cur.total > last.total) fraction = (cur.busy - last.busy) / (cur.total - last.total);
    last = cur;
    release();
  }, period);
  timer?.unref?.();

  return {
    admit(running: number): Promise<void> {
      if (running < opts.free || (waiting.length === 0 && open())) {
        lastStart = now();
        return Promise.resolve();
      }
      return new Promise((resolve) => waiting.push(resolve));
    },
    close(): void {
      if (timer) clearTimer(timer);
      for (const resolve of waiting.splice(0)) resolve();
    },
  };
}
