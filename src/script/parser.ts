/**
 * Recursive-descent parser for the packetdrill script language.
 *
 * It accepts the language of packetdrill's bison grammar (with its conflicts
 * resolved the way bison resolves them) and performs the checks packetdrill
 * performs while parsing, in the same order and with the same messages, so
 * that a script packetdrill rejects is rejected here at the same line.
 *
 * Some checks depend on the run's IP version (the ICMP type and code tables
 * differ between ICMPv4 and ICMPv6; TCP and UDP size limits depend on the IP
 * header size), so the IP version is an input: the command line's
 * `--ip_version` if given, else the script's own `--ip_version`, else ipv4.
 */

import type {
  CodeSpec,
  CommandSpec,
  EncapHeader,
  ErrnoSpec,
  Event,
  Expr,
  GreHeader,
  IcmpEchoed,
  IcmpSpec,
  IntegerExpr,
  IpInfo,
  IpVersion,
  ListExpr,
  Loc,
  MplsEntry,
  PacketSpec,
  Script,
  ScriptOption,
  SyscallSpec,
  TcpOption,
  TcpSpec,
  TimeSpec,
  TosSpec,
  UdpSpec,
} from './ast.js';
import { ScriptError } from './errors.js';
import { Lexer, type Token, type TokenKind } from './lexer.js';
import { inetAddr, inetPton4, inetPton6 } from './inet.js';
import { ICMPV4_TYPES, ICMPV4_UNREACHABLE_CODES } from '../packet/icmpv4.js';
import { ICMPV6_CODES, ICMPV6_TYPES } from '../packet/icmpv6.js';
import { tcpFlagsError } from '../packet/tcp.js';
import { MAX_TCP_OPTION_BYTES, TCP_OPTIONS, type TcpOptionReader, type TcpOptionTable } from '../packet/tcp-options.js';
import { scriptDefines, scriptIpVersion, validateScriptOptions } from './options.js';
import { DefineError } from './defines.js';

export interface ParseOptions {
  /** Script path as it should appear in messages. */
  path: string;
  /** Command-line definitions (`-D NAME=VALUE`); they override script `--define`s. */
  defines?: Record<string, string>;
  /** Command-line `--ip_version`; overrides the script's own option. */
  ipVersion?: IpVersion;
  /**
   * Check option names and values as packetdrill does after the option lines
   * (default true). Set false to accept any `--name`.
   */
  validateOptions?: boolean;
  /** Further option names to accept when validating. */
  extraOptions?: ReadonlyMap<string, { hasArg: boolean }>;
  /** The TCP options scripts may write (default: packetdrill's, TCP_OPTIONS). */
  tcpOptions?: TcpOptionTable;
}

const U8 = 0xffn;
const U16 = 0xffffn;
const U20 = 0xfffffn;
const U24 = 0xffffffn;
const U32 = 0xffffffffn;

function inRange(v: bigint, max: bigint): boolean {
  return v >= 0n && v <= max;
}

const MAX_TCP_DATAGRAM_BYTES = 64 * 1024;
const MAX_UDP_DATAGRAM_BYTES = 64 * 1024;
const PACKET_MAX_HEADERS = 6;
const PACKET_MAX_HEADER_BYTES = 256;
const MPLS_STACK_MAX_ENTRIES = 6;
const GRE_FLAG_C = 0x8000;
const GRE_FLAG_R = 0x4000;
const GRE_FLAG_K = 0x2000;
const GRE_FLAG_S = 0x1000;
/** UDP header + PSP header (ext_len 1) + PSP trailer. */
const PSP_ENCAP_BYTES = 8 + 16 + 16;


// ICMP names -> wire values, from the packet layer (one table for both).
const ICMPV4_TYPE_TABLE: Record<string, { type: number; codes?: Readonly<Record<string, number>> }> = Object.fromEntries(
  Object.entries(ICMPV4_TYPES).map(([name, type]) => [name, type === 3 ? { type, codes: ICMPV4_UNREACHABLE_CODES } : { type }]),
);
const ICMPV6_TYPE_TABLE: Record<string, { type: number; codes?: Readonly<Record<string, number>> }> = Object.fromEntries(
  Object.entries(ICMPV6_TYPES).map(([name, type]) => {
    const codes = ICMPV6_CODES[name];
    return [name, codes ? { type, codes } : { type }];
  }),
);
const ICMP_DEST_UNREACH = 3;
const ICMP_FRAG_NEEDED = 4;
const ICMPV6_PKT_TOOBIG = 2;

/**
 * sscanf(s, "<prefix>%d") == 1: the prefix, optional white space, an
 * optional sign and at least one digit (trailing text is ignored).
 */
function scanPrefixedInt(s: string, prefix: string): number | undefined {
  if (!s.startsWith(prefix)) return undefined;
  const m = /^[ \t\n\v\f\r]*([+-]?[0-9]+)/.exec(s.slice(prefix.length));
  if (!m) return undefined;
  // %d stores an int: keep the low 32 bits like the C conversion does.
  return Number(BigInt.asIntN(32, BigInt(m[1]!)));
}

/** The ICMP type and code packetdrill derives; an error message on failure. */
export function icmpTypeAndCode(
  ipVersion: IpVersion,
  typeName: string,
  codeName: string | undefined,
): { type: number; code: number } | { error: string } {
  const table = ipVersion === 'ipv6' ? ICMPV6_TYPE_TABLE : ICMPV4_TYPE_TABLE;
  let type = -1;
  let codes: Readonly<Record<string, number>> | undefined;
  const t = scanPrefixedInt(typeName, 'type_');
  if (t !== undefined) type = t;
  else if (Object.prototype.hasOwnProperty.call(table, typeName)) {
    type = table[typeName]!.type;
    codes = table[typeName]!.codes;
  }
  if (!(type >= 0 && type <= 255)) return { error: `bad ICMP type ${typeName}` };
  let code = -1;
  if (codeName === undefined) code = 0;
  else {
    const c = scanPrefixedInt(codeName, 'code_');
    if (c !== undefined) code = c;
    else if (codes && Object.prototype.hasOwnProperty.call(codes, codeName)) code = codes[codeName]!;
  }
  if (!(code >= 0 && code <= 255)) return { error: `bad ICMP code ${codeName ?? '(null)'}` };
  return { type, code };
}

