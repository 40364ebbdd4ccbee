/**
 * The interpreter loop with stand-in handlers and a fake clock: script
 * order, relative times anchored when the loop gets to the event, the
 * first-event and time-goes-backward checks, and asynchronous failures.
 */
import { describe, expect, it } from 'vitest';
import { finalizeConfig } from '../../src/engine/config.js';
import { TestFailure } from '../../src/engine/errors.js';
import { adjustRelativeTimes, checkEventTime, eventDescription, HANDLING_LAG_MAX_USECS, PACKET_ANSWER_USECS, PACKET_NEXT_USECS, PACKET_WAKE_USECS, runEvents, type EventHandlers } from '../../src/engine/run.js';
import { FdTable } from '../../src/engine/sockets.js';
import { newRunContext, RunClock, type RunContext, type RunEvent } from '../../src/engine/state.js';
import { parseScript } from '../../src/script/parser.js';

/** A clock whose "now" the test sets, in µs of script time (start at 1 s of monotonic time). */
class FakeClock {
  nowUs = 0;
  readonly startNs = 1_000_000_000n;
  nowNs = (): bigint => this.startNs + BigInt(Math.round(this.nowUs * 1000));
}

function context(source: string): { ctx: RunContext; clock: FakeClock } {
  const script = parseScript(source, { path: 't.pkt' });
  const fake = new FakeClock();
  const clock = new RunClock({ nowNs: fake.nowNs });
  clock.liveStartNs = fake.startNs;
  const ctx = newRunContext({ config: finalizeConfig({}), script, displayPath: 't.pkt', scriptDir: '/tmp', fds: new FdTable(), clock });
  return { ctx, clock: fake };
}

type Seen = Array<{ line: number; type: string; usecs: number; offset: number }>;

/**
 * Handlers that record each event and let time pass: every event "takes"
 * `costUs` µs after its script time, and reports its completion then.
 */
function recorder(ctx: RunContext, clock: FakeClock, seen: Seen, costUs = 0): EventHandlers {
  const h = async (ev: RunEvent): Promise<void> => {
    seen.push({ line: ev.line, type: ev.ast.type, usecs: ev.times.usecs, offset: ev.times.offsetUsecs });
    await Promise.resolve();
    clock.nowUs = Math.max(clock.nowUs, ev.times.usecs) + costUs;
  };
  return { packet: h, syscall: h, command: h, code: h };
}

const never = new Promise<never>(() => {});

