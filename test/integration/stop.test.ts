/**
 * Stopping runs: an orderly stop on SIGTERM (reports written, interrupted
 * runs marked, evidence kept, nothing left behind), workers that die with
 * the CLI and with their own time limit, and the private /tmp of a run.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureBuilt, FIXTURES, hasTool, ROOT, tundrill } from '../helpers/cli.js';

const skip = inject('integrationSkip');
const STOP = join(FIXTURES, 'stop');

let dir: string;
beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'tundrill-stop-test-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Worker processes of this checkout, and the fixtures' long command. */
function leftovers(): string[] {
  const r = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => (l.includes(join(ROOT, 'dist', 'runner')) && l.includes('worker.js')) || /\bsleep 25\b/.test(l));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await sleep(100);
  }
  return cond();
}

function start(args: string[]): { child: ReturnType<typeof spawn>; done: Promise<number | string> } {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'tundrill.js'), ...args], { stdio: 'ignore', detached: true });
  const done = new Promise<number | string>((r) => child.on('close', (code, sig) => r(code ?? sig ?? -1)));
  return { child, done };
}

describe.skipIf(skip !== null)('stopping runs', () => {
  it('SIGTERM: exit 143, the report lists the interrupted runs, captures kept, nothing left', async () => {
    const cap = join(dir, 'term');
    const report = join(dir, 'term.json');
    const { child, done } = start(['run', '-j', '2', '-q', '--ip_version=ipv4', '--capture-dir', cap, '--json', report,
      join(STOP, 'data-5s.pkt'), join(STOP, 'long-accept.pkt')]);
    // Both runs under way: their socket-state timelines exist.
    expect(await waitFor(() => existsSync(cap) && readdirSync(cap).filter((f) => f.endsWith('.sockets.jsonl')).length === 2, 60_000)).toBe(true);
    await sleep(1500);
    child.kill('SIGTERM');
    expect(await done).toBe(143);
    const r = JSON.parse(readFileSync(report, 'utf8')) as { runs: Array<{ script: string; firstError?: { kind: string }; evidence: { capture?: string } }> };
    expect(r.runs.map((x) => x.script).sort()).toEqual(['data-5s.pkt', 'long-accept.pkt']);
    for (const run of r.runs) expect(run.firstError?.kind).toBe('interrupted');
    const data = r.runs.find((x) => x.script === 'data-5s.pkt')!;
    expect(data.evidence.capture).toBe(join(cap, 'data-5s_ipv4.pcapng'));
    if (hasTool('tshark')) {
      const t = spawnSync('tshark', ['-r', data.evidence.capture!], { encoding: 'utf8' });
      expect(t.status).toBe(0);
      expect(t.stdout.trim().split('\n').length).toBeGreaterThanOrEqual(3);
    }
    await sleep(5000);
    expect(leftovers()).toEqual([]);
  });

  it('SIGTERM while the CLI is still loading: exit 143 and a report of no runs, nothing left', async () => {
    const report = join(dir, 'early.json');
    const { child, done } = start(['run', '-j', '2', '-q', '--ip_version=ipv4', '--capture-dir', join(dir, 'early'), '--json', report, join(STOP, 'data-5s.pkt'), join(STOP, 'long-accept.pkt')]);
    // As soon as bin/tundrill.js's first lines catch the stop signals (SIGHUP shows it: Node itself
    // catches SIGTERM and SIGINT from its start), long before the CLI has loaded.
    const catches = (): boolean => {
      try {
        const m = /^SigCgt:\s*([0-9a-f]+)/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        return m !== null && (BigInt(`0x${m[1]}`) & 1n) !== 0n;
      } catch {
        return false;
      }
    };
    const end = Date.now() + 10_000;
    while (!catches() && Date.now() < end) await sleep(2);
    child.kill('SIGTERM');
    expect(await done).toBe(143);
    const r = JSON.parse(readFileSync(report, 'utf8')) as { runs: unknown[] };
    expect(r.runs).toEqual([]);
    expect(await waitFor(() => leftovers().length === 0, 5000)).toBe(true);
  });

  it('SIGTERM during a scenario: exit 143, its row says interrupted, the capture is kept', async () => {
    const cap = join(dir, 'scenario-term');
    const report = join(dir, 'scenario-term.json');
    const { child, done } = start(['run', '-q', '--capture-dir', cap, '--json', report, join(ROOT, 'scenarios', 'tun-skb-orphan.ts')]);
    expect(await waitFor(() => existsSync(cap) && readdirSync(cap).some((f) => f.endsWith('.sockets.jsonl')), 60_000)).toBe(true);
    await sleep(2000);
    child.kill('SIGTERM');
    expect(await done).toBe(143);
    const r = JSON.parse(readFileSync(report, 'utf8')) as { runs: Array<{ firstError?: { kind: string; headline: string } }> };
    expect(r.runs).toHaveLength(1);
    expect(r.runs[0]!.firstError).toMatchObject({ kind: 'interrupted', headline: expect.stringMatching(/interrupted by SIGTERM before the run finished/) });
    const capture = readdirSync(cap).find((f) => f.endsWith('.pcapng'));
    expect(capture).toBeDefined();
    if (hasTool('tshark')) expect(spawnSync('tshark', ['-r', join(cap, capture!)], { encoding: 'utf8' }).status).toBe(0);
    expect(await waitFor(() => leftovers().length === 0, 5000)).toBe(true);
  });

  it('SIGKILL of the CLI takes its workers and what they started along', async () => {
    const cap = join(dir, 'kill');
    const { child, done } = start(['run', '-j', '2', '-q', '--ip_version=ipv4', '--capture-dir', cap, join(STOP, 'sleep.pkt'), join(STOP, 'long-accept.pkt')]);
    expect(await waitFor(() => existsSync(cap) && readdirSync(cap).filter((f) => f.endsWith('.sockets.jsonl')).length === 2, 60_000)).toBe(true);
    await sleep(1000);
    child.kill('SIGKILL');
    await done;
    expect(await waitFor(() => leftovers().length === 0, 5000)).toBe(true);
  });

  it('SIGKILL of a run\'s whole process group mid-run leaves a readable capture and socket-state timeline of what happened', async () => {
    const cap = join(dir, 'kill-group');
    const { child, done } = start(['run', '-q', '--ip_version=ipv4', '--capture-dir', cap, join(STOP, 'data-5s.pkt')]);
    expect(await waitFor(() => existsSync(join(cap, 'data-5s_ipv4.sockets.jsonl')), 60_000)).toBe(true);
    await sleep(2500);
    // The CLI and the worker at once, as a container's kill does: no handler runs.
    const workers = spawnSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean).map(Number);
    for (const w of workers) {
      try {
        process.kill(-w, 'SIGKILL');
      } catch {
        // its group is gone already
      }
    }
    process.kill(-child.pid!, 'SIGKILL');
    await done;
    const capture = join(cap, 'data-5s_ipv4.pcapng');
    expect(existsSync(capture)).toBe(true);
    if (hasTool('tshark')) {
      const t = spawnSync('tshark', ['-r', capture], { encoding: 'utf8' });
      expect(t.status, t.stderr).toBe(0);
      // The handshake and the first second of data, at least.
      expect(t.stdout.trim().split('\n').length).toBeGreaterThanOrEqual(4);
    }
    // The socket-state timeline is streamed too: the connection, established.
    const timeline = readFileSync(join(cap, 'data-5s_ipv4.sockets.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type?: string; socket?: { state?: string } });
    expect(timeline[0]!.type).toBe('start');
    expect(timeline.some((r) => r.socket?.state === 'ESTAB'), JSON.stringify(timeline.slice(0, 3))).toBe(true);
    expect(await waitFor(() => leftovers().length === 0, 5000)).toBe(true);
  });

  it('a blocked run ends at its time limit, with nothing left', async () => {
    const started = Date.now();
    const r = await tundrill(['run', '--timeout', '3', '--ip_version=ipv4', '--no-capture', join(STOP, 'long-accept.pkt')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/long-accept\.pkt/);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(await waitFor(() => leftovers().length === 0, 5000)).toBe(true);
  });

  it('every run has a private /tmp, also when the script lives under /tmp', async () => {
    const probe = `tundrill-private-probe-${process.pid}`;
    const script = join(dir, 'tmp-writer.pkt');
    writeFileSync(script, `0 \`touch /tmp/${probe} && test -d /tmp/.tundrill-host-tmp\`\n`);
    const r = await tundrill(['run', '--ip_version=ipv4', '--capture-dir', join(dir, 'tmpcap'), script]);
    expect(r.code).toBe(0);
    expect(existsSync(join('/tmp', probe))).toBe(false);
    expect(existsSync(join(dir, 'tmpcap', 'tmp-writer_ipv4.pcapng'))).toBe(true);
  });
});
