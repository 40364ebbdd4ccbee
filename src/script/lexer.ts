/**
 * Lexical scanner for the packetdrill script language.
 *
 * It follows packetdrill's flex rules: at each position every rule is tried,
 * the longest match wins and ties go to the rule listed first. Reserved words
 * (ack, win, mss, fd, events, ...) therefore beat plain words of the same
 * length, `192.0.2.1` is an address rather than a float, and so on.
 *
 * Plain words are looked up in the `-D` definitions as they are scanned (see
 * defines.ts); a definition can turn a word into an integer, a string, a
 * backtick command or another word.
 */

import type { Loc } from './ast.js';
import { substituteDefine } from './defines.js';

/** Token kinds: bison's terminal names, plus CHAR for single characters and EOF. */
export type TokenKind =
  | 'ELLIPSIS'
  | 'OPTION'
  | 'FLOAT'
  | 'INTEGER'
  | 'HEX_INTEGER'
  | 'WORD'
  | 'STRING'
  | 'BACK_QUOTED'
  | 'CODE'
  | 'IPV4_ADDR'
  | 'IPV6_ADDR'
  | 'CHAR'
  | 'EOF'
  | KeywordKind;

export type KeywordKind =
  | 'SA_FAMILY' | 'SIN_PORT' | 'SIN_ADDR' | 'MSG_NAME' | 'MSG_IOV' | 'MSG_FLAGS'
  | 'MSG_CONTROL' | 'CMSG_DATA' | 'CMSG_LEVEL' | 'CMSG_TYPE'
  | 'EE_ERRNO' | 'EE_ORIGIN' | 'EE_TYPE' | 'EE_CODE' | 'EE_INFO' | 'EE_DATA'
  | 'SCM_SEC' | 'SCM_NSEC' | 'FD' | 'U32' | 'U64' | 'PTR' | 'EVENTS' | 'REVENTS'
  | 'ONOFF' | 'LINGER' | '_HTONS_' | 'IPV4' | 'IPV6' | 'ICMP' | 'UDP' | 'GRE'
  | 'RAW' | 'SUM' | 'OFF' | 'KEY' | 'SEQ' | 'NONE' | 'CHECKSUM' | 'SEQUENCE'
  | 'PRESENT' | 'ENCAP' | 'PSP' | 'SPI' | 'MPLS' | 'LABEL' | 'TC' | 'TTL'
  | 'INET_ADDR' | 'INET6_ADDR' | 'ACK' | 'EOL' | 'ECR' | 'MSS' | 'MTU' | 'NOP'
  | 'SACK' | 'SACKOK' | 'MD5' | 'TIMESTAMP' | 'FAST_OPEN' | 'FAST_OPEN_EXP'
  | 'ACCECN' | 'ACCECN_E0B' | 'ACCECN_E1B' | 'ACCECN_CEB' | 'TOS' | 'FLOWLABEL'
  | 'FLAGS' | 'VAL' | 'WIN' | 'URG' | 'WSCALE' | 'ECT01' | 'ECT0' | 'ECT1'
  | 'NO_ECN' | 'CE' | 'ID';