describe('runEvents', () => {
  it('runs every event in script order, keeping absolute times', async () => {
    const { ctx, clock } = context(
      '0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n0.1 `true`\n0.2 < S 0:0(0) win 1000\n0.3 > S. 0:0(0) ack 1 <...>\n',
    );
    const seen: Seen = [];
    await runEvents(ctx, recorder(ctx, clock, seen), never);
    expect(seen.map((s) => [s.line, s.type, s.usecs])).toEqual([
      [1, 'syscall', 0], [2, 'command', 100_000], [3, 'packet', 200_000], [4, 'packet', 300_000],
    ]);
    expect(ctx.numEvents).toBe(4);
    expect(ctx.scriptLastTimeUsecs).toBe(300_000);
  });

  it('anchors a relative time when the loop gets to the event, the previous one\'s handling included', async () => {
    const { ctx, clock } = context('0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0.1 `true`\n+0.05 `true`\n');
    const seen: Seen = [];
    // Each event completes 300 µs after its script time.
    await runEvents(ctx, recorder(ctx, clock, seen, 300), never);
    expect(seen.map((s) => [s.usecs, s.offset])).toEqual([[0, -1], [100_300, 300], [150_600, 100_600]]);
  });

  it('anchors an inbound packet after an inbound packet at the previous script time', async () => {
    const { ctx, clock } = context('0 < S 0:0(0) win 1000\n+0.01 < . 1:1(0) ack 1 win 1000\n+0.01 > . 1:1(0) ack 1\n');
    const seen: Seen = [];
    await runEvents(ctx, recorder(ctx, clock, seen, 500), never);
    // Second inbound: 0 + 10 ms (not 0.5 ms later). Outbound after it: from the completion, 10.5 ms + 10 ms.
    expect(seen.map((s) => s.usecs)).toEqual([0, 10_000, 20_500]);
  });

  /** Handlers where a sent packet left the kernel at `sentAt(ev)` and the harness was done with it at `doneAt(ev)`. */
  function outboundAt(seen: Seen, clock: FakeClock, sentAt: (ev: RunEvent) => number, doneAt: (ev: RunEvent) => number): EventHandlers {
    const h = async (ev: RunEvent): Promise<void> => {
      seen.push({ line: ev.line, type: ev.ast.type, usecs: ev.times.usecs, offset: ev.times.offsetUsecs });
      await Promise.resolve();
      if (ev.ast.type === 'packet' && ev.ast.packet.direction === 'outbound') {
        ev.actualUsecs = sentAt(ev);
        clock.nowUs = doneAt(ev);
      } else {
        clock.nowUs = Math.max(clock.nowUs, ev.times.usecs);
      }
    };
    return { packet: h, syscall: h, command: h, code: h };
  }

  it("after a packet the kernel sent, times what follows from packetdrill's handling of it, not from tundrill's", async () => {
    const { ctx, clock } = context(
      '0 `true`\n+0.1 > . 1:1(0) ack 1\n+0 > . 1:1(0) ack 1\n+0.01 < . 1:1(0) ack 1 win 1000\n+0.02 > . 1:1(0) ack 1\n',
    );
    const seen: Seen = [];
    // Each packet left the kernel 1 ms after its script time; tundrill was done with it 300 µs after that.
    await runEvents(ctx, outboundAt(seen, clock, (ev) => ev.times.usecs + 1_000, (ev) => ev.times.usecs + 1_300), never);
    // Line 3: 40 µs after line 2's packet left (101 ms), not 101.3 ms. Line 4:
    // 40 µs after line 3's packet (102.04 ms), plus 10 ms. Line 5, after
    // an injection: from now, 112.08 ms plus 20 ms.
    const w = PACKET_WAKE_USECS;
    expect(seen.map((s) => s.usecs)).toEqual([0, 100_000, 101_000 + w, 102_000 + 2 * w + 10_000, 102_000 + 2 * w + 30_000]);
  });

  it('after a packet that was already waiting, times what follows from the previous anchor plus packetdrill\'s handling', async () => {
    const { ctx, clock } = context('0 `true`\n+0.1 > . 1:1(0) ack 1\n+0 > . 1:1(0) ack 1\n+0 `true`\n');
    const seen: Seen = [];
    // Both packets left the kernel together, at 100.5 ms.
    await runEvents(ctx, outboundAt(seen, clock, () => 100_500, (ev) => ev.times.usecs + 800), never);
    const line3 = 100_500 + PACKET_WAKE_USECS;
    expect(seen.map((s) => s.usecs)).toEqual([0, 100_000, line3, line3 + PACKET_NEXT_USECS]);
  });

  /**
   * Line 2 injects at its time (the write's stamp); tundrill is done with
   * the write `writeUsecs` later; line 3's packet left the kernel at
   * `sentAt` µs after line 2's time, inside or before that write.
   */
  async function answerTimes(writeUsecs: number, sentAt: number): Promise<number[]> {
    const { ctx, clock } = context('0 `true`\n+0.1 < . 1:1(0) ack 1 win 1000\n+0 > . 1:1(0) ack 1\n+0.001 < . 1:1(0) ack 1 win 1000\n');
    const seen: Seen = [];
    const handlers = outboundAt(seen, clock, () => 100_000 + sentAt, (ev) => ev.times.usecs + 30);
    const outboundOrOther = handlers.packet;
    handlers.packet = async (ev) => {
      if (ev.ast.type === 'packet' && ev.ast.packet.direction === 'inbound') {
        seen.push({ line: ev.line, type: ev.ast.type, usecs: ev.times.usecs, offset: ev.times.offsetUsecs });
        ev.actualUsecs = ev.times.usecs;
        clock.nowUs = ev.times.usecs + writeUsecs;
        return;
      }
      await outboundOrOther(ev);
    };
    await runEvents(ctx, handlers, never);
    return seen.map((s) => s.usecs);
  }

  it("after the kernel's answer inside the write of the line before, times what follows from its send time plus packetdrill's handling of it", async () => {
    // The kernel answered 7 µs into the write; tundrill was done with the
    // write 20 µs after it began, or, on a slow write, 90 µs after.
    const answer = 100_007 + PACKET_ANSWER_USECS + 1_000;
    expect(await answerTimes(20, 7)).toEqual([0, 100_000, 100_020, answer]);
    expect(await answerTimes(90, 7)).toEqual([0, 100_000, 100_090, answer]);
  });

  it('after a packet that was waiting from before the write of the line before, times what follows from the line plus packetdrill\'s handling', async () => {
    // Sent 50 µs before line 2's write: not an answer to it.
    expect(await answerTimes(20, -50)).toEqual([0, 100_000, 100_020, 100_020 + PACKET_NEXT_USECS + 1_000]);
  });

  it('after a packet the kernel sent, leaves out no more than 1 ms of tundrill\'s lag', async () => {
    const { ctx, clock } = context('0 `true`\n+0.1 > . 1:1(0) ack 1\n+0 < . 1:1(0) ack 1 win 1000\n');
    const seen: Seen = [];
    // tundrill stalled 9 ms after the packet left.
    await runEvents(ctx, outboundAt(seen, clock, (ev) => ev.times.usecs + 100, (ev) => ev.times.usecs + 9_100), never);
    expect(seen.map((s) => s.usecs)).toEqual([0, 100_000, 109_100 - HANDLING_LAG_MAX_USECS]);
  });

  it('after a line the kernel sent several packets for, anchors at now, as packetdrill handles them one by one', async () => {
    const { ctx, clock } = context('0 `true`\n+0.1 > P. 1:10001(10000) ack 1\n+0.1 < . 1:1(0) ack 1 win 1000\n');
    const seen: Seen = [];
    const handlers = outboundAt(seen, clock, (ev) => ev.times.usecs + 100, (ev) => ev.times.usecs + 400);
    const packet = handlers.packet;
    handlers.packet = async (ev) => {
      await packet(ev);
      if (ev.ast.type === 'packet' && ev.ast.packet.direction === 'outbound') ev.sentPackets = 5;
    };
    await runEvents(ctx, handlers, never);
    expect(seen.map((s) => s.usecs)).toEqual([0, 100_000, 200_400]);
  });

  it('after a packet the kernel sent, never anchors later than now', async () => {
    const { ctx, clock } = context('0 `true`\n+0.1 > . 1:1(0) ack 1\n+0.01 `true`\n');
    const seen: Seen = [];
    // A harness done 5 µs after the packet left.
    await runEvents(ctx, outboundAt(seen, clock, (ev) => ev.times.usecs + 100, (ev) => ev.times.usecs + 105), never);
    expect(seen.map((s) => s.usecs)).toEqual([0, 100_000, 110_105]);
  });

  it("anchors at the clock's now even when a handler took no time", async () => {
    const { ctx, clock } = context('0 `true`\n+0.01 `true`\n');
    const seen: Seen = [];
    const h = async (ev: RunEvent): Promise<void> => {
      seen.push({ line: ev.line, type: ev.ast.type, usecs: ev.times.usecs, offset: ev.times.offsetUsecs });
      clock.nowUs = 2_000;
    };
    await runEvents(ctx, { packet: h, syscall: h, command: h, code: h }, never);
    expect(seen.map((s) => s.usecs)).toEqual([0, 12_000]);
  });

  it('moves the expected end of a relative blocking call with its start', () => {
    const { ctx, clock } = context('0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0.1...0.3 accept(3, ..., ...) = 4\n');
    const ev = ctx.events[1]!;
    expect(ev.syscallEndUsecs).toBe(300_000);
    clock.nowUs = 50_000; // the loop gets to it at 50 ms
    adjustRelativeTimes(ctx, ev);
    expect(ev.times.usecs).toBe(150_000);
    expect(ev.syscallEndUsecs).toBe(350_000);
  });

  it('moves both ends of a relative range', () => {
    const { ctx, clock } = context('0 `true`\n+0.1~+0.2 > . 1:1(0) ack 1\n');
    const ev = ctx.events[1]!;
    clock.nowUs = 1_000;
    adjustRelativeTimes(ctx, ev);
    expect(ev.times).toEqual({ type: 'relative_range', usecs: 101_000, endUsecs: 201_000, offsetUsecs: 1_000 });
  });

  it('fails when the first event is not at time 0', async () => {
    const { ctx, clock } = context('0.1 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n');
    const err = await runEvents(ctx, recorder(ctx, clock, []), never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TestFailure);
    expect((err as TestFailure).format('t.pkt')).toBe('t.pkt:1: first event should be at time 0');
  });

  it('fails when absolute time goes backward', async () => {
    const { ctx, clock } = context('0 `true`\n0.2 `true`\n0.1 `true`\n');
    const seen: Seen = [];
    const err = await runEvents(ctx, recorder(ctx, clock, seen), never).catch((e: unknown) => e);
    expect((err as TestFailure).format('t.pkt')).toBe('t.pkt:3: time goes backward in script from 200000 usec to 100000 usec');
    expect(seen).toHaveLength(2);
  });

  it('stops at the first handler failure', async () => {
    const { ctx, clock } = context('0 `true`\n+0 `false`\n+0 `true`\n');
    const seen: Seen = [];
    const rec = recorder(ctx, clock, seen);
    const handlers: EventHandlers = {
      ...rec,
      command: async (ev) => {
        await rec.command(ev);
        if (ev.ast.type === 'command' && ev.ast.command.commandLine === 'false') {
          throw new TestFailure('command', ev.line, 'error executing `false` command: non-zero status 1');
        }
      },
    };
    await expect(runEvents(ctx, handlers, never)).rejects.toThrow('error executing `false` command: non-zero status 1');
    expect(seen).toHaveLength(2);
  });

  it('stops when a failure arrives through the abort promise', async () => {
    const { ctx } = context('0 `true`\n+0 `true`\n');
    let fail!: (e: unknown) => void;
    const abort = new Promise<never>((_, reject) => { fail = reject; });
    const h = async (ev: RunEvent): Promise<void> => {
      if (ev.line === 2) {
        fail(new TestFailure('syscall', 1, 'runtime error in accept call: Expected result 4 but got -1 with errno 11 (Resource temporarily unavailable)'));
        await new Promise(() => {}); // this event would never end by itself
      }
    };
    await expect(runEvents(ctx, { packet: h, syscall: h, command: h, code: h }, abort)).rejects.toThrow(/runtime error in accept call/);
  });
});

describe('eventDescription and checkEventTime', () => {
  it('describes events as packetdrill does in timing errors', () => {
    const { ctx } = context('0 < S 0:0(0) win 1\n0 > S. 0:0(0) ack 1\n0 close(3) = 0\n0 `true`\n0 %{ pass }%\n');
    expect(ctx.events.map(eventDescription)).toEqual([
      'inbound packet', 'outbound packet', 'system call start', 'command', 'data collection for code',
    ]);
  });

  it('throws a timing failure at the event line', () => {
    const { ctx } = context('0 `true`\n0.100 `true`\n');
    const ev = ctx.events[1]!;
    const err = (() => {
      try {
        checkEventTime(ctx, ev, 1_000_000_000n + 120_000_000n);
      } catch (e) {
        return e as TestFailure;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(TestFailure);
    expect(err!.kind).toBe('timing');
    expect(err!.format('t.pkt')).toBe(
      't.pkt:2: timing error: expected command at 0.100000 sec but happened at 0.120000 sec; tolerance 0.004000 sec',
    );
    expect(() => checkEventTime(ctx, ev, 1_000_000_000n + 103_000_000n)).not.toThrow();
  });
});
