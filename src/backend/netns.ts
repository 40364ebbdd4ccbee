/**
 * Network namespaces by file descriptor, on the calling (JavaScript)
 * thread: open the thread's own, make a new one beside it, run a piece of
 * synchronous work inside another and come back. Child processes inherit
 * the namespace of the thread that starts them; sockets stay in the
 * namespace they were made in.
 */
import { readlinkSync } from 'node:fs';
import * as native from '../native/addon.js';

const CLONE_NEWNET = 0x40000000;
const O_RDONLY = 0;
const O_CLOEXEC = 0x80000;
const AT_FDCWD = -100;

export class NetnsError extends Error {}

function check(r: native.SyscallResult, what: string): number {
  if (r.ret < 0n) throw new NetnsError(`${what}: ${native.strerror(r.errno)} (${native.errnoName(r.errno)})`);
  return Number(r.ret);
}

/** A descriptor of the calling thread's network namespace. */
export function openOwnNetns(): number {
  const path = Buffer.from('/proc/thread-self/ns/net\0');
  return check(native.syscall(native.sysNr('openat'), [AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0]), 'open /proc/thread-self/ns/net');
}

export function closeFd(fd: number): void {
  if (fd >= 0) native.syscall(native.sysNr('close'), [fd]);
}

function enter(fd: number): void {
  check(native.syscall(native.sysNr('setns'), [fd, CLONE_NEWNET]), 'setns(CLONE_NEWNET)');
}

/** Run `fn` with the calling thread in the namespace `fd`, then come back. */
export function inNetns<T>(fd: number, fn: () => T): T {
  const home = openOwnNetns();
  try {
    enter(fd);
    try {
      return fn();
    } finally {
      enter(home);
    }
  } finally {
    closeFd(home);
  }
}

/** A new, empty network namespace (only lo, down), kept alive by the returned descriptor. */
export function newNetns(): number {
  const home = openOwnNetns();
  try {
    check(native.syscall(native.sysNr('unshare'), [CLONE_NEWNET]), 'unshare(CLONE_NEWNET)');
    try {
      return openOwnNetns();
    } finally {
      enter(home);
    }
  } finally {
    closeFd(home);
  }
}

/**
 * A path naming the namespace behind `fd`, for `ip ... netns PATH` and
 * `nsenter --net=PATH`. The process number is the one /proc knows: a worker
 * that is process 1 of a PID namespace of its own still sees the host's /proc.
 */
export function netnsPath(fd: number): string {
  return `/proc/${procPid()}/fd/${fd}`;
}

let procPidCache: string | null = null;
function procPid(): string {
  procPidCache ??= readlinkSync('/proc/self');
  return procPidCache;
}