function ipHeaderBytes(v: IpVersion): number {
  return v === 'ipv6' ? 40 : 20;
}

function isTimeStart(t: Token): boolean {
  return t.kind === 'INTEGER' || t.kind === 'FLOAT' || isChar(t, '+') || isChar(t, '*');
}

function isChar(t: Token, c: string): boolean {
  return t.kind === 'CHAR' && t.text === c;
}

function toNum(v: bigint): number {
  return Number(v);
}

/** Deepest nesting of expressions ('{', '[', '|' chains, '=') a script may use. */
export const MAX_EXPRESSION_DEPTH = 256;

class Parser {
  private readonly lexer: Lexer;
  private tok: Token;
  /** packetdrill's current_script_line: the line of the statement being parsed. */
  private scriptLine = -1;
  private ipVersion: IpVersion = 'ipv4';
  private defines: Record<string, string> = {};
  /** Expressions open around the current token (nesting and '|' chains). */
  private depth = 0;
  private readonly tcpOptions: TcpOptionTable;

  constructor(
    private readonly source: string,
    private readonly opts: ParseOptions,
  ) {
    // No definitions apply while the option lines are scanned.
    this.lexer = new Lexer(source);
    this.tok = this.lexer.next();
    this.tcpOptions = opts.tcpOptions ?? TCP_OPTIONS;
  }

  // -- token helpers ---------------------------------------------------------

  private advance(): Token {
    const t = this.tok;
    this.tok = this.lexer.next();
    return t;
  }

  private is(kind: TokenKind): boolean {
    return this.tok.kind === kind;
  }

  private isCh(c: string): boolean {
    return isChar(this.tok, c);
  }

  private syntaxError(expected: string): never {
    const t = this.tok;
    throw new ScriptError({
      kind: 'syntax',
      path: this.opts.path,
      line: t.endLine,
      column: t.loc.column,
      reason: 'syntax error',
      token: t.text,
      expected,
      at: t.loc,
    });
  }

  private semanticError(reason: string, loc?: Loc): never {
    const line = this.scriptLine >= 0 ? this.scriptLine : (loc?.line ?? this.tok.loc.line);
    throw new ScriptError({
      kind: 'semantic',
      path: this.opts.path,
      line,
      column: loc?.column ?? 0,
      reason,
      ...(loc ? { at: loc } : {}),
    });
  }

  private expect(kind: TokenKind, what?: string): Token {
    if (!this.is(kind)) this.syntaxError(what ?? kind.toLowerCase());
    return this.advance();
  }

  private expectCh(c: string): Token {
    if (!this.isCh(c)) this.syntaxError(`'${c}'`);
    return this.advance();
  }

  private acceptCh(c: string): boolean {
    if (this.isCh(c)) {
      this.advance();
      return true;
    }
    return false;
  }

  private integer(what = 'integer'): { v: bigint; tok: Token } {
    const t = this.expect('INTEGER', what);
    return { v: t.int!, tok: t };
  }

  // -- script ----------------------------------------------------------------

  parse(): Script {
    const options = this.parseOptions();
    this.finishOptions(options);

    let initCommand: CommandSpec | undefined;
    if (this.is('BACK_QUOTED')) initCommand = this.parseCommand();

    const events: Event[] = [];
    if (!isTimeStart(this.tok)) this.syntaxError('an event time');
    while (isTimeStart(this.tok)) events.push(this.parseEvent());

    let cleanupCommand: CommandSpec | undefined;
    if (this.is('BACK_QUOTED')) cleanupCommand = this.parseCommand();
    if (!this.is('EOF')) this.syntaxError(cleanupCommand ? 'end of file' : 'an event time, a cleanup command or end of file');

    const script: Script = {
      path: this.opts.path,
      options,
      events,
      source: this.source,
      ipVersion: this.ipVersion,
      defines: this.defines,
    };
    if (initCommand) script.initCommand = initCommand;
    if (cleanupCommand) script.cleanupCommand = cleanupCommand;
    return script;
  }

  private parseOptions(): ScriptOption[] {
    const out: ScriptOption[] = [];
    while (this.is('OPTION')) {
      const t = this.advance();
      const opt: ScriptOption = { name: t.value!, loc: t.loc };
      if (this.acceptCh('=')) opt.value = this.parseOptionValue();
      out.push(opt);
    }
    return out;
  }

  private parseOptionValue(): string {
    const t = this.tok;
    switch (t.kind) {
      case 'INTEGER':
        this.advance();
        return t.text;
      case 'STRING':
      case 'IPV4_ADDR':
      case 'IPV6_ADDR':
        this.advance();
        return t.value!;
      case 'IPV4':
        this.advance();
        return 'ipv4';
      case 'IPV6':
        this.advance();
        return 'ipv6';
      case 'WORD': {
        this.advance();
        if (!this.acceptCh('=')) return t.value!;
        const r = this.tok;
        if (r.kind === 'WORD') {
          this.advance();
          return `${t.value}=${r.value}`;
        }
        if (r.kind === 'STRING') {
          this.advance();
          return `${t.value}="${r.value}"`;
        }
        if (r.kind === 'BACK_QUOTED') {
          this.advance();
          return `${t.value}=\`${r.value}\``;
        }
        return this.syntaxError('a word, string or backtick command');
      }
      default:
        return this.syntaxError('an option value');
    }
  }

