/**
 * poll, epoll_create, epoll_ctl, epoll_wait.
 */
import { checkArgCount, checkType, getArg, s32Arg, toLiveFd, toInt32 } from './args.js';
import { checkReturn, int, nrOf, prepared, type CallSite, type Handler } from './call.js';
import { addPlainFd } from './fd-state.js';
import { actualResult, expectedResult } from './result.js';
import {
  POLLFD_SIZE,
  epollEventSize,
  readEpollEvent,
  readPollfdRevents,
  writeEpollEvent,
  writePollfd,
} from './structs.js';
import { SyscallFailure, type SyscallResult } from './types.js';
import type { Value } from './values.js';

const EINVAL = 22;

/** poll(2) event bits by name, in packetdrill's order for printing. */
const POLL_FLAGS: ReadonlyArray<[number, string]> = [
  [0x001, 'POLLIN'],
  [0x002, 'POLLPRI'],
  [0x004, 'POLLOUT'],
  [0x040, 'POLLRDNORM'],
  [0x080, 'POLLRDBAND'],
  [0x100, 'POLLWRNORM'],
  [0x200, 'POLLWRBAND'],
  [0x400, 'POLLMSG'],
  [0x1000, 'POLLREMOVE'],
  [0x2000, 'POLLRDHUP'],
  [0x008, 'POLLERR'],
  [0x010, 'POLLHUP'],
  [0x020, 'POLLNVAL'],
];

/** Bits as `A|B|C`, lowest bit first; '' for none. */
export function pollFlagsToString(flags: number): string {
  const v = BigInt.asUintN(64, BigInt(flags));
  const names: string[] = [];
  for (let i = 0n; i < 64n; i++) {
    const bit = 1n << i;
    if (v & bit) {
      const hit = POLL_FLAGS.find(([f]) => BigInt(f) === bit);
      names.push(hit ? hit[1] : '???');
    }
  }
  return names.join('|');
}

export const poll: Handler = (site) => {
  const { args, ctx } = site;
  checkArgCount(args, 3);
  const fdsExpr = checkType(getArg(args, 0), 'list');
  const entries = fdsExpr.elements.map((e) => {
    const p = checkType(e, 'pollfd');
    const fd = checkType(p.fd, 'integer').num;
    const events = checkType(p.events, 'integer').num;
    const revents = checkType(p.revents, 'integer').num;
    const liveFd = toLiveFd(ctx.fds, toInt32(fd));
    return { liveFd, events: toInt32(events), revents: toInt32(revents) };
  });
  const nfds = s32Arg(args, 1);
  const timeout = s32Arg(args, 2);
  if (nfds !== entries.length) {
    throw new SyscallFailure(`nfds ${nfds} does not match ${entries.length}-element pollfd array`);
  }
  const fds = Buffer.alloc(Math.max(1, entries.length) * POLLFD_SIZE);
  entries.forEach((e, i) => writePollfd(fds, i, e.liveFd, e.events, e.revents));
  const call = nrOf('poll', 'ppoll');
  let callArgs: Array<bigint | number | Buffer | null>;
  const keep: unknown[] = [];
  if (call.name === 'poll') {
    callArgs = [fds, BigInt(nfds >>> 0), int(timeout)];
  } else {
    let ts: Buffer | null = null;
    if (timeout >= 0) {
      ts = Buffer.alloc(16);
      ts.writeBigInt64LE(BigInt(Math.floor(timeout / 1000)), 0);
      ts.writeBigInt64LE(BigInt((timeout % 1000) * 1000000), 8);
      keep.push(ts);
    }
    callArgs = [fds, BigInt(nfds >>> 0), ts, null, 8];
  }
  return prepared(site, call.nr, callArgs, keep, (r) => {
    checkReturn(site, 'exact', r);
    entries.forEach((e, i) => {
      const actual = readPollfdRevents(fds, i);
      if (actual !== e.revents) {
        throw new SyscallFailure(
          `Expected revents of ${pollFlagsToString(e.revents)} but got ${pollFlagsToString(actual)} for pollfd ${i}`,
        );
      }
    });
  });
};

export const epoll_create: Handler = (site) => {
  const { args, ctx } = site;
  checkArgCount(args, 1);
  const size = s32Arg(args, 0);
  const complete = (r: SyscallResult): void => {
    checkReturn(site, 'fd', r);
    const live = actualResult(r);
    if (live >= 0) addPlainFd(ctx.fds, 'epoll', expectedResult(site.spec), live);
  };
  const call = nrOf('epoll_create', 'epoll_create1');
  if (call.name === 'epoll_create') return prepared(site, call.nr, [int(size)], [], complete);
  // Where only epoll_create1 exists, the C library refuses a size <= 0 itself.
  if (size <= 0) {
    return prepared(site, null, [], [], complete, () => ({ ret: -1n, errno: EINVAL, startNs: 0n, endNs: 0n }));
  }
  return prepared(site, call.nr, [0], [], complete);
};

