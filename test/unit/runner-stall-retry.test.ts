import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/engine/result.js';
import { noteLateKernelTimer, noteMachineStall, withStallRetries, type StallMonitor } from '../../src/runner/stall-retry.js';

function result(verdict: 'pass' | 'fail', stalled: boolean): RunResult {
  return {
    script: 'x.pkt', variant: 'ipv4', verdict, exitCode: verdict === 'pass' ? 0 : 1, durationMs: 1, warnings: [],
    evidence: {}, packets: { injected: 0, sniffed: 0 }, injectionErrorsUsecs: [],
    ...(verdict === 'fail' ? {
      firstError: {
        line: 9, headline: 'x.pkt:9: timing error', text: 'x.pkt:9: timing error', kind: 'timing' as const,
        ...(stalled ? { machineStall: { stalls: [{ atUsecs: 400_000, ms: 30 }], totalMs: 30, lateMs: 26 } } : {}),
      },
    } : {}),
  };
}

function attempts(...rs: RunResult[]): { once: () => Promise<{ result: RunResult }>; count: () => number } {
  let i = 0;
  return { once: async () => ({ result: rs[Math.min(i++, rs.length - 1)]! }), count: () => i };
}

describe('withStallRetries', () => {
  it('runs again after a stall-spoiled failure and keeps the spoiled attempt', async () => {
    const a = attempts(result('fail', true), result('pass', false));
    const o = await withStallRetries(a.once, 2, null);
    expect(a.count()).toBe(2);
    expect(o.result.verdict).toBe('pass');
    expect(o.result.stallAttempts).toEqual([{ headline: 'x.pkt:9: timing error', machineStall: { stalls: [{ atUsecs: 400_000, ms: 30 }], totalMs: 30, lateMs: 26 } }]);
    expect(o.result.warnings.join('\n')).toMatch(/1 earlier attempt spoiled by machine stalls \(30 ms\): x\.pkt:9: timing error/);
  });

  it('never repeats a failure that no stall explains', async () => {
    const a = attempts(result('fail', false), result('pass', false));
    const o = await withStallRetries(a.once, 2, null);
    expect(a.count()).toBe(1);
    expect(o.result.verdict).toBe('fail');
    expect(o.result.stallAttempts).toBeUndefined();
  });

  it('stops after the allowed retries and reports the last failure', async () => {
    const a = attempts(result('fail', true));
    const o = await withStallRetries(a.once, 2, null);
    expect(a.count()).toBe(3);
    expect(o.result.verdict).toBe('fail');
    expect(o.result.stallAttempts?.length).toBe(2);
  });

  it('with no retries, reports the first attempt as it is', async () => {
    const a = attempts(result('fail', true), result('pass', false));
    const o = await withStallRetries(a.once, 0, null);
    expect(a.count()).toBe(1);
    expect(o.result.verdict).toBe('fail');
  });
});