  /** What packetdrill does once the option lines are read. */
  private finishOptions(options: ScriptOption[]): void {
    if (this.opts.validateOptions !== false) validateScriptOptions(options, this.opts.path, this.opts.extraOptions);
    this.ipVersion = this.opts.ipVersion ?? scriptIpVersion(options) ?? 'ipv4';
    let fromScript: Record<string, string>;
    try {
      fromScript = scriptDefines(options, this.opts.path);
    } catch (e) {
      if (!(e instanceof DefineError)) throw e;
      const bad = options.find((o) => o.name === 'define' && !(o.value ?? '').slice(1).includes('='))!;
      throw new ScriptError({
        kind: 'option',
        path: this.opts.path,
        line: bad.loc.line,
        column: bad.loc.column,
        reason: `bad definition: ${bad.value}`,
        at: bad.loc,
      });
    }
    this.defines = { ...fromScript, ...(this.opts.defines ?? {}) };
    this.lexer.setDefines(this.defines);
  }

  private parseCommand(): CommandSpec {
    const t = this.advance();
    this.scriptLine = t.endLine;
    return { commandLine: t.value!, loc: t.loc };
  }

  private parseCode(): CodeSpec {
    const t = this.advance();
    this.scriptLine = t.endLine;
    return { text: t.value!, loc: t.loc };
  }

  // -- events ----------------------------------------------------------------

  private parseTimeValue(): number {
    const t = this.tok;
    if (t.kind === 'FLOAT') {
      this.advance();
      if (t.float! < 0) this.semanticError('negative time', t.loc);
      return Math.trunc(t.float! * 1.0e6);
    }
    if (t.kind === 'INTEGER') {
      this.advance();
      if (t.int! < 0n) this.semanticError('negative time', t.loc);
      return toNum(BigInt.asIntN(64, t.int! * 1000000n));
    }
    return this.syntaxError('a time');
  }

  private parseEventTime(): { time: TimeSpec; loc: Loc } {
    const first = this.tok;
    if (this.acceptCh('*')) return { time: { kind: 'any' }, loc: first.loc };
    if (this.acceptCh('+')) {
      const timeLoc = this.tok.loc;
      const usecs = this.parseTimeValue();
      if (this.acceptCh('~')) {
        this.expectCh('+');
        const endUsecs = this.parseTimeValue();
        return { time: { kind: 'relative_range', usecs, endUsecs }, loc: first.loc };
      }
      return { time: { kind: 'relative', usecs }, loc: timeLoc };
    }
    const usecs = this.parseTimeValue();
    if (this.acceptCh('~')) {
      const endUsecs = this.parseTimeValue();
      return { time: { kind: 'absolute_range', usecs, endUsecs }, loc: first.loc };
    }
    return { time: { kind: 'absolute', usecs }, loc: first.loc };
  }

  private parseEvent(): Event {
    const { time, loc } = this.parseEventTime();
    let event: Event;
    const t = this.tok;
    if (isChar(t, '<') || isChar(t, '>')) event = { type: 'packet', loc, time, packet: this.parsePacket() };
    else if (t.kind === 'WORD' || t.kind === 'ELLIPSIS') event = { type: 'syscall', loc, time, syscall: this.parseSyscall() };
    else if (t.kind === 'BACK_QUOTED') event = { type: 'command', loc, time, command: this.parseCommand() };
    else if (t.kind === 'CODE') event = { type: 'code', loc, time, code: this.parseCode() };
    else return this.syntaxError('a packet, system call, command or code');

    if (time.kind === 'absolute_range' || time.kind === 'relative_range') {
      if (time.endUsecs < time.usecs) this.semanticError('time range is backwards', loc);
    }
    const outbound = event.type === 'packet' && event.packet.direction === 'outbound';
    if (time.kind === 'any' && !outbound) {
      this.semanticError('event time <star> can only be used with outbound packets', loc);
    } else if ((time.kind === 'absolute_range' || time.kind === 'relative_range') && !outbound) {
      this.semanticError('event time range can only be used with outbound packets', loc);
    }
    return event;
  }

  // -- packets ---------------------------------------------------------------

  private parsePacket(): PacketSpec {
    const dirTok = this.advance();
    this.scriptLine = dirTok.endLine;
    const direction = dirTok.text === '<' ? 'inbound' : 'outbound';
    const encap: EncapHeader[] = [];
    let headerCount = 0;
    let headerBytes = 0;
    const appendHeader = (bytes: number): void => {
      if (headerCount === PACKET_MAX_HEADERS || headerBytes + bytes > PACKET_MAX_HEADER_BYTES) {
        this.semanticError('too many headers');
      }
      headerCount++;
      headerBytes += bytes;
    };

    for (;;) {
      const t = this.tok;
      if (t.kind === 'IPV4' || t.kind === 'IPV6') {
        this.advance();
        const v6 = t.kind === 'IPV6';
        const ipInfo = this.parseOptIpInfo();
        const addrKind = v6 ? 'IPV6_ADDR' : 'IPV4_ADDR';
        const src = this.expect(addrKind, v6 ? 'an IPv6 address' : 'an IPv4 address').value!;
        this.expectCh('>');
        const dst = this.expect(addrKind, v6 ? 'an IPv6 address' : 'an IPv4 address').value!;
        this.expectCh(':');
        appendHeader(v6 ? 40 : 20);
        const pton = v6 ? inetPton6 : inetPton4;
        const fam = v6 ? 'IPv6' : 'IPv4';
        if (!pton(src)) this.semanticError(`bad ${fam} src address: '${src}'`, t.loc);
        if (!pton(dst)) this.semanticError(`bad ${fam} dst address: '${dst}'`, t.loc);
        encap.push({ kind: v6 ? 'ipv6' : 'ipv4', ipInfo, src, dst, loc: t.loc });
        continue;
      }
      if (t.kind === 'GRE') {
        this.advance();
        let gre: GreHeader;
        if (this.acceptCh(':')) {
          gre = { flags: 0, sum: 0, off: 0, key: 0, seq: 0, bare: true };
        } else {
          this.acceptCh(',');
          gre = this.parseGreHeader();
          this.expectCh(':');
        }
        appendHeader(greLength(gre));
        encap.push({ kind: 'gre', gre, loc: t.loc });
        continue;
      }
      if (t.kind === 'MPLS') {
        this.advance();
        const entries = this.parseMplsStack();
        this.expectCh(':');
        appendHeader(4 * entries.length);
        encap.push({ kind: 'mpls', entries, loc: t.loc });
        continue;
      }
      break;
    }

    const ipInfo = this.parseOptIpInfo();
    let l4: PacketSpec['l4'];
    if (this.is('UDP')) l4 = this.parseUdp(ipInfo);
    else if (this.is('ICMP')) l4 = this.parseIcmp(direction, ipInfo);
    else l4 = this.parseTcp(direction, ipInfo);
    return { direction, loc: dirTok.loc, encap, ipInfo, l4 };
  }

