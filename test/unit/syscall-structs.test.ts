/**
 * Struct layouts and argument evaluation of the system-call runner (no
 * system calls; the native addon is replaced by a fake address registry).
 */
import { describe, expect, test, vi } from 'vitest';

vi.mock('../../src/native/addon.js', () => {
  const addrs = new WeakMap<object, bigint>();
  let next = 0x7f0000001000n;
  return {
    SYS: {},
    strerror: (e: number) => `error ${e}`,
    syscall: () => ({ ret: 0n, errno: 0, startNs: 0n, endNs: 0n }),
    addressOf: (b: object) => {
      let a = addrs.get(b);
      if (a === undefined) {
        a = next;
        next += 0x1000n;
        addrs.set(b, a);
      }
      return a;
    },
  };
});

import { addressOf } from '../../src/native/addon.js';
import type { Expr } from '../../src/script/ast.js';
import { parseScript } from '../../src/script/index.js';
import {
  bracketedArg,
  bufferArgIsNull,
  checkArgCount,
  getS32,
  getU8,
  s32BracketedArg,
} from '../../src/engine/syscalls/args.js';
import {
  MSGHDR_SIZE,
  buildCapHeader,
  buildGre,
  buildIovecs,
  buildLinger,
  buildMplsStack,
  buildMsghdr,
  cmsgFirst,
  cmsgLen,
  cmsgNext,
  cmsgSpace,
  epollEventSize,
  readEpollEvent,
  readSockExtendedErr,
  sockaddrFor,
  updateCapData,
  writeCmsgHeader,
  writeEpollEvent,
  writePollfd,
  writeSockExtendedErr,
} from '../../src/engine/syscalls/structs.js';
import { SyscallFailure } from '../../src/engine/syscalls/types.js';
import { evaluate, unescapeString, type Value } from '../../src/engine/syscalls/values.js';
import { printable } from '../../src/engine/syscalls/sockopt-calls.js';
import { pollFlagsToString } from '../../src/engine/syscalls/poll-calls.js';
import { buildControl, compareControl } from '../../src/engine/syscalls/cmsg.js';

const SYMS: Record<string, bigint> = {
  NULL: 0n,
  O_RDWR: 2n,
  O_NONBLOCK: 0x800n,
  SOL_TCP: 6n,
  TCP_CM_INQ: 36n,
  TCP_NLA_BUSY: 1n,
  TCP_NLA_SND_CWND: 8n,
  TCP_NLA_CA_STATE: 14n,
  EPOLLIN: 1n,
};
const symbol = (n: string): bigint | undefined => SYMS[n];

/** The first argument of `f(<text>) = 0` as parsed. */
function arg(text: string): Expr {
  const s = parseScript(`0 f(${text}) = 0\n`, { path: 't.pkt' });
  const ev = s.events[0]!;
  if (ev.type !== 'syscall') throw new Error('not a syscall');
  return ev.syscall.args[0]!;
}

const ev = (text: string): Value => evaluate(arg(text), symbol);

function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof SyscallFailure) return e.message;
    throw e;
  }
  throw new Error('no failure');
}

