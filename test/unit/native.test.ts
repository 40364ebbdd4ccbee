import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CONSTANTS,
  ERRNO,
  SYMBOLS,
  SYS,
  addressOf,
  errnoName,
  nowNs,
  setRealtimePriority,
  sleepUntil,
  spinUntil,
  threadpoolRealtime,
  strerror,
  syscall,
  syscallAsync,
  sysNr,
  tunOpen,
  type SyscallArg,
} from '../../src/native/addon.js';
import { ROOT } from '../helpers/cli.js';

/** Makes a pipe; returns [readFd, writeFd]. */
function pipe(): [number, number] {
  const fds = Buffer.alloc(8);
  const r = syscall(sysNr('pipe2'), [fds, 0]);
  expect(r.errno).toBe(0);
  return [fds.readInt32LE(0), fds.readInt32LE(4)];
}

function close(...fds: number[]): void {
  for (const fd of fds) syscall(sysNr('close'), [fd]);
}

describe('native clock', () => {
  it('nowNs is monotonic and close to performance.now()', () => {
    let prev = nowNs();
    expect(prev).toBeGreaterThan(0n);
    for (let i = 0; i < 10000; i++) {
      const t = nowNs();
      expect(t >= prev).toBe(true);
      prev = t;
    }
    const a = nowNs();
    const p0 = performance.now();
    while (performance.now() - p0 < 5);
    const b = nowNs();
    expect(b - a).toBeGreaterThanOrEqual(4_000_000n);
    expect(b - a).toBeLessThan(1_000_000_000n);
  });
});

describe('native waits', () => {
  it('sleepUntil returns at or after its deadline, at once for one already past', () => {
    const at = nowNs() + 3_000_000n;
    const woke = sleepUntil(at);
    expect(woke >= at).toBe(true);
    expect(woke - at).toBeLessThan(1_000_000_000n);
    const past = nowNs() - 1_000_000n;
    expect(sleepUntil(past) >= past + 1_000_000n).toBe(true);
  });

  it('sleepUntil refuses a deadline more than a second away, spinUntil one more than 10 ms away', () => {
    expect(() => sleepUntil(nowNs() + 2_000_000_000n)).toThrow(/more than 1 s away/);
    expect(() => spinUntil(nowNs() + 20_000_000n)).toThrow(/more than 10 ms away/);
  });

  it('spinUntil returns the time it reached, at or after its deadline', () => {
    const at = nowNs() + 300_000n;
    expect(spinUntil(at) >= at).toBe(true);
  });
});