  private parseOptIpInfo(): IpInfo {
    let close: string;
    if (this.isCh('(')) close = ')';
    else if (this.isCh('[')) close = ']';
    else return {};
    this.advance();
    const info: IpInfo = {};
    if (this.is('TTL')) {
      this.advance();
      info.ttl = toNum(BigInt.asUintN(8, this.integer('a TTL').v));
    } else if (this.is('FLOWLABEL')) {
      info.flowLabel = this.parseFlowLabel();
    } else {
      info.tos = this.parseTosSpec();
      if (this.acceptCh(',')) info.flowLabel = this.parseFlowLabel();
    }
    this.expectCh(close);
    return info;
  }

  private parseFlowLabel(): number {
    this.expect('FLOWLABEL', 'flowlabel');
    const v = this.expect('HEX_INTEGER', 'a hex flow label');
    if (!inRange(v.int!, U20)) this.semanticError('flowlabel out of range for 20 bits', v.loc);
    return toNum(v.int!);
  }

  private parseTosSpec(): TosSpec {
    const t = this.tok;
    switch (t.kind) {
      case 'NO_ECN':
        this.advance();
        return { check: 'ecn', value: 0 };
      case 'ECT0':
        this.advance();
        return { check: 'ecn', value: 2 };
      case 'ECT1':
        this.advance();
        return { check: 'ecn', value: 1 };
      case 'CE':
        this.advance();
        return { check: 'ecn', value: 3 };
      case 'ECT01':
        this.advance();
        return { check: 'ect01', value: 0 };
      case 'TOS': {
        this.advance();
        const v = this.expect('HEX_INTEGER', 'a hex TOS value');
        if (!inRange(v.int!, U8)) this.semanticError('tos out of range for 8 bits', v.loc);
        return { check: 'tos', value: toNum(v.int!) };
      }
      default:
        return this.syntaxError('noecn, ect0, ect1, ce, ect01, tos, flowlabel or ttl');
    }
  }

  private parseOptPortInfo(): { srcPort?: number; dstPort?: number } {
    if (!this.is('INTEGER')) return {};
    const s = this.advance();
    this.expectCh('>');
    const d = this.integer('a destination port');
    if (!inRange(s.int!, U16)) this.semanticError('src port out of range', s.loc);
    if (!inRange(d.v, U16)) this.semanticError('dst port out of range', d.tok.loc);
    return { srcPort: toNum(s.int!), dstPort: toNum(d.v) };
  }

  private parseFlags(): string {
    const t = this.tok;
    if (t.kind === 'WORD') {
      this.advance();
      if (this.is('FLOAT')) return t.value! + this.advance().text;
      if (this.acceptCh('.')) return `${t.value!}.`;
      return t.value!;
    }
    if (t.kind === 'FLOAT') {
      this.advance();
      return t.text;
    }
    if (this.acceptCh('.')) return '.';
    if (this.acceptCh('-')) return '';
    return this.syntaxError('TCP flags');
  }

  private parseSeq(): { startSeq: number; endSeq: number; payloadBytes: number } {
    const a = this.integer('a start sequence number');
    this.expectCh(':');
    const b = this.integer('an end sequence number');
    this.expectCh('(');
    const n = this.integer('a payload length');
    this.expectCh(')');
    if (!inRange(a.v, U32)) this.semanticError('TCP start sequence number out of range', a.tok.loc);
    if (!inRange(b.v, U32)) this.semanticError('TCP end sequence number out of range', b.tok.loc);
    if (!inRange(n.v, U16)) this.semanticError('TCP payload size out of range', n.tok.loc);
    if (b.v !== a.v + n.v) this.semanticError('inconsistent TCP sequence numbers and payload size', a.tok.loc);
    return { startSeq: toNum(a.v), endSeq: toNum(b.v), payloadBytes: toNum(n.v) };
  }

