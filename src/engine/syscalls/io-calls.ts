/**
 * Data calls: read, readv, recv, recvfrom, write, writev, send, sendto
 * (including ICMP echo sockets), sendfile, splice; and the fd-creating
 * open and pipe.
 */
import {
  bufferArgIsNull,
  checkArgCount,
  checkType,
  ellipsisArg,
  getArg,
  s32Arg,
  s64Arg,
  s64BracketedArg,
  toLiveFd,
} from './args.js';
import {
  checkReturn,
  dataBuffer,
  int,
  nr,
  nrOf,
  prepared,
  simpleCall,
  sizeArg,
  type CallSite,
  type Handler,
} from './call.js';
import { addPipe, addPlainFd, rawSocketType } from './fd-state.js';
import { actualResult, expectedResult } from './result.js';
import { connectAddress, familyArg } from './socket-calls.js';
import { AF_INET, AF_INET6, SOCKADDR_STORAGE_SIZE, buildIovecs } from './structs.js';
import { SyscallFailure } from './types.js';
import type { Value } from './values.js';

const SOCK_DGRAM = 2;
const IPPROTO_ICMP = 1;
const IPPROTO_ICMPV6 = 58;
const ICMP_ECHO = 8;
const ICMPV6_ECHO_REQUEST = 128;
const ICMP_HEADER_SIZE = 8;
const AT_FDCWD = -100;

/** Common arguments of read/write/recv/send: fd, `...` or NULL, count. */
function fdBufferCount(site: CallSite): { liveFd: number; isNull: boolean; count: number } {
  const { args, ctx } = site;
  const liveFd = toLiveFd(ctx.fds, s32Arg(args, 0));
  const isNull = bufferArgIsNull(args, 1);
  const count = s32Arg(args, 2);
  return { liveFd, isNull, count };
}

export const read: Handler = (site) => {
  checkArgCount(site.args, 3);
  const { liveFd, isNull, count } = fdBufferCount(site);
  const buf = dataBuffer(isNull, count);
  return simpleCall(site, nr('read'), [int(liveFd), buf, sizeArg(count)]);
};

export const write: Handler = (site) => {
  checkArgCount(site.args, 3);
  const { liveFd, isNull, count } = fdBufferCount(site);
  const buf = dataBuffer(isNull, count);
  return simpleCall(site, nr('write'), [int(liveFd), buf, sizeArg(count)]);
};

export const recv: Handler = (site) => {
  checkArgCount(site.args, 4);
  const { liveFd, isNull, count } = fdBufferCount(site);
  const flags = s32Arg(site.args, 3);
  const buf = dataBuffer(isNull, count);
  return simpleCall(site, nr('recvfrom'), [int(liveFd), buf, sizeArg(count), int(flags), null, null]);
};

export const send: Handler = (site) => {
  checkArgCount(site.args, 4);
  const { liveFd, isNull, count } = fdBufferCount(site);
  const flags = s32Arg(site.args, 3);
  const buf = dataBuffer(isNull, count);
  return simpleCall(site, nr('sendto'), [int(liveFd), buf, sizeArg(count), int(flags), null, 0]);
};

export const recvfrom: Handler = (site) => {
  const { args } = site;
  checkArgCount(args, 6);
  const { liveFd, isNull, count } = fdBufferCount(site);
  const flags = s32Arg(args, 3);
  ellipsisArg(args, 4);
  ellipsisArg(args, 5);
  const buf = dataBuffer(isNull, count);
  const addr = Buffer.alloc(SOCKADDR_STORAGE_SIZE);
  const addrlen = Buffer.alloc(4);
  addrlen.writeUInt32LE(SOCKADDR_STORAGE_SIZE, 0);
  return simpleCall(site, nr('recvfrom'), [int(liveFd), buf, sizeArg(count), int(flags), addr, addrlen]);
};

function isIcmpSocket(site: CallSite, scriptFd: number): boolean {
  const s = site.ctx.fds.socketByScriptFd(scriptFd);
  if (!s || rawSocketType(s) !== SOCK_DGRAM) return false;
  return (s.family === AF_INET && s.protocol === IPPROTO_ICMP) || (s.family === AF_INET6 && s.protocol === IPPROTO_ICMPV6);
}

export const sendto: Handler = (site) => {
  const { args } = site;
  checkArgCount(args, 6);
  const scriptFd = s32Arg(args, 0);
  const { liveFd, isNull, count } = fdBufferCount(site);
  const flags = s32Arg(args, 3);
  const family = familyArg(site, 4);
  ellipsisArg(args, 5);
  if (isIcmpSocket(site, scriptFd)) return icmpSendto(site);
  // On a new socket (TCP Fast Open, UDP) this starts a connection.
  const addr = connectAddress(site, scriptFd, family);
  const buf = dataBuffer(isNull, count);
  return simpleCall(site, nr('sendto'), [int(liveFd), buf, sizeArg(count), int(flags), addr.buf, addr.len]);
};

