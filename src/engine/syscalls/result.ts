/**
 * The check packetdrill makes right after every system call: the return
 * value against the script's `= N`, then the errno against the script's
 * errno name, with packetdrill's messages.
 */
import { strerror } from '../../native/addon.js';
import type { SyscallSpec } from '../../script/ast.js';
import { lookupSymbol, exprTypeName, type SymbolLookup } from './values.js';
import { SyscallFailure, type SyscallResult } from './types.js';

/**
 * 'exact': the result must equal the script's value.
 * 'fd': a non-negative expected result (a new fd) accepts any non-negative
 * result; a negative one must match exactly.
 */
export type ResultCheck = 'exact' | 'fd';

const INT_MIN = -(2n ** 31n);
const UINT_MAX = 2n ** 32n - 1n;

/** The script's expected result as a C int. */
export function expectedResult(spec: SyscallSpec): number {
  const r = spec.result;
  if (r.type !== 'integer') {
    throw new SyscallFailure(`Bad type; actual: ${exprTypeName(r)} expected: integer`);
  }
  if (r.value > UINT_MAX || r.value < INT_MIN) {
    throw new SyscallFailure(`Value out of range for 32-bit integer: ${r.value}`);
  }
  return Number(BigInt.asIntN(32, r.value));
}

/** The live result as packetdrill holds it (a C int). */
export function actualResult(result: SyscallResult): number {
  return Number(BigInt.asIntN(32, result.ret));
}

export function checkResult(spec: SyscallSpec, mode: ResultCheck, result: SyscallResult, symbol: SymbolLookup): void {
  const expected = expectedResult(spec);
  const actual = actualResult(result);
  const err = result.errno;
  if (mode === 'fd' && expected >= 0) {
    if (actual < 0) {
      throw new SyscallFailure(
        `Expected non-negative result but got ${actual} with errno ${err} (${strerror(err)})`,
      );
    }
  } else if (actual !== expected) {
    throw new SyscallFailure(
      `Expected result ${expected} but got ${actual} with errno ${err} (${strerror(err)})`,
    );
  }
  if (spec.errno) {
    const want = Number(BigInt.asIntN(32, lookupSymbol(symbol, spec.errno.name)));
    if (err !== want) {
      throw new SyscallFailure(
        `Expected errno ${want} (${strerror(want)}) but got ${err} (${strerror(err)})`,
      );
    }
  }
}