  private parseTcp(direction: 'inbound' | 'outbound', ipInfo: IpInfo): TcpSpec {
    const startTok = this.tok;
    let psp: { spi: number } | undefined;
    if (this.is('ENCAP')) {
      this.advance();
      this.expect('PSP', 'psp');
      this.expect('SPI', 'spi');
      psp = { spi: toNum(BigInt.asUintN(32, this.parseAnyInt())) };
    }
    const ports = this.parseOptPortInfo();
    const flags = this.parseFlags();
    const seq = this.parseSeq();
    const spec: TcpSpec = { proto: 'tcp', flags, ...seq, options: null };
    if (psp) spec.psp = psp;
    if (ports.srcPort !== undefined) {
      spec.srcPort = ports.srcPort;
      spec.dstPort = ports.dstPort!;
    }
    if (this.is('ACK')) {
      this.advance();
      const a = this.integer('an ack sequence number');
      if (!inRange(a.v, U32)) this.semanticError('TCP ack sequence number out of range', a.tok.loc);
      spec.ack = toNum(a.v);
    }
    if (this.is('WIN')) {
      this.advance();
      const w = this.integer('a window');
      if (!inRange(w.v, U16)) this.semanticError('TCP window value out of range', w.tok.loc);
      spec.window = toNum(w.v);
    }
    if (this.is('URG')) {
      this.advance();
      const u = this.integer('an urgent pointer');
      if (!inRange(u.v, U16)) this.semanticError('urg_ptr value out of range', u.tok.loc);
      spec.urgPtr = toNum(u.v);
    }
    let optionBytes = 0;
    if (this.isCh('<')) {
      this.advance();
      if (this.is('ELLIPSIS')) {
        this.advance();
        this.expectCh('>');
        spec.options = 'any';
      } else {
        const list: TcpOption[] = [];
        for (;;) {
          const opt = this.parseTcpOption();
          const len = this.tcpOptions.wireLength(opt);
          if (optionBytes + len > MAX_TCP_OPTION_BYTES) this.semanticError('TCP option list too long');
          optionBytes += len;
          list.push(opt);
          if (!this.acceptCh(',')) break;
        }
        this.expectCh('>');
        spec.options = list;
      }
    }

    // Checks packetdrill makes once the whole TCP packet line is read.
    const loc = startTok.loc;
    if (ipInfo.tos?.check === 'ect01' && direction !== 'outbound') {
      this.semanticError('[ect01] can only be used with outbound packets', loc);
    }
    if (spec.options === 'any' && direction !== 'outbound') {
      this.semanticError('<...> for TCP options can only be used with outbound packets', loc);
    }
    if (optionBytes & 3) {
      this.semanticError(
        'TCP options are not padded correctly to ensure TCP header is a multiple of 4 bytes: ' +
          `${optionBytes & 3} excess bytes`,
        loc,
      );
    }
    const ipBytes = ipHeaderBytes(this.ipVersion) + (psp ? PSP_ENCAP_BYTES : 0) + 20 + optionBytes + spec.payloadBytes;
    if (ipBytes > MAX_TCP_DATAGRAM_BYTES) this.semanticError('TCP segment too large', loc);
    const flagError = checkTcpFlags(flags);
    if (flagError) this.semanticError(flagError, loc);
    if (spec.window === undefined && direction === 'inbound') {
      this.semanticError('window must be specified for inbound packets', loc);
    }
    return spec;
  }

  private parseHexBlob(): string {
    const t = this.tok;
    if (t.kind === 'WORD') {
      this.advance();
      return t.value!;
    }
    if (t.kind === 'INTEGER') {
      this.advance();
      return t.text;
    }
    return this.syntaxError('a hex string');
  }

  /** One option of a `<...>` list: its name picks its entry in the option table, which reads the rest. */
  private parseTcpOption(): TcpOption {
    const nameTok = this.tok;
    const entry = this.tcpOptions.named(nameTok.text);
    if (entry === undefined || entry.parse === undefined) return this.syntaxError('a TCP option');
    this.advance();
    return entry.parse(this.optionReader(nameTok));
  }

  /** What an option table entry reads the words after the option's name with. */
  private optionReader(nameTok: Token): TcpOptionReader {
    return {
      integer: (what) => {
        const v = this.integer(what);
        return { value: v.v, fail: (message) => this.semanticError(message, v.tok.loc) };
      },
      atInteger: () => this.is('INTEGER'),
      atWord: (word) => this.tok.text === word && this.tok.kind !== 'STRING',
      word: (word) => {
        if (this.tok.text !== word || this.tok.kind === 'STRING') this.syntaxError(word);
        this.advance();
      },
      char: (c) => {
        this.expectCh(c);
      },
      hex: () => this.parseHexBlob(),
      atHex: () => this.is('WORD') || this.is('INTEGER'),
      fail: (message) => this.semanticError(message, nameTok.loc),
      expected: (what) => this.syntaxError(what),
    };
  }

  private parseUdp(ipInfo: IpInfo): UdpSpec {
    const udpTok = this.advance();
    const ports = this.parseOptPortInfo();
    this.expectCh('(');
    const n = this.integer('a payload length');
    this.expectCh(')');
    if (ipInfo.tos?.check === 'ecn') this.semanticError('ECN can only be used with TCP packets', udpTok.loc);
    if (!inRange(n.v, U16)) this.semanticError('UDP payload size out of range', n.tok.loc);
    if (ipHeaderBytes(this.ipVersion) + 8 + toNum(n.v) > MAX_UDP_DATAGRAM_BYTES) {
      this.semanticError('UDP datagram too large', udpTok.loc);
    }
    const spec: UdpSpec = { proto: 'udp', payloadBytes: toNum(n.v) };
    if (ports.srcPort !== undefined) {
      spec.srcPort = ports.srcPort;
      spec.dstPort = ports.dstPort!;
    }
    return spec;
  }

