import { describe, expect, it } from 'vitest';
import { cpuGate, readCpuTimes, type CpuTimes } from '../../src/runner/cpu-gate.js';

describe('readCpuTimes', () => {
  it('counts idle and iowait as idle, the rest of the first eight fields as busy', () => {
    const t = readCpuTimes('cpu  100 5 50 800 20 3 2 10 7 0\ncpu0 1 2 3 4\n');
    expect(t).toEqual({ busy: 100 + 5 + 50 + 3 + 2 + 10, total: 990 });
  });
  it('is null for text that is not /proc/stat', () => {
    expect(readCpuTimes('intr 1 2 3\n')).toBeNull();
    expect(readCpuTimes('cpu a b c d\n')).toBeNull();
  });
  it('reads this machine', () => {
    const t = readCpuTimes();
    expect(t!.total).toBeGreaterThan(t!.busy);
  });
});

/** A gate on a hand-driven clock and CPU counter. */
function driven(free: number) {
  let t = 0;
  let cpu: CpuTimes = { busy: 0, total: 0 };
  let tick: (() => void) | null = null;
  const gate = cpuGate({
    free, periodMs: 100, busyLimit: 0.85,
    read: () => cpu,
    setTimer: (fn) => { tick = fn; return {}; },
    clearTimer: () => { tick = null; },
    now: () => t,
  });
  /** 100 ms pass with the CPUs `busy` (0-1) busy. */
  const period = async (busy: number) => {
    t += 100;
    cpu = { busy: cpu.busy + busy * 200, total: cpu.total + 200 };
    tick?.();
    await new Promise((r) => setImmediate(r));
  };
  return { gate, period };
}

/** How many of `admissions` have resolved once pending callbacks ran. */
async function settled(admissions: Promise<void>[]): Promise<number> {
  let n = 0;
  for (const a of admissions) void a.then(() => n++);
  await new Promise((r) => setImmediate(r));
  return n;
}

describe('cpuGate', () => {
  it('starts one run per core at once, without waiting', async () => {
    const { gate } = driven(2);
    expect(await settled([gate.admit(0), gate.admit(1)])).toBe(2);
  });

  it('holds a further run while the CPUs are busy, and lets it go when they have room', async () => {
    const { gate, period } = driven(2);
    let started = false;
    void gate.admit(2).then(() => { started = true; });
    await period(0.97);
    await period(0.95);
    expect(started).toBe(false);
    await period(0.84);
    expect(started).toBe(true);
  });

  it('lets waiting runs go one per period, so each start shows in the figures before the next', async () => {
    const { gate, period } = driven(1);
    const order: number[] = [];
    for (const k of [1, 2, 3]) void gate.admit(1).then(() => order.push(k));
    await period(0.2);
    expect(order).toEqual([1]);
    await period(0.2);
    expect(order).toEqual([1, 2]);
    await period(0.9);
    expect(order).toEqual([1, 2]);
    await period(0.3);
    expect(order).toEqual([1, 2, 3]);
  });

  it('lets a run that asks start at once when the CPUs have room and the gap since the last start has passed', async () => {
    let t = 0;
    let cpu: CpuTimes = { busy: 0, total: 0 };
    let tick: (() => void) | null = null;
    const gate = cpuGate({
      free: 1, periodMs: 100, gapMs: 50, busyLimit: 0.85,
      read: () => cpu, setTimer: (fn) => { tick = fn; return {}; }, clearTimer: () => {}, now: () => t,
    });
    t = 100;
    cpu = { busy: 40, total: 200 };
    tick!();
    expect(await settled([gate.admit(1)])).toBe(1); // t = 100: the first start beyond the free one
    t = 130;
    const early = gate.admit(1); // 30 ms after it: waits
    expect(await settled([early])).toBe(0);
    t = 200;
    cpu = { busy: 80, total: 400 };
    tick!(); // the next sample lets it go
    expect(await settled([early])).toBe(1);
    t = 260;
    expect(await settled([gate.admit(1)])).toBe(1); // 60 ms after that start, asking: at once
  });

  it('stays open where the CPU figures cannot be read, and close() lets every waiting run go', async () => {
    const open = cpuGate({ free: 1, read: () => null });
    expect(await settled([open.admit(5), open.admit(6)])).toBe(2);
    open.close();
    const { gate } = driven(1);
    const held = gate.admit(3);
    gate.close();
    await held;
  });
});
