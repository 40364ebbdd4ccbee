/**
 * The system-call runner's handlers without a kernel: what each script call
 * turns into (number, arguments, buffers), the checks its `complete` step
 * makes on a given outcome, packetdrill's messages, and the fd table and
 * socket state updates. The native addon is replaced by a fake whose
 * addresses map back to the Buffers, so a test can play the kernel.
 */
import { beforeEach, describe, expect, test, vi } from 'vitest';

vi.mock('../../src/native/addon.js', () => {
  const byAddr = new Map<bigint, Buffer>();
  const addrs = new WeakMap<object, bigint>();
  let next = 0x7f0000001000n;
  const messages: Record<number, string> = {
    0: 'Success',
    9: 'Bad file descriptor',
    11: 'Resource temporarily unavailable',
    14: 'Bad address',
    22: 'Invalid argument',
    24: 'Too many open files',
    111: 'Connection refused',
    115: 'Operation now in progress',
  };
  return {
    SYS: {
      read: 0, write: 1, open: 2, close: 3, poll: 7, ioctl: 16, readv: 19, writev: 20, pipe: 22,
      sendfile: 40, socket: 41, connect: 42, accept: 43, sendto: 44, recvfrom: 45, sendmsg: 46,
      recvmsg: 47, shutdown: 48, bind: 49, listen: 50, setsockopt: 54, getsockopt: 55, fcntl: 72,
      capget: 125, capset: 126, epoll_create: 213, epoll_wait: 232, epoll_ctl: 233, splice: 275,
    },
    strerror: (e: number) => messages[e] ?? `Unknown error ${e}`,
    syscall: (nr: number, args: Buffer[]) => {
      if (nr === 125) args[1]!.writeUInt32LE(0x2000, 0); // capget: some effective caps
      return { ret: 0n, errno: 0, startNs: 0n, endNs: 0n };
    },
    addressOf: (b: Buffer) => {
      let a = addrs.get(b);
      if (a === undefined) {
        a = next;
        next += 0x10000n;
        addrs.set(b, a);
        byAddr.set(a, b);
      }
      return a;
    },
    bufferAt: (a: bigint) => byAddr.get(a),
  };
});

import * as addon from '../../src/native/addon.js';
import { finalizeConfig, type RunOptions } from '../../src/engine/config.js';
import {
  prepareSyscall,
  SyscallFailure,
  warmUpSyscalls,
  type PreparedSyscall,
  type SyscallContext,
} from '../../src/engine/run-syscall.js';
import { FdTable, newSocketEntry, type SocketEntry } from '../../src/engine/sockets.js';
import { parseScript } from '../../src/script/index.js';

const bufferAt = (addon as unknown as { bufferAt(a: bigint): Buffer }).bufferAt;

const SYMS: Record<string, bigint> = {
  NULL: 0n, AF_INET: 2n, AF_INET6: 10n, AF_UNSPEC: 0n,
  SOCK_STREAM: 1n, SOCK_DGRAM: 2n, SOCK_NONBLOCK: 0x800n,
  IPPROTO_TCP: 6n, IPPROTO_ICMP: 1n, IPPROTO_UDP: 17n,
  SOL_SOCKET: 1n, SOL_TCP: 6n, SOL_IP: 0n, SOL_IPV6: 41n,
  SO_REUSEADDR: 2n, SO_LINGER: 13n, TCP_INFO: 11n, TCP_MAXSEG: 2n, TCP_CONGESTION: 13n, TCP_FASTOPEN_KEY: 33n,
  TCP_CM_INQ: 36n, IP_RECVERR: 11n, SCM_TIMESTAMPING: 37n,
  F_GETFL: 3n, F_SETFL: 4n, O_RDWR: 2n, O_NONBLOCK: 0x800n, O_RDONLY: 0n,
  EINPROGRESS: 115n, ECONNREFUSED: 111n, EAGAIN: 11n, EFAULT: 14n,
  MSG_ERRQUEUE: 0x2000n, MSG_TRUNC: 0x20n, MSG_FASTOPEN: 0x20000000n, MSG_ZEROCOPY: 0x4000000n,
  SO_EE_ORIGIN_ZEROCOPY: 5n, SO_EE_CODE_ZEROCOPY_COPIED: 1n,
  POLLIN: 1n, POLLOUT: 4n, POLLERR: 8n, EPOLLIN: 1n, EPOLLOUT: 4n, EPOLLET: 0x80000000n,
  EPOLL_CTL_ADD: 1n, SIOCINQ: 0x541bn, SHUT_WR: 1n, CAP_EFFECTIVE: 0n, CAP_NET_ADMIN: 12n, CAP_SET: 1n,
};