/** Reserved words, in packetdrill's rule order. */
export const KEYWORDS: ReadonlyMap<string, KeywordKind> = new Map<string, KeywordKind>([
  ['sa_family', 'SA_FAMILY'],
  ['sin_port', 'SIN_PORT'],
  ['sin_addr', 'SIN_ADDR'],
  ['msg_name', 'MSG_NAME'],
  ['msg_iov', 'MSG_IOV'],
  ['msg_flags', 'MSG_FLAGS'],
  ['msg_control', 'MSG_CONTROL'],
  ['cmsg_data', 'CMSG_DATA'],
  ['cmsg_level', 'CMSG_LEVEL'],
  ['cmsg_type', 'CMSG_TYPE'],
  ['ee_errno', 'EE_ERRNO'],
  ['ee_origin', 'EE_ORIGIN'],
  ['ee_type', 'EE_TYPE'],
  ['ee_code', 'EE_CODE'],
  ['ee_info', 'EE_INFO'],
  ['ee_data', 'EE_DATA'],
  ['scm_sec', 'SCM_SEC'],
  ['scm_nsec', 'SCM_NSEC'],
  ['fd', 'FD'],
  ['u32', 'U32'],
  ['u64', 'U64'],
  ['ptr', 'PTR'],
  ['events', 'EVENTS'],
  ['revents', 'REVENTS'],
  ['onoff', 'ONOFF'],
  ['linger', 'LINGER'],
  ['htons', '_HTONS_'],
  ['ipv4', 'IPV4'],
  ['ipv6', 'IPV6'],
  ['icmp', 'ICMP'],
  ['udp', 'UDP'],
  ['GREv0', 'GRE'],
  ['gre', 'GRE'],
  ['raw', 'RAW'],
  ['sum', 'SUM'],
  ['off', 'OFF'],
  ['key', 'KEY'],
  ['seq', 'SEQ'],
  ['none', 'NONE'],
  ['checksum', 'CHECKSUM'],
  ['sequence#', 'SEQUENCE'],
  ['present', 'PRESENT'],
  ['encap', 'ENCAP'],
  ['psp', 'PSP'],
  ['spi', 'SPI'],
  ['mpls', 'MPLS'],
  ['label', 'LABEL'],
  ['tc', 'TC'],
  ['ttl', 'TTL'],
  ['inet_addr', 'INET_ADDR'],
  ['inet6_addr', 'INET6_ADDR'],
  ['ack', 'ACK'],
  ['eol', 'EOL'],
  ['ecr', 'ECR'],
  ['mss', 'MSS'],
  ['mtu', 'MTU'],
  ['nop', 'NOP'],
  ['sack', 'SACK'],
  ['sackOK', 'SACKOK'],
  ['md5', 'MD5'],
  ['TS', 'TIMESTAMP'],
  ['FO', 'FAST_OPEN'],
  ['FOEXP', 'FAST_OPEN_EXP'],
  ['ECN', 'ACCECN'],
  ['e0b', 'ACCECN_E0B'],
  ['e1b', 'ACCECN_E1B'],
  ['ceb', 'ACCECN_CEB'],
  ['tos', 'TOS'],
  ['flowlabel', 'FLOWLABEL'],
  ['flags', 'FLAGS'],
  ['Flags', 'FLAGS'],
  ['val', 'VAL'],
  ['win', 'WIN'],
  ['urg', 'URG'],
  ['wscale', 'WSCALE'],
  ['ect01', 'ECT01'],
  ['ect0', 'ECT0'],
  ['ect1', 'ECT1'],
  ['noecn', 'NO_ECN'],
  ['ce', 'CE'],
  ['id', 'ID'],
]);

export interface Token {
  kind: TokenKind;
  /**
   * The matched source text (for a word replaced by a definition this is
   * still the word as written, as packetdrill's yytext is).
   */
  text: string;
  /** Start of the token. */
  loc: Loc;
  /** Line of the token's last character (packetdrill's yylineno after it). */
  endLine: number;
  /** Offset of the token in the source. */
  offset: number;
  /** INTEGER, HEX_INTEGER: the value (64-bit signed, saturated like strtoll). */
  int?: bigint;
  /** FLOAT: the value. */
  float?: number;
  /**
   * WORD: the word (or the definition's value); STRING, BACK_QUOTED: the text
   * between the delimiters; CODE: the trimmed snippet; OPTION: the name after
   * `--`; IPV4_ADDR, IPV6_ADDR: the address; CHAR: the character.
   */
  value?: string;
  /** Set when the token came from a `-D` definition. */
  define?: string;
}

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

/** strtoll(3)-like saturation of a parsed decimal/hex magnitude. */
export function saturateInt64(v: bigint): bigint {
  if (v > INT64_MAX) return INT64_MAX;
  if (v < INT64_MIN) return INT64_MIN;
  return v;
}

// Character classes ---------------------------------------------------------

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isHex(c: number): boolean {
  return isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}
function isWordChar(c: number): boolean {
  return isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}
const NL = 10;

// Matchers: each returns the length of the longest match at `p` (0 if none).

function matchWord(s: string, p: number): number {
  let i = p;
  while (i < s.length && isWordChar(s.charCodeAt(i))) i++;
  return i - p;
}

/** `[-]?[0-9]+` */
function matchInteger(s: string, p: number): number {
  let i = p;
  if (s.charCodeAt(i) === 45) i++;
  const d = i;
  while (i < s.length && isDigit(s.charCodeAt(i))) i++;
  return i > d ? i - p : 0;
}

