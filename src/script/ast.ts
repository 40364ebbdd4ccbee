/**
 * Abstract syntax tree of a packetdrill script.
 *
 * The shapes follow packetdrill's own parse tree: a script is a list of
 * `--name=value` options, an optional untimed init command, a list of timed
 * events and an optional untimed cleanup command. Symbols (SOCK_STREAM,
 * IPPROTO_TCP, ...) stay words here; their values are resolved at run time.
 */

import type { TcpOption } from '../packet/tcp-options.js';

/** A position in the script, both 1-based. */
export interface Loc {
  line: number;
  column: number;
}

export interface Script {
  path: string;
  /** `--name=value` lines at the top of the script, in order. */
  options: ScriptOption[];
  /** A backtick command written before the first event (run before the test). */
  initCommand?: CommandSpec;
  events: Event[];
  /** A backtick command written after the last event (always run at the end). */
  cleanupCommand?: CommandSpec;
  /** The raw text of the script. */
  source: string;
  /**
   * The IP version the script was checked against (the effective
   * `--ip_version`: command line first, then the script's own option,
   * then ipv4).
   */
  ipVersion: IpVersion;
  /** The effective `-D` definitions used while lexing the events. */
  defines: Record<string, string>;
}

export type IpVersion = 'ipv4' | 'ipv4-mapped-ipv6' | 'ipv6';

/**
 * One `--name[=value]` option. `value` is undefined for a bare flag such as
 * `--verbose`. `--define=NAME=VALUE` keeps `NAME=VALUE` as its value.
 */
export interface ScriptOption {
  name: string;
  value?: string;
  loc: Loc;
}

/**
 * Event time. All values are microseconds.
 * - absolute: `0.100`
 * - relative: `+0.1`, relative to the previous event's time
 * - any: `*` (outbound packets only)
 * - absolute_range: `0.1~0.2`; both ends absolute (outbound packets only)
 * - relative_range: `+0.1~+0.2`; BOTH ends are offsets from the same base
 *   (the previous event's time), not the end from the start.
 */
export type TimeSpec =
  | { kind: 'absolute'; usecs: number }
  | { kind: 'relative'; usecs: number }
  | { kind: 'any' }
  | { kind: 'absolute_range'; usecs: number; endUsecs: number }
  | { kind: 'relative_range'; usecs: number; endUsecs: number };

export interface EventBase {
  /** Location of the event's time stamp (the line packetdrill reports). */
  loc: Loc;
  time: TimeSpec;
}

export interface PacketEvent extends EventBase {
  type: 'packet';
  packet: PacketSpec;
}
export interface SyscallEvent extends EventBase {
  type: 'syscall';
  syscall: SyscallSpec;
}
export interface CommandEvent extends EventBase {
  type: 'command';
  command: CommandSpec;
}
export interface CodeEvent extends EventBase {
  type: 'code';
  code: CodeSpec;
}
export type Event = PacketEvent | SyscallEvent | CommandEvent | CodeEvent;

/** A backtick shell command: the text between the backticks, unmodified. */
export interface CommandSpec {
  commandLine: string;
  loc: Loc;
}

/** A `%{ ... }%` code snippet, with spaces and tabs trimmed at both ends. */
export interface CodeSpec {
  text: string;
  loc: Loc;
}

export interface ErrnoSpec {
  /** errno macro name, e.g. EINPROGRESS (or any word, checked at run time). */
  name: string;
  /** The parenthesised text after it, words joined by single spaces. */
  strerror: string;
}

export interface SyscallSpec {
  name: string;
  /** Location of the system call's name. */
  loc: Loc;
  args: Expr[];
  result: Expr;
  errno?: ErrnoSpec;
  /** A second parenthesised note after the errno or result. */
  note?: string;
  /**
   * `...<time>` before the name: the call is expected to block and return
   * at this time (microseconds). When the event time is relative, this end
   * time is relative to the SAME base as the start time (the previous
   * event), not to the start; when the event time is absolute it is absolute.
   * Undefined for a call expected to return immediately.
   */
  endUsecs?: number;
}

// ---------------------------------------------------------------------------
// Expressions (one variant per packetdrill expression type)

interface ExprBase {
  loc: Loc;
}

/** `...` */
export interface EllipsisExpr extends ExprBase {
  type: 'ellipsis';
}
/**
 * An integer literal. `hex` is true for `0x...` literals and for values
 * produced by `inet_addr("...")` (printed in hex, as packetdrill does).
 */