function context(opts: RunOptions = {}): SyscallContext {
  return { config: finalizeConfig(opts), fds: new FdTable(), symbol: (n) => SYMS[n] };
}

function parse(line: string) {
  const s = parseScript(`0 ${line}\n`, { path: 't.pkt' });
  const ev = s.events[0]!;
  if (ev.type !== 'syscall') throw new Error('not a syscall');
  return ev.syscall;
}

const prep = (ctx: SyscallContext, line: string): PreparedSyscall => prepareSyscall(ctx, parse(line));

const ok = (ret: number | bigint, errno = 0) => ({ ret: BigInt(ret), errno, startNs: 0n, endNs: 0n });

function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof SyscallFailure) return e.message;
    throw e;
  }
  throw new Error('no failure');
}

/** Run a call, playing the kernel with `ret` (and optional side effects on the args). */
function run(ctx: SyscallContext, line: string, ret: number, errno = 0, kernel?: (p: PreparedSyscall) => void): PreparedSyscall {
  const p = prep(ctx, line);
  kernel?.(p);
  p.complete(ok(ret, errno));
  return p;
}

/** A socket with script fd 3 (live 13) in the table. */
function withSocket(ctx: SyscallContext, line = 'socket(..., SOCK_STREAM, IPPROTO_TCP) = 3', live = 13): SocketEntry {
  run(ctx, line, live);
  return ctx.fds.socketByScriptFd(expectedFd(line))!;
}
const expectedFd = (line: string) => Number(/=\s*(\d+)/.exec(line)![1]);

let ctx: SyscallContext;
beforeEach(() => {
  ctx = context();
});

describe('dispatch and argument errors', () => {
  test('unknown calls, symbols, counts, fds, types', () => {
    expect(failure(() => prep(ctx, 'frobnicate(1) = 0'))).toBe("Unknown system call: 'frobnicate'");
    expect(failure(() => prep(ctx, 'epoll_create1(0) = 3'))).toBe("Unknown system call: 'epoll_create1'");
    expect(failure(() => prep(ctx, 'socket(..., SOCK_BOGUS, 0) = 3'))).toBe("unknown symbol: 'SOCK_BOGUS'");
    expect(failure(() => prep(ctx, 'read(3, ..., 10, 4) = 0'))).toBe('Expected 3 args but got 4');
    expect(failure(() => prep(ctx, 'read(3, ..., 10) = 0'))).toBe('unable to find fd with script fd 3');
    withSocket(ctx);
    expect(failure(() => prep(ctx, 'read(3, 5, 10) = 0'))).toBe('Expected ... or NULL for buffer');
    expect(failure(() => prep(ctx, 'socket(..., SOCK_STREAM, "tcp") = 4'))).toBe(
      'Bad type; actual: string expected: integer',
    );
    expect(failure(() => prep(ctx, 'bind(3, 5, ...) = 0'))).toBe('Bad type; actual: integer expected: ellipsis');
    expect(failure(() => prep(ctx, 'fcntl(3) = 0'))).toBe('fcntl expected 2-3 args but got 1');
    expect(failure(() => prep(ctx, 'ioctl(3, 1, 2, 3) = 0'))).toBe('ioctl expected 2-3 args but got 4');
    expect(failure(() => prep(ctx, 'psp_tx_assoc(3, 1) = 0'))).toBe('PSP not initialized');
  });

  test('result checks and their messages', () => {
    withSocket(ctx);
    const p = prep(ctx, 'read(3, ..., 10) = 10');
    expect(failure(() => p.complete(ok(5)))).toBe('Expected result 10 but got 5 with errno 0 (Success)');
    expect(failure(() => p.complete(ok(-1, 11)))).toBe(
      'Expected result 10 but got -1 with errno 11 (Resource temporarily unavailable)',
    );
    const e = prep(ctx, 'read(3, ..., 10) = -1 EAGAIN (Resource temporarily unavailable)');
    expect(() => e.complete(ok(-1, 11))).not.toThrow();
    expect(failure(() => e.complete(ok(-1, 14)))).toBe(
      'Expected errno 11 (Resource temporarily unavailable) but got 14 (Bad address)',
    );
    const noErrno = prep(ctx, 'read(3, ..., 10) = -1 (Invalid Argument)');
    expect(() => noErrno.complete(ok(-1, 22))).not.toThrow();
    const badErrno = prep(ctx, 'read(3, ..., 10) = -1 EWHATEVER (x)');
    expect(failure(() => badErrno.complete(ok(-1, 22)))).toBe("unknown symbol: 'EWHATEVER'");
    const word = prep(ctx, 'read(3, ..., 10) = NULL');
    expect(failure(() => word.complete(ok(0)))).toBe('Bad type; actual: word expected: integer');
    // 0xffffffff is -1 as a C int
    const hex = prep(ctx, 'read(3, ..., 10) = 0xffffffff');
    expect(() => hex.complete(ok(-1, 9))).not.toThrow();
  });
});