describe('evaluation', () => {
  test('symbols, bit-or and integers', () => {
    expect(ev('O_RDWR|O_NONBLOCK')).toEqual({ type: 'integer', num: 0x802n });
    expect(ev('NULL')).toEqual({ type: 'integer', num: 0n });
    expect(ev('-1')).toEqual({ type: 'integer', num: -1n });
    expect(ev('0xffffffff')).toEqual({ type: 'integer', num: 0xffffffffn });
    expect(failure(() => ev('NO_SUCH_THING'))).toBe("unknown symbol: 'NO_SUCH_THING'");
    expect(failure(() => ev('"a"|O_RDWR'))).toBe('left hand side of | not an integer');
    expect(failure(() => ev('O_RDWR|[1]'))).toBe('right hand side of | not an integer');
  });

  test('strings: escapes, concatenation and packetdrill quirks', () => {
    const v = ev('"\\xa1\\xb2" "ok\\n"');
    expect(v.type).toBe('string');
    expect([...(v as { bytes: Buffer }).bytes]).toEqual([0xa1, 0xb2, 0x6f, 0x6b, 0x0a]);
    // \\ and \" fall through to \f in packetdrill's decoder.
    expect([...unescapeString('\\\\')]).toEqual([0x0c]);
    expect([...unescapeString('\\"')]).toEqual([0x0c]);
    expect([...unescapeString('\\t\\r\\v\\f')]).toEqual([9, 13, 11, 12]);
    expect(failure(() => unescapeString('\\q'))).toBe("unsupported escape code: 'q'");
    expect(failure(() => unescapeString('\\xg1'))).toBe("invalid hex escape (\\xhh): '\\xg1'");
    expect(failure(() => unescapeString('ab\\x1'))).toBe("invalid hex escape (\\xhh): '\\x1'");
    const loc = { line: 1, column: 1 };
    const concat: Expr = {
      type: 'binary',
      op: '.',
      loc,
      lhs: { type: 'string', value: 'a', ellipsis: false, loc },
      rhs: { type: 'integer', value: 1n, hex: false, loc },
    };
    expect(failure(() => evaluate(concat, symbol))).toBe('bad input types for concatenation');
  });

  test('lists, named fields and structures', () => {
    expect(ev('[1, O_RDWR]')).toEqual({
      type: 'list',
      elements: [
        { type: 'integer', num: 1n },
        { type: 'integer', num: 2n },
      ],
    });
    // `{tcpi_state=1}` evaluates its field name as a symbol, as packetdrill does.
    expect(failure(() => ev('{tcpi_state=1}'))).toBe("unknown symbol: 'tcpi_state'");
    expect(ev('{TCP_NLA_BUSY=5}')).toEqual({
      type: 'list',
      elements: [
        {
          type: 'binary_expression',
          op: '=',
          lhs: { type: 'integer', num: 1n },
          rhs: { type: 'integer', num: 5n },
        },
      ],
    });
    const e = ev('{events=EPOLLIN, fd=4}');
    expect(e).toEqual({
      type: 'epollev',
      events: { type: 'integer', num: 1n },
      data: { kind: 'fd', value: { type: 'integer', num: 4n } },
    });
    expect(ev('{onoff=1, linger=0}')).toEqual({ type: 'linger', onoff: 1n, linger: 0n });
  });
});

describe('argument access', () => {
  test('32 and 8-bit ranges', () => {
    expect(getS32({ type: 'integer', num: 0xffffffffn })).toBe(-1);
    expect(getS32({ type: 'integer', num: -(2n ** 31n) })).toBe(-(2 ** 31));
    expect(failure(() => getS32({ type: 'integer', num: 2n ** 32n }))).toBe(
      'Value out of range for 32-bit integer: 4294967296',
    );
    expect(failure(() => getS32({ type: 'ellipsis' }))).toBe('Bad type; actual: ellipsis expected: integer');
    expect(getU8({ type: 'integer', num: -1n })).toBe(255);
    expect(failure(() => getU8({ type: 'integer', num: 256n }))).toBe('Value out of range for 8-bit integer: 256');
  });

  test('counts, brackets and buffers', () => {
    expect(failure(() => checkArgCount([], 3))).toBe('Expected 3 args but got 0');
    const list: Value = { type: 'list', elements: [] };
    expect(failure(() => bracketedArg([list], 0))).toBe('Expected [<element>] but got multiple elements');
    expect(s32BracketedArg([{ type: 'list', elements: [{ type: 'integer', num: 7n }] }], 0)).toBe(7);
    expect(bufferArgIsNull([{ type: 'ellipsis' }], 0)).toBe(false);
    expect(bufferArgIsNull([{ type: 'integer', num: 0n }], 0)).toBe(true);
    expect(failure(() => bufferArgIsNull([{ type: 'integer', num: 5n }], 0))).toBe('Expected ... or NULL for buffer');
  });
});

