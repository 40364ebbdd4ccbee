/**
 * sendmsg and recvmsg, with their msghdr, iovecs and control messages.
 */
import { checkArgCount, checkType, getArg, getS32, s32Arg, toLiveFd } from './args.js';
import { checkReturn, int, nr, prepared, simpleCall, type CallSite, type Handler } from './call.js';
import { buildControl, compareControl } from './cmsg.js';
import { iovecLengths } from './io-calls.js';
import { connectAddress } from './socket-calls.js';
import {
  SOCKADDR_STORAGE_SIZE,
  buildIovecs,
  buildMsghdr,
  msghdrControllen,
  msghdrFlags,
  setMsghdrNamelen,
} from './structs.js';
import { SyscallFailure } from './types.js';
import type { Value } from './values.js';

interface BuiltMsghdr {
  msg: Buffer;
  name: Buffer;
  control: { buf: Buffer; len: number };
  flags: number;
  keepAlive: Buffer[];
}

/** Build a struct msghdr from `{msg_name(...)=..., msg_iov(N)=[...], msg_flags=F[, msg_control=[...]]}`. */
function buildMsg(v: Value): BuiltMsghdr {
  const m = checkType(v, 'msghdr');
  // msg_name(...)=... : room for any address.
  const name = Buffer.alloc(SOCKADDR_STORAGE_SIZE);
  const lengths = iovecLengths(m.iov);
  const iovlen = getS32(m.iovlen);
  if (iovlen !== lengths.length) {
    throw new SyscallFailure(`msg_iovlen ${iovlen} does not match ${lengths.length}-element iovec array`);
  }
  const control = buildControl(m.control);
  const flags = getS32(m.flags);
  const { iov, buffers } = buildIovecs(lengths);
  const msg = buildMsghdr({
    name,
    namelen: SOCKADDR_STORAGE_SIZE,
    iov,
    iovlen: BigInt(iovlen),
    control: control.buf,
    controllen: control.len,
    flags,
  });
  return { msg, name, control, flags, keepAlive: [name, iov, ...buffers, control.buf] };
}

export const sendmsg: Handler = (site: CallSite) => {
  const { args, ctx } = site;
  checkArgCount(args, 3);
  const scriptFd = s32Arg(args, 0);
  const liveFd = toLiveFd(ctx.fds, scriptFd);
  const built = buildMsg(getArg(args, 1));
  const flags = s32Arg(args, 2);
  // msg_name is the run's connect address; on a new socket this starts a connection.
  const addr = connectAddress(site, scriptFd, null);
  addr.buf.copy(built.name, 0, 0, addr.len);
  setMsghdrNamelen(built.msg, addr.len);
  if (built.flags !== 0) throw new SyscallFailure('sendmsg ignores msg_flags field in msghdr');
  return simpleCall(site, nr('sendmsg'), [int(liveFd), built.msg, int(flags)], built.keepAlive);
};

export const recvmsg: Handler = (site: CallSite) => {
  const { args, ctx } = site;
  checkArgCount(args, 3);
  const liveFd = toLiveFd(ctx.fds, s32Arg(args, 0));
  const msgArg = getArg(args, 1);
  const live = buildMsg(msgArg);
  const expected = buildMsg(msgArg);
  const flags = s32Arg(args, 2);
  return prepared(site, nr('recvmsg'), [int(liveFd), live.msg, int(flags)], live.keepAlive, (r) => {
    checkReturn(site, 'exact', r);
    const gotFlags = msghdrFlags(live.msg);
    if (gotFlags !== expected.flags) {
      throw new SyscallFailure(`Expected msg_flags ${hex8(expected.flags)} but got ${hex8(gotFlags)}`);
    }
    compareControl(
      expected.control,
      { buf: live.control.buf, len: msghdrControllen(live.msg) },
      ctx.clock,
      ctx.config.toleranceUsecs,
    );
  });
};

/** C's "0x%08X" of an int. */
function hex8(n: number): string {
  return '0x' + (n >>> 0).toString(16).toUpperCase().padStart(8, '0');
}