describe('libuv pool priority', () => {
  it('threadpoolRealtime raises each of the pool\'s threads, and only those, to SCHED_FIFO 1', () => {
    // In a process of its own: the pool's threads keep the level for good.
    const code = `
      import { readdirSync, readFileSync } from 'node:fs';
      const native = await import(${JSON.stringify(join(ROOT, 'dist', 'native', 'addon.js'))});
      const raised = await native.threadpoolRealtime(3, 1);
      const fifo1 = readdirSync('/proc/self/task').filter((t) => {
        const f = readFileSync('/proc/self/task/' + t + '/stat', 'utf8').split(') ')[1].split(' ');
        return f[38] === '1' && f[37] === '1';
      });
      console.log(JSON.stringify({ raised, fifo1: fifo1.length }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', env: { ...process.env, UV_THREADPOOL_SIZE: '3' } });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { raised: number; fifo1: number };
    // 0 where real-time scheduling is not permitted; then no thread moved.
    expect([0, 3]).toContain(out.raised);
    expect(out.fifo1).toBe(out.raised);
    if (process.getuid?.() === 0 && setRealtimePriority(10)) expect(out.raised).toBe(3);
  });

  it('threadpoolRealtime refuses counts and levels out of range', () => {
    expect(() => threadpoolRealtime(0, 1)).toThrow(/threads 1\.\.1024/);
    expect(() => threadpoolRealtime(2, 100)).toThrow(/priority 1\.\.99/);
  });
});

describe('native syscall', () => {
  it('runs getpid on the JS thread with time stamps', () => {
    const r = syscall(sysNr('getpid'), []);
    expect(r.ret).toBe(BigInt(process.pid));
    expect(r.errno).toBe(0);
    expect(r.endNs >= r.startNs).toBe(true);
  });

  it('reports errno: close(-1) fails with EBADF', () => {
    const r = syscall(sysNr('close'), [-1]);
    expect(r.ret).toBe(-1n);
    expect(r.errno).toBe(ERRNO.EBADF);
    expect(errnoName(r.errno)).toBe('EBADF');
    expect(strerror(r.errno)).toBe('Bad file descriptor');
  });

  it('passes Buffers as pointers and null as 0', () => {
    const [rfd, wfd] = pipe();
    try {
      const msg = Buffer.from('hello');
      const w = syscall(sysNr('write'), [wfd, msg, msg.length]);
      expect(w.ret).toBe(5n);
      const buf = Buffer.alloc(16);
      const r = syscall(sysNr('read'), [rfd, buf, 16n]);
      expect(r.ret).toBe(5n);
      expect(buf.subarray(0, 5).toString()).toBe('hello');
      // A null buffer pointer with a non-zero length: EFAULT, not a crash.
      syscall(sysNr('write'), [wfd, msg, 1]);
      const f = syscall(sysNr('read'), [rfd, null, 1]);
      expect(f.ret).toBe(-1n);
      expect(errnoName(f.errno)).toBe('EFAULT');
    } finally {
      close(rfd, wfd);
    }
  });

  it('rejects bad arguments with TypeErrors', () => {
    expect(() => syscall(sysNr('getpid'), [1, 2, 3, 4, 5, 6, 7])).toThrow(TypeError);
    expect(() => syscall(sysNr('close'), ['3' as unknown as SyscallArg])).toThrow(TypeError);
    expect(() => syscall(sysNr('close'), [1.5])).toThrow(TypeError);
    expect(() => syscall(-1, [])).toThrow(TypeError);
    expect(() => sysNr('no_such_call')).toThrow(/not available/);
    expect(() => tunOpen('a-name-much-too-long')).toThrow(/15 bytes/);
  });

  it('syscallAsync: a blocking read completes after a later write while the loop runs', async () => {
    const [rfd, wfd] = pipe();
    try {
      const buf = Buffer.alloc(32);
      const pending = syscallAsync(sysNr('read'), [rfd, buf, buf.length]);
      let ticks = 0;
      const timer = setInterval(() => ticks++, 2);
      await new Promise((resolve) => setTimeout(resolve, 60));
      const writeAt = nowNs();
      const w = syscall(sysNr('write'), [wfd, Buffer.from('wake up'), 7]);
      expect(w.ret).toBe(7n);
      const r = await pending;
      clearInterval(timer);
      expect(ticks).toBeGreaterThan(5);
      expect(r.ret).toBe(7n);
      expect(r.errno).toBe(0);
      expect(buf.subarray(0, 7).toString()).toBe('wake up');
      expect(r.startNs < writeAt).toBe(true);
      expect(r.endNs > writeAt).toBe(true);
    } finally {
      close(rfd, wfd);
    }
  });

  it('syscallAsync: several blocking calls are in flight at once', async () => {
    const pipes = [pipe(), pipe(), pipe(), pipe()];
    try {
      const bufs = pipes.map(() => Buffer.alloc(4));
      const order: number[] = [];
      const calls = pipes.map(([rfd], i) =>
        syscallAsync(sysNr('read'), [rfd, bufs[i]!, 4]).then((r) => {
          order.push(i);
          return r;
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 20));
      // Wake them in reverse order: each must return on its own.
      for (let i = pipes.length - 1; i >= 0; i--) {
        syscall(sysNr('write'), [pipes[i]![1], Buffer.from([i, i, i, i]), 4]);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const results = await Promise.all(calls);
      expect(results.map((r) => r.ret)).toEqual([4n, 4n, 4n, 4n]);
      expect(order).toEqual([3, 2, 1, 0]);
      bufs.forEach((b, i) => expect([...b]).toEqual([i, i, i, i]));
    } finally {
      for (const [r, w] of pipes) close(r, w);
    }
  });

  it('syscallAsync with atNs starts the call at that time', async () => {
    const at = nowNs() + 3_000_000n;
    const r = await syscallAsync(sysNr('getpid'), [], { atNs: at });
    expect(r.ret).toBe(BigInt(process.pid));
    expect(r.startNs >= at).toBe(true);
    // Started at the deadline, not at some later turn of the loop (the margin is for a loaded machine).
    expect(r.startNs - at).toBeLessThan(1_000_000_000n);
  });

  it('syscallAsync status words show the thread and when it is inside the call', async () => {
    const [rfd, wfd] = pipe();
    try {
      const status = new Int32Array(2);
      const pending = syscallAsync(sysNr('read'), [rfd, Buffer.alloc(1), 1], { status });
      let state = '';
      for (let i = 0; i < 500 && state !== 'S'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 2));
        if (Atomics.load(status, 1) !== 1) continue;
        const stat = readFileSync(`/proc/self/task/${Atomics.load(status, 0)}/stat`, 'latin1');
        state = stat.charAt(stat.lastIndexOf(')') + 2);
      }
      expect(state).toBe('S'); // asleep in read()
      syscall(sysNr('write'), [wfd, Buffer.from('x'), 1]);
      expect((await pending).ret).toBe(1n);
      expect(Atomics.load(status, 1)).toBe(2);
      expect(() => syscallAsync(sysNr('getpid'), [], { status: new Int32Array(1) })).toThrow(TypeError);
    } finally {
      close(rfd, wfd);
    }
  });

  it('syscallAsync threads go away once idle', { timeout: 20_000 }, async () => {
    const threads = (): number => readdirSync('/proc/self/task').length;
    const settle = async (maxMs: number): Promise<void> => {
      // Wait for idle pool threads of earlier tests to exit (2 s idle).
      const end = Date.now() + maxMs;
      while (Date.now() < end) {
        const n = threads();
        await new Promise((resolve) => setTimeout(resolve, 250));
        if (threads() === n && Date.now() > end - maxMs + 2500) break;
      }
    };
    await settle(6000);
    const before = threads();
    const pipes = Array.from({ length: 20 }, () => pipe());
    try {
      const calls = pipes.map(([rfd]) => syscallAsync(sysNr('read'), [rfd, Buffer.alloc(1), 1]));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(threads()).toBeGreaterThanOrEqual(before + 20);
      for (const [, wfd] of pipes) syscall(sysNr('write'), [wfd, Buffer.from('x'), 1]);
      await Promise.all(calls);
      // Idle pool threads exit after 2 s.
      const deadline = Date.now() + 8000;
      while (threads() > before && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(threads()).toBeLessThanOrEqual(before);
    } finally {
      for (const [r, w] of pipes) close(r, w);
    }
  });

  it('timed calls run on real-time threads when permitted, ordinary ones do not', async () => {
    const policyOf = async (atNs: bigint | undefined): Promise<number> => {
      const [rfd, wfd] = pipe();
      try {
        const status = new Int32Array(2);
        const pending = syscallAsync(sysNr('read'), [rfd, Buffer.alloc(1), 1], { atNs, status });
        while (Atomics.load(status, 1) !== 1) await new Promise((resolve) => setTimeout(resolve, 1));
        const stat = readFileSync(`/proc/self/task/${Atomics.load(status, 0)}/stat`, 'latin1');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields[0] is field 3
        syscall(sysNr('write'), [wfd, Buffer.from('x'), 1]);
        await pending;
        return Number(fields[41 - 3]); // policy: 0 SCHED_OTHER, 1 SCHED_FIFO
      } finally {
        close(rfd, wfd);
      }
    };
    expect(await policyOf(undefined)).toBe(0);
    const permitted = setRealtimePriority(10);
    if (process.getuid?.() === 0 && permitted) expect(await policyOf(nowNs() + 1_000_000n)).toBe(1);
    setRealtimePriority(0);
    try {
      expect(await policyOf(nowNs() + 1_000_000n)).toBe(0);
    } finally {
      setRealtimePriority(10);
    }
    expect(() => setRealtimePriority(100)).toThrow(TypeError);
  });

  it('syscallAsync reports errno', async () => {
    const r = await syscallAsync(sysNr('close'), [-1]);
    expect(r.ret).toBe(-1n);
    expect(errnoName(r.errno)).toBe('EBADF');
  });
});

// struct iovec { void *iov_base; size_t iov_len; }                  16 bytes
// struct msghdr { void *msg_name; socklen_t msg_namelen; (pad 4)
//                 struct iovec *msg_iov; size_t msg_iovlen;
//                 void *msg_control; size_t msg_controllen;
//                 int msg_flags; (pad 4) }                          56 bytes
// (x86_64 and arm64 Linux, LP64)
function iovecs(bufs: readonly Buffer[]): Buffer {
  const iov = Buffer.alloc(16 * bufs.length);
  bufs.forEach((b, i) => {
    iov.writeBigUInt64LE(addressOf(b), 16 * i);
    iov.writeBigUInt64LE(BigInt(b.length), 16 * i + 8);
  });
  return iov;
}

function msghdr(iov: Buffer, iovlen: number): Buffer {
  const m = Buffer.alloc(56);
  m.writeBigUInt64LE(0n, 0);
  m.writeUInt32LE(0, 8);
  m.writeBigUInt64LE(addressOf(iov), 16);
  m.writeBigUInt64LE(BigInt(iovlen), 24);
  m.writeBigUInt64LE(0n, 32);
  m.writeBigUInt64LE(0n, 40);
  m.writeInt32LE(0, 48);
  return m;
}

describe.runIf(process.arch === 'x64' || process.arch === 'arm64')('native structures built in TypeScript', () => {
  function socketpair(type: bigint): [number, number] {
    const fds = Buffer.alloc(8);
    const r = syscall(sysNr('socketpair'), [CONSTANTS.AF_UNIX!, type, 0, fds]);
    expect(r.errno).toBe(0);
    return [fds.readInt32LE(0), fds.readInt32LE(4)];
  }

  it('addressOf gives the data pointer of a Buffer, a view and its ArrayBuffer', () => {
    const ab = new ArrayBuffer(64);
    const view = Buffer.from(ab, 16, 8);
    expect(addressOf(view) - addressOf(ab)).toBe(16n);
    expect(addressOf(new Uint32Array(ab, 8, 2)) - addressOf(ab)).toBe(8n);
    expect(addressOf(ab)).not.toBe(0n);
  });

  it('sendmsg / recvmsg over an AF_UNIX socketpair with iovec and msghdr', () => {
    const [a, b] = socketpair(SYMBOLS.SOCK_DGRAM!);
    try {
      const parts = [Buffer.from('scatter-'), Buffer.from('gather-'), Buffer.from('io')];
      const sendIov = iovecs(parts);
      const s = syscall(sysNr('sendmsg'), [a, msghdr(sendIov, parts.length), 0]);
      expect(s.errno).toBe(0);
      expect(s.ret).toBe(17n);

      const out = [Buffer.alloc(5), Buffer.alloc(100)];
      const recvIov = iovecs(out);
      const hdr = msghdr(recvIov, out.length);
      const r = syscall(sysNr('recvmsg'), [b, hdr, 0]);
      expect(r.errno).toBe(0);
      expect(r.ret).toBe(17n);
      expect(out[0]!.toString()).toBe('scatt');
      expect(out[1]!.subarray(0, 12).toString()).toBe('er-gather-io');
      expect(hdr.readInt32LE(48)).toBe(0); // msg_flags: not truncated

      // A short buffer truncates the datagram: MSG_TRUNC in msg_flags.
      syscall(sysNr('sendmsg'), [a, msghdr(sendIov, parts.length), 0]);
      const small = [Buffer.alloc(4)];
      const hdr2 = msghdr(iovecs(small), 1);
      const r2 = syscall(sysNr('recvmsg'), [b, hdr2, 0]);
      expect(r2.ret).toBe(4n);
      expect(BigInt(hdr2.readInt32LE(48)) & SYMBOLS.MSG_TRUNC!).toBe(SYMBOLS.MSG_TRUNC);
    } finally {
      close(a, b);
    }
  });

  it('a blocking recvmsg on a native thread, with its indirect buffers held', async () => {
    const [a, b] = socketpair(SYMBOLS.SOCK_STREAM!);
    try {
      const out = [Buffer.alloc(3), Buffer.alloc(3)];
      const iov = iovecs(out);
      const hdr = msghdr(iov, out.length);
      const pending = syscallAsync(sysNr('recvmsg'), [b, hdr, SYMBOLS.MSG_WAITALL!], { hold: [iov, ...out] });
      await new Promise((resolve) => setTimeout(resolve, 20));
      syscall(sysNr('write'), [a, Buffer.from('abc'), 3]);
      await new Promise((resolve) => setTimeout(resolve, 20));
      syscall(sysNr('write'), [a, Buffer.from('def'), 3]);
      const r = await pending;
      expect(r.ret).toBe(6n);
      expect(out.map((x) => x.toString())).toEqual(['abc', 'def']);
    } finally {
      close(a, b);
    }
  });
});

describe('native constant tables', () => {
  it('has packetdrill symbols with the values of the system headers', () => {
    expect(SYMBOLS.AF_INET).toBe(2n);
    expect(SYMBOLS.AF_INET6).toBe(10n);
    expect(SYMBOLS.SOCK_STREAM).toBe(1n);
    expect(SYMBOLS.IPPROTO_TCP).toBe(6n);
    expect(SYMBOLS.SOL_SOCKET).toBe(1n);
    expect(SYMBOLS.SOL_TCP).toBe(6n);
    expect(SYMBOLS.TCP_INFO).toBe(11n);
    expect(SYMBOLS.TCP_NODELAY).toBe(1n);
    expect(SYMBOLS.O_NONBLOCK).toBe(0o4000n);
    expect(SYMBOLS.EPOLLET).toBe(0x80000000n);
    expect(SYMBOLS.MSG_ZEROCOPY).toBe(0x4000000n);
    expect(SYMBOLS.SO_ZEROCOPY).toBe(60n);
    expect(SYMBOLS.TCP_INQ).toBe(36n);
    expect(SYMBOLS.TCP_NLA_SRTT).toBe(22n);
    expect(SYMBOLS.TCP_CA_LOSS).toBe(4n);
    expect(SYMBOLS.SOF_TIMESTAMPING_OPT_ID_TCP).toBe(1n << 16n);
    expect(SYMBOLS.FIONREAD).toBe(0x541bn);
    expect(SYMBOLS.SIOCINQ).toBe(0x541bn);
    expect(SYMBOLS.SPLICE_F_MORE).toBe(4n);
    expect(SYMBOLS.SHUT_RDWR).toBe(2n);
    expect(SYMBOLS.EINPROGRESS).toBe(115n);
    expect(SYMBOLS.NULL).toBe(0n);
    expect(SYMBOLS.CAP_NET_ADMIN).toBe(12n);
    expect(Object.isFrozen(SYMBOLS)).toBe(true);
    // Every group of names packetdrill scripts use is there.
    for (const prefix of ['AF_', 'SOCK_', 'IPPROTO_', 'SOL_', 'SO_', 'TCP_', 'IP_', 'IPV6_', 'MSG_', 'O_', 'F_', 'POLL', 'EPOLL', 'SIOC', 'SHUT_', 'SPLICE_F_', 'SOF_', 'SCM_', 'CAP_']) {
      expect(Object.keys(SYMBOLS).some((k) => k.startsWith(prefix))).toBe(true);
    }
    expect(Object.keys(SYMBOLS).length).toBeGreaterThan(400);
  });

  it('has system call numbers of this architecture', () => {
    for (const name of ['socket', 'bind', 'listen', 'accept', 'accept4', 'connect', 'read', 'readv', 'write', 'writev', 'sendto', 'recvfrom', 'sendmsg', 'recvmsg', 'sendmmsg', 'setsockopt', 'getsockopt', 'getsockname', 'getpeername', 'shutdown', 'close', 'fcntl', 'ioctl', 'ppoll', 'epoll_create1', 'epoll_ctl', 'epoll_pwait', 'pipe2', 'splice', 'sendfile', 'openat', 'socketpair', 'dup', 'dup3', 'getpid']) {
      expect(SYS[name], name).toBeTypeOf('number');
    }
    if (process.arch === 'x64') {
      expect(SYS.read).toBe(0);
      expect(SYS.socket).toBe(41);
      expect(SYS.open).toBe(2);
      expect(SYS.poll).toBe(7);
      expect(SYS.epoll_wait).toBe(232);
    }
  });

  it('has every errno with canonical names', () => {
    expect(ERRNO.EPERM).toBe(1);
    expect(ERRNO.EAGAIN).toBe(11);
    expect(ERRNO.EWOULDBLOCK).toBe(11);
    expect(ERRNO.ECONNREFUSED).toBe(111);
    expect(ERRNO.EHWPOISON).toBe(133);
    expect(errnoName(11)).toBe('EAGAIN');
    expect(errnoName(35)).toBe('EDEADLK');
    expect(errnoName(95)).toBe('EOPNOTSUPP');
    expect(errnoName(9999)).toBe('UNKNOWN_ERRNO_9999');
    for (let e = 1; e <= 133; e++) {
      if (e === 41 || e === 58) continue; // unused numbers on Linux
      expect(errnoName(e)).toMatch(/^E[A-Z0-9]+$/);
    }
  });
});
