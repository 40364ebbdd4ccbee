/**
 * Machine stalls: when nothing of a run can run for a while (here: its
 * processes stopped with SIGSTOP for 400 ms in the middle of a script of
 * idle calls 100 ms apart), the call after the stall is late, the run
 * fails as packetdrill's would, and the failure says that the stall
 * accounts for the lateness.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { ensureBuilt, FIXTURES, ROOT } from '../helpers/cli.js';
import * as native from '../../src/native/addon.js';

const skip = inject('integrationSkip');

/** Every process below `pid`, from /proc. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(e)]);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

function signalAll(pids: number[], sig: NodeJS.Signals): void {
  for (const p of pids) {
    try {
      process.kill(p, sig);
    } catch {
      // gone
    }
  }
}

/** Thirty idle calls 100 ms apart; the first event marks the start of the script's clock. */
function idleCallsScript(dir: string): string {
  const lines = ['0 `touch started`', '+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3'];
  for (let i = 0; i < 30; i++) lines.push('+0.1 getsockopt(3, SOL_SOCKET, SO_REUSEADDR, [0], [4]) = 0');
  const file = join(dir, 'idle-calls.pkt');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** Run the idle-calls script and stop all its processes for 400 ms, 0.5 s into the script. */
async function runWithStop(extra: string[]): Promise<{ code: number | null; out: string }> {
  ensureBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'tundrill-stall-'));
  try {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'tundrill.js'), 'run', '--no-capture', '--sample-interval', '0',
      '--ip_version=ipv4', ...extra, idleCallsScript(dir)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    const deadline = Date.now() + 30_000;
    while (!existsSync(join(dir, 'started'))) {
      if (Date.now() > deadline) throw new Error(`the script never started:\n${out}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, 500));
    // The CLI (whose stall monitor watches) and its worker: the whole run stops, as in a stall of the machine.
    const workers = descendants(child.pid!);
    if (workers.length === 0) throw new Error(`no worker to stop:\n${out}`);
    const pids = [child.pid!, ...workers];
    signalAll(pids, 'SIGSTOP');
    await new Promise((r) => setTimeout(r, 400));
    signalAll(pids, 'SIGCONT');
    return { code: await closed, out };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.skipIf(skip !== null)('machine stalls', () => {
  it('a late event that a stall accounts for fails, and says the machine stalled', async () => {
    const { code, out } = await runWithStop(['--stall-retries', '0']);
    expect(code, out).toBe(1);
    expect(out).toMatch(/idle-calls\.pkt:\d+: timing error: expected system call start/);
    const m = /machine stall: the machine did not run for ([\d.]+) ms at [\d.]+ s \(a timer fired that late, not counting waits for a CPU\); that accounts for the ([\d.]+) ms beyond the tolerance/.exec(out);
    expect(m, out).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(300);
    expect(Number(m![1])).toBeLessThan(2000);
    expect(Number(m![1]) + 1).toBeGreaterThanOrEqual(Number(m![2]));
  }, 60_000);

  it('by default the spoiled run is made again, and the report says so', async () => {
    const { code, out } = await runWithStop([]);
    expect(code, out).toBe(0);
    expect(out).toMatch(/OK +\[idle-calls\.pkt \(ipv4\)\]/);
    expect(out).toMatch(/1 earlier attempt spoiled by machine stalls \([\d.]+ ms\): idle-calls\.pkt:\d+: timing error/);
  }, 60_000);

  it('a wait for a CPU is not a stall: real-time work above the monitor on every CPU for 60 ms', async () => {
    const HOLD_MS = 60;
    const cpus = Array.from({ length: availableParallelism() }, (_, i) => i);
    // Every CPU held at SCHED_FIFO 50 over the same 60 ms, a second from now:
    // the monitor (below the runs' engines) cannot run, yet its timer fires
    // on time. The processes start before the monitor does: forking this
    // large process copies its page tables, which on a virtual machine can
    // hold back the monitor's timer itself.
    const startAt = Date.now() + 1000;
    const hog = `const nap = new Int32Array(new SharedArrayBuffer(4)); Atomics.wait(nap, 0, 0, Math.max(0, ${startAt} - Date.now()));` +
      `const end = Date.now() + ${HOLD_MS}; while (Date.now() < end);`;
    const hogs = cpus.map((c) => spawn('taskset', ['-c', String(c), 'chrt', '-f', '50', process.execPath, '-e', hog], { stdio: 'ignore' }));
    const closed = Promise.all(hogs.map((h) => new Promise<number | null>((r) => h.on('close', r))));
    await new Promise((r) => setTimeout(r, 500));
    native.stallMonitorStart(1000, 1000);
    try {
      const t0 = native.nowNs();
      expect(await closed).toEqual(cpus.map(() => 0));
      await new Promise((r) => setTimeout(r, 100));
      const report = native.stallMonitorStalls(t0, native.nowNs());
      expect(report.runDelays).toBe(true);
      expect(report.cpuWaits).toBeGreaterThan(0);
      // The 60 ms the monitor waited for a CPU are not a stall. A stall of
      // the machine itself may still fall in the window and is rightly
      // reported: on this project's virtual machine, a few ms now and then
      // (CI saw 2.7 and 6.6 ms here); the wait, counted as a stall, would
      // be one of about 60 ms.
      const long = report.stalls.filter(([from, to]) => to - from >= BigInt(HOLD_MS / 2) * 1_000_000n);
      expect(long, `stalls (ms): ${report.stalls.map(([a, b]) => Number(b - a) / 1e6).join(', ')}`).toEqual([]);
    } finally {
      native.stallMonitorStop();
    }
  }, 30_000);

  it('a timing failure that no stall explains says nothing of the machine', async () => {
    ensureBuilt();
    const { tundrill } = await import('../helpers/cli.js');
    const r = await tundrill(['run', '--no-capture', '--ip_version=ipv4', join(FIXTURES, 'fail', 'late-packet.pkt')]);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/timing error/);
    expect(r.stdout + r.stderr).not.toMatch(/machine stall/);
  }, 60_000);
});