/** sendto() on an ICMP echo socket: the buffer starts with an echo request header. */
function icmpSendto(site: CallSite) {
  const { args, ctx } = site;
  checkArgCount(args, 6);
  const scriptFd = s32Arg(args, 0);
  const { liveFd, isNull, count } = fdBufferCount(site);
  const flags = s32Arg(args, 3);
  ellipsisArg(args, 4);
  ellipsisArg(args, 5);
  const addr = connectAddress(site, scriptFd, null);
  const buf = dataBuffer(isNull, count);
  if (buf && count >= ICMP_HEADER_SIZE) {
    buf[0] = ctx.config.wireFamily === 'inet' ? ICMP_ECHO : ICMPV6_ECHO_REQUEST;
  }
  return simpleCall(site, nr('sendto'), [int(liveFd), buf, sizeArg(count), int(flags), addr.buf, addr.len]);
}

/** The lengths of an iovec array argument (`[{..., N}, ...]`). */
export function iovecLengths(v: Value): bigint[] {
  const list = checkType(v, 'list');
  return list.elements.map((e) => {
    const iov = checkType(e, 'iovec');
    return checkType(iov.len, 'integer').num;
  });
}

function vectorCall(name: 'readv' | 'writev'): Handler {
  return (site) => {
    const { args, ctx } = site;
    checkArgCount(args, 3);
    const liveFd = toLiveFd(ctx.fds, s32Arg(args, 0));
    const lengths = iovecLengths(getArg(args, 1));
    const iovCount = s32Arg(args, 2);
    if (iovCount !== lengths.length) {
      throw new SyscallFailure(`iov_count ${iovCount} does not match ${lengths.length}-element iovec array`);
    }
    const { iov, buffers } = buildIovecs(lengths);
    return simpleCall(site, nr(name), [int(liveFd), iov, int(iovCount)], buffers);
  };
}

export const readv = vectorCall('readv');
export const writev = vectorCall('writev');

export const sendfile: Handler = (site) => {
  const { args, ctx } = site;
  checkArgCount(args, 4);
  const liveOut = toLiveFd(ctx.fds, s32Arg(args, 0));
  const liveIn = toLiveFd(ctx.fds, s32Arg(args, 1));
  const offset = s64BracketedArg(args, 2);
  const count = s32Arg(args, 3);
  const off = Buffer.alloc(8);
  off.writeBigInt64LE(BigInt.asIntN(64, offset), 0);
  const call = nrOf('sendfile', 'sendfile64');
  return simpleCall(site, call.nr, [int(liveOut), int(liveIn), off, sizeArg(count)]);
};

export const splice: Handler = (site) => {
  const { args, ctx } = site;
  checkArgCount(args, 6);
  const liveIn = toLiveFd(ctx.fds, s32Arg(args, 0));
  // packetdrill passes the offsets as the pointers themselves (NULL in practice).
  const offIn = s64Arg(args, 1);
  const liveOut = toLiveFd(ctx.fds, s32Arg(args, 2));
  const offOut = s64Arg(args, 3);
  const len = s32Arg(args, 4);
  const flags = s32Arg(args, 5);
  return simpleCall(site, nr('splice'), [
    int(liveIn),
    BigInt.asUintN(64, offIn),
    int(liveOut),
    BigInt.asUintN(64, offOut),
    sizeArg(len),
    BigInt.asUintN(32, BigInt(flags)),
  ]);
};

export const open: Handler = (site) => {
  const { args, ctx } = site;
  checkArgCount(args, 2);
  const name = checkType(getArg(args, 0), 'string').bytes;
  const flags = s32Arg(args, 1);
  const path = Buffer.concat([name, Buffer.alloc(1)]);
  const call = nrOf('open', 'openat');
  const callArgs = call.name === 'open' ? [path, int(flags), 0] : [int(AT_FDCWD), path, int(flags), 0];
  return prepared(site, call.nr, callArgs, [], (r) => {
    checkReturn(site, 'fd', r);
    const live = actualResult(r);
    if (live >= 0) addPlainFd(ctx.fds, 'file', expectedResult(site.spec), live);
  });
};

export const pipe: Handler = (site) => {
  const { args, ctx } = site;
  checkArgCount(args, 1);
  const list = checkType(getArg(args, 0), 'list');
  if (list.elements.length !== 2) {
    throw new SyscallFailure(`${list.elements.length} pipe file descriptors instead of 2\n`);
  }
  const scriptFds = list.elements.map((e) => Number(BigInt.asIntN(32, checkType(e, 'integer').num))) as [
    number,
    number,
  ];
  const fdsBuf = Buffer.alloc(8);
  const call = nrOf('pipe', 'pipe2');
  const callArgs = call.name === 'pipe' ? [fdsBuf] : [fdsBuf, 0];
  return prepared(site, call.nr, callArgs, [], (r) => {
    checkReturn(site, 'exact', r);
    if (actualResult(r) >= 0) {
      addPipe(ctx.fds, scriptFds, [fdsBuf.readInt32LE(0), fdsBuf.readInt32LE(4)]);
    }
  });
};
