/**
 * Runs system calls on the addon's native threads and tells when a call
 * has gone to sleep in the kernel, so the engine moves on to the next
 * event only once a blocking call really blocks, as packetdrill's syscall
 * thread hand-off does.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import * as native from '../native/addon.js';
import type { ExecutingCall, SyscallExecutor } from './syscall-events.js';
import { waitUntil } from './clock-wait.js';

/**
 * A thread's Linux state ('R', 'S', 'D', ...) from /proc/self/task/<tid>/stat,
 * the file kept open between looks (a look is then one pread, not an open,
 * a read and a close); null when the file cannot be read.
 */
class ThreadState {
  private fd = -1;
  private tid = 0;
  private readonly buf = Buffer.alloc(512);

  look(tid: number): string | null {
    if (tid !== this.tid) {
      this.close();
      try {
        this.fd = openSync(`/proc/self/task/${tid}/stat`, 'r');
      } catch {
        return null;
      }
      this.tid = tid;
    }
    let n: number;
    try {
      n = readSync(this.fd, this.buf, 0, this.buf.length, 0);
    } catch {
      return null;
    }
    const s = this.buf.toString('latin1', 0, n);
    const close = s.lastIndexOf(')');
    return close < 0 ? null : s.charAt(close + 2) || null;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    this.tid = 0;
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
      const thread = new ThreadState();
      const blockedNow = (): boolean => {
        const phase = Atomics.load(status, 1);
        if (phase === 2) return true;
        if (phase !== 1) return false;
        const st = thread.look(Atomics.load(status, 0));
        return st === 'S' || st === 'D' || st === null;
      };
      const watch = async (): Promise<void> => {
        // Nothing to watch before the call's start time.
        await waitUntil(atNs);
        // A call that blocks does so within microseconds: look closely
        // first (sleeping between looks, not spinning), then now and then.
        // (Native naps: see native.sleepUntil on Atomics.wait.)
        const closeUntil = native.nowNs() + 200_000_000n;
        for (let now = native.nowNs(); now < closeUntil; now = native.nowNs()) {
          if (settled || blockedNow()) return;
          native.sleepUntil(now + 20_000n);
        }
        await new Promise<void>((resolve) => {
          const poll = (): void => (settled || blockedNow() ? resolve() : void setTimeout(poll, 1));
          done.then(() => resolve(), () => resolve());
          poll();
        });
      };
      const blockedOrDone = watch().finally(() => thread.close());
      return { done, blockedOrDone };
    },
  };
}
