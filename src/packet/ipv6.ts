/**
 * IPv6 fixed header (RFC 8200) and the walk over extension headers, which are
 * kept raw.
 */

import { defineHeader, type HeaderFields } from './fields.js';

const IPV6_FIELDS = [
  { name: 'version', bits: 4, default: 6 },
  { name: 'trafficClass', bits: 8 },
  { name: 'flowLabel', bits: 20 },
  { name: 'payloadLength', bits: 16 },
  { name: 'nextHeader', bits: 8 },
  { name: 'hopLimit', bits: 8, default: 64 },
  { name: 'src', type: 'ipv6' },
  { name: 'dst', type: 'ipv6' },
] as const;

/** The fixed 40-byte IPv6 header as a plain object. */
export type Ipv6Fixed = HeaderFields<typeof IPV6_FIELDS>;

/** Codec for the IPv6 fixed header. */
export const IPV6 = defineHeader('IPv6', IPV6_FIELDS);

export const IPV6_HEADER_LEN = 40;

/** Next-header values that are IPv6 extension headers. */
export const IPV6_EXT_HOP_BY_HOP = 0;
export const IPV6_EXT_ROUTING = 43;
export const IPV6_EXT_FRAGMENT = 44;
export const IPV6_EXT_AUTH = 51;
export const IPV6_EXT_DEST_OPTS = 60;
export const IPV6_EXT_MOBILITY = 135;
export const IPV6_EXT_HIP = 139;
export const IPV6_EXT_SHIM6 = 140;
/** "No next header". */
export const IPV6_NO_NEXT_HEADER = 59;

/** True for next-header values that name an extension header. */
export function isIpv6ExtensionHeader(nextHeader: number): boolean {
  switch (nextHeader) {
    case IPV6_EXT_HOP_BY_HOP:
    case IPV6_EXT_ROUTING:
    case IPV6_EXT_FRAGMENT:
    case IPV6_EXT_AUTH:
    case IPV6_EXT_DEST_OPTS:
    case IPV6_EXT_MOBILITY:
    case IPV6_EXT_HIP:
    case IPV6_EXT_SHIM6:
      return true;
    default:
      return false;
  }
}

/** One extension header, raw. */
export interface Ipv6ExtensionHeader {
  /** The next-header value that announced this header (0 hop-by-hop, 43 routing, 44 fragment, ...). */
  type: number;
  /**
   * All bytes of the header including its own next-header and length bytes.
   * When encoding, the first byte is rewritten to chain to what follows.
   */
  data: Buffer;
}

/** A decoded IPv6 header: fixed fields plus the raw extension headers. */
export interface Ipv6Header extends Ipv6Fixed {
  extensionHeaders: Ipv6ExtensionHeader[];
}

/** Result of walking the extension-header chain. */
export interface Ipv6ChainEnd {
  /** The upper-layer protocol found at the end (or IPV6_NO_NEXT_HEADER). */
  protocol: number;
  /** Offset of the upper-layer header. */
  offset: number;
  /** Non-zero fragment offset or more-fragments flag seen in a fragment header. */
  fragmented: boolean;
  /** Set when the chain runs past `end` or is malformed. */
  error?: string;
}

/**
 * Byte length of the extension header of type `type` whose first two bytes
 * are at `offset`.
 */
export function ipv6ExtensionHeaderLength(type: number, buf: Uint8Array, offset: number): number {
  if (type === IPV6_EXT_FRAGMENT) return 8;
  if (type === IPV6_EXT_AUTH) return (buf[offset + 1]! + 2) * 4;
  return (buf[offset + 1]! + 1) * 8;
}

/**
 * Walks extension headers starting after the fixed header at `ipOffset`, up
 * to `end`. Pushes each one to `out` when given.
 */
export function walkIpv6Chain(
  buf: Uint8Array,
  ipOffset: number,
  end: number,
  out?: Ipv6ExtensionHeader[],
): Ipv6ChainEnd {
  let next = buf[ipOffset + 6]!;
  let at = ipOffset + IPV6_HEADER_LEN;
  let fragmented = false;
  while (isIpv6ExtensionHeader(next)) {
    if (at + 2 > end) {
      return { protocol: next, offset: at, fragmented, error: 'IPv6 extension header overflows packet' };
    }
    const len = ipv6ExtensionHeaderLength(next, buf, at);
    if (at + len > end) {
      return { protocol: next, offset: at, fragmented, error: 'IPv6 extension header overflows packet' };
    }
    if (next === IPV6_EXT_FRAGMENT) {
      const fragWord = (buf[at + 2]! << 8) | buf[at + 3]!;
      if (fragWord & 0xfff9) fragmented = true;
    }
    out?.push({ type: next, data: Buffer.from(buf.subarray(at, at + len)) });
    next = buf[at]!;
    at += len;
  }
  return { protocol: next, offset: at, fragmented };
}

/**
 * Decodes the IPv6 header at `offset`, walking extension headers up to `end`
 * (default: end of buffer). The caller checks that 40 bytes are there.
 */
export function decodeIpv6(
  buf: Uint8Array,
  offset = 0,
  end = buf.length,
): { header: Ipv6Header; chain: Ipv6ChainEnd } {
  const header = IPV6.decode(buf, offset) as Ipv6Header;
  header.extensionHeaders = [];
  const chain = walkIpv6Chain(buf, offset, end, header.extensionHeaders);
  return { header, chain };
}

/** Fields of an IPv6 header to encode; anything left out is defaulted or computed. */
export interface Ipv6Spec extends Partial<Ipv6Fixed> {
  src: string;
  dst: string;
  /** Raw extension headers, in order; their next-header bytes are chained automatically. */
  extensionHeaders?: Ipv6ExtensionHeader[];
}
