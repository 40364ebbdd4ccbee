/**
 * Evaluation of system call argument expressions, as packetdrill does it
 * before running a call: symbol words become integers, `a|b` is computed,
 * adjacent strings are joined, string escapes are interpreted, and every
 * structured expression is evaluated field by field. The result is a tree of
 * values whose type names are packetdrill's (they appear in error messages
 * such as "Bad type; actual: list expected: integer").
 */
import type { Expr, GreHeader, MplsEntry } from '../../script/ast.js';
import { SyscallFailure } from './types.js';

export type Value =
  | { type: 'ellipsis' }
  | { type: 'integer'; num: bigint }
  | { type: 'string'; bytes: Buffer }
  | { type: 'gre'; gre: GreHeader }
  | { type: 'in6_addr'; bytes: Uint8Array }
  | { type: 'sockaddr_in'; port: number; address: string }
  | { type: 'sockaddr_in6'; port: number; address: string }
  | { type: 'linger'; onoff: bigint; linger: bigint }
  | { type: 'binary_expression'; op: '='; lhs: Value; rhs: Value }
  | { type: 'list'; elements: Value[] }
  | { type: 'iovec'; len: Value }
  | { type: 'msghdr'; iov: Value; iovlen: Value; flags: Value; control: Value }
  | { type: 'cmsg'; level: Value; cmsgType: Value; data: Value }
  | { type: 'pollfd'; fd: Value; events: Value; revents: Value }
  | { type: 'mpls_stack'; entries: MplsEntry[] }
  | { type: 'scm_timestamping'; sec: bigint; nsec: bigint }
  | {
      type: 'sock_extended_err';
      eeErrno: Value;
      eeOrigin: Value;
      eeType: Value;
      eeCode: Value;
      eeInfo: Value;
      eeData: Value;
    }
  | { type: 'epollev'; events: Value; data: { kind: 'ptr' | 'fd' | 'u32' | 'u64'; value: Value } };

export type ValueType = Value['type'];

/** packetdrill's name for the type of an unevaluated expression. */
export function exprTypeName(e: Expr): string {
  switch (e.type) {
    case 'binary': return 'binary_expression';
    default: return e.type;
  }
}

/** Symbol lookup used by evaluation; undefined for an unknown word. */
export type SymbolLookup = (name: string) => bigint | undefined;

export function lookupSymbol(symbol: SymbolLookup, name: string): bigint {
  const v = symbol(name);
  if (v === undefined) throw new SyscallFailure(`unknown symbol: '${name}'`);
  return v;
}

/**
 * Interpret the backslash escapes of a script string as packetdrill does.
 * Its decoder lets `\\` and `\"` fall through to the `\f` case, so both of
 * them yield a form feed; that quirk is kept so that scripts mean the same.
 */
export function unescapeString(text: string): Buffer {
  const src = Buffer.from(text, 'utf8');
  const out: number[] = [];
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c !== 0x5c /* \ */) {
      out.push(c);
      continue;
    }
    i++;
    const e = i < src.length ? String.fromCharCode(src[i]!) : '';
    switch (e) {
      case '\\':
      case '"':
      case 'f': out.push(0x0c); break;
      case 'n': out.push(0x0a); break;
      case 'r': out.push(0x0d); break;
      case 't': out.push(0x09); break;
      case 'v': out.push(0x0b); break;
      case 'x': {
        i++;
        const byte = src.length - i >= 2 ? parseHexPair(String.fromCharCode(src[i]!, src[i + 1]!)) : undefined;
        if (byte === undefined) {
          const rest = src.subarray(i).toString('utf8');
          throw new SyscallFailure(`invalid hex escape (\\xhh): '\\x${rest}'`);
        }
        out.push(byte & 0xff);
        i++; // the second hex digit
        break;
      }
      default:
        throw new SyscallFailure(`unsupported escape code: '${e}'`);
    }
  }
  return Buffer.from(out);
}

/** strtol(s, &end, 16) over two characters, accepted only if it used them all. */
function parseHexPair(s: string): number | undefined {
  const m = /^\s*([+-]?)(0[xX])?([0-9a-fA-F]*)$/.exec(s);
  if (!m || m[3] === '') return undefined;
  const n = parseInt(m[3]!, 16);
  return m[1] === '-' ? -n : n;
}

