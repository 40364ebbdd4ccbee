/**
 * socket, bind, listen, accept, connect, close, shutdown, fcntl, ioctl.
 */
import {
  checkArgCount,
  ellipsisArg,
  isEllipsisArg,
  s32Arg,
  s32BracketedArg,
  toLiveFd,
} from './args.js';
import { checkReturn, int, nr, nrOf, prepared, simpleCall, type CallSite, type Handler } from './call.js';
import { addSocket, assignAccepted, markClosed, markListening, startConnect } from './fd-state.js';
import { actualResult, expectedResult } from './result.js';
import { AF_INET, AF_INET6, SOCKADDR_STORAGE_SIZE, sockaddrFor } from './structs.js';
import { SyscallFailure, type PreparedSyscall } from './types.js';

export const socket: Handler = (site) => {
  const { args, ctx } = site;
  checkArgCount(args, 3);
  // `...` for the domain means the family of the run's addresses.
  const domain = isEllipsisArg(args, 0)
    ? (ctx.config.socketFamily === 'inet6' ? AF_INET6 : AF_INET)
    : s32Arg(args, 0);
  const type = s32Arg(args, 1);
  const protocol = s32Arg(args, 2);
  return prepared(site, nr('socket'), [int(domain), int(type), int(protocol)], [], (r) => {
    checkReturn(site, 'fd', r);
    const live = actualResult(r);
    if (live >= 0) addSocket(ctx.fds, domain, type, protocol, expectedResult(site.spec), live);
  });
};

export const bind: Handler = (site) => {
  const { args, ctx } = site;
  checkArgCount(args, 3);
  const liveFd = toLiveFd(ctx.fds, s32Arg(args, 0));
  ellipsisArg(args, 1);
  ellipsisArg(args, 2);
  const addr = sockaddrFor(ctx.config.bindIp, ctx.config.bindPort);
  return simpleCall(site, nr('bind'), [int(liveFd), addr.buf, addr.len]);
};

export const listen: Handler = (site) => {
  const { args, ctx } = site;
  checkArgCount(args, 2);
  const scriptFd = s32Arg(args, 0);
  const liveFd = toLiveFd(ctx.fds, scriptFd);
  const backlog = s32Arg(args, 1);
  return prepared(site, nr('listen'), [int(liveFd), int(backlog)], [], (r) => {
    checkReturn(site, 'exact', r);
    markListening(ctx.fds, scriptFd);
  });
};

export const accept: Handler = (site) => {
  const { args, ctx } = site;
  checkArgCount(args, 3);
  const liveFd = toLiveFd(ctx.fds, s32Arg(args, 0));
  ellipsisArg(args, 1);
  ellipsisArg(args, 2);
  const addr = Buffer.alloc(SOCKADDR_STORAGE_SIZE);
  const addrlen = Buffer.alloc(4);
  addrlen.writeUInt32LE(SOCKADDR_STORAGE_SIZE, 0);
  const call = nrOf('accept', 'accept4');
  const callArgs = call.name === 'accept4' ? [int(liveFd), addr, addrlen, 0] : [int(liveFd), addr, addrlen];
  return prepared(site, call.nr, callArgs, [], (r) => {
    checkReturn(site, 'fd', r);
    const live = actualResult(r);
    if (live >= 0) assignAccepted(ctx.fds, expectedResult(site.spec), live);
  });
};

/**
 * The address a connect-like call (connect, sendto, sendmsg) uses, and the
 * socket state update packetdrill makes before the call: `...` means the
 * run's connect address and port; an integer is an address family, used
 * in an otherwise empty address (AF_UNSPEC disconnects).
 */
export function connectAddress(
  site: CallSite,
  scriptFd: number,
  family: number | null,
): { buf: Buffer; len: number } {
  const { ctx } = site;
  let addr: { buf: Buffer; len: number };
  if (family === null) {
    addr = sockaddrFor(ctx.config.connectIp, ctx.config.connectPort);
  } else {
    const buf = Buffer.alloc(SOCKADDR_STORAGE_SIZE);
    buf.writeUInt16LE(family & 0xffff, 0);
    addr = { buf, len: SOCKADDR_STORAGE_SIZE };
  }
  startConnect(ctx.fds, ctx.config, scriptFd, addr.buf.readUInt16LE(0));
  return addr;
}

/** An address family argument that may be written `...`. */
export function familyArg(site: CallSite, index: number): number | null {
  return isEllipsisArg(site.args, index) ? null : s32Arg(site.args, index);
}

export const connect: Handler = (site) => {
  const { args, ctx } = site;
  checkArgCount(args, 3);
  const scriptFd = s32Arg(args, 0);
  const liveFd = toLiveFd(ctx.fds, scriptFd);
  const family = familyArg(site, 1);
  ellipsisArg(args, 2);
  const addr = connectAddress(site, scriptFd, family);
  return simpleCall(site, nr('connect'), [int(liveFd), addr.buf, addr.len]);
};

export const close: Handler = (site) => {
  const { args, ctx } = site;
  checkArgCount(args, 1);
  const scriptFd = s32Arg(args, 0);
  const liveFd = toLiveFd(ctx.fds, scriptFd);
  return prepared(site, nr('close'), [int(liveFd)], [], (r) => {
    checkReturn(site, 'exact', r);
    markClosed(ctx.fds, scriptFd, liveFd);
  });
};

export const shutdown: Handler = (site) => {
  const { args, ctx } = site;
  checkArgCount(args, 2);
  const liveFd = toLiveFd(ctx.fds, s32Arg(args, 0));
  const how = s32Arg(args, 1);
  return simpleCall(site, nr('shutdown'), [int(liveFd), int(how)]);
};

export const fcntl: Handler = (site) => {
  const { args, ctx } = site;
  if (args.length !== 2 && args.length !== 3) {
    throw new SyscallFailure(`fcntl expected 2-3 args but got ${args.length}`);
  }
  const liveFd = toLiveFd(ctx.fds, s32Arg(args, 0));
  const command = s32Arg(args, 1);
  const arg = args.length === 3 ? s32Arg(args, 2) : 0;
  return simpleCall(site, nr('fcntl'), [int(liveFd), int(command), int(arg)]);
};

export const ioctl: Handler = (site): PreparedSyscall => {
  const { args, ctx } = site;
  if (args.length !== 2 && args.length !== 3) {
    throw new SyscallFailure(`ioctl expected 2-3 args but got ${args.length}`);
  }
  const liveFd = toLiveFd(ctx.fds, s32Arg(args, 0));
  const command = s32Arg(args, 1);
  if (args.length === 2) {
    return simpleCall(site, nr('ioctl'), [int(liveFd), BigInt.asUintN(32, BigInt(command)), 0]);
  }
  const scriptVal = s32BracketedArg(args, 2);
  // An int the kernel writes (SIOCINQ, SIOCOUTQ, ...) or reads (FIONBIO):
  // it starts out holding the script's value.
  const val = Buffer.alloc(4);
  val.writeInt32LE(scriptVal, 0);
  return prepared(site, nr('ioctl'), [int(liveFd), BigInt.asUintN(32, BigInt(command)), val], [], (r) => {
    checkReturn(site, 'exact', r);
    const live = val.readInt32LE(0);
    if (live !== scriptVal) {
      throw new SyscallFailure(`Bad ioctl optval: expected: ${scriptVal} actual: ${live}`);
    }
  });
};

