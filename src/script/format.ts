/**
 * Print script constructs back in script notation (for messages and reports).
 */

import type { Expr, GreHeader, MplsEntry, SyscallSpec, TimeSpec } from './ast.js';
import { formatIpv6 } from './inet.js';

function hex(v: bigint): string {
  return v < 0n ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`;
}

function formatGre(g: GreHeader): string {
  const names: string[] = [];
  if (g.flags & 0x8000) names.push('checksum present');
  if (g.flags & 0x2000) names.push('key present');
  if (g.flags & 0x1000) names.push('sequence# present');
  const known = 0x8000 | 0x2000 | 0x1000;
  const flags = g.flags & ~known ? `flags 0x${g.flags.toString(16)}` : `flags [${names.length ? names.join(', ') : 'none'}]`;
  return `${flags}, sum ${g.sum}, off ${g.off}, key ${g.key}, seq ${g.seq}`;
}

function formatMpls(entries: MplsEntry[]): string {
  return entries
    .map((e) => `(label ${e.label}, tc ${e.tc}, ${e.bottom ? '[S], ' : ''}ttl ${e.ttl})`)
    .join(' ');
}

/** An expression in script notation, e.g. `{sa_family=AF_INET, sin_port=htons(8080), ...}`. */
export function formatExpr(e: Expr): string {
  switch (e.type) {
    case 'ellipsis':
      return '...';
    case 'integer':
      if (e.inetAddr !== undefined) return `inet_addr("${e.inetAddr}")`;
      return e.hex ? hex(e.value) : e.value.toString();
    case 'word':
      return e.name;
    case 'string':
      return `"${e.value}"${e.ellipsis ? '...' : ''}`;
    case 'binary':
      if (e.op === '.') return `${formatExpr(e.lhs)} ${formatExpr(e.rhs)}`;
      if (e.op === '=') return `${formatExpr(e.lhs)}=${formatExpr(e.rhs)}`;
      return `${formatExpr(e.lhs)}|${formatExpr(e.rhs)}`;
    case 'list': {
      const inner = e.elements.map(formatExpr).join(', ');
      return e.brackets === '[]' ? `[${inner}]` : `{${inner}}`;
    }
    case 'in6_addr':
      return `inet6_addr("${e.address}")`;
    case 'sockaddr_in':
    case 'sockaddr_in6':
      return `{sa_family=${e.type === 'sockaddr_in' ? 'AF_INET' : 'AF_INET6'}, sin_port=htons(${e.port}), sin_addr=inet_addr("${e.address}")}`;
    case 'iovec':
      return `{..., ${formatExpr(e.len)}}`;
    case 'msghdr': {
      const ctl = e.control.elements.length ? `, msg_control=${formatExpr(e.control)}` : '';
      return `{msg_name(...)=..., msg_iov(${formatExpr(e.iovlen)})=${formatExpr(e.iov)}, msg_flags=${formatExpr(e.flags)}${ctl}}`;
    }
    case 'cmsg':
      return `{cmsg_level=${formatExpr(e.level)}, cmsg_type=${formatExpr(e.cmsgType)}, cmsg_data=${formatExpr(e.data)}}`;
    case 'pollfd':
      return `{fd=${formatExpr(e.fd)}, events=${formatExpr(e.events)}, revents=${formatExpr(e.revents)}}`;
    case 'linger':
      return `{onoff=${e.onoff}, linger=${e.linger}}`;
    case 'epollev': {
      const [k, v] = e.fd
        ? ['fd', e.fd]
        : e.ptr
          ? ['ptr', e.ptr]
          : e.u32
            ? ['u32', e.u32]
            : ['u64', e.u64!];
      return `{events=${formatExpr(e.events)}, ${k}=${formatExpr(v)}}`;
    }
    case 'scm_timestamping':
      return `{scm_sec=${e.sec}, scm_nsec=${e.nsec}}`;
    case 'sock_extended_err':
      return (
        `{ee_errno=${formatExpr(e.eeErrno)}, ee_origin=${formatExpr(e.eeOrigin)}, ` +
        `ee_type=${formatExpr(e.eeType)}, ee_code=${formatExpr(e.eeCode)}, ` +
        `ee_info=${formatExpr(e.eeInfo)}, ee_data=${formatExpr(e.eeData)}}`
      );
    case 'mpls_stack':
      return `{${formatMpls(e.entries)}}`;
    case 'gre':
      return `{${formatGre(e.gre)}}`;
  }
}

/** The address text of an in6_addr expression, normalised. */
export function in6AddrText(bytes: Uint8Array): string {
  return formatIpv6(bytes);
}

/** Seconds with up to six decimals, trailing zeros trimmed ("0.1", "2"). */
function secs(usecs: number): string {
  const s = (usecs / 1e6).toFixed(6).replace(/0+$/, '').replace(/\.$/, '');
  return s;
}

/** An event time as written: `0.1`, `+0.1`, `*`, `0.1~0.2`, `+0.1~+0.2`. */
export function formatTime(t: TimeSpec): string {
  switch (t.kind) {
    case 'absolute':
      return secs(t.usecs);
    case 'relative':
      return `+${secs(t.usecs)}`;
    case 'any':
      return '*';
    case 'absolute_range':
      return `${secs(t.usecs)}~${secs(t.endUsecs)}`;
    case 'relative_range':
      return `+${secs(t.usecs)}~+${secs(t.endUsecs)}`;
  }
}

/** A system call line without its time: `...0.1 read(3, ..., 10) = 10 EAGAIN (x)`. */
export function formatSyscall(s: SyscallSpec): string {
  const end = s.endUsecs !== undefined ? `...${secs(s.endUsecs)} ` : '';
  let out = `${end}${s.name}(${s.args.map(formatExpr).join(', ')}) = ${formatExpr(s.result)}`;
  if (s.errno) out += ` ${s.errno.name} (${s.errno.strerror})`;
  if (s.note !== undefined) out += ` (${s.note})`;
  return out;
}