export interface IntegerExpr extends ExprBase {
  type: 'integer';
  value: bigint;
  hex: boolean;
  /** For `inet_addr("a.b.c.d")`: the address text. `value` is then the
   * 32-bit network-order address read as a little-endian host integer, as
   * inet_addr() returns it on Linux/x86. */
  inetAddr?: string;
}
/** An unquoted word: a symbol name (SOCK_STREAM, NULL, an unresolved -D name, ...). */
export interface WordExpr extends ExprBase {
  type: 'word';
  name: string;
}
/**
 * A double-quoted string. `value` is the text between the quotes exactly as
 * written (packetdrill does not interpret backslash escapes).
 * `ellipsis` is true for `"..."...` (a string followed by `...`).
 */
export interface StringExpr extends ExprBase {
  type: 'string';
  value: string;
  ellipsis: boolean;
}
/**
 * A binary expression:
 * - `|`: bitwise OR (`O_RDWR|O_NONBLOCK`)
 * - `=`: `WORD = expr`, a named field (`{tcpi_state=TCP_ESTABLISHED}`);
 *   the left side is always a word
 * - `.`: concatenation of adjacent string literals (`"ab" "cd"`)
 */
export interface BinaryExpr extends ExprBase {
  type: 'binary';
  op: '|' | '=' | '.';
  lhs: Expr;
  rhs: Expr;
}
/**
 * A list: `[a, b]` (brackets) or `{a, b}` (braces, packetdrill's
 * sub_expr_list). Both are the same expression type in packetdrill.
 */
export interface ListExpr extends ExprBase {
  type: 'list';
  elements: Expr[];
  brackets: '[]' | '{}';
}
/** `inet6_addr("...")`; `bytes` is the 16-byte address. */
export interface In6AddrExpr extends ExprBase {
  type: 'in6_addr';
  address: string;
  bytes: Uint8Array;
}
/** `{sa_family=AF_INET, sin_port=htons(P), sin_addr=inet_addr("A")}` */
export interface SockaddrInExpr extends ExprBase {
  type: 'sockaddr_in';
  port: number;
  address: string;
}
/** `{sa_family=AF_INET6, sin_port=htons(P), sin_addr=inet_addr("A")}` */
export interface SockaddrIn6Expr extends ExprBase {
  type: 'sockaddr_in6';
  port: number;
  address: string;
}
/** `{..., N}`: iov_base is always `...`. */
export interface IovecExpr extends ExprBase {
  type: 'iovec';
  len: IntegerExpr;
}
/**
 * `{msg_name(...)=..., msg_iov(N)=[...], msg_flags=F[, msg_control=[...]]}`.
 * `control` is an empty bracket list when not written.
 */
export interface MsghdrExpr extends ExprBase {
  type: 'msghdr';
  iovlen: IntegerExpr;
  iov: ListExpr;
  flags: Expr;
  control: ListExpr;
}
/** `{cmsg_level=L, cmsg_type=T, cmsg_data=D}` */
export interface CmsgExpr extends ExprBase {
  type: 'cmsg';
  level: Expr;
  cmsgType: Expr;
  data: Expr;
}
/** `{fd=F, events=E[, revents=R]}`; revents is integer 0 when not written. */
export interface PollfdExpr extends ExprBase {
  type: 'pollfd';
  fd: Expr;
  events: Expr;
  revents: Expr;
}
/** `{onoff=N, linger=M}` */
export interface LingerExpr extends ExprBase {
  type: 'linger';
  onoff: bigint;
  linger: bigint;
}
/** `{events=E, fd=F}` / `ptr=` / `u32=` / `u64=`: exactly one data field is set. */
export interface EpollevExpr extends ExprBase {
  type: 'epollev';
  events: Expr;
  fd?: Expr;
  ptr?: Expr;
  u32?: Expr;
  u64?: Expr;
}
/** `{scm_sec=S, scm_nsec=N}` (first timespec of struct scm_timestamping). */
export interface ScmTimestampingExpr extends ExprBase {
  type: 'scm_timestamping';
  sec: bigint;
  nsec: bigint;
}
/** `{ee_errno=..., ee_origin=..., ee_type=..., ee_code=..., ee_info=..., ee_data=...}` */
export interface SockExtendedErrExpr extends ExprBase {
  type: 'sock_extended_err';
  eeErrno: Expr;
  eeOrigin: Expr;
  eeType: Expr;
  eeCode: Expr;
  eeInfo: Expr;
  eeData: Expr;
}
export interface MplsEntry {
  label: number;
  tc: number;
  bottom: boolean;
  ttl: number;
}
/** `{ (label L, tc T, [S], ttl N) ... }` */
export interface MplsStackExpr extends ExprBase {
  type: 'mpls_stack';
  entries: MplsEntry[];
}
export interface GreHeader {
  /** GRE flags in host order (C=0x8000, K=0x2000, S=0x1000). */
  flags: number;
  sum: number;
  off: number;
  key: number;
  seq: number;
  /** True when the header was written as a bare `gre:` (all zero). */
  bare?: boolean;
}
/** `{flags ..., sum N, off N, key N, seq N}` */
export interface GreExpr extends ExprBase {
  type: 'gre';
  gre: GreHeader;
}