describe('socket lifecycle', () => {
  test('socket() maps the script fd to the live fd and becomes the socket under test', () => {
    const p = prep(ctx, 'socket(..., SOCK_STREAM|SOCK_NONBLOCK, IPPROTO_TCP) = 3');
    expect(p.nr).toBe(41);
    expect(p.args).toEqual([2n, 0x801n, 6n]);
    p.complete(ok(17));
    const s = ctx.fds.socketByScriptFd(3)!;
    expect(s).toMatchObject({ kind: 'socket', scriptFd: 3, liveFd: 17, phase: 'new', family: 2, type: 1, protocol: 6 });
    expect(ctx.fds.socketUnderTest).toBe(s);
    // A new fd must not collide with a live one.
    expect(failure(() => run(ctx, 'socket(..., SOCK_STREAM, IPPROTO_TCP) = 4', 17))).toBe('duplicate live fd 17');
    expect(failure(() => run(ctx, 'socket(..., SOCK_STREAM, IPPROTO_TCP) = 3', 18))).toBe('duplicate fd 3 in script');
    // An fd result only needs to be non-negative.
    const q = prep(ctx, 'socket(..., SOCK_STREAM, IPPROTO_TCP) = 5');
    expect(failure(() => q.complete(ok(-1, 24)))).toBe(
      'Expected non-negative result but got -1 with errno 24 (Too many open files)',
    );
  });

  test('socket(...) takes the family of the run', () => {
    const c6 = context({ ipVersion: 'ipv6' });
    expect(prep(c6, 'socket(..., SOCK_STREAM, IPPROTO_TCP) = 3').args[0]).toBe(10n);
    const cm = context({ ipVersion: 'ipv4-mapped-ipv6' });
    expect(prep(cm, 'socket(..., SOCK_STREAM, IPPROTO_TCP) = 3').args[0]).toBe(10n);
    expect(prep(ctx, 'socket(AF_INET6, SOCK_DGRAM, IPPROTO_UDP) = 3').args).toEqual([10n, 2n, 17n]);
  });

  test('bind() uses the bind address and port', () => {
    withSocket(ctx);
    const p = prep(ctx, 'bind(3, ..., ...) = 0');
    expect(p.nr).toBe(49);
    expect(p.args[0]).toBe(13n);
    const sa = p.args[1] as Buffer;
    expect(p.args[2]).toBe(16);
    expect([...sa.subarray(0, 8)]).toEqual([2, 0, 0x1f, 0x90, 192, 168, 0, 1]);

    const cm = context({ ipVersion: 'ipv4-mapped-ipv6', bindPort: 9000 });
    withSocket(cm);
    const q = prep(cm, 'bind(3, ..., ...) = 0');
    expect(q.args[2]).toBe(28);
    const sa6 = q.args[1] as Buffer;
    expect(sa6.readUInt16LE(0)).toBe(10);
    expect(sa6.readUInt16BE(2)).toBe(9000);
    expect([...sa6.subarray(18, 24)]).toEqual([0xff, 0xff, 192, 168, 0, 1]);
  });

  test('listen() and accept()', () => {
    const s = withSocket(ctx);
    run(ctx, 'listen(3, 1) = 0', 0);
    expect(s.phase).toBe('passive_listening');
    expect(failure(() => run(ctx, 'accept(3, ..., ...) = 4', 20))).toBe('unable to find socket matching accept() call');
    // The packet side created the child socket when the handshake was played.
    const child = newSocketEntry({ phase: 'passive_synack_acked', family: 2, type: 1 });
    child.live.remote = { ip: '192.0.2.1', port: 40000 };
    ctx.fds.add(child);
    ctx.fds.socketUnderTest = child;
    const p = prep(ctx, 'accept(3, ..., ...) = 4');
    expect(p.nr).toBe(43);
    expect(p.args[0]).toBe(13n);
    expect((p.args[1] as Buffer).length).toBe(128);
    expect((p.args[2] as Buffer).readUInt32LE(0)).toBe(128);
    p.complete(ok(21));
    expect(child).toMatchObject({ scriptFd: 4, liveFd: 21 });
    expect(ctx.fds.byScriptFd(4)).toBe(child);
    expect(ctx.fds.socketUnderTest).toBe(child);
  });

  test('connect() starts an active connection before the call', () => {
    const s = withSocket(ctx);
    s.script.remote = { ip: '1.2.3.4', port: 5 };
    const p = prep(ctx, 'connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)');
    expect(s.phase).toBe('active_connecting');
    expect(s.live.remote).toEqual({ ip: '192.0.2.1', port: 8080 });
    expect(s.script.remote).toEqual({ ip: '', port: 0 });
    const sa = p.args[1] as Buffer;
    expect(p.args[2]).toBe(16);
    expect([...sa.subarray(0, 8)]).toEqual([2, 0, 0x1f, 0x90, 192, 0, 2, 1]);
    expect(() => p.complete(ok(-1, 115))).not.toThrow();
    expect(failure(() => p.complete(ok(-1, 111)))).toBe(
      'Expected errno 115 (Operation now in progress) but got 111 (Connection refused)',
    );
    // AF_UNSPEC disconnects: back to new, with an empty address.
    const u = prep(ctx, 'connect(3, AF_UNSPEC, ...) = 0');
    expect(s.phase).toBe('new');
    expect(u.args[2]).toBe(128);
    expect((u.args[1] as Buffer).readUInt16LE(0)).toBe(0);
  });

  test('connect() in the ipv4-mapped-ipv6 plan: mapped sockaddr, wire address in the socket', () => {
    const cm = context({ ipVersion: 'ipv4-mapped-ipv6', connectPort: 9999 });
    const s = withSocket(cm);
    const p = prep(cm, 'connect(3, ..., ...) = 0');
    expect(p.args[2]).toBe(28);
    expect([...(p.args[1] as Buffer).subarray(18, 24)]).toEqual([0xff, 0xff, 192, 0, 2, 1]);
    expect(s.live.remote).toEqual({ ip: '192.0.2.1', port: 9999 });
  });

  test('close() marks the fd closed; shutdown, fcntl, ioctl', () => {
    withSocket(ctx);
    expect(prep(ctx, 'shutdown(3, SHUT_WR) = 0').args).toEqual([13n, 1n]);
    expect(prep(ctx, 'fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0').args).toEqual([13n, 4n, 0x802n]);
    expect(prep(ctx, 'fcntl(3, F_GETFL) = 2').args).toEqual([13n, 3n, 0n]);
    const io = prep(ctx, 'ioctl(3, SIOCINQ, [1000]) = 0');
    const val = io.args[2] as Buffer;
    val.writeInt32LE(0, 0);
    expect(failure(() => io.complete(ok(0)))).toBe('Bad ioctl optval: expected: 1000 actual: 0');
    val.writeInt32LE(1000, 0);
    expect(() => io.complete(ok(0))).not.toThrow();
    const c = prep(ctx, 'close(3) = 0');
    expect(c.args).toEqual([13n]);
    expect(failure(() => c.complete(ok(-1, 9)))).toBe('Expected result 0 but got -1 with errno 9 (Bad file descriptor)');
    expect(ctx.fds.byScriptFd(3)).toBeDefined();
    c.complete(ok(0));
    expect(ctx.fds.byScriptFd(3)).toBeUndefined();
    expect(failure(() => prep(ctx, 'close(3) = 0'))).toBe('unable to find fd with script fd 3');
  });
});