/** `[-]?[0-9]*[.][0-9]+` */
function matchFloat(s: string, p: number): number {
  let i = p;
  if (s.charCodeAt(i) === 45) i++;
  while (i < s.length && isDigit(s.charCodeAt(i))) i++;
  if (s.charCodeAt(i) !== 46) return 0;
  i++;
  const d = i;
  while (i < s.length && isDigit(s.charCodeAt(i))) i++;
  return i > d ? i - p : 0;
}

/** `0x[0-9a-fA-F]+` */
function matchHex(s: string, p: number): number {
  if (s.charCodeAt(p) !== 48 || s.charCodeAt(p + 1) !== 120) return 0;
  let i = p + 2;
  while (i < s.length && isHex(s.charCodeAt(i))) i++;
  return i > p + 2 ? i - p : 0;
}

/** `--[a-zA-Z0-9_]+` */
function matchOption(s: string, p: number): number {
  if (s.charCodeAt(p) !== 45 || s.charCodeAt(p + 1) !== 45) return 0;
  const n = matchWord(s, p + 2);
  return n > 0 ? n + 2 : 0;
}

/**
 * A delimited string: `D(\\.|[^D])*D`. Simulated as an automaton so that
 * the longest match is found exactly as flex finds it (a backslash may be
 * read either as an escape or as a plain character).
 */
function matchQuoted(s: string, p: number, delim: number): number {
  if (s.charCodeAt(p) !== delim) return 0;
  let inBody = true; // state: inside, ready for any item
  let afterBackslash = false; // state: just read '\' as the start of an escape
  let best = 0;
  for (let i = p + 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let nextBody = false;
    let nextBackslash = false;
    if (inBody) {
      if (c === delim) best = i + 1 - p;
      else nextBody = true;
      if (c === 92) nextBackslash = true;
    }
    if (afterBackslash && c !== NL) nextBody = true;
    inBody = nextBody;
    afterBackslash = nextBackslash;
    if (!inBody && !afterBackslash) break;
  }
  return best;
}

/**
 * A block delimited by two-character brackets, like C comments
 * `/\*(([^*])|(\*[^/]))*\*\/` and code snippets `%\{(([^}])|(\}[^%]))*\}%`.
 */
function matchBlock(s: string, p: number, open: string, close: string): number {
  if (!s.startsWith(open, p)) return 0;
  const c1 = close.charCodeAt(0);
  const c2 = close.charCodeAt(1);
  let inBody = true; // ready for an item
  let afterFirst = false; // read close[0] as the start of a two-char item
  let closing = false; // read close[0] as the start of the closing bracket
  let best = 0;
  for (let i = p + open.length; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let nBody = false;
    let nFirst = false;
    let nClosing = false;
    if (closing && c === c2) best = i + 1 - p;
    if (afterFirst && c !== c2) nBody = true;
    if (inBody) {
      if (c !== c1) nBody = true;
      else {
        nFirst = true;
        nClosing = true;
      }
    }
    inBody = nBody;
    afterFirst = nFirst;
    closing = nClosing;
    if (!inBody && !afterFirst && !closing) break;
  }
  return best;
}

/** `//[^\n]*\n` (a comment at the very end without a newline does not match) */
function matchCppComment(s: string, p: number): number {
  if (s.charCodeAt(p) !== 47 || s.charCodeAt(p + 1) !== 47) return 0;
  const nl = s.indexOf('\n', p + 2);
  return nl < 0 ? 0 : nl + 1 - p;
}

/** `[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+` */
function matchIpv4(s: string, p: number): number {
  let i = p;
  for (let part = 0; part < 4; part++) {
    if (part > 0) {
      if (s.charCodeAt(i) !== 46) return 0;
      i++;
    }
    const d = i;
    while (i < s.length && isDigit(s.charCodeAt(i))) i++;
    if (i === d) return 0;
  }
  return i - p;
}

const SEG = '[0-9a-fA-F]{1,4}';
const IPV4_RE = '[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+';
const IPV6_ALTERNATIVES = [
  '[:][:]',
  `(${SEG}[:]){7,7}${SEG}`,
  `(${SEG}[:]){1,7}[:]`,
  `(${SEG}[:]){1,6}[:]${SEG}`,
  `(${SEG}[:]){1,5}([:]${SEG}){1,2}`,
  `(${SEG}[:]){1,4}([:]${SEG}){1,3}`,
  `(${SEG}[:]){1,3}([:]${SEG}){1,4}`,
  `(${SEG}[:]){1,2}([:]${SEG}){1,5}`,
  `${SEG}[:](([:]${SEG}){1,6})`,
  `[:]([:]${SEG}){1,7}`,
  `[:][:]ffff[:]${IPV4_RE}`,
  `[:][:]ffff[:](0){1,4}[:]${IPV4_RE}`,
  `(${SEG}[:]){1,4}[:]${IPV4_RE}`,
];
const IPV6_FULL = new RegExp(`^(?:${IPV6_ALTERNATIVES.join('|')})$`);
const IPV6_CHARS = /[0-9a-fA-F:.]/;

