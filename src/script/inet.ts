/**
 * Address text conversions with the C library's acceptance rules, used where
 * packetdrill converts addresses while parsing (inet_addr, inet_pton).
 */

import { strtol } from './defines.js';

/** inet_pton(AF_INET): exactly four decimal parts 0..255, no leading zeros. */
export function inetPton4(s: string): Uint8Array | undefined {
  const out = new Uint8Array(4);
  let part = 0;
  let val = -1;
  let leadingZero = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c >= '0' && c <= '9') {
      if (val === -1) {
        val = c.charCodeAt(0) - 48;
        leadingZero = val === 0;
      } else {
        if (leadingZero) return undefined;
        val = val * 10 + (c.charCodeAt(0) - 48);
        if (val > 255) return undefined;
      }
    } else if (c === '.') {
      if (val === -1 || part === 3) return undefined;
      out[part++] = val;
      val = -1;
    } else {
      return undefined;
    }
  }
  if (val === -1 || part !== 3) return undefined;
  out[3] = val;
  return out;
}

function hexVal(c: string): number {
  const n = parseInt(c, 16);
  return /^[0-9a-fA-F]$/.test(c) ? n : -1;
}

/** inet_pton(AF_INET6). */
export function inetPton6(s: string): Uint8Array | undefined {
  const out = new Uint8Array(16);
  let tp = 0;
  let colonp = -1;
  let i = 0;
  if (s[0] === ':') {
    if (s[1] !== ':') return undefined;
    i = 1;
  }
  let curtok = i;
  let sawXdigit = false;
  let val = 0;
  let digits = 0;
  while (i < s.length) {
    const c = s[i++]!;
    const h = hexVal(c);
    if (h >= 0) {
      if (digits >= 4) return undefined;
      val = (val << 4) | h;
      digits++;
      sawXdigit = true;
      continue;
    }
    if (c === ':') {
      curtok = i;
      if (!sawXdigit) {
        if (colonp >= 0) return undefined;
        colonp = tp;
        continue;
      } else if (i >= s.length) {
        return undefined;
      }
      if (tp + 2 > 16) return undefined;
      out[tp++] = (val >> 8) & 0xff;
      out[tp++] = val & 0xff;
      sawXdigit = false;
      digits = 0;
      val = 0;
      continue;
    }
    if (c === '.' && tp + 4 <= 16) {
      const v4 = inetPton4(s.slice(curtok));
      if (!v4) return undefined;
      out.set(v4, tp);
      tp += 4;
      sawXdigit = false;
      break;
    }
    return undefined;
  }
  if (sawXdigit) {
    if (tp + 2 > 16) return undefined;
    out[tp++] = (val >> 8) & 0xff;
    out[tp++] = val & 0xff;
  }
  if (colonp >= 0) {
    if (tp === 16) return undefined;
    const n = tp - colonp;
    for (let k = 1; k <= n; k++) {
      out[16 - k] = out[colonp + n - k]!;
      out[colonp + n - k] = 0;
    }
    tp = 16;
  }
  if (tp !== 16) return undefined;
  return out;
}

/**
 * inet_addr(3): accepts the inet_aton forms (1 to 4 parts, each decimal,
 * 0x hex or 0 octal) and returns the address in network byte order read as
 * a little-endian 32-bit integer, or 0xffffffff (INADDR_NONE) on error.
 */
export function inetAddr(s: string): number {
  const parts: number[] = [];
  let i = 0;
  for (;;) {
    const c = s[i];
    if (c === undefined || c < '0' || c > '9') return 0xffffffff;
    const rest = s.slice(i);
    const { value, end } = strtol(rest, 0);
    if (end === 0 || value > 0xffffffffn) return 0xffffffff;
    parts.push(Number(value));
    i += end;
    if (s[i] === '.') {
      if (parts.length >= 4) return 0xffffffff;
      i++;
      continue;
    }
    break;
  }
  // Anything left must be white space.
  if (i < s.length && !/^[ \t\n\v\f\r]/.test(s[i]!)) return 0xffffffff;
  let host: number;
  const p = parts;
  switch (p.length) {
    case 1:
      host = p[0]!;
      break;
    case 2:
      if (p[0]! > 0xff || p[1]! > 0xffffff) return 0xffffffff;
      host = p[0]! * 0x1000000 + p[1]!;
      break;
    case 3:
      if (p[0]! > 0xff || p[1]! > 0xff || p[2]! > 0xffff) return 0xffffffff;
      host = p[0]! * 0x1000000 + p[1]! * 0x10000 + p[2]!;
      break;
    default:
      if (p.some((x) => x > 0xff)) return 0xffffffff;
      host = p[0]! * 0x1000000 + p[1]! * 0x10000 + p[2]! * 0x100 + p[3]!;
  }
  // Network order bytes, read back as a little-endian integer.
  const b0 = (host >>> 24) & 0xff;
  const b1 = (host >>> 16) & 0xff;
  const b2 = (host >>> 8) & 0xff;
  const b3 = host & 0xff;
  return (b0 | (b1 << 8) | (b2 << 16) | (b3 << 24)) >>> 0;
}

/** Format 16 address bytes in the usual compressed IPv6 text form. */
export function formatIpv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
