/**
 * Inbound packets due at the same instant (`+0` after an inbound line, or
 * the same absolute time), run by the real interpreter loop and packet
 * runner over an in-memory device with a fake native binding: they go out
 * back to back, before any of them is kept in the evidence or checked; then
 * each is recorded and checked as its own event, with the stamp of its own
 * write; and the burst stops wherever one event would have ended the run.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { nowNs, useNativeBinding } from '../../src/native/addon.js';
import { useCoarseSleep } from '../../src/engine/clock-wait.js';
import { finalizeConfig } from '../../src/engine/config.js';
import { TestFailure } from '../../src/engine/errors.js';
import { NetDevice } from '../../src/engine/netdev.js';
import { PacketRunner } from '../../src/engine/run-packet.js';
import { inboundDueWith, runEvents, type EventHandlers } from '../../src/engine/run.js';
import { FdTable } from '../../src/engine/sockets.js';
import { newRunContext, RunClock, type RunContext, type RunEvent } from '../../src/engine/state.js';
import { CaptureLog, captureComment } from '../../src/evidence/capture-log.js';
import { VNET_FRAMING, VNET_HDR_LEN } from '../../src/backend/tun-device.js';
import type { DeviceIo } from '../../src/backend/system-under-test.js';
import { parseScript } from '../../src/script/parser.js';
import { fakeNativeBinding } from '../fakes/native-binding.js';

/** One write to the device: when, what, and how much bookkeeping had been done by then. */
interface Write {
  tsNs: bigint;
  frame: Buffer;
  /** Capture records and packet-hook calls made before this write. */
  recordsBefore: number;
  hookCallsBefore: number;
}

type TunWriteResultLike = ReturnType<DeviceIo['write']>;

interface Rig {
  ctx: RunContext;
  runner: PacketRunner;
  dev: NetDevice;
  capture: CaptureLog;
  writes: Write[];
  /** Each call of the device's burst write: how many frames, and the stop limits it was given. */
  burstCalls: Array<{ frames: number; stopAfterNs: bigint[] }>;
  /** Each hold of the device's reader: until when, and how many writes had been made by then. */
  holds: Array<{ untilNs: bigint; writesBefore: number }>;
  hookCalls: Array<{ tsNs: bigint; direction: string }>;
  /** Other events (system calls, commands, code) the test sees, with their anchored times. */
  others: RunEvent[];
  handlers: EventHandlers;
}

/**
 * The script's clock starts `startInMs` from now. `onWrite(n)` may change
 * the outcome of the n-th write (0-based): a later stamp or a refusal.
 */
function rig(source: string, onWrite?: (n: number, r: TunWriteResultLike) => TunWriteResultLike, startInMs = 1, burstWrites = true): Rig {
  const script = parseScript(source, { path: 'burst.pkt' });
  const clock = new RunClock({ nowNs });
  clock.liveStartNs = nowNs() + BigInt(startInMs * 1e6);
  const ctx = newRunContext({ config: finalizeConfig({}), script, displayPath: 'burst.pkt', scriptDir: '/tmp', fds: new FdTable(), clock });
  const capture = new CaptureLog();
  const writes: Write[] = [];
  const hookCalls: Rig['hookCalls'] = [];
  const holds: Rig['holds'] = [];
  const burstCalls: Rig['burstCalls'] = [];
  const io: DeviceIo = {
    framing: VNET_FRAMING,
    readerStart: () => ({ stop: () => [], take: () => [], waitFor: () => 0, hold: (untilNs) => { holds.push({ untilNs, writesBefore: writes.length }); } }),
    write(frame) {
      let r: TunWriteResultLike = { tsNs: nowNs(), ret: frame.length, errno: 0 };
      if (onWrite) r = onWrite(writes.length, r);
      writes.push({ tsNs: r.tsNs, frame: Buffer.from(frame), recordsBefore: capture.records.length, hookCallsBefore: hookCalls.length });
      return r;
    },
  };
  // As the addon's tunWriteBurst does it: stop after a refused write and after one later than its limit.
  if (burstWrites) {
    io.writeBurst = (frames, stopAfterNs) => {
      burstCalls.push({ frames: frames.length, stopAfterNs: [...stopAfterNs] });
      const tsNs: bigint[] = [];
      for (const [i, f] of frames.entries()) {
        const r = io.write(f);
        tsNs.push(r.tsNs);
        if (r.ret < 0) return { tsNs, ret: r.ret, errno: r.errno };
        if (r.tsNs > stopAfterNs[i]!) break;
      }
      return { tsNs, ret: frames[tsNs.length - 1]!.length, errno: 0 };
    };
  }
  const dev = new NetDevice(io, capture, (_data, tsNs, direction) => hookCalls.push({ tsNs, direction }));
  dev.start();
  let port = 40000;
  const runner = new PacketRunner(ctx, dev, capture, { ephemeralPort: () => port++ });
  const others: RunEvent[] = [];
  const other = async (ev: RunEvent): Promise<void> => {
    others.push(ev);
    await Promise.resolve();
  };
  const handlers = { packet: (ev: RunEvent) => runner.run(ev), syscall: other, command: other, code: other };
  return { ctx, runner, dev, capture, writes, burstCalls, holds, hookCalls, others, handlers };
}