/** Evaluate one expression. Throws SyscallFailure with packetdrill's message on error. */
export function evaluate(e: Expr, symbol: SymbolLookup): Value {
  switch (e.type) {
    case 'ellipsis':
      return { type: 'ellipsis' };
    case 'integer':
      return { type: 'integer', num: e.value };
    case 'word':
      return { type: 'integer', num: lookupSymbol(symbol, e.name) };
    case 'string':
      return { type: 'string', bytes: unescapeString(e.value) };
    case 'gre':
      return { type: 'gre', gre: e.gre };
    case 'in6_addr':
      return { type: 'in6_addr', bytes: e.bytes };
    case 'sockaddr_in':
      return { type: 'sockaddr_in', port: e.port, address: e.address };
    case 'sockaddr_in6':
      return { type: 'sockaddr_in6', port: e.port, address: e.address };
    case 'linger':
      return { type: 'linger', onoff: e.onoff, linger: e.linger };
    case 'binary': {
      const lhs = evaluate(e.lhs, symbol);
      const rhs = evaluate(e.rhs, symbol);
      switch (e.op) {
        case '|':
          if (lhs.type !== 'integer') throw new SyscallFailure('left hand side of | not an integer');
          if (rhs.type !== 'integer') throw new SyscallFailure('right hand side of | not an integer');
          return { type: 'integer', num: BigInt.asIntN(64, lhs.num | rhs.num) };
        case '.':
          if (lhs.type === 'string' && rhs.type === 'string') {
            return { type: 'string', bytes: Buffer.concat([lhs.bytes, rhs.bytes]) };
          }
          throw new SyscallFailure('bad input types for concatenation');
        case '=':
          return { type: 'binary_expression', op: '=', lhs, rhs };
      }
      throw new SyscallFailure(`bad binary operator '${String((e as { op: unknown }).op)}'`);
    }
    case 'list':
      return { type: 'list', elements: e.elements.map((x) => evaluate(x, symbol)) };
    case 'iovec':
      return { type: 'iovec', len: evaluate(e.len, symbol) };
    case 'msghdr':
      return {
        type: 'msghdr',
        iov: evaluate(e.iov, symbol),
        iovlen: evaluate(e.iovlen, symbol),
        control: evaluate(e.control, symbol),
        flags: evaluate(e.flags, symbol),
      };
    case 'cmsg':
      return {
        type: 'cmsg',
        level: evaluate(e.level, symbol),
        cmsgType: evaluate(e.cmsgType, symbol),
        data: evaluate(e.data, symbol),
      };
    case 'pollfd':
      return {
        type: 'pollfd',
        fd: evaluate(e.fd, symbol),
        events: evaluate(e.events, symbol),
        revents: evaluate(e.revents, symbol),
      };
    case 'mpls_stack':
      return { type: 'mpls_stack', entries: e.entries };
    case 'scm_timestamping':
      return { type: 'scm_timestamping', sec: e.sec, nsec: e.nsec };
    case 'sock_extended_err':
      return {
        type: 'sock_extended_err',
        eeErrno: evaluate(e.eeErrno, symbol),
        eeOrigin: evaluate(e.eeOrigin, symbol),
        eeType: evaluate(e.eeType, symbol),
        eeCode: evaluate(e.eeCode, symbol),
        eeInfo: evaluate(e.eeInfo, symbol),
        eeData: evaluate(e.eeData, symbol),
      };
    case 'epollev': {
      const events = evaluate(e.events, symbol);
      // packetdrill evaluates the one data field, in this order of preference.
      if (e.ptr) return { type: 'epollev', events, data: { kind: 'ptr', value: evaluate(e.ptr, symbol) } };
      if (e.fd) return { type: 'epollev', events, data: { kind: 'fd', value: evaluate(e.fd, symbol) } };
      if (e.u32) return { type: 'epollev', events, data: { kind: 'u32', value: evaluate(e.u32, symbol) } };
      if (e.u64) return { type: 'epollev', events, data: { kind: 'u64', value: evaluate(e.u64, symbol) } };
      // packetdrill fails here without setting a message.
      throw new SyscallFailure('(null)');
    }
  }
}

export function evaluateList(list: Expr[], symbol: SymbolLookup): Value[] {
  return list.map((e) => evaluate(e, symbol));
}
