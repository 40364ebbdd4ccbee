/**
 * `-D NAME=VALUE` definitions, applied the way packetdrill applies them.
 *
 * packetdrill substitutes definitions in its lexer, word by word: when the
 * scanner reads a plain word (not a reserved word, number, address or
 * string) it looks the word up in the definitions and, if found, returns
 * - a STRING token when the value starts with `"` (the value without its
 *   first and last characters),
 * - a backtick command when it starts with a backtick (likewise stripped),
 * - an INTEGER when the whole value parses with strtol(value, &end, 0)
 *   (decimal, 0x hex or 0 octal, optional sign and leading white space;
 *   LONG_MIN and LONG_MAX are refused so overflowing values stay words),
 * - otherwise a WORD whose text is the value.
 * An undefined word simply stays a word; whether that is an error is decided
 * later, when the word is used (e.g. "unknown symbol" at run time, or
 * "bad ICMP code CODE" when it names an ICMP code).
 *
 * Definitions come from the command line (`-D NAME=VALUE`,
 * `--define=NAME=VALUE`) and from `--define=NAME=VALUE` option lines at the
 * top of a script. Neither applies while the option lines themselves are
 * scanned. After the option lines, script definitions are installed and
 * command-line definitions are applied over them (command line wins).
 */

import type { TokenKind } from './lexer.js';

const LONG_MAX = (1n << 63n) - 1n;
const LONG_MIN = -(1n << 63n);

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r';
}

function digitValue(c: string | undefined): number {
  if (c === undefined) return 99;
  const code = c.charCodeAt(0);
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 122) return code - 97 + 10;
  if (code >= 65 && code <= 90) return code - 65 + 10;
  return 99;
}

/**
 * C strtol(s, &end, base) for a 64-bit long. Returns the value and the
 * index where parsing stopped (0 when no digits were found).
 */
export function strtol(s: string, base = 0): { value: bigint; end: number } {
  let i = 0;
  while (isSpace(s[i])) i++;
  let neg = false;
  if (s[i] === '+' || s[i] === '-') {
    neg = s[i] === '-';
    i++;
  }
  if ((base === 0 || base === 16) && s[i] === '0' && (s[i + 1] === 'x' || s[i + 1] === 'X') && digitValue(s[i + 2]) < 16) {
    i += 2;
    base = 16;
  } else if (base === 0) {
    base = s[i] === '0' ? 8 : 10;
  }
  const digitsStart = i;
  let v = 0n;
  const b = BigInt(base);
  while (digitValue(s[i]) < base) {
    v = v * b + BigInt(digitValue(s[i]));
    i++;
  }
  if (i === digitsStart) return { value: 0n, end: 0 };
  if (neg) v = -v;
  if (v > LONG_MAX) v = LONG_MAX;
  if (v < LONG_MIN) v = LONG_MIN;
  return { value: v, end: i };
}

/** The token a defined word turns into. */
export interface DefineSubstitution {
  kind: Extract<TokenKind, 'STRING' | 'BACK_QUOTED' | 'INTEGER' | 'WORD'>;
  value?: string;
  int?: bigint;
}

/** Strip the first and last character, like packetdrill's quoted() helper. */
function stripDelimiters(v: string): string {
  return v.length >= 2 ? v.slice(1, -1) : '';
}

/** What a word defined as `value` becomes in the token stream. */
export function substituteDefine(value: string): DefineSubstitution {
  if (value.startsWith('"')) return { kind: 'STRING', value: stripDelimiters(value) };
  if (value.startsWith('`')) return { kind: 'BACK_QUOTED', value: stripDelimiters(value) };
  const { value: n, end } = strtol(value, 0);
  if (n !== LONG_MIN && n !== LONG_MAX && end === value.length) {
    return { kind: 'INTEGER', int: n };
  }
  return { kind: 'WORD', value };
}

/** Error for a malformed definition, with packetdrill's message. */
export class DefineError extends Error {}

/**
 * Split a `NAME=VALUE` definition at its first `=`. `where` names its
 * origin in the error message ("Command Line" or the script path), as
 * packetdrill does: `<where>: bad definition: <text>`.
 */
export function parseDefine(text: string, where = 'Command Line'): [string, string] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new DefineError(`${where}: bad definition: ${text}`);
  return [text.slice(0, eq), text.slice(eq + 1)];
}

/** Parse a list of `NAME=VALUE` strings (later ones replace earlier ones). */
export function parseDefines(list: readonly string[], where = 'Command Line'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of list) {
    const [k, v] = parseDefine(d, where);
    out[k] = v;
  }
  return out;
}