/**
 * packetdrill's IPv6 address pattern; longest full match. Every alternative
 * but the full eight-group form contains "::", which makes a cheap filter.
 */
function matchIpv6(s: string, p: number): number {
  let end = p;
  let colons = 0;
  while (end < s.length && end - p < 64 && IPV6_CHARS.test(s[end]!)) {
    if (s.charCodeAt(end) === 58) colons++;
    end++;
  }
  if (colons === 0) return 0;
  const span = s.slice(p, end);
  if (colons < 7 && span.indexOf('::') < 0) return 0;
  for (let e = span.length; e > 0; e--) {
    if (IPV6_FULL.test(span.slice(0, e))) return e;
  }
  return 0;
}

// Rule table ------------------------------------------------------------------

const enum Rule {
  Keyword,
  Ellipsis,
  Option,
  Float,
  Integer,
  Hex,
  Word,
  String,
  BackQuoted,
  Char,
  Space,
  CppComment,
  CComment,
  Code,
  Ipv4,
  Ipv6,
}

// The best match found so far at the current position (module state keeps
// the scanner free of per-character allocations).
let bestRule: Rule = Rule.Char;
let bestLen = 0;

function consider(rule: Rule, len: number): void {
  if (len > bestLen || (len === bestLen && len > 0 && rule < bestRule)) {
    bestRule = rule;
    bestLen = len;
  }
}

function longestMatch(s: string, p: number): void {
  const c = s.charCodeAt(p);
  bestRule = Rule.Char;
  bestLen = 0;
  // Keywords: a word (or `sequence#`) that is in the table.
  const w = matchWord(s, p);
  if (w > 0) {
    const text = s.slice(p, p + w);
    if (KEYWORDS.has(text)) consider(Rule.Keyword, w);
    if (text === 'sequence' && s.charCodeAt(p + w) === 35) consider(Rule.Keyword, w + 1);
    consider(Rule.Word, w);
  }
  if (c === 46 && s.startsWith('...', p)) consider(Rule.Ellipsis, 3);
  if (c === 45) consider(Rule.Option, matchOption(s, p));
  if (c === 45 || c === 46 || isDigit(c)) {
    consider(Rule.Float, matchFloat(s, p));
    consider(Rule.Integer, matchInteger(s, p));
  }
  if (c === 48) consider(Rule.Hex, matchHex(s, p));
  if (c === 34) consider(Rule.String, matchQuoted(s, p, 34));
  if (c === 96) consider(Rule.BackQuoted, matchQuoted(s, p, 96));
  if (c === 32 || c === 9 || c === NL) {
    let i = p;
    for (;;) {
      const d = s.charCodeAt(i);
      if (d !== 32 && d !== 9 && d !== NL) break;
      i++;
    }
    consider(Rule.Space, i - p);
  } else {
    consider(Rule.Char, 1);
  }
  if (c === 47) {
    consider(Rule.CppComment, matchCppComment(s, p));
    consider(Rule.CComment, matchBlock(s, p, '/*', '*/'));
  }
  if (c === 37) consider(Rule.Code, matchBlock(s, p, '%{', '}%'));
  if (isDigit(c)) consider(Rule.Ipv4, matchIpv4(s, p));
  if (isHex(c) || c === 58) consider(Rule.Ipv6, matchIpv6(s, p));
}

/** Strip spaces and tabs at both ends of a `%{ }%` snippet, as packetdrill does. */
function codeText(raw: string): string {
  let start = 2;
  let end = raw.length - 3;
  while (start < raw.length && (raw[start] === ' ' || raw[start] === '\t')) start++;
  while (end >= 0 && (raw[end] === ' ' || raw[end] === '\t')) end--;
  return end >= start ? raw.slice(start, end + 1) : '';
}

/** Parse the digits of a decimal integer token like atoll(3). */
function decimalValue(text: string): bigint {
  return saturateInt64(BigInt(text));
}