interface EpollEventSpec {
  events: number;
  kind: 'ptr' | 'fd' | 'u32' | 'u64';
  /** The value in epoll_data as the call sees it (for fd: the live fd). */
  data: bigint;
}

/**
 * `{events=E, fd=F}` (or ptr=/u32=/u64=). For epoll_ctl, `target` is the
 * fd the call names and fd= must agree with it; for epoll_wait (no target)
 * fd= names a script fd that is mapped to its live fd.
 */
function epollEvent(site: CallSite, v: Value, target: { scriptFd: number; liveFd: number } | null): EpollEventSpec {
  const ev = checkType(v, 'epollev');
  const events = Number(BigInt.asUintN(32, checkType(ev.events, 'integer').num));
  const value = checkType(ev.data.value, 'integer').num;
  switch (ev.data.kind) {
    case 'ptr':
      return { events, kind: 'ptr', data: BigInt.asUintN(64, value) };
    case 'u64':
      return { events, kind: 'u64', data: BigInt.asUintN(64, value) };
    case 'u32':
      return { events, kind: 'u32', data: BigInt.asUintN(32, value) };
    case 'fd': {
      const scriptFd = toInt32(value);
      let liveFd: number;
      if (target === null) {
        liveFd = toLiveFd(site.ctx.fds, scriptFd);
      } else {
        if (value !== BigInt(target.scriptFd)) throw new SyscallFailure('wrong fd specified in epoll_event\n');
        liveFd = target.liveFd;
      }
      return { events, kind: 'fd', data: BigInt.asUintN(32, BigInt(liveFd)) };
    }
  }
}

export const epoll_ctl: Handler = (site) => {
  const { args, ctx } = site;
  checkArgCount(args, 4);
  const epfd = toLiveFd(ctx.fds, s32Arg(args, 0));
  const op = s32Arg(args, 1);
  const scriptFd = s32Arg(args, 2);
  const liveFd = toLiveFd(ctx.fds, scriptFd);
  const ev = epollEvent(site, getArg(args, 3), { scriptFd, liveFd });
  const buf = Buffer.alloc(epollEventSize());
  writeEpollEvent(buf, 0, ev.events, ev.data);
  return prepared(site, nrOf('epoll_ctl').nr, [int(epfd), int(op), int(liveFd), buf], [], (r) =>
    checkReturn(site, 'exact', r),
  );
};

/** C's "%p". */
function pointerText(p: bigint): string {
  return p === 0n ? '(nil)' : '0x' + p.toString(16);
}

export const epoll_wait: Handler = (site) => {
  const { args, ctx } = site;
  checkArgCount(args, 4);
  const epfd = toLiveFd(ctx.fds, s32Arg(args, 0));
  const want = epollEvent(site, getArg(args, 1), null);
  const maxevents = s32Arg(args, 2);
  const timeout = s32Arg(args, 3);
  if (maxevents < 0) throw new SyscallFailure(`Failed to calloc ${maxevents} struct epoll_event\n`);
  const events = Buffer.alloc(Math.max(1, maxevents) * epollEventSize());
  const call = nrOf('epoll_wait', 'epoll_pwait');
  const callArgs =
    call.name === 'epoll_wait'
      ? [int(epfd), events, int(maxevents), int(timeout)]
      : [int(epfd), events, int(maxevents), int(timeout), null, 8];
  return prepared(site, call.nr, callArgs, [], (r) => {
    checkReturn(site, 'exact', r);
    // packetdrill checks the first event only.
    const got = readEpollEvent(events, 0);
    if (got.events !== want.events) {
      throw new SyscallFailure(
        'epoll_event->events does not match script: ' +
          `expected: 0x${want.events.toString(16)} actual: 0x${got.events.toString(16)}\n`,
      );
    }
    const mismatch = (e: string, a: string): SyscallFailure =>
      new SyscallFailure(`epoll_event->data does not match script: expected: ${e} actual: ${a}\n`);
    switch (want.kind) {
      case 'ptr':
        if (got.data !== want.data) throw mismatch(pointerText(want.data), pointerText(got.data));
        break;
      case 'fd': {
        const e = toInt32(want.data);
        const a = toInt32(got.data);
        if (e !== a) throw mismatch(String(e), String(a));
        break;
      }
      case 'u32': {
        const a = BigInt.asUintN(32, got.data);
        if (a !== want.data) throw mismatch(String(want.data), String(a));
        break;
      }
      case 'u64':
        if (got.data !== want.data) throw mismatch(String(want.data), String(got.data));
        break;
    }
  });
};
