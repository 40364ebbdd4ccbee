/**
 * Machine stalls: when nothing of a run can run for a while (here: its
 * processes stopped with SIGSTOP for 400 ms in the middle of a script of
 * idle calls 100 ms apart), the call after the stall is late, the run
 * fails as packetdrill's would, and the failure says that the stall
 * accounts for the lateness.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { ensureBuilt, FIXTURES, ROOT } from '../helpers/cli.js';

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
    const m = /machine stall: not even the run's highest-priority thread ran for ([\d.]+) ms at [\d.]+ s; that accounts for the ([\d.]+) ms beyond the tolerance/.exec(out);
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

  it('a timing failure that no stall explains says nothing of the machine', async () => {
    ensureBuilt();
    const { tundrill } = await import('../helpers/cli.js');
    const r = await tundrill(['run', '--no-capture', '--ip_version=ipv4', join(FIXTURES, 'fail', 'late-packet.pkt')]);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/timing error/);
    expect(r.stdout + r.stderr).not.toMatch(/machine stall/);
  }, 60_000);
});