describe('data calls', () => {
  beforeEach(() => {
    withSocket(ctx);
  });

  test('read/write/send/recv buffers', () => {
    const r = prep(ctx, 'read(3, ..., 1000) = 1000');
    expect(r.nr).toBe(0);
    expect((r.args[1] as Buffer).length).toBe(1000);
    expect(r.args[2]).toBe(1000n);
    const w = prep(ctx, 'write(3, NULL, 1000) = -1 EFAULT (Bad address)');
    expect(w.args).toEqual([13n, null, 1000n]);
    const s = prep(ctx, 'send(3, ..., 4000, MSG_ZEROCOPY) = 4000');
    expect(s.nr).toBe(44);
    expect((s.args[1] as Buffer).every((b) => b === 0)).toBe(true);
    expect(s.args.slice(2)).toEqual([4000n, 0x4000000n, null, 0]);
    const rv = prep(ctx, 'recv(3, ..., 10, 0) = 10');
    expect(rv.nr).toBe(45);
    expect(rv.args.slice(4)).toEqual([null, null]);
    const rf = prep(ctx, 'recvfrom(3, NULL, 1000, 0, ..., ...) = -1 EFAULT (Bad address)');
    expect(rf.args[1]).toBeNull();
    expect((rf.args[5] as Buffer).readUInt32LE(0)).toBe(128);
  });

  test('readv/writev iovecs', () => {
    expect(failure(() => prep(ctx, 'writev(3, [{..., 10}, {..., 20}], 3) = 30'))).toBe(
      'iov_count 3 does not match 2-element iovec array',
    );
    const p = prep(ctx, 'writev(3, [{..., 10}, {..., 20}], 2) = 30');
    expect(p.nr).toBe(20);
    const iov = p.args[1] as Buffer;
    expect(bufferAt(iov.readBigUInt64LE(0))!.length).toBe(10);
    expect(iov.readBigUInt64LE(24)).toBe(20n);
    expect(p.keepAlive.length).toBe(2);
    expect(failure(() => prep(ctx, 'readv(3, [1], 1) = 0'))).toBe('Bad type; actual: integer expected: iovec');
  });

  test('sendto() on a new socket connects (TCP Fast Open)', () => {
    const s = ctx.fds.socketByScriptFd(3)!;
    const p = prep(ctx, 'sendto(3, ..., 1000, MSG_FASTOPEN, ..., ...) = 1000');
    expect(s.phase).toBe('active_connecting');
    expect(p.args[3]).toBe(0x20000000n);
    expect(p.args[5]).toBe(16);
    expect((p.args[4] as Buffer).readUInt16BE(2)).toBe(8080);
  });

  test('sendto() on an ICMP socket sends an echo request', () => {
    run(ctx, 'socket(..., SOCK_DGRAM, IPPROTO_ICMP) = 4', 14);
    const p = prep(ctx, 'sendto(4, ..., 64, 0, ..., ...) = 64');
    expect((p.args[1] as Buffer)[0]).toBe(8);
    const c6 = context({ ipVersion: 'ipv6' });
    run(c6, 'socket(..., SOCK_DGRAM, IPPROTO_ICMPV6) = 4'.replace('IPPROTO_ICMPV6', '58'), 14);
    expect((prep(c6, 'sendto(4, ..., 8, 0, ..., ...) = 8').args[1] as Buffer)[0]).toBe(128);
    expect(failure(() => prep(ctx, 'sendto(4, ..., 64, 0, AF_INET, ...) = 64'))).toBe(
      'Bad type; actual: integer expected: ellipsis',
    );
  });

  test('sendmsg() names the connect address and refuses msg_flags', () => {
    expect(
      failure(() => prep(ctx, 'sendmsg(3, {msg_name(...)=..., msg_iov(1)=[{..., 40}], msg_flags=MSG_TRUNC}, 0) = 40')),
    ).toBe('sendmsg ignores msg_flags field in msghdr');
    expect(
      failure(() => prep(ctx, 'sendmsg(3, {msg_name(...)=..., msg_iov(2)=[{..., 40}], msg_flags=0}, 0) = 40')),
    ).toBe('msg_iovlen 2 does not match 1-element iovec array');
    const p = prep(ctx, 'sendmsg(3, {msg_name(...)=..., msg_iov(2)=[{..., 40}, {..., 2}], msg_flags=0}, MSG_FASTOPEN) = 42');
    const msg = p.args[1] as Buffer;
    expect(msg.readUInt32LE(8)).toBe(16);
    expect(bufferAt(msg.readBigUInt64LE(0))!.readUInt16BE(2)).toBe(8080);
    expect(msg.readBigUInt64LE(24)).toBe(2n);
    expect(msg.readBigUInt64LE(40)).toBe(0n); // no control messages
    expect(ctx.fds.socketByScriptFd(3)!.phase).toBe('active_connecting');
  });

  test('recvmsg() checks msg_flags and control messages', () => {
    const line = `recvmsg(3, {msg_name(...)=..., msg_iov(1)=[{...,0}], msg_flags=MSG_ERRQUEUE,
       msg_control=[{cmsg_level=SOL_IP, cmsg_type=IP_RECVERR,
                     cmsg_data={ee_errno=0, ee_origin=SO_EE_ORIGIN_ZEROCOPY, ee_type=0,
                                ee_code=SO_EE_CODE_ZEROCOPY_COPIED, ee_info=1, ee_data=1}}]}, MSG_ERRQUEUE) = 0`;
    const kernel = (info: number, flags: number) => (p: PreparedSyscall) => {
      const msg = p.args[1] as Buffer;
      const control = bufferAt(msg.readBigUInt64LE(32))!;
      expect(msg.readBigUInt64LE(40)).toBe(48n);
      control.fill(0, 0, 48);
      control.writeBigUInt64LE(48n, 0);
      control.writeInt32LE(0, 8);
      control.writeInt32LE(11, 12);
      control.writeUInt8(5, 16 + 4);
      control.writeUInt8(1, 16 + 6);
      control.writeUInt32LE(info, 16 + 8);
      control.writeUInt32LE(1, 16 + 12);
      msg.writeInt32LE(flags, 48);
    };
    expect(() => run(ctx, line, 0, 0, kernel(1, 0x2000))).not.toThrow();
    expect(failure(() => run(ctx, line, 0, 0, kernel(1, 0)))).toBe('Expected msg_flags 0x00002000 but got 0x00000000');
    expect(failure(() => run(ctx, line, 0, 0, kernel(0, 0x2000)))).toBe('Bad info in extended err 0: expected=1 actual=0');
    const none = (p: PreparedSyscall) => {
      const msg = p.args[1] as Buffer;
      msg.writeBigUInt64LE(0n, 40);
      msg.writeInt32LE(0x2000, 48);
    };
    expect(failure(() => run(ctx, line, 0, 0, none))).toBe('received only 0 cmsgs');
  });
});