const never = new Promise<never>(() => {});


/** The script line each written frame came from, by the capture's comments (frames carry no line). */
function linesOf(capture: CaptureLog): number[] {
  return capture.records.filter((r) => r.direction === 'in').map((r) => Number(/script line (\d+)/.exec(captureComment(r) ?? '')![1]));
}

const SYN = '< S 0:0(0) win 1000';
const ACK = '< . 1:1(0) ack 1 win 1000';

/**
 * A clock of its own, so that no verdict here depends on how busy the
 * machine is: every reading moves it on by a microsecond (a spin on it
 * ends), and a sleep jumps it to the deadline after a few real
 * milliseconds (during which the event loop runs, as it would).
 */
let virtualNs = 1_000_000_000n;
const virtualNow = (): bigint => (virtualNs += 1000n);

describe('inbound packets due at the same instant', () => {
  beforeAll(() => {
    // The engine's waits sleep a few real milliseconds, then move the virtual clock on.
    useCoarseSleep((untilNs) => new Promise<void>((resolve) => {
      setTimeout(() => {
        if (virtualNs < untilNs) virtualNs = untilNs;
        resolve();
      }, 3);
    }));
    useNativeBinding({ ...fakeNativeBinding(), nowNs: virtualNow });
  });

  it('are written back to back, then each is recorded and checked with the stamp of its own write', async () => {
    const r = rig([
      `0 ${SYN}`, `+0 ${ACK}`, `+0 ${ACK}`, // a burst at 0
      `0.010 ${ACK}`, `0.010 ${ACK}`, `+0 ${ACK}`, // one at 10 ms, by absolute and relative times
      '+0.005 `true`', // anchored when the loop gets to it, after the last packet went out
    ].join('\n'));
    await runEvents(r.ctx, r.handlers, never);

    expect(r.writes).toHaveLength(6);
    // No capture record and no hook call between the writes of a burst.
    expect(r.writes.map((w) => w.recordsBefore)).toEqual([0, 0, 0, 3, 3, 3]);
    expect(r.writes.map((w) => w.hookCallsBefore)).toEqual([0, 0, 0, 3, 3, 3]);
    // Every packet recorded, in script order, with its own stamp and line.
    expect(linesOf(r.capture)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(r.capture.records.map((c) => c.tsNs)).toEqual(r.writes.map((w) => w.tsNs));
    expect(captureComment(r.capture.records[1]!)!.trimEnd()).toBe('script line 2: < . 1:1(0) ack 1 win 1000');
    expect(r.capture.records.map((c) => c.data.length)).toEqual(r.writes.map((w) => w.frame.length - VNET_HDR_LEN));
    expect(r.hookCalls.map((h) => h.tsNs)).toEqual(r.writes.map((w) => w.tsNs));
    expect(r.dev.injectionErrorsNs).toHaveLength(6);
    // Every event after the first checked against its own write.
    const ev = r.ctx.events;
    for (let i = 1; i < 6; i++) expect(ev[i]!.actualUsecs).toBe(r.ctx.clock.scriptUsecs(r.writes[i]!.tsNs));
    expect(ev.slice(0, 6).map((e) => e.times.usecs)).toEqual([0, 0, 0, 10_000, 10_000, 10_000]);
    expect(ev[5]!.times.offsetUsecs).toBe(10_000);
    // The next relative time counts from when the loop got to it: after the last packet's write and its record.
    const cmd = r.others[0]!;
    expect(cmd.times.offsetUsecs).toBeGreaterThan(Math.trunc(r.ctx.clock.scriptUsecs(r.writes[5]!.tsNs)));
    // The writes of a burst went out together, not one event turn apart.
    expect(r.writes[2]!.tsNs >= r.writes[0]!.tsNs).toBe(true);
    expect(r.dev.injectionErrorsNs.every((e) => e >= 0n)).toBe(true);
  });

  it('keep the device\'s reader thread off the device from before the wait until the event loop\'s next turn', async () => {
    const r = rig([`0 ${SYN}`, `+0 ${ACK}`, `0.010 ${ACK}`, `+0.0005 ${ACK}`].join('\n'));
    await runEvents(r.ctx, r.handlers, never);
    await new Promise((resolve) => setImmediate(resolve));
    expect(r.writes).toHaveLength(4);
    // A hold before the first write of a burst, bounded 10 ms after its
    // time, ended (0) when the loop turns: during the 10 ms wait, and after
    // the last packet; none in between the packets 0.5 ms apart, whose
    // waits do not give the loop a turn.
    expect(r.holds).toEqual([
      { untilNs: r.ctx.clock.liveNs(0) + 10_000_000n, writesBefore: 0 },
      { untilNs: 0n, writesBefore: 2 },
      { untilNs: r.ctx.clock.liveNs(10_000) + 10_000_000n, writesBefore: 2 },
      { untilNs: r.ctx.clock.liveNs(10_500) + 10_000_000n, writesBefore: 3 },
      { untilNs: 0n, writesBefore: 4 },
    ]);
  });

  it('go to the device in one call, each with the latest time its event allows; a single packet is a plain write', async () => {
    const r = rig([`0 ${SYN}`, `+0 ${ACK}`, `+0 ${ACK}`, `0.010 ${ACK}`].join('\n'));
    await runEvents(r.ctx, r.handlers, never);
    expect(r.writes).toHaveLength(4);
    const at = (usecs: number): bigint => r.ctx.clock.liveNs(usecs);
    // The script's very first event is not checked; the others are due at 0 with 4 ms of tolerance.
    expect(r.burstCalls).toEqual([{ frames: 3, stopAfterNs: [(1n << 63n) - 1n, at(4_000), at(4_000)] }]);
  });

  it('without a burst write on the device, write the packets one at a time, to the same effect', async () => {
    const r = rig([`0 ${SYN}`, `+0 ${ACK}`, `+0 ${ACK}`, `+0 ${ACK}`].join('\n'),
      (n, w) => (n === 1 ? { ...w, tsNs: w.tsNs + 10_000_000n } : w), 1, false);
    const err = await runEvents(r.ctx, r.handlers, never).then(() => null, (e: unknown) => e);
    expect((err as TestFailure).line).toBe(2);
    expect(r.writes).toHaveLength(2);
    expect(r.burstCalls).toEqual([]);
  });

  it('stop after a packet written later than its tolerance; its event fails as it would alone', async () => {
    // The second write of the burst is stamped 10 ms late.
    const r = rig([`0 ${SYN}`, `+0 ${ACK}`, `+0 ${ACK}`, `+0 ${ACK}`].join('\n'),
      (n, w) => (n === 1 ? { ...w, tsNs: w.tsNs + 10_000_000n } : w));
    const err = await runEvents(r.ctx, r.handlers, never).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(TestFailure);
    expect((err as TestFailure).line).toBe(2);
    expect((err as TestFailure).message).toMatch(
      /^timing error: expected inbound packet at 0\.000000 sec but happened at 0\.01\d{4} sec; tolerance 0\.004000 sec$/);
    expect(r.writes).toHaveLength(2);
    expect(linesOf(r.capture)).toEqual([1, 2]);
  });

  it('stop before a packet that cannot be made; packets before it are out and its event reports why', async () => {
    const r = rig([`0 ${SYN}`, `+0 ${ACK}`, `+0 < . 1:1(0) ack 1 win 1000 <nop,nop,TS val 1 ecr 5>`, `+0 ${ACK}`].join('\n'));
    const err = await runEvents(r.ctx, r.handlers, never).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(TestFailure);
    expect((err as TestFailure).line).toBe(3);
    expect((err as TestFailure).message).toBe(
      'error handling packet: unable to infer live TS ecr for script TS ecr 5;  no matching or preceding outbound TS val');
    expect(r.writes).toHaveLength(2);
    expect(linesOf(r.capture)).toEqual([1, 2]);
    expect(r.ctx.events[1]!.actualUsecs).toBeDefined();
  });

  it('built before the clock starts, a line that cannot be built still fails at its own turn', async () => {
    const r = rig([`0 ${SYN}`, `+0 ${ACK}`, '+0 < gre: . 1:1(0) ack 1 win 1000', `+0 ${ACK}`].join('\n'));
    r.runner.prebuild(r.ctx.events);
    const err = await runEvents(r.ctx, r.handlers, never).then(() => null, (e: unknown) => e);
    expect((err as TestFailure).kind).toBe('semantic');
    expect((err as TestFailure).line).toBe(3);
    expect((err as TestFailure).message).toBe('semantic error: gre encapsulation is not supported in local mode');
    expect(r.writes).toHaveLength(2);
    expect(linesOf(r.capture)).toEqual([1, 2]);
    expect(r.ctx.numEvents).toBe(2);
  });

  it('stop at a frame the device refuses, with the error of that line', async () => {
    const r = rig([`0 ${SYN}`, `+0 ${ACK}`, `+0 ${ACK}`].join('\n'),
      (n, w) => (n === 1 ? { ...w, ret: -1, errno: 105 } : w));
    const err = await runEvents(r.ctx, r.handlers, never).then(() => null, (e: unknown) => e);
    expect((err as TestFailure).line).toBe(2);
    expect((err as TestFailure).message).toMatch(/^error writing packet: the device refused the \d+-byte frame: /);
    expect(r.writes).toHaveLength(2);
    expect(linesOf(r.capture)).toEqual([1]);
  });

  it('stop after the first packet once an asynchronous failure ended the run', async () => {
    const r = rig([`0 ${SYN}`, `0.020 ${ACK}`, `+0 ${ACK}`, `+0 ${ACK}`].join('\n'));
    let fail!: (e: unknown) => void;
    const abort = new Promise<never>((_, reject) => { fail = reject; });
    // While the run waits for the burst at 20 ms (the event loop runs then, for 3 ms of real time).
    setTimeout(() => fail(new TestFailure('syscall', 9, 'runtime error in accept call')), 1);
    await expect(runEvents(r.ctx, r.handlers, abort)).rejects.toThrow(/runtime error in accept call/);
    await new Promise((resolve) => setTimeout(resolve, 40));
    // The first packet of the burst goes out, as its event had started; the others never would have.
    expect(r.writes).toHaveLength(2);
  });
});

describe('inboundDueWith', () => {
  function events(source: string): { ctx: RunContext; at: (line: number) => number[] } {
    const r = rig(source);
    return {
      ctx: r.ctx,
      at: (line) => inboundDueWith(r.ctx, r.ctx.events.find((e) => e.line === line)!).map((e) => e.line),
    };
  }

  it('takes the following inbound lines at +0 or at the same absolute time, and stops at anything else', () => {
    const { at } = events([
      `0 ${SYN}`, `+0 ${ACK}`, `0 ${ACK}`, `+0.001 ${ACK}`, // 1-4
      `0.010 ${ACK}`, `0.011 ${ACK}`, // 5-6
      `0.020 ${ACK}`, '+0 > . 1:1(0) ack 1', `+0 ${ACK}`, // 7-9
      `0.030 ${ACK}`, '+0 `true`', `+0 ${ACK}`, // 10-12
      `0.040 ${ACK}`, `+0 ${ACK}`, // 13-14
    ].join('\n'));
    expect(at(1)).toEqual([2, 3]);
    expect(at(5)).toEqual([]);
    expect(at(7)).toEqual([]);
    expect(at(10)).toEqual([]);
    expect(at(13)).toEqual([14]);
  });
});
