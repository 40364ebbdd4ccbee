/**
 * IP address text <-> wire bytes.
 *
 * Formatting follows the C library's inet_ntop (RFC 5952 style: lowercase
 * hex, the longest run of two or more zero groups shortened to "::", the first
 * such run on a tie, and dotted IPv4 tails for ::a.b.c.d and ::ffff:a.b.c.d),
 * so addresses read exactly as packetdrill prints them.
 */

/** Formats the 4 bytes at `offset` as dotted decimal. */
export function formatIpv4(buf: Uint8Array, offset = 0): string {
  return `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
}

/** Formats the 16 bytes at `offset` the way inet_ntop(AF_INET6) does. */
export function formatIpv6(buf: Uint8Array, offset = 0): string {
  const words = [0, 0, 0, 0, 0, 0, 0, 0];
  for (let i = 0; i < 8; i++) words[i] = (buf[offset + 2 * i]! << 8) | buf[offset + 2 * i + 1]!;

  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (words[i] === 0) {
      if (curBase === -1) {
        curBase = i;
        curLen = 1;
      } else {
        curLen++;
      }
    } else if (curBase !== -1) {
      if (bestBase === -1 || curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
      curBase = -1;
    }
  }
  if (curBase !== -1 && (bestBase === -1 || curLen > bestLen)) {
    bestBase = curBase;
    bestLen = curLen;
  }
  if (bestBase !== -1 && bestLen < 2) bestBase = -1;

  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase !== -1 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
      out += formatIpv4(buf, offset + 12);
      return out;
    }
    out += words[i]!.toString(16);
  }
  if (bestBase !== -1 && bestBase + bestLen === 8) out += ':';
  return out;
}

const IPV4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** True when `text` is a dotted-quad IPv4 address. */
export function isIpv4(text: string): boolean {
  const m = IPV4_RE.exec(text);
  return m !== null && m.slice(1).every((p) => Number(p) <= 255);
}

/** True when `text` parses as an IPv6 address. */
export function isIpv6(text: string): boolean {
  try {
    writeIpv6(text, new Uint8Array(16), 0);
    return true;
  } catch {
    return false;
  }
}

/** Writes a dotted-quad IPv4 address as 4 bytes at `offset`. */
export function writeIpv4(text: string, buf: Uint8Array, offset = 0): void {
  const m = IPV4_RE.exec(text);
  if (m === null) throw new TypeError(`not an IPv4 address: '${text}'`);
  for (let i = 0; i < 4; i++) {
    const n = Number(m[i + 1]);
    if (n > 255) throw new TypeError(`not an IPv4 address: '${text}'`);
    buf[offset + i] = n;
  }
}

/** Writes an IPv6 address (any RFC 4291 text form, no zone) as 16 bytes at `offset`. */
export function writeIpv6(text: string, buf: Uint8Array, offset = 0): void {
  const bad = (): never => {
    throw new TypeError(`not an IPv6 address: '${text}'`);
  };
  if (text.length < 2 || text.length > 45) bad();
  const words: number[] = [];
  let gap = -1;
  let rest = text;
  if (rest.startsWith('::')) {
    gap = 0;
    rest = rest.slice(2);
  } else if (rest.startsWith(':')) {
    bad();
  }
  if (rest.length > 0) {
    const parts = rest.split(':');
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (part === '') {
        // "a::b" leaves one empty part; a trailing "::" leaves one at the end.
        if (gap !== -1) bad();
        if (i === parts.length - 1) bad();
        gap = words.length;
        if (i === parts.length - 2 && parts[i + 1] === '') {
          break;
        }
        continue;
      }
      if (i === parts.length - 1 && part.includes('.')) {
        if (!isIpv4(part)) bad();
        const v4 = new Uint8Array(4);
        writeIpv4(part, v4, 0);
        words.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(part)) bad();
      words.push(parseInt(part, 16));
    }
  }
  if (gap === -1) {
    if (words.length !== 8) bad();
  } else {
    if (words.length > 7) bad();
    const zeros = new Array<number>(8 - words.length).fill(0);
    words.splice(gap, 0, ...zeros);
  }
  for (let i = 0; i < 8; i++) {
    buf[offset + 2 * i] = words[i]! >> 8;
    buf[offset + 2 * i + 1] = words[i]! & 0xff;
  }
}

/** Parses an IPv4 address into a new 4-byte Buffer. */
export function parseIpv4(text: string): Buffer {
  const b = Buffer.alloc(4);
  writeIpv4(text, b, 0);
  return b;
}

/** Parses an IPv6 address into a new 16-byte Buffer. */
export function parseIpv6(text: string): Buffer {
  const b = Buffer.alloc(16);
  writeIpv6(text, b, 0);
  return b;
}

/** The canonical (inet_ntop) text of an IPv6 address given in any form. */
export function canonicalIpv6(text: string): string {
  return formatIpv6(parseIpv6(text), 0);
}