describe('socket options', () => {
  beforeEach(() => {
    withSocket(ctx);
  });

  test('setsockopt values', () => {
    const i = prep(ctx, 'setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0');
    expect(i.nr).toBe(54);
    expect(i.args.slice(0, 3)).toEqual([13n, 1n, 2n]);
    expect([...(i.args[3] as Buffer)]).toEqual([1, 0, 0, 0]);
    expect(i.args[4]).toBe(4n);
    const l = prep(ctx, 'setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0');
    expect([...(l.args[3] as Buffer)]).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
    const k = prep(ctx, 'setsockopt(3, SOL_TCP, TCP_FASTOPEN_KEY, "\\xa1\\xa1\\xa1\\xa1\\xb2\\xb2\\xb2\\xb2\\xc3\\xc3\\xc3\\xc3\\xd4\\xd4\\xd4\\xd4", 16) = 0');
    expect((k.args[3] as Buffer).subarray(0, 16).toString('hex')).toBe('a1a1a1a1b2b2b2b2c3c3c3c3d4d4d4d4');
    const e = prep(ctx, 'setsockopt(3, SOL_TCP, TCP_FASTOPEN_KEY, "", 3) = -1 (Invalid Argument)');
    expect((e.args[3] as Buffer).length).toBe(3);
    expect(failure(() => prep(ctx, 'setsockopt(3, SOL_SOCKET, SO_REUSEADDR, 1, 4) = 0'))).toBe(
      'unsupported setsockopt value type: integer',
    );
    expect(failure(() => prep(ctx, 'setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1, 2], 4) = 0'))).toBe(
      'Expected [<element>] but got multiple elements',
    );
  });

  test('getsockopt checks the length and the value', () => {
    const p = prep(ctx, 'getsockopt(3, SOL_TCP, TCP_MAXSEG, [1100], [4]) = 0');
    const val = p.args[3] as Buffer;
    const len = p.args[4] as Buffer;
    expect(len.readInt32LE(0)).toBe(4);
    val.writeInt32LE(536, 0);
    expect(failure(() => p.complete(ok(0)))).toBe('Bad getsockopt optval: expected: 1100 actual: 536');
    val.writeInt32LE(1100, 0);
    expect(() => p.complete(ok(0))).not.toThrow();
    len.writeInt32LE(2, 0);
    expect(failure(() => p.complete(ok(0)))).toBe('Bad getsockopt optlen: expected: 4 actual: 2');

    const s = prep(ctx, 'getsockopt(3, SOL_TCP, TCP_CONGESTION, "cubic", [5]) = 0');
    (s.args[3] as Buffer).write('reno\0');
    expect(failure(() => s.complete(ok(0)))).toBe("Bad getsockopt optval: expected: 'cubic' actual: 'reno'");
    (s.args[3] as Buffer).write('cubic');
    expect(() => s.complete(ok(0))).not.toThrow();
    const s2 = prep(ctx, 'getsockopt(3, SOL_TCP, TCP_CONGESTION, "cubic", [16]) = 0');
    (s2.args[4] as Buffer).writeInt32LE(16, 0);
    expect(failure(() => s2.complete(ok(0)))).toBe(
      "Bad getsockopt optval: expected optlen (16 bytes) does not match length of expected optval string 'cubic' (5 bytes)",
    );
    const big = prep(ctx, 'getsockopt(3, SOL_TCP, TCP_INFO, [1], [8]) = 0');
    expect(failure(() => big.complete(ok(0)))).toBe('Unsupported getsockopt optlen: 8');
    const el = prep(ctx, 'getsockopt(3, SOL_TCP, TCP_INFO, ..., [4]) = 0');
    expect(failure(() => el.complete(ok(0)))).toBe('unsupported getsockopt value type: ellipsis');
    expect(failure(() => prep(ctx, 'getsockopt(3, SOL_TCP, TCP_INFO, {tcpi_state=1}, [4]) = 0'))).toBe(
      "unknown symbol: 'tcpi_state'",
    );
  });
});