  private parseIcmp(direction: 'inbound' | 'outbound', ipInfo: IpInfo): IcmpSpec {
    const icmpTok = this.advance();
    const type = this.expect('WORD', 'an ICMP type').value!;
    let code: string | undefined;
    if (this.is('WORD')) code = this.advance().value!;
    let mtu: bigint | undefined;
    if (this.is('MTU')) {
      this.advance();
      mtu = this.integer('an MTU').v;
    }
    let echoId: bigint | undefined;
    if (this.is('ID')) {
      this.advance();
      echoId = this.integer('an echo id').v;
    }
    let echoed: IcmpEchoed = { proto: 'tcp', startSeq: 0, payloadBytes: 0 };
    let echoedWritten = false;
    if (this.isCh('[')) {
      this.advance();
      echoedWritten = true;
      if (this.is('UDP') || this.is('RAW')) {
        const raw = this.advance().kind === 'RAW';
        this.expectCh('(');
        const n = this.integer('a payload length');
        this.expectCh(')');
        echoed = { proto: raw ? 'raw' : 'udp', startSeq: 0, payloadBytes: toNum(BigInt.asUintN(16, n.v)) };
      } else {
        const s = this.parseSeq();
        echoed = { proto: 'tcp', startSeq: s.startSeq, payloadBytes: s.payloadBytes, endSeq: s.endSeq };
      }
      this.expectCh(']');
    }

    const loc = icmpTok.loc;
    if (ipInfo.tos?.check === 'ect01' && direction !== 'outbound') {
      this.semanticError('[ect01] can only be used with outbound packets', loc);
    }
    const id = echoId ?? 0n;
    if (id < 0n || id > 65535n) this.semanticError('invalid echo_id, must be between 0 and 65535', loc);
    if (echoed.proto === 'raw' && echoed.payloadBytes < 8) {
      this.semanticError(`icmp_bytes ${echoed.payloadBytes} smaller than icmp header length 8`, loc);
    }
    const tc = icmpTypeAndCode(this.ipVersion, type, code);
    if ('error' in tc) this.semanticError(tc.error, loc);
    if (mtu !== undefined && mtu >= 0n) {
      if (this.ipVersion === 'ipv6') {
        if (tc.type !== ICMPV6_PKT_TOOBIG || tc.code !== 0) {
          this.semanticError('ICMPv6 MTU is only valid for packet_too_big-0', loc);
        }
        if (!inRange(mtu, U32)) this.semanticError('ICMPv6 MTU out of 32-bit range', loc);
      } else {
        if (tc.type !== ICMP_DEST_UNREACH || tc.code !== ICMP_FRAG_NEEDED) {
          this.semanticError('ICMPv4 MTU is only valid for unreachable-frag_needed', loc);
        }
        if (!inRange(mtu, U16)) this.semanticError('ICMPv4 MTU out of 16-bit range', loc);
      }
    }
    const spec: IcmpSpec = { proto: 'icmp', type, echoed, echoedWritten };
    if (code !== undefined) spec.code = code;
    if (mtu !== undefined) spec.mtu = toNum(mtu);
    if (echoId !== undefined) spec.echoId = toNum(echoId);
    return spec;
  }

  // -- GRE and MPLS ------------------------------------------------------------

  private parseAnyInt(): bigint {
    if (this.is('INTEGER') || this.is('HEX_INTEGER')) return this.advance().int!;
    return this.syntaxError('an integer');
  }

  private parseGreHeader(): GreHeader {
    this.expect('FLAGS', 'flags');
    let flags = 0;
    if (this.acceptCh('[')) {
      for (;;) {
        const t = this.tok;
        if (t.kind === 'NONE') {
          this.advance();
        } else if (t.kind === 'CHECKSUM' || t.kind === 'KEY' || t.kind === 'SEQUENCE') {
          this.advance();
          this.expect('PRESENT', 'present');
          flags |= t.kind === 'CHECKSUM' ? GRE_FLAG_C : t.kind === 'KEY' ? GRE_FLAG_K : GRE_FLAG_S;
        } else {
          this.syntaxError('none, checksum present, key present or sequence# present');
        }
        if (!this.acceptCh(',')) break;
      }
      this.expectCh(']');
    } else {
      flags = toNum(BigInt.asUintN(16, this.parseAnyInt()));
    }
    this.acceptCh(',');
    this.expect('SUM', 'sum');
    const sum = toNum(BigInt.asUintN(16, this.parseAnyInt()));
    this.acceptCh(',');
    this.expect('OFF', 'off');
    const off = toNum(BigInt.asUintN(16, this.parseAnyInt()));
    this.acceptCh(',');
    this.expect('KEY', 'key');
    this.acceptCh('=');
    const key = toNum(BigInt.asUintN(32, this.parseAnyInt()));
    this.acceptCh(',');
    this.expect('SEQ', 'seq');
    const seq = toNum(BigInt.asUintN(32, this.parseAnyInt()));
    return { flags, sum, off, key, seq };
  }

  /** Zero or more `(label L, tc T, [S], ttl N)` entries. */
  private parseMplsStack(): MplsEntry[] {
    const entries: MplsEntry[] = [];
    while (this.isCh('(')) {
      this.advance();
      this.expect('LABEL', 'label');
      const label = this.integer('an MPLS label').v;
      this.expectCh(',');
      this.expect('TC', 'tc');
      const tc = this.integer('an MPLS traffic class').v;
      this.expectCh(',');
      let bottom = false;
      if (this.acceptCh('[')) {
        const w = this.expect('WORD', 'S');
        this.expectCh(']');
        this.expectCh(',');
        if (w.value !== 'S') this.semanticError('expected [S] for MPLS label stack bottom', w.loc);
        bottom = true;
      }
      this.expect('TTL', 'ttl');
      const ttl = this.integer('an MPLS TTL').v;
      this.expectCh(')');
      if (label < 0n || label >= 1n << 20n) this.semanticError('MPLS label out of range for 20 bits');
      if (tc < 0n || tc >= 8n) this.semanticError('MPLS traffic_class out of range for 3 bits');
      if (ttl < 0n || ttl >= 256n) this.semanticError('MPLS ttl out of range for 8 bits');
      if (entries.length >= MPLS_STACK_MAX_ENTRIES) this.semanticError('too many MPLS labels');
      entries.push({ label: toNum(label), tc: toNum(tc), bottom, ttl: toNum(ttl) });
    }
    return entries;
  }

  // -- system calls ------------------------------------------------------------

  private parseSyscall(): SyscallSpec {
    let endUsecs: number | undefined;
    if (this.is('ELLIPSIS')) {
      this.advance();
      endUsecs = this.parseTimeValue();
    }
    const nameTok = this.expect('WORD', 'a system call name');
    this.scriptLine = nameTok.endLine;
    this.expectCh('(');
    const args: Expr[] = [];
    if (!this.acceptCh(')')) {
      args.push(...this.parseExpressionList());
      this.expectCh(')');
    }
    this.expectCh('=');
    const result = this.parseExpression();
    const spec: SyscallSpec = { name: nameTok.value!, loc: nameTok.loc, args, result };
    if (endUsecs !== undefined) spec.endUsecs = endUsecs;
    if (this.is('WORD')) {
      const name = this.advance().value!;
      const strerror = this.parseNote();
      const errno: ErrnoSpec = { name, strerror };
      spec.errno = errno;
    }
    if (this.isCh('(')) spec.note = this.parseNote();
    return spec;
  }

