/**
 * A packet the kernel sent late because its own timer ran late. The
 * socket-state timeline says when a socket's retransmission timer (the one
 * ss shows as `timer:(on,...)`: retransmission, loss probe, reordering)
 * was due: the sample's time plus the milliseconds it had left. A timer
 * fires on the tick it is due at, and the packet it sends leaves within
 * microseconds of it. So when a script's outbound line fails for being
 * late, the timer was due within the line's tolerance, and the packet left
 * well after the timer was due, the kernel ran the timer late: what the
 * script asked of TCP was met, when the timer was set; the kernel did not
 * run it in time. The usual cause, traced on a 2-CPU machine (ftrace,
 * tcp_write_timer armed and expired, the tick handlers, the timer softirq):
 * a CPU runs its timers at its tick only once `jiffies` has reached their
 * expiry, and only the CPU that keeps time advances `jiffies`. Every CPU
 * ticks at the same instant; when another CPU's tick handler runs first
 * (by microseconds), it sees the old `jiffies`, and its timers due at that
 * tick wait for the next one, a whole tick. That happened to 6.6 % of TCP
 * timers with one run at a time and 13-20 % with runs side by side (a
 * busy CPU takes its tick interrupt sooner than an idle one wakes for
 * its own), and to none with the run and everything else kept on one
 * CPU and the other idle (the busy CPU then kept time). packetdrill's runs
 * meet it too. The failure stands; the note says what the evidence shows.
 *
 * The timeline keeps a record only when a socket changed, and a timer whose
 * expiry moved by less than the sampler's slack (12 ms) alone is no change:
 * a sample is only trusted when no packet or system call came between it
 * and the late packet, so that nothing could have set the timer again.
 */
import type { EventTiming } from '../engine/result.js';
import type { SocketRecord, TimelineRecord } from './socket-timeline.js';

/** How long after its due time (the sample's ms rounded up) a timer's packet must leave to count as late, µs. */
export const LATE_TIMER_SLACK_USECS = 2000;

export interface LateKernelTimer {
  /** Script time (µs) of the sample that showed the timer, and the ms it had left then. */
  sampledAtUsecs: number;
  timerMs: number;
  /** Script time (µs) the timer was due by (the sample's ms rounded up). */
  dueUsecs: number;
  /** Script time (µs) the packet left. */
  packetUsecs: number;
  /** How long after the timer was due, ms. */
  lateMs: number;
}

/**
 * Whether the evidence puts a late outbound packet down to a kernel timer
 * that ran late (see above). `originNs` is the script clock's start
 * (CLOCK_MONOTONIC ns), the timeline's clock.
 */
export function lateKernelTimer(
  t: EventTiming,
  records: readonly TimelineRecord[],
  originNs: bigint,
  events: readonly EventTiming[],
): LateKernelTimer | null {
  if (t.kind !== 'outbound') return null;
  const latestOk = (t.expectedEndUsecs ?? t.expectedUsecs) + t.toleranceUsecs;
  if (t.actualUsecs <= latestOk) return null;
  const packetNs = originNs + BigInt(Math.round(t.actualUsecs * 1000));
  // Each socket's last record before the packet: its timer then.
  const last = new Map<string, SocketRecord>();
  for (const r of records) {
    if (r.type !== 'socket' && r.type !== 'gone') continue;
    if (r.tsNs >= packetNs) continue;
    last.set(r.key, r);
  }
  let best: LateKernelTimer | null = null;
  for (const r of last.values()) {
    const timer = r.socket.timer;
    if (r.type !== 'socket' || !timer || timer.kind !== 'on') continue;
    const sampledAtUsecs = Number(r.tsNs - originNs) / 1000;
    // What caused the sample (its packet) or the sample itself, and the late packet: nothing between.
    const fromUsecs = Number((r.packetNs ?? r.tsNs) - originNs) / 1000;
    if (events.some((e) => e !== t && e.kind !== 'code' && e.kind !== 'command' && e.actualUsecs > fromUsecs && e.actualUsecs < t.actualUsecs)) continue;
    const dueUsecs = sampledAtUsecs + (timer.expiresMs + 1) * 1000;
    // Had it fired when due, the line would have been on time; the packet left well after it.
    if (dueUsecs > latestOk || t.actualUsecs - dueUsecs < LATE_TIMER_SLACK_USECS) continue;
    if (!best || dueUsecs > best.dueUsecs) {
      best = {
        sampledAtUsecs: Math.round(sampledAtUsecs),
        timerMs: timer.expiresMs,
        dueUsecs: Math.round(dueUsecs),
        packetUsecs: Math.round(t.actualUsecs),
        lateMs: Math.round((t.actualUsecs - dueUsecs) / 100) / 10,
      };
    }
  }
  return best;
}

/** One line for reports: what the timeline shows, and what to do. */
export function lateKernelTimerLine(n: LateKernelTimer): string {
  const s = (usecs: number): string => `${(usecs / 1e6).toFixed(4)} s`;
  return `kernel timer late: sock_diag at ${s(n.sampledAtUsecs)} showed the socket's retransmission timer with ${n.timerMs} ms left, ` +
    `due by ${s(n.dueUsecs)}, inside the line's tolerance; the packet left at ${s(n.packetUsecs)}, ${n.lateMs} ms after it was due: ` +
    'the kernel ran its timer late (a CPU whose tick came before jiffies advanced runs its timers a tick late); ' +
    'to run it as packetdrill\'s single thread does, run the script again with --one-cpu';
}