describe('poll, epoll, pipe, files', () => {
  beforeEach(() => {
    withSocket(ctx);
  });

  test('poll() maps fds and checks revents', () => {
    expect(failure(() => prep(ctx, 'poll([{fd=3, events=POLLIN}], 2, 0) = 0'))).toBe(
      'nfds 2 does not match 1-element pollfd array',
    );
    const p = prep(ctx, 'poll([{fd=3, events=POLLIN|POLLOUT, revents=POLLOUT}], 1, 100) = 1');
    expect(p.nr).toBe(7);
    const fds = p.args[0] as Buffer;
    expect(fds.readInt32LE(0)).toBe(13);
    expect(fds.readInt16LE(4)).toBe(5);
    expect(p.args.slice(1)).toEqual([1n, 100n]);
    fds.writeInt16LE(5, 6);
    expect(failure(() => p.complete(ok(1)))).toBe('Expected revents of POLLOUT but got POLLIN|POLLOUT for pollfd 0');
    fds.writeInt16LE(4, 6);
    expect(() => p.complete(ok(1))).not.toThrow();
  });

  test('epoll_create, epoll_ctl, epoll_wait', () => {
    run(ctx, 'epoll_create(1) = 5', 15);
    expect(ctx.fds.byScriptFd(5)).toMatchObject({ kind: 'epoll', liveFd: 15 });
    expect(failure(() => prep(ctx, 'epoll_ctl(5, EPOLL_CTL_ADD, 3, {events=EPOLLIN, fd=4}) = 0'))).toBe(
      'wrong fd specified in epoll_event\n',
    );
    const c = prep(ctx, 'epoll_ctl(5, EPOLL_CTL_ADD, 3, {events=EPOLLOUT|EPOLLET, fd=3}) = 0');
    expect(c.args.slice(0, 3)).toEqual([15n, 1n, 13n]);
    const ev = c.args[3] as Buffer;
    expect(ev.readUInt32LE(0)).toBe(0x80000004);
    if (process.arch === 'x64') expect(ev.readInt32LE(4)).toBe(13);

    const w = prep(ctx, 'epoll_wait(5, {events=EPOLLOUT, fd=3}, 1, 0) = 1');
    const out = w.args[1] as Buffer;
    const dataAt = process.arch === 'x64' ? 4 : 8;
    out.writeUInt32LE(1, 0);
    out.writeInt32LE(13, dataAt);
    expect(failure(() => w.complete(ok(1)))).toBe(
      'epoll_event->events does not match script: expected: 0x4 actual: 0x1\n',
    );
    out.writeUInt32LE(4, 0);
    out.writeInt32LE(14, dataAt);
    expect(failure(() => w.complete(ok(1)))).toBe('epoll_event->data does not match script: expected: 13 actual: 14\n');
    out.writeInt32LE(13, dataAt);
    expect(() => w.complete(ok(1))).not.toThrow();
    const z = prep(ctx, 'epoll_wait(5, {events=0, ptr=0}, 1, 0) = 0');
    expect(() => z.complete(ok(0))).not.toThrow();
  });

  test('pipe, open, splice, sendfile', () => {
    expect(failure(() => prep(ctx, 'pipe([5, 6, 7]) = 0'))).toBe('3 pipe file descriptors instead of 2\n');
    const p = prep(ctx, 'pipe([5, 6]) = 0');
    const fds = p.args[0] as Buffer;
    fds.writeInt32LE(20, 0);
    fds.writeInt32LE(21, 4);
    p.complete(ok(0));
    expect(ctx.fds.byScriptFd(5)).toMatchObject({ kind: 'pipe', liveFd: 20 });
    expect(ctx.fds.byScriptFd(6)).toMatchObject({ kind: 'pipe', liveFd: 21 });
    const sp = prep(ctx, 'splice(3, NULL, 6, NULL, 99, 0) = 99');
    expect(sp.args).toEqual([13n, 0n, 21n, 0n, 99n, 0n]);

    const o = prep(ctx, 'open("/tmp/testfile", O_RDONLY) = 7');
    expect((o.args[0] as Buffer).toString()).toBe('/tmp/testfile\0');
    o.complete(ok(22));
    expect(ctx.fds.byScriptFd(7)).toMatchObject({ kind: 'file', liveFd: 22 });
    const sf = prep(ctx, 'sendfile(3, 7, [0], 5) = 5');
    expect(sf.args[0]).toBe(13n);
    expect(sf.args[1]).toBe(22n);
    expect((sf.args[2] as Buffer).readBigInt64LE(0)).toBe(0n);
    expect(sf.args[3]).toBe(5n);
  });

  test('cap_set edits the current capabilities', () => {
    const p = prep(ctx, 'cap_set(CAP_EFFECTIVE, CAP_NET_ADMIN, CAP_SET) = 0');
    expect(p.nr).toBe(126);
    const data = p.args[1] as Buffer;
    expect(data.readUInt32LE(0)).toBe(0x2000 | (1 << 12));
    expect(failure(() => prep(ctx, 'cap_set(7, 12, 1) = 0'))).toBe('Error in cap_set_flag()\n');
  });
});

describe('warm-up', () => {
  test('prepares and completes calls without making any or touching the run', () => {
    const spy = vi.spyOn(addon, 'syscall');
    const c = context();
    warmUpSyscalls(c.config, c.symbol, 2);
    expect(spy).not.toHaveBeenCalled();
    expect(c.fds.entries).toEqual([]);
    expect(c.fds.socketUnderTest).toBeUndefined();
    spy.mockRestore();
  });
});
