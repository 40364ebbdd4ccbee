/**
 * Before the script's clock starts, run every code path the events will
 * take once, so that their first real use is not slowed by thread creation
 * in the addon or by the JavaScript engine compiling code: a cold path
 * costs milliseconds, a warm one microseconds, and the script's timing
 * tolerance is 4 ms.
 */
import * as native from '../native/addon.js';
import { buildScriptPacket } from './build-packet.js';
import { refreshChecksums } from '../packet/in-place.js';
import type { SyscallExecutor } from './syscall-events.js';
import { layoutOf } from '../packet/layout.js';
import { packetText } from './run-packet.js';
import type { RunEvent } from './state.js';

/** Several idle native threads, and one call that really sleeps in the kernel. */
async function warmNative(exec: SyscallExecutor): Promise<void> {
  const now = native.nowNs();
  const getpid = native.sysNr('getpid');
  const nanosleep = native.SYS['nanosleep'];
  const calls: Array<Promise<unknown>> = [];
  for (let i = 0; i < 4; i++) {
    calls.push(exec.start(getpid, [], now + 200_000n, []).done);
  }
  calls.push(exec.sleepUntil(now + 300_000n));
  if (nanosleep !== undefined) {
    const ts = Buffer.alloc(16);
    ts.writeBigInt64LE(0n, 0);
    ts.writeBigInt64LE(500_000n, 8);
    const c = exec.start(nanosleep, [ts, null], now + 100_000n, [ts]);
    calls.push(c.blockedOrDone, c.done);
  }
  await Promise.all(calls);
}

/** Build, checksum and print each script packet once (results are discarded). */
function warmPackets(events: RunEvent[], family: 4 | 6): void {
  for (const ev of events) {
    if (ev.ast.type !== 'packet') continue;
    try {
      const p = buildScriptPacket(ev.ast.packet, family);
      const copy = Buffer.from(p.buf);
      refreshChecksums(copy);
      layoutOf(copy);
      packetText(copy, p);
    } catch {
      // The event reports its own error when it runs.
    }
  }
}

export async function warmUp(events: RunEvent[], family: 4 | 6, exec: SyscallExecutor): Promise<void> {
  warmPackets(events, family);
  await warmNative(exec);
  await warmNative(exec);
}