  private parseNote(): string {
    this.expectCh('(');
    const words: string[] = [];
    if (this.is('FLAGS')) {
      this.advance();
      words.push('flags');
    } else {
      words.push(this.expect('WORD', 'a word').value!);
    }
    while (this.is('WORD')) words.push(this.advance().value!);
    this.expectCh(')');
    return words.join(' ');
  }

  // -- expressions -------------------------------------------------------------

  private parseExpressionList(): Expr[] {
    const list = [this.parseExpression()];
    while (this.acceptCh(',')) list.push(this.parseExpression());
    return list;
  }

  /** expression ('|' expression)*, grouped to the right as bison's shift does. */
  private parseExpression(): Expr {
    // bison's parser stack is bounded too ("memory exhausted"); a bound here
    // keeps absurd nesting a syntax error instead of a stack overflow.
    if (this.depth >= MAX_EXPRESSION_DEPTH) this.syntaxError(`at most ${MAX_EXPRESSION_DEPTH} nested expressions`);
    this.depth++;
    try {
      const lhs = this.parsePrimary();
      return this.continueBinary(lhs);
    } finally {
      this.depth--;
    }
  }

  private continueBinary(lhs: Expr): Expr {
    if (!this.isCh('|')) return lhs;
    this.advance();
    const rhs = this.parseExpression();
    return { type: 'binary', op: '|', lhs, rhs, loc: lhs.loc };
  }

  private parsePrimary(): Expr {
    const t = this.tok;
    const loc = t.loc;
    switch (t.kind) {
      case 'ELLIPSIS':
        this.advance();
        return { type: 'ellipsis', loc };
      case 'INTEGER':
        this.advance();
        return { type: 'integer', value: t.int!, hex: false, loc };
      case 'HEX_INTEGER':
        this.advance();
        return { type: 'integer', value: t.int!, hex: true, loc };
      case 'WORD': {
        this.advance();
        const word: Expr = { type: 'word', name: t.value!, loc };
        if (this.acceptCh('=')) {
          const rhs = this.parseExpression();
          return { type: 'binary', op: '=', lhs: word, rhs, loc };
        }
        return word;
      }
      case 'STRING': {
        this.advance();
        if (this.is('ELLIPSIS')) {
          this.advance();
          return { type: 'string', value: t.value!, ellipsis: true, loc };
        }
        let e: Expr = { type: 'string', value: t.value!, ellipsis: false, loc };
        while (this.is('STRING')) {
          const s = this.advance();
          e = { type: 'binary', op: '.', lhs: e, rhs: { type: 'string', value: s.value!, ellipsis: false, loc: s.loc }, loc };
        }
        return e;
      }
      case 'INET_ADDR': {
        this.advance();
        this.expectCh('(');
        const s = this.expect('STRING', 'a quoted address');
        this.expectCh(')');
        return { type: 'integer', value: BigInt(inetAddr(s.value!)), hex: true, inetAddr: s.value!, loc };
      }
      case 'INET6_ADDR': {
        this.advance();
        this.expectCh('(');
        const s = this.expect('STRING', 'a quoted address');
        this.expectCh(')');
        const bytes = inetPton6(s.value!);
        if (!bytes) this.semanticError('cannot parse in6_addr', loc);
        return { type: 'in6_addr', address: s.value!, bytes, loc };
      }
      case 'CHAR':
        if (t.text === '[') return this.parseArray();
        if (t.text === '{') return this.parseBraced();
        break;
      default:
        break;
    }
    return this.syntaxError('an expression');
  }

  private parseArray(): ListExpr {
    const open = this.expectCh('[');
    if (this.acceptCh(']')) return { type: 'list', elements: [], brackets: '[]', loc: open.loc };
    const elements = this.parseExpressionList();
    this.expectCh(']');
    return { type: 'list', elements, brackets: '[]', loc: open.loc };
  }

  private field(kind: TokenKind, name: string): Expr {
    this.expect(kind, name);
    this.expectCh('=');
    return this.parseExpression();
  }

  private intField(kind: TokenKind, name: string): bigint {
    this.expect(kind, name);
    this.expectCh('=');
    return this.integer().v;
  }