describe('struct layouts', () => {
  test('sockaddr_in and sockaddr_in6', () => {
    const v4 = sockaddrFor('192.168.0.1', 8080);
    expect(v4.len).toBe(16);
    expect([...v4.buf.subarray(0, 16)]).toEqual([2, 0, 0x1f, 0x90, 192, 168, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(v4.buf.length).toBe(128);
    const v6 = sockaddrFor('::ffff:192.0.2.1', 80);
    expect(v6.len).toBe(28);
    expect(v6.buf.readUInt16LE(0)).toBe(10);
    expect(v6.buf.readUInt16BE(2)).toBe(80);
    expect(v6.buf.readUInt32LE(4)).toBe(0); // flowinfo
    expect([...v6.buf.subarray(8, 24)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1]);
    expect(v6.buf.readUInt32LE(24)).toBe(0); // scope id
  });

  test('iovec and msghdr', () => {
    const { iov, buffers } = buildIovecs([10n, 0n, 3n]);
    expect(iov.length).toBe(48);
    expect(buffers.map((b) => b.length)).toEqual([10, 0, 3]);
    expect(iov.readBigUInt64LE(0)).toBe(addressOf(buffers[0]!));
    expect(iov.readBigUInt64LE(8)).toBe(10n);
    expect(iov.readBigUInt64LE(16)).toBe(0n); // empty buffer: NULL base
    expect(iov.readBigUInt64LE(24)).toBe(0n);
    expect(iov.readBigUInt64LE(40)).toBe(3n);
    expect(buffers[2]!.every((b) => b === 0)).toBe(true);

    const name = Buffer.alloc(128);
    const control = Buffer.alloc(64);
    const m = buildMsghdr({ name, namelen: 16, iov, iovlen: 3n, control, controllen: 24, flags: 0x40 });
    expect(m.length).toBe(MSGHDR_SIZE);
    expect(m.readBigUInt64LE(0)).toBe(addressOf(name));
    expect(m.readUInt32LE(8)).toBe(16);
    expect(m.readBigUInt64LE(16)).toBe(addressOf(iov));
    expect(m.readBigUInt64LE(24)).toBe(3n);
    expect(m.readBigUInt64LE(32)).toBe(addressOf(control));
    expect(m.readBigUInt64LE(40)).toBe(24n);
    expect(m.readInt32LE(48)).toBe(0x40);
  });

  test('cmsg arithmetic and iteration follow glibc', () => {
    expect(cmsgLen(4)).toBe(20);
    expect(cmsgSpace(4)).toBe(24);
    expect(cmsgSpace(16 + 16)).toBe(48);
    const buf = Buffer.alloc(100);
    writeCmsgHeader(buf, 0, cmsgLen(4), 6, 36);
    writeCmsgHeader(buf, 24, cmsgLen(48), 1, 37);
    const len = 24 + cmsgSpace(48);
    const first = cmsgFirst(buf, len)!;
    expect(first).toMatchObject({ offset: 0, len: 20, level: 6, type: 36, dataOffset: 16 });
    const second = cmsgNext(buf, len, first)!;
    expect(second).toMatchObject({ offset: 24, len: 64, level: 1, type: 37 });
    expect(cmsgNext(buf, len, second)).toBeNull();
    expect(cmsgFirst(buf, 15)).toBeNull();
    // Not enough room after the first for a whole header.
    expect(cmsgNext(buf, 24 + 15, first)).toBeNull();
  });

  test('pollfd, linger, epoll_event', () => {
    const p = Buffer.alloc(16);
    writePollfd(p, 1, 7, 0x2001, 0);
    expect(p.readInt32LE(8)).toBe(7);
    expect(p.readInt16LE(12)).toBe(0x2001);
    const l = buildLinger(1n, 30n);
    expect([...l]).toEqual([1, 0, 0, 0, 30, 0, 0, 0]);
    // x86_64 packs struct epoll_event: data right after the 4-byte events.
    expect(epollEventSize('x64')).toBe(12);
    expect(epollEventSize('arm64')).toBe(16);
    const e = Buffer.alloc(24);
    writeEpollEvent(e, 1, 0x80000001, 0x1122334455667788n, 'x64');
    expect(e.readUInt32LE(12)).toBe(0x80000001);
    expect(e.readBigUInt64LE(16)).toBe(0x1122334455667788n);
    expect(readEpollEvent(e, 1, 'x64')).toEqual({ events: 0x80000001, data: 0x1122334455667788n });
    const a = Buffer.alloc(32);
    writeEpollEvent(a, 1, 5, 9n, 'arm64');
    expect(a.readUInt32LE(16)).toBe(5);
    expect(a.readBigUInt64LE(24)).toBe(9n);
  });

  test('sock_extended_err', () => {
    const b = Buffer.alloc(16);
    writeSockExtendedErr(b, 0, { errno: 42, origin: 4, type: 0, code: 0, info: 1, data: 1999 });
    expect([...b.subarray(0, 8)]).toEqual([42, 0, 0, 0, 4, 0, 0, 0]);
    expect(b.readUInt32LE(8)).toBe(1);
    expect(b.readUInt32LE(12)).toBe(1999);
    expect(readSockExtendedErr(b, 0)).toEqual({ errno: 42, origin: 4, type: 0, code: 0, info: 1, data: 1999 });
  });

  test('gre, mpls stack, capabilities', () => {
    const g = buildGre({ flags: 0x2000, sum: 0, off: 0, key: 0x01020304, seq: 7 });
    expect(g.length).toBe(16);
    expect(g.readUInt16BE(0)).toBe(0x2000);
    expect(g.readUInt32BE(8)).toBe(0x01020304);
    expect(g.readUInt32BE(12)).toBe(7);
    const m = buildMplsStack([{ label: 1000, tc: 1, bottom: true, ttl: 64 }]);
    expect(m.length).toBe(28);
    expect(m.readUInt32BE(0)).toBe((1000 << 12) | (1 << 9) | (1 << 8) | 64);
    expect(m.readInt32LE(24)).toBe(1);
    expect(buildCapHeader().readUInt32LE(0)).toBe(0x20080522);
    const d = Buffer.alloc(24);
    updateCapData(d, 0, 12, true); // CAP_NET_ADMIN effective
    updateCapData(d, 1, 33, true); // second word, permitted
    expect(d.readUInt32LE(0)).toBe(1 << 12);
    expect(d.readUInt32LE(12 + 4)).toBe(1 << 1);
    updateCapData(d, 0, 12, false);
    expect(d.readUInt32LE(0)).toBe(0);
  });
});

describe('control messages', () => {
  const control = (text: string) => buildControl(ev(text));

  test('building: int, extended error, timestamping, netlink stats', () => {
    const c = control('[{cmsg_level=SOL_TCP, cmsg_type=TCP_CM_INQ, cmsg_data=8000}]');
    expect(c.len).toBe(24);
    expect(c.buf.length).toBe(2000);
    expect(c.buf.readBigUInt64LE(0)).toBe(20n);
    expect(c.buf.readInt32LE(8)).toBe(6);
    expect(c.buf.readInt32LE(12)).toBe(36);
    expect(c.buf.readInt32LE(16)).toBe(8000);

    const ee = buildControl({
      type: 'list',
      elements: [
        {
          type: 'cmsg',
          level: { type: 'integer', num: 0n },
          cmsgType: { type: 'integer', num: 11n },
          data: {
            type: 'sock_extended_err',
            eeErrno: { type: 'integer', num: 0n },
            eeOrigin: { type: 'integer', num: 5n },
            eeType: { type: 'integer', num: 0n },
            eeCode: { type: 'integer', num: 1n },
            eeInfo: { type: 'integer', num: 2n },
            eeData: { type: 'integer', num: 3n },
          },
        },
      ],
    });
    // SOL_IP: sock_extended_err + sockaddr_in
    expect(ee.buf.readBigUInt64LE(0)).toBe(16n + 32n);
    expect(ee.len).toBe(48);
    expect(readSockExtendedErr(ee.buf, 16)).toEqual({ errno: 0, origin: 5, type: 0, code: 1, info: 2, data: 3 });

    const stats = control('[{cmsg_level=1, cmsg_type=54, cmsg_data={TCP_NLA_BUSY=100, TCP_NLA_SND_CWND=..., TCP_NLA_CA_STATE=2}}]');
    // u64 (4+8), u32 (4+4), u8 (4+1 -> 8): 12 + 8 + 8 bytes of attributes
    expect(stats.buf.readBigUInt64LE(0)).toBe(16n + 28n);
    expect(stats.buf.readUInt16LE(16)).toBe(12);
    expect(stats.buf.readUInt16LE(18)).toBe(1);
    expect(stats.buf.readBigUInt64LE(20)).toBe(100n);
    expect(stats.buf.readUInt16LE(28)).toBe(8);
    expect(stats.buf.readUInt32LE(32)).toBe(0xffffffff); // `...`: not checked
    expect(stats.buf.readUInt16LE(36)).toBe(5);
    expect(stats.buf.readUInt8(40)).toBe(2);
    const bad = failure(() => control('[{cmsg_level=1, cmsg_type=54, cmsg_data={TCP_NLA_CA_STATE=300}}]'));
    expect(bad).toBe('out of bound u8 value specified\n');
    expect(failure(() => control('[{cmsg_level=1, cmsg_type=2, cmsg_data="x"}]'))).toBe('Unrecognized type for cmsg_data');
  });

  test('comparison messages', () => {
    const exp = control('[{cmsg_level=SOL_TCP, cmsg_type=TCP_CM_INQ, cmsg_data=8000}]');
    const act = control('[{cmsg_level=SOL_TCP, cmsg_type=TCP_CM_INQ, cmsg_data=7000}]');
    expect(() => compareControl(exp, exp, undefined, 4000)).not.toThrow();
    expect(failure(() => compareControl(exp, act, undefined, 4000))).toBe(
      'Bad data in cmsg 0: expected=@\x1f actual=X\x1b',
    );
    expect(failure(() => compareControl(exp, { buf: act.buf, len: 0 }, undefined, 4000))).toBe('received only 0 cmsgs');
    expect(failure(() => compareControl({ buf: exp.buf, len: 0 }, act, undefined, 4000))).toBe(
      'received more than 0 cmsgs',
    );
    const other = control('[{cmsg_level=SOL_TCP, cmsg_type=1, cmsg_data=8000}]');
    expect(failure(() => compareControl(exp, other, undefined, 4000))).toBe('Bad type in cmsg 0: expected=36 actual=1');
  });

  test('SCM_TIMESTAMPING within the tolerance of the live clock', () => {
    const exp = buildControl({
      type: 'list',
      elements: [
        {
          type: 'cmsg',
          level: { type: 'integer', num: 1n },
          cmsgType: { type: 'integer', num: 37n },
          data: { type: 'scm_timestamping', sec: 0n, nsec: 10000000n },
        },
      ],
    });
    const act = Buffer.from(exp.buf);
    const clock = { liveStartRealtimeUsecs: 1_000_000_000n, scriptToLiveRealtimeUsecs: (u: bigint) => 1_000_000_000n + u };
    // live: start + 10.5 ms
    act.writeBigInt64LE(1000n, 16);
    act.writeBigInt64LE(10_500_000n, 24);
    expect(() => compareControl(exp, { buf: act, len: exp.len }, clock, 4000)).not.toThrow();
    act.writeBigInt64LE(30_000_000n, 24);
    expect(failure(() => compareControl(exp, { buf: act, len: exp.len }, clock, 4000))).toBe(
      'Bad timestamp 0 in scm_timestamping 0: expected=1000010000 (10000) actual=1000030000 (30000) start=1000000000',
    );
  });
});

describe('printing', () => {
  test('printable strings and poll flags', () => {
    expect(printable(Buffer.from('cubic\0'))).toBe('cubic');
    expect(printable(Buffer.from([0xa1, 0x41, 0]))).toBe('\\xa1A');
    expect(printable(Buffer.from([0, 0x41]))).toBe('\\x00A');
    expect(pollFlagsToString(0)).toBe('');
    expect(pollFlagsToString(0x1 | 0x4 | 0x2000)).toBe('POLLIN|POLLOUT|POLLRDHUP');
    expect(pollFlagsToString(0x8 | 0x10)).toBe('POLLERR|POLLHUP');
    expect(pollFlagsToString(0x8000)).toBe('???');
  });
});
