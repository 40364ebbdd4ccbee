/**
 * The live clock SO_TIMESTAMPING checks need. The kernel stamps those cmsgs
 * with CLOCK_REALTIME while the engine keeps time with CLOCK_MONOTONIC, so
 * the two are tied together by reading both clocks back to back.
 */
import { SYS, syscall } from '../../native/addon.js';
import type { SyscallClock } from './types.js';

const CLOCK_REALTIME = 0;
const CLOCK_MONOTONIC = 1;

function readClockNs(id: number): bigint {
  const nr = SYS['clock_gettime'];
  if (nr === undefined) throw new Error(`clock_gettime is not available on ${process.arch}`);
  const ts = Buffer.alloc(16);
  const r = syscall(nr, [id, ts]);
  if (r.ret < 0n) throw new Error(`clock_gettime(${id}) failed with errno ${r.errno}`);
  return ts.readBigInt64LE(0) * 1_000_000_000n + ts.readBigInt64LE(8);
}

/** CLOCK_REALTIME minus CLOCK_MONOTONIC, in nanoseconds (the tightest of a few samples). */
export function realtimeOffsetNs(samples = 5): bigint {
  let best: { span: bigint; offset: bigint } | undefined;
  for (let i = 0; i < samples; i++) {
    const m1 = readClockNs(CLOCK_MONOTONIC);
    const rt = readClockNs(CLOCK_REALTIME);
    const m2 = readClockNs(CLOCK_MONOTONIC);
    const span = m2 - m1;
    const offset = rt - (m1 + span / 2n);
    if (!best || span < best.span) best = { span, offset };
  }
  return best!.offset;
}

/**
 * A SyscallClock for an engine whose script time 0 is the CLOCK_MONOTONIC
 * time `liveStartNs()` (read at each use, so it may be set after this is
 * made). The realtime offset is measured once, on first use.
 */
export function syscallClockFromMonotonic(liveStartNs: () => bigint): SyscallClock {
  let offset: bigint | undefined;
  const startUsecs = (): bigint => {
    offset ??= realtimeOffsetNs();
    return (liveStartNs() + offset) / 1000n;
  };
  return {
    get liveStartRealtimeUsecs(): bigint {
      return startUsecs();
    },
    scriptToLiveRealtimeUsecs(scriptUsecs: bigint): bigint {
      return startUsecs() + scriptUsecs;
    },
  };
}
