/**
 * A late outbound packet put down to the kernel's own timer running late,
 * by the socket-state timeline: the figures are those of a sack-shift run
 * that failed under parallel load (a RACK timer with 28 ms left after the
 * SACK, the retransmission 5.6 ms after it was due).
 */
import { describe, expect, it } from 'vitest';
import type { EventTiming } from '../../src/engine/result.js';
import { lateKernelTimer, lateKernelTimerLine } from '../../src/evidence/late-kernel-timer.js';
import type { SocketRecord, TimelineRecord } from '../../src/evidence/socket-timeline.js';
import type { SocketState } from '../../src/evidence/socket-state.js';

const ORIGIN = 10_000_000_000n;
const at = (usecs: number): bigint => ORIGIN + BigInt(Math.round(usecs * 1000));

function record(usecs: number, timer: SocketState['timer'], opts: { packetUsecs?: number; state?: string; key?: string } = {}): SocketRecord {
  const socket = { state: opts.state ?? 'ESTAB', timer } as unknown as SocketState;
  const r: SocketRecord = { type: 'socket', tsNs: at(usecs), endNs: at(usecs + 20), cause: 'in', key: opts.key ?? 'a1', socket };
  if (opts.packetUsecs !== undefined) r.packetNs = at(opts.packetUsecs);
  return r;
}

const sack: EventTiming = { line: 22, kind: 'inbound', expectedUsecs: 200893, actualUsecs: 200945, toleranceUsecs: 12523 };
const rtx: EventTiming = { line: 23, kind: 'outbound', expectedUsecs: 228057, actualUsecs: 235768.7, toleranceUsecs: 4000 };
const on = (expiresMs: number): SocketState['timer'] => ({ kind: 'on', expiresMs, retransmits: 0 });

describe('lateKernelTimer', () => {
  it('names the timer that was due inside the tolerance when the packet left well after it', () => {
    const records: TimelineRecord[] = [record(100768, on(204)), record(201204, on(28), { packetUsecs: 200945 })];
    const n = lateKernelTimer(rtx, records, ORIGIN, [sack, rtx]);
    expect(n).toEqual({ sampledAtUsecs: 201204, timerMs: 28, dueUsecs: 230204, packetUsecs: 235769, lateMs: 5.6 });
    expect(lateKernelTimerLine(n!)).toMatch(/^kernel timer late: sock_diag at 0\.2012 s .* 28 ms left, due by 0\.2302 s.* 5\.6 ms after it was due/);
    // What to do: the option that runs it as packetdrill's one thread does.
    expect(lateKernelTimerLine(n!)).toMatch(/run the script again with --one-cpu$/);
  });

  it('says nothing of a packet on time, of an inbound line, or of a timer the line would have missed anyway', () => {
    const records = [record(201204, on(28), { packetUsecs: 200945 })];
    expect(lateKernelTimer({ ...rtx, actualUsecs: 231000 }, records, ORIGIN, [sack])).toBeNull();
    expect(lateKernelTimer({ ...rtx, kind: 'inbound' }, records, ORIGIN, [sack])).toBeNull();
    // Due at 0.2402 s: outside the tolerance (0.2321 s), so the timer itself was set late, not run late.
    expect(lateKernelTimer(rtx, [record(201204, on(38), { packetUsecs: 200945 })], ORIGIN, [sack])).toBeNull();
  });

  it('needs the packet well after the timer: a packet within 2 ms of it is the timer on time', () => {
    expect(lateKernelTimer({ ...rtx, actualUsecs: 232100, toleranceUsecs: 3000 }, [record(201204, on(28), { packetUsecs: 200945 })], ORIGIN, [sack])).toBeNull();
  });

  it('does not trust a sample that a packet or system call came after (it may have set the timer again)', () => {
    const records = [record(201204, on(28), { packetUsecs: 200945 })];
    const call: EventTiming = { line: 24, kind: 'syscall', expectedUsecs: 210000, actualUsecs: 210010, toleranceUsecs: 4000 };
    expect(lateKernelTimer(rtx, records, ORIGIN, [sack, call, rtx])).toBeNull();
    // A Python check in between does not touch the socket.
    expect(lateKernelTimer(rtx, records, ORIGIN, [sack, { ...call, kind: 'code' }, rtx])).not.toBeNull();
  });

  it('looks only at retransmission timers, and at each socket\'s last record before the packet', () => {
    expect(lateKernelTimer(rtx, [record(201204, { kind: 'keepalive', expiresMs: 28, retransmits: 0 }, { packetUsecs: 200945 })], ORIGIN, [sack])).toBeNull();
    // The socket's later record shows no timer: the earlier one no longer holds.
    expect(lateKernelTimer(rtx, [record(201204, on(28), { packetUsecs: 200945 }), record(202000, null)], ORIGIN, [sack])).toBeNull();
    // A record after the packet says nothing of it.
    expect(lateKernelTimer(rtx, [record(236000, on(28))], ORIGIN, [sack])).toBeNull();
  });
});
