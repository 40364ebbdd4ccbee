/**
 * What every system call handler shares: its inputs, the shape of its
 * output, and the numbers of the raw calls it makes.
 */
import { SYS } from '../../native/addon.js';
import type { SyscallSpec } from '../../script/ast.js';
import { checkResult, type ResultCheck } from './result.js';
import type { Value } from './values.js';
import {
  SyscallFailure,
  type PreparedSyscall,
  type SyscallArg,
  type SyscallContext,
  type SyscallResult,
} from './types.js';

export interface CallSite {
  ctx: SyscallContext;
  spec: SyscallSpec;
  /** The evaluated arguments. */
  args: Value[];
}

export type Handler = (site: CallSite) => PreparedSyscall;

/** The number of a raw system call on this architecture. */
export function nr(name: string): number {
  const n = SYS[name];
  if (n === undefined) {
    throw new SyscallFailure(`system call ${name} is not available on ${process.arch}`);
  }
  return n;
}

/** The first of `names` this architecture has (legacy calls are absent on arm64). */
export function nrOf(...names: string[]): { name: string; nr: number } {
  for (const name of names) {
    const n = SYS[name];
    if (n !== undefined) return { name, nr: n };
  }
  throw new SyscallFailure(`none of the system calls ${names.join(', ')} is available on ${process.arch}`);
}

export function prepared(
  site: CallSite,
  sysnr: number | null,
  args: SyscallArg[],
  keepAlive: unknown[],
  complete: (result: SyscallResult) => void,
  emulate?: () => SyscallResult,
): PreparedSyscall {
  const p: PreparedSyscall = { name: site.spec.name, nr: sysnr, args, keepAlive, complete };
  if (emulate) p.emulate = emulate;
  return p;
}

/** Check the return value and errno (packetdrill's end_syscall). */
export function checkReturn(site: CallSite, mode: ResultCheck, result: SyscallResult): void {
  checkResult(site.spec, mode, result, site.ctx.symbol);
}

/** A call whose only check is its exact return value and errno. */
export function simpleCall(site: CallSite, sysnr: number, args: SyscallArg[], keepAlive: unknown[] = []): PreparedSyscall {
  return prepared(site, sysnr, args, keepAlive, (r) => checkReturn(site, 'exact', r));
}

/** A C int passed to a system call (sign-extended to a register). */
export function int(n: number): bigint {
  return BigInt(n | 0);
}

/** Allocate the data buffer of a read/write-like call: NULL, or `count` zeroed bytes. */
export function dataBuffer(isNull: boolean, count: number): Buffer | null {
  if (isNull) return null;
  if (count < 0) throw new SyscallFailure(`invalid buffer size ${count}`);
  return Buffer.alloc(count);
}

/** A size_t argument from a C int (negative values wrap, as in C). */
export function sizeArg(count: number): bigint {
  return BigInt.asUintN(64, BigInt(count));
}