/** Parse a `0x...` token like strtol(text + 2, NULL, 16). */
function hexValue(text: string): bigint {
  return saturateInt64(BigInt(text));
}

export interface LexerOptions {
  /** Definitions applied to plain words (`-D NAME=VALUE`). */
  defines?: ReadonlyMap<string, string> | Record<string, string>;
}

/** A pull lexer: the parser asks for one token at a time. */
export class Lexer {
  private pos = 0;
  private line = 1;
  private col = 1;
  private defines: Map<string, string>;

  constructor(
    readonly source: string,
    opts: LexerOptions = {},
  ) {
    this.defines = toMap(opts.defines);
  }

  /** Replace the definitions used for the words scanned from now on. */
  setDefines(defines: ReadonlyMap<string, string> | Record<string, string>): void {
    this.defines = toMap(defines);
  }

  /** Current line (packetdrill's yylineno). */
  get currentLine(): number {
    return this.line;
  }

  private advance(n: number): void {
    const s = this.source;
    for (let i = this.pos; i < this.pos + n; i++) {
      if (s.charCodeAt(i) === NL) {
        this.line++;
        this.col = 1;
      } else {
        this.col++;
      }
    }
    this.pos += n;
  }

  next(): Token {
    const s = this.source;
    for (;;) {
      if (this.pos >= s.length) {
        const loc = { line: this.line, column: this.col };
        return { kind: 'EOF', text: '', loc, endLine: this.line, offset: this.pos, int: undefined, float: undefined, value: undefined, define: undefined };
      }
      longestMatch(s, this.pos);
      const rule = bestRule;
      const len = bestLen;
      const start = this.pos;
      const loc: Loc = { line: this.line, column: this.col };
      this.advance(len);
      if (rule === Rule.Space || rule === Rule.CppComment || rule === Rule.CComment) continue;
      const text = s.slice(start, start + len);
      const tok = (kind: TokenKind): Token => ({
        kind,
        text,
        loc,
        endLine: this.line,
        offset: start,
        int: undefined,
        float: undefined,
        value: undefined,
        define: undefined,
      });
      let t: Token;
      switch (rule) {
        case Rule.Keyword:
          return tok(KEYWORDS.get(text)!);
        case Rule.Ellipsis:
          return tok('ELLIPSIS');
        case Rule.Option:
          t = tok('OPTION');
          t.value = text.slice(2);
          return t;
        case Rule.Float:
          t = tok('FLOAT');
          t.float = parseFloat(text);
          return t;
        case Rule.Integer:
          t = tok('INTEGER');
          t.int = decimalValue(text);
          return t;
        case Rule.Hex:
          t = tok('HEX_INTEGER');
          t.int = hexValue(text);
          return t;
        case Rule.Word: {
          const def = this.defines.get(text);
          if (def === undefined) {
            t = tok('WORD');
            t.value = text;
            return t;
          }
          const sub = substituteDefine(def);
          t = tok(sub.kind);
          t.value = sub.value;
          t.int = sub.int;
          t.define = text;
          return t;
        }
        case Rule.String:
          t = tok('STRING');
          t.value = text.slice(1, -1);
          return t;
        case Rule.BackQuoted:
          t = tok('BACK_QUOTED');
          t.value = text.slice(1, -1);
          return t;
        case Rule.Code:
          t = tok('CODE');
          t.value = codeText(text);
          return t;
        case Rule.Ipv4:
          t = tok('IPV4_ADDR');
          t.value = text;
          return t;
        case Rule.Ipv6:
          t = tok('IPV6_ADDR');
          t.value = text;
          return t;
        case Rule.Char:
          t = tok('CHAR');
          t.value = text;
          return t;
      }
    }
  }
}

function toMap(d: ReadonlyMap<string, string> | Record<string, string> | undefined): Map<string, string> {
  if (!d) return new Map();
  if (d instanceof Map) return new Map(d);
  return new Map(Object.entries(d as Record<string, string>));
}

/** Scan a whole script into tokens (the final token is EOF). */
export function tokenize(source: string, opts: LexerOptions = {}): Token[] {
  const lx = new Lexer(source, opts);
  const out: Token[] = [];
  for (;;) {
    const t = lx.next();
    out.push(t);
    if (t.kind === 'EOF') return out;
  }
}

/** A short human description of a token for error messages. */
export function describeToken(t: Token): string {
  if (t.kind === 'EOF') return 'end of file';
  return `'${t.text}'`;
}