  private parseBraced(): Expr {
    const open = this.advance();
    const loc = open.loc;
    const t = this.tok;
    switch (t.kind) {
      case 'SA_FAMILY':
        return this.parseSockaddr(loc);
      case 'MSG_NAME':
        return this.parseMsghdr(loc);
      case 'CMSG_LEVEL': {
        const level = this.field('CMSG_LEVEL', 'cmsg_level');
        this.expectCh(',');
        const cmsgType = this.field('CMSG_TYPE', 'cmsg_type');
        this.expectCh(',');
        const data = this.field('CMSG_DATA', 'cmsg_data');
        this.expectCh('}');
        return { type: 'cmsg', level, cmsgType, data, loc };
      }
      case 'SCM_SEC': {
        const sec = this.intField('SCM_SEC', 'scm_sec');
        this.expectCh(',');
        const nsec = this.intField('SCM_NSEC', 'scm_nsec');
        this.expectCh('}');
        return { type: 'scm_timestamping', sec, nsec, loc };
      }
      case 'EE_ERRNO': {
        const eeErrno = this.field('EE_ERRNO', 'ee_errno');
        this.expectCh(',');
        const eeOrigin = this.field('EE_ORIGIN', 'ee_origin');
        this.expectCh(',');
        const eeType = this.field('EE_TYPE', 'ee_type');
        this.expectCh(',');
        const eeCode = this.field('EE_CODE', 'ee_code');
        this.expectCh(',');
        const eeInfo = this.field('EE_INFO', 'ee_info');
        this.expectCh(',');
        const eeData = this.field('EE_DATA', 'ee_data');
        this.expectCh('}');
        return { type: 'sock_extended_err', eeErrno, eeOrigin, eeType, eeCode, eeInfo, eeData, loc };
      }
      case 'FD': {
        const fd = this.field('FD', 'fd');
        this.expectCh(',');
        const events = this.field('EVENTS', 'events');
        let revents: Expr = { type: 'integer', value: 0n, hex: false, loc };
        if (this.acceptCh(',')) revents = this.field('REVENTS', 'revents');
        this.expectCh('}');
        return { type: 'pollfd', fd, events, revents, loc };
      }
      case 'EVENTS': {
        const events = this.field('EVENTS', 'events');
        this.expectCh(',');
        const k = this.tok.kind;
        if (k !== 'FD' && k !== 'PTR' && k !== 'U32' && k !== 'U64') this.syntaxError('fd, ptr, u32 or u64');
        const value = this.field(k, k.toLowerCase());
        this.expectCh('}');
        const key = k === 'FD' ? 'fd' : k === 'PTR' ? 'ptr' : k === 'U32' ? 'u32' : 'u64';
        return { type: 'epollev', events, [key]: value, loc };
      }
      case 'ONOFF': {
        const onoff = this.intField('ONOFF', 'onoff');
        this.expectCh(',');
        const linger = this.intField('LINGER', 'linger');
        this.expectCh('}');
        return { type: 'linger', onoff, linger, loc };
      }
      case 'FLAGS': {
        const gre = this.parseGreHeader();
        this.expectCh('}');
        return { type: 'gre', gre, loc };
      }
      case 'ELLIPSIS': {
        // `{..., N}` is an iovec (bison shifts the comma); otherwise a list.
        const e = this.advance();
        if (this.acceptCh(',')) {
          const n = this.expect('INTEGER', 'an iovec length');
          this.expectCh('}');
          const len: IntegerExpr = { type: 'integer', value: n.int!, hex: false, loc: n.loc };
          return { type: 'iovec', len, loc };
        }
        const first = this.continueBinary({ type: 'ellipsis', loc: e.loc });
        const elements = [first];
        while (this.acceptCh(',')) elements.push(this.parseExpression());
        this.expectCh('}');
        return { type: 'list', elements, brackets: '{}', loc };
      }
      default:
        break;
    }
    if (this.isCh('(') || this.isCh('}')) {
      const entries = this.parseMplsStack();
      this.expectCh('}');
      return { type: 'mpls_stack', entries, loc };
    }
    const elements = this.parseExpressionList();
    this.expectCh('}');
    return { type: 'list', elements, brackets: '{}', loc };
  }

  private parseSockaddr(loc: Loc): Expr {
    this.expect('SA_FAMILY', 'sa_family');
    this.expectCh('=');
    const fam = this.expect('WORD', 'an address family');
    this.expectCh(',');
    this.expect('SIN_PORT', 'sin_port');
    this.expectCh('=');
    this.expect('_HTONS_', 'htons');
    this.expectCh('(');
    const port = this.integer('a port').v;
    this.expectCh(')');
    this.expectCh(',');
    this.expect('SIN_ADDR', 'sin_addr');
    this.expectCh('=');
    this.expect('INET_ADDR', 'inet_addr');
    this.expectCh('(');
    const addr = this.expect('STRING', 'a quoted address').value!;
    this.expectCh(')');
    this.expectCh('}');
    const p = toNum(BigInt.asUintN(16, port));
    if (fam.value === 'AF_INET') {
      if (!inetPton4(addr)) this.semanticError('invalid IPv4 address', loc);
      return { type: 'sockaddr_in', port: p, address: addr, loc };
    }
    if (fam.value === 'AF_INET6') {
      if (!inetPton6(addr)) this.semanticError('invalid IPv6 address', loc);
      return { type: 'sockaddr_in6', port: p, address: addr, loc };
    }
    // packetdrill leaves the expression undefined here (and later crashes);
    // refuse it while parsing instead.
    return this.semanticError(`unsupported sa_family ${fam.value}`, fam.loc);
  }

  private parseMsghdr(loc: Loc): Expr {
    this.expect('MSG_NAME', 'msg_name');
    this.expectCh('(');
    this.expect('ELLIPSIS', '...');
    this.expectCh(')');
    this.expectCh('=');
    this.expect('ELLIPSIS', '...');
    this.expectCh(',');
    this.expect('MSG_IOV', 'msg_iov');
    this.expectCh('(');
    const n = this.expect('INTEGER', 'an iovec count');
    this.expectCh(')');
    this.expectCh('=');
    if (!this.isCh('[')) this.syntaxError("'['");
    const iov = this.parseArray();
    this.expectCh(',');
    this.expect('MSG_FLAGS', 'msg_flags');
    this.expectCh('=');
    const flags = this.parseExpression();
    let control: ListExpr = { type: 'list', elements: [], brackets: '[]', loc };
    if (this.acceptCh(',')) {
      this.expect('MSG_CONTROL', 'msg_control');
      this.expectCh('=');
      if (!this.isCh('[')) this.syntaxError("'['");
      control = this.parseArray();
    }
    this.expectCh('}');
    const iovlen: IntegerExpr = { type: 'integer', value: n.int!, hex: false, loc: n.loc };
    return { type: 'msghdr', iovlen, iov, flags, control, loc };
  }
}

function greLength(g: GreHeader): number {
  let n = 4;
  if (g.flags & (GRE_FLAG_C | GRE_FLAG_R)) n += 4;
  if (g.flags & GRE_FLAG_K) n += 4;
  if (g.flags & GRE_FLAG_S) n += 4;
  return n;
}

/** packetdrill's TCP flag check; returns its error message or undefined. */
export function checkTcpFlags(flags: string): string | undefined {
  return tcpFlagsError(flags);
}

/**
 * Parse a packetdrill script. Throws ScriptError (syntax, semantic or option
 * error) with packetdrill's message and line.
 */
export function parseScript(source: string, opts: ParseOptions): Script {
  return new Parser(source, opts).parse();
}
