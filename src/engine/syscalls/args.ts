/**
 * Typed access to evaluated system call arguments, with packetdrill's checks
 * and error messages: argument counts, types, 8/32-bit ranges, `[value]`
 * bracketed out-parameters, `...` and NULL buffers.
 */
import { SyscallFailure } from './types.js';
import type { Value, ValueType } from './values.js';

const INT_MIN = -(2n ** 31n);
const UINT_MAX = 2n ** 32n - 1n;
const CHAR_MIN = -128n;
const UCHAR_MAX = 255n;

export function checkType<T extends ValueType>(v: Value, expected: T): Extract<Value, { type: T }> {
  if (v.type !== expected) {
    throw new SyscallFailure(`Bad type; actual: ${v.type} expected: ${expected}`);
  }
  return v as Extract<Value, { type: T }>;
}

export function checkArgCount(args: Value[], expected: number): void {
  if (args.length !== expected) {
    throw new SyscallFailure(`Expected ${expected} args but got ${args.length}`);
  }
}

export function getArg(args: Value[], index: number): Value {
  const v = args[index];
  if (v === undefined) throw new SyscallFailure('Argument list too short');
  return v;
}

/** An integer that fits in 32 bits, signed or unsigned; returned as a signed 32-bit number. */
export function getS32(v: Value): number {
  const n = checkType(v, 'integer').num;
  if (n > UINT_MAX || n < INT_MIN) {
    throw new SyscallFailure(`Value out of range for 32-bit integer: ${n}`);
  }
  return Number(BigInt.asIntN(32, n));
}

/** An integer that fits in 8 bits, signed or unsigned; returned as an unsigned byte. */
export function getU8(v: Value): number {
  const n = checkType(v, 'integer').num;
  if (n > UCHAR_MAX || n < CHAR_MIN) {
    throw new SyscallFailure(`Value out of range for 8-bit integer: ${n}`);
  }
  return Number(BigInt.asUintN(8, n));
}

export function getS64(v: Value): bigint {
  return checkType(v, 'integer').num;
}

export function s32Arg(args: Value[], index: number): number {
  return getS32(getArg(args, index));
}

export function s64Arg(args: Value[], index: number): bigint {
  return getS64(getArg(args, index));
}

/** `[x]`: a list holding exactly one element. */
export function bracketedArg(args: Value[], index: number): Value {
  const list = checkType(getArg(args, index), 'list');
  if (list.elements.length !== 1) {
    throw new SyscallFailure('Expected [<element>] but got multiple elements');
  }
  return list.elements[0]!;
}

export function s32BracketedArg(args: Value[], index: number): number {
  return getS32(bracketedArg(args, index));
}

export function s64BracketedArg(args: Value[], index: number): bigint {
  return getS64(bracketedArg(args, index));
}

export function isEllipsisArg(args: Value[], index: number): boolean {
  return getArg(args, index).type === 'ellipsis';
}

export function ellipsisArg(args: Value[], index: number): void {
  checkType(getArg(args, index), 'ellipsis');
}

/** `...` (a buffer the runner allocates) or NULL (integer 0). Returns true for NULL. */
export function bufferArgIsNull(args: Value[], index: number): boolean {
  const v = args[index];
  if (v?.type === 'ellipsis') return false;
  if (v?.type === 'integer' && v.num === 0n) return true;
  throw new SyscallFailure('Expected ... or NULL for buffer');
}

/** The script fd to live fd mapping. */
export interface FdLookup {
  byScriptFd(fd: number): { liveFd: number } | undefined;
}

export function toLiveFd(fds: FdLookup, scriptFd: number): number {
  const e = fds.byScriptFd(scriptFd);
  if (!e) throw new SyscallFailure(`unable to find fd with script fd ${scriptFd}`);
  return e.liveFd;
}

/** C `int` truncation of a 64-bit value (as when packetdrill passes an s64 to an int parameter). */
export function toInt32(n: bigint): number {
  return Number(BigInt.asIntN(32, n));
}