describe('noteMachineStall', () => {
  const origin = 5_000_000_000n;
  const monitor = (stalls: Array<[number, number]>): StallMonitor & { started: number; stopped: number } => {
    const m = {
      started: 0,
      stopped: 0,
      start: () => { m.started++; return true; },
      stop: () => { m.stopped++; },
      stalls: (from: bigint, to: bigint) => ({
        stalls: stalls.map(([a, b]) => [origin + BigInt(a * 1000), origin + BigInt(b * 1000)] as [bigint, bigint]).filter(([a, b]) => b >= from && a <= to),
        wakeups: 100, running: true, realtime: true,
      }),
    };
    return m;
  };
  const late = (): RunResult => {
    const r = result('fail', false);
    r.clockStartNs = origin.toString();
    r.timing = [{ line: 9, kind: 'outbound', expectedUsecs: 400_000, actualUsecs: 430_000, toleranceUsecs: 4_000 }];
    return r;
  };

  it('marks a timing failure that the monitor\'s stalls account for', () => {
    const r = late();
    noteMachineStall(r, monitor([[398_000, 428_000]]));
    expect(r.firstError?.machineStall?.totalMs).toBe(30);
    // The same for an outbound packet's, a packet error; not for one that was not late.
    const p = late();
    p.firstError!.kind = 'packet';
    noteMachineStall(p, monitor([[398_000, 428_000]]));
    expect(p.firstError?.machineStall?.totalMs).toBe(30);
    const onTime = late();
    onTime.firstError!.kind = 'packet';
    onTime.timing = [{ line: 9, kind: 'outbound', expectedUsecs: 400_000, actualUsecs: 401_000, toleranceUsecs: 4_000 }];
    noteMachineStall(onTime, monitor([[398_000, 428_000]]));
    expect(onTime.firstError?.machineStall).toBeUndefined();
    expect(r.firstError?.text).toMatch(/machine stall: the machine did not run for 30 ms at 0\.398 s \(a timer fired that late/);
  });

  it('leaves a failure alone when no stall accounts for it, or when the run has no clock origin', () => {
    const r = late();
    noteMachineStall(r, monitor([[410_000, 412_000]]));
    expect(r.firstError?.machineStall).toBeUndefined();
    const o = late();
    delete o.clockStartNs;
    noteMachineStall(o, monitor([[398_000, 428_000]]));
    expect(o.firstError?.machineStall).toBeUndefined();
  });

  it('withStallRetries watches while the runs go on, and runs a spoiled one again', async () => {
    const m = monitor([[398_000, 428_000]]);
    let n = 0;
    const o = await withStallRetries(async () => ({ result: n++ === 0 ? late() : result('pass', false) }), 2, m);
    expect(n).toBe(2);
    expect(o.result.verdict).toBe('pass');
    expect(o.result.stallAttempts?.[0]?.machineStall.totalMs).toBe(30);
    expect([m.started, m.stopped]).toEqual([1, 1]);
  });
});

describe('noteLateKernelTimer', () => {
  const origin = 7_000_000_000n;
  const ns = (usecs: number): string => (origin + BigInt(usecs * 1000)).toString();
  const lateRun = (timeline: string | undefined): RunResult => {
    const r = result('fail', false);
    r.clockStartNs = origin.toString();
    r.timing = [
      { line: 8, kind: 'inbound', expectedUsecs: 200_000, actualUsecs: 200_050, toleranceUsecs: 4_000 },
      { line: 9, kind: 'outbound', expectedUsecs: 228_000, actualUsecs: 236_000, toleranceUsecs: 4_000 },
    ];
    if (timeline !== undefined) {
      const dir = mkdtempSync(join(tmpdir(), 'tundrill-late-timer-'));
      r.evidence.timeline = join(dir, 'x.sockets.jsonl');
      writeFileSync(r.evidence.timeline, timeline);
    }
    return r;
  };
  const line = (o: object): string => `${JSON.stringify(o)}\n`;
  const timeline = line({ type: 'start', sampler: 'sock_diag', intervalMs: 10, tsNs: ns(0) }) +
    line({ type: 'socket', tsNs: ns(200_300), endNs: ns(200_320), cause: 'in', packetNs: ns(200_050), key: 'a1',
      socket: { state: 'ESTAB', timer: { kind: 'on', expiresMs: 28, retransmits: 0 } } });

  it('adds what the socket-state timeline shows to the failure, and keeps the failure', async () => {
    const r = lateRun(timeline);
    // An outbound packet's lateness is a packet error, as packetdrill words it.
    r.firstError!.kind = 'packet';
    const o = await withStallRetries(async () => ({ result: r }), 2, null);
    expect(o.result.verdict).toBe('fail');
    expect(o.result.firstError?.kernelTimerLate).toEqual({ sampledAtUsecs: 200_300, timerMs: 28, dueUsecs: 229_300, packetUsecs: 236_000, lateMs: 6.7 });
    expect(o.result.firstError?.text).toMatch(/\nkernel timer late: sock_diag at 0\.2003 s .* 6\.7 ms after it was due/);
  });

  it('says nothing without a timeline, or when the timer shown was due too late for the line', () => {
    const none = lateRun(undefined);
    noteLateKernelTimer(none);
    expect(none.firstError?.kernelTimerLate).toBeUndefined();
    const later = lateRun(timeline.replace('"expiresMs":28', '"expiresMs":40'));
    noteLateKernelTimer(later);
    expect(later.firstError?.kernelTimerLate).toBeUndefined();
    expect(later.firstError?.text).toBe('x.pkt:9: timing error');
  });
});