export type Expr =
  | EllipsisExpr
  | IntegerExpr
  | WordExpr
  | StringExpr
  | BinaryExpr
  | ListExpr
  | In6AddrExpr
  | SockaddrInExpr
  | SockaddrIn6Expr
  | IovecExpr
  | MsghdrExpr
  | CmsgExpr
  | PollfdExpr
  | LingerExpr
  | EpollevExpr
  | ScmTimestampingExpr
  | SockExtendedErrExpr
  | MplsStackExpr
  | GreExpr;

// ---------------------------------------------------------------------------
// Packets

/**
 * How the TOS/traffic class byte is written and checked:
 * - ecn: `[noecn]`/`[ect0]`/`[ect1]`/`[ce]`, value is the 2-bit ECN field
 * - ect01: `[ect01]`, outbound only: either ECT(0) or ECT(1) matches
 * - tos: `[tos 0x..]`, value is the full 8-bit byte
 */
export interface TosSpec {
  check: 'ecn' | 'ect01' | 'tos';
  value: number;
}

export interface IpInfo {
  tos?: TosSpec;
  /** `flowlabel 0x...` (20 bits) */
  flowLabel?: number;
  /** `ttl N` (hop limit for IPv6) */
  ttl?: number;
}

/** Outer headers written before the inner packet (`ipv4 a > b: gre: ...`). */
export type EncapHeader =
  | { kind: 'ipv4'; ipInfo: IpInfo; src: string; dst: string; loc: Loc }
  | { kind: 'ipv6'; ipInfo: IpInfo; src: string; dst: string; loc: Loc }
  | { kind: 'gre'; gre: GreHeader; loc: Loc }
  | { kind: 'mpls'; entries: MplsEntry[]; loc: Loc };

/** `encap psp spi N` before a TCP packet's ports/flags. */
export interface PspEncap {
  spi: number;
}

export interface PacketSpec {
  /** '<' inbound (injected by the harness), '>' outbound (sent by the kernel) */
  direction: 'inbound' | 'outbound';
  /** Location of the direction character. */
  loc: Loc;
  /** Outer headers in the order written (outermost first); empty if none. */
  encap: EncapHeader[];
  ipInfo: IpInfo;
  l4: TcpSpec | UdpSpec | IcmpSpec;
}

export interface TcpSpec {
  proto: 'tcp';
  /** `encap psp spi N` */
  psp?: PspEncap;
  /** Explicit `src > dst` ports; undefined when not written. */
  srcPort?: number;
  dstPort?: number;
  /**
   * Flags exactly as written: 'S', 'S.', 'F.', 'P.', '.', '' for '-', and
   * AccECN forms like 'S.0' / 'SE.1' / '.2' (a word followed by a float).
   */
  flags: string;
  startSeq: number;
  endSeq: number;
  payloadBytes: number;
  /** Undefined when no `ack N` is written (packetdrill then uses 0). */
  ack?: number;
  /** Undefined when no `win N` is written. */
  window?: number;
  /** Undefined when no `urg N` is written (packetdrill then uses 0). */
  urgPtr?: number;
  /**
   * TCP options: a list for `<...,...>`, 'any' for `<...>` (not checked;
   * outbound only), and null when no option list is written (no options).
   */
  options: TcpOption[] | 'any' | null;
}

/** TCP options are the packet layer's: one form for the script, the encoder, the decoder and the printer. */
export type { TcpOption };

export interface UdpSpec {
  proto: 'udp';
  srcPort?: number;
  dstPort?: number;
  payloadBytes: number;
}

export interface IcmpEchoed {
  proto: 'tcp' | 'udp' | 'raw';
  /** TCP start sequence of the echoed segment (0 for udp/raw). */
  startSeq: number;
  payloadBytes: number;
  /** For TCP: end sequence as written (`[1:2(1)]`); undefined otherwise. */
  endSeq?: number;
}

export interface IcmpSpec {
  proto: 'icmp';
  /** Type name as written, e.g. 'unreachable', 'time_exceeded', 'echo_request'. */
  type: string;
  /** Code name as written, e.g. 'frag_needed', 'port_unreachable'. */
  code?: string;
  /** `mtu N` */
  mtu?: number;
  /** `id N` (echo id) */
  echoId?: number;
  /** `[seq]`, `[udp (N)]`, `[raw (N)]`; defaults to TCP 0:0(0) when not written. */
  echoed: IcmpEchoed;
  /** True when an echoed part was written in the script. */
  echoedWritten: boolean;
}
