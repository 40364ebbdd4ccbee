/**
 * Runs system calls on the addon's native threads and tells when a call
 * has gone to sleep in the kernel, so the engine moves on to the next
 * event only once a blocking call really blocks, as packetdrill's syscall
 * thread hand-off does.
 */
import { readFileSync } from 'node:fs';
import * as native from '../native/addon.js';
import type { ExecutingCall, SyscallExecutor } from './syscall-events.js';
import { waitUntil } from './clock-wait.js';

/** Linux thread state from /proc/self/task/<tid>/stat ('R', 'S', 'D', ...). */
function threadState(tid: number): string | null {
  try {
    const s = readFileSync(`/proc/self/task/${tid}/stat`, 'latin1');
    const close = s.lastIndexOf(')');
    return s.charAt(close + 2) || null;
  } catch {
    return null;
  }
}

export function nativeExecutor(): SyscallExecutor {
  return {
    sleepUntil: (atNs) => waitUntil(atNs),
    runNow: (nr, args) => native.syscall(nr, args as native.SyscallArg[]),
    start(nr, args, atNs, hold): ExecutingCall {
      const status = new Int32Array(2);
      const held = hold.filter((h): h is ArrayBufferView => ArrayBuffer.isView(h));
      const done = native.syscallAsync(nr, args as native.SyscallArg[], { atNs, status, hold: held });
      let settled = false;
      done.then(() => { settled = true; }, () => { settled = true; });
      // status[1]: 0 before, 1 inside, 2 after the system call.
      const blockedNow = (): boolean => {
        const phase = Atomics.load(status, 1);
        if (phase === 2) return true;
        if (phase !== 1) return false;
        const st = threadState(Atomics.load(status, 0));
        return st === 'S' || st === 'D' || st === null;
      };
      const blockedOrDone = (async (): Promise<void> => {
        // Nothing to watch before the call's start time.
        await waitUntil(atNs);
        // A call that blocks does so within microseconds: look closely
        // first (sleeping between looks, not spinning), then now and then.
        const nap = new Int32Array(new SharedArrayBuffer(4));
        const closeUntil = native.nowNs() + 200_000_000n;
        while (native.nowNs() < closeUntil) {
          if (settled || blockedNow()) return;
          Atomics.wait(nap, 0, 0, 0.02);
        }
        await new Promise<void>((resolve) => {
          const poll = (): void => (settled || blockedNow() ? resolve() : void setTimeout(poll, 1));
          done.then(() => resolve(), () => resolve());
          poll();
        });
      })();
      return { done, blockedOrDone };
    },
  };
}
