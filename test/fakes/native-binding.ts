/**
 * A stand-in for the native addon, handed to src/native/addon.ts with
 * useNativeBinding(), so engine units run without the compiled addon: the
 * clock is CLOCK_MONOTONIC through process.hrtime (the clock the addon
 * stamps with), sleeps are timers, system calls are answered by a handler
 * the test gives (ENOSYS otherwise) and recorded, and device calls fail.
 */
import type { NativeBinding, SyscallArg, SyscallResult } from '../../src/native/addon.js';

const ENOSYS = 38;

/** x86_64 numbers of the calls the engine's set-up uses. */
export const FAKE_SYS: Record<string, number> = {
  read: 0, write: 1, close: 3, poll: 7, ioctl: 16, nanosleep: 35, socket: 41, connect: 42, accept: 43,
  bind: 49, listen: 50, setsockopt: 54, getsockopt: 55, times: 100, sched_setscheduler: 144,
  clock_gettime: 228, openat: 257,
};

export interface FakeBindingOptions {
  /** Answer a system call; undefined falls back to -1 ENOSYS. */
  syscall?: (name: string, args: readonly SyscallArg[]) => { ret: bigint; errno?: number } | undefined;
  symbols?: Record<string, bigint>;
  /** Stalls the stall monitor reports ([from, to] monotonic ns). */
  stalls?: Array<[bigint, bigint]>;
}

export interface FakeBinding extends NativeBinding {
  /** Every system call made, by name, in order. */
  readonly calls: Array<{ name: string; args: readonly SyscallArg[] }>;
}

export function fakeNativeBinding(opts: FakeBindingOptions = {}): FakeBinding {
  const names = new Map(Object.entries(FAKE_SYS).map(([k, v]) => [v, k] as const));
  const calls: Array<{ name: string; args: readonly SyscallArg[] }> = [];
  const addrs = new WeakMap<object, bigint>();
  let nextAddr = 0x7f0000001000n;
  const now = (): bigint => process.hrtime.bigint();
  const call = (nr: number, args: readonly SyscallArg[]): SyscallResult => {
    const name = names.get(nr) ?? `nr${nr}`;
    calls.push({ name, args });
    const startNs = now();
    const r = opts.syscall?.(name, args);
    return { ret: r ? r.ret : -1n, errno: r ? r.errno ?? 0 : ENOSYS, startNs, endNs: now() };
  };
  const noDevice = (): never => {
    throw new Error('the fake native binding has no devices');
  };
  return {
    calls,
    nowNs: now,
    // On the binding's own clock, which a test may replace.
    spinUntil(this: NativeBinding, deadlineNs: bigint): bigint {
      let t = this.nowNs();
      if (deadlineNs - t > 10_000_000n) throw new TypeError('spinUntil(deadlineNs): the deadline is more than 10 ms away; sleep first');
      while (t < deadlineNs) t = this.nowNs();
      return t;
    },
    // On the binding's own clock too: a virtual one moves when read, the
    // real one is slept on.
    sleepUntil(this: NativeBinding, deadlineNs: bigint): bigint {
      let t = this.nowNs();
      if (deadlineNs - t > 1_000_000_000n) throw new TypeError('sleepUntil(deadlineNs): the deadline is more than 1 s away');
      const nap = new Int32Array(new SharedArrayBuffer(4));
      while (t < deadlineNs) {
        if (this.nowNs === now) Atomics.wait(nap, 0, 0, Number(deadlineNs - t) / 1e6);
        t = this.nowNs();
      }
      return t;
    },
    threadpoolRealtime: () => Promise.resolve(0),
    setRealtimePriority: () => false,
    stallMonitorStart: () => ({ realtime: true }),
    stallMonitorStop: () => {},
    stallMonitorStalls: (from, to) => ({
      stalls: (opts.stalls ?? []).filter(([a, b]) => b >= from && a <= to),
      wakeups: 0,
      running: true,
      realtime: true,
    }),
    syscall: call,
    syscallAsync: (nr, args) => Promise.resolve(call(nr, args)),
    addressOf: (buf) => {
      let a = addrs.get(buf);
      if (a === undefined) {
        a = nextAddr;
        nextAddr += 0x10000n;
        addrs.set(buf, a);
      }
      return a;
    },
    tunOpen: noDevice,
    tunWrite: noDevice,
    tunWriteAt: noDevice,
    tunReaderStart: noDevice,
    tunReaderStop: noDevice,
    tunReaderPending: noDevice,
    tunReaderTake: noDevice,
    tunReaderWait: noDevice,
    tunReaderHold: noDevice,
    tunWriteBurst: noDevice,
    tunReaderStampStats: noDevice,
    packetSocketOpen: noDevice,
    packetStampSocketOpen: noDevice,
    strerror: (errno) => (errno === ENOSYS ? 'Function not implemented' : `Unknown error ${errno}`),
    netnsFollow: () => {},
    sockDiagStart: noDevice,
    sockDiagTake: noDevice,
    sockDiagStop: noDevice,
    sockDiagStats: noDevice,
    sockDiagDumpNow: noDevice,
    sockDiagWake: () => undefined,
    spawnWait: noDevice,
    SYMBOLS: { AF_INET: 2n, AF_INET6: 10n, SOCK_STREAM: 1n, IPPROTO_TCP: 6n, SOL_SOCKET: 1n, SOL_TCP: 6n, ...opts.symbols },
    CONSTANTS: {},
    SYS: FAKE_SYS,
    ERRNO: { EAGAIN: 11, EWOULDBLOCK: 11, ENOSYS },
  };
}
