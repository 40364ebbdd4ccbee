/**
 * Runs system calls on the addon's native threads and tells when a call
 * has gone to sleep in the kernel, so the engine moves on to the next
 * event only once a blocking call really blocks, as packetdrill's syscall
 * thread hand-off does.
 */
import { readFileSync } from 'node:fs';
import * as native from '../native/addon.js';
import type { ExecutingCall, SyscallExecutor } from './syscall-events.js';

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
    sleepUntil: (atNs) => native.sleepUntil(atNs),
    start(nr, args, atNs, hold): ExecutingCall {
      const status = new Int32Array(2);
      const held = hold.filter((h): h is ArrayBufferView => ArrayBuffer.isView(h));
      const done = native.syscallAsync(nr, args as native.SyscallArg[], { atNs, status, hold: held });
      let settled = false;
      done.then(() => { settled = true; }, () => { settled = true; });
      const blockedOrDone = new Promise<void>((resolve) => {
        const poll = (): void => {
          if (settled) return resolve();
          // status[1]: 1 while the thread is inside the system call.
          if (Atomics.load(status, 1) === 1) {
            const st = threadState(Atomics.load(status, 0));
            if (st === 'S' || st === 'D' || st === null) return resolve();
          }
          setImmediate(poll);
        };
        done.then(() => resolve(), () => resolve());
        // Nothing to watch before the call's start time.
        void native.sleepUntil(atNs).then(() => setImmediate(poll));
      });
      return { done, blockedOrDone };
    },
  };
}
