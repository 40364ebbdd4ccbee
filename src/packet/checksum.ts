/**
 * The Internet checksum (RFC 1071) and the TCP/UDP/ICMPv6 pseudo-headers
 * (RFC 793 for IPv4, RFC 8200 section 8.1 for IPv6).
 *
 * Sums are kept unfolded in a plain number (exact up to 2^53, far beyond any
 * packet size) and folded to 16 bits at the end.
 */

/**
 * Adds the bytes [start, end) as big-endian 16-bit words to `acc` (an odd
 * trailing byte is padded with a zero byte) and returns the unfolded sum.
 */
export function sumWords(buf: Uint8Array, start: number, end: number, acc = 0): number {
  let i = start;
  const last = end - 1;
  for (; i < last; i += 2) acc += (buf[i]! << 8) | buf[i + 1]!;
  if (i === last) acc += buf[i]! << 8;
  return acc;
}

/** Folds an unfolded sum to 16 bits (end-around carry). */
export function foldSum(acc: number): number {
  while (acc > 0xffff) acc = (acc % 0x10000) + Math.floor(acc / 0x10000);
  return acc;
}

/** The checksum value to store for an unfolded sum: the one's complement of the folded sum. */
export function finishChecksum(acc: number): number {
  return ~foldSum(acc) & 0xffff;
}

/** Internet checksum of bytes [start, end). */
export function internetChecksum(buf: Uint8Array, start = 0, end = buf.length): number {
  return finishChecksum(sumWords(buf, start, end));
}

/**
 * True when bytes [start, end), which include a stored checksum, verify:
 * their one's complement sum (plus `initial`, e.g. a pseudo-header sum) is
 * all ones.
 */
export function checksumVerifies(buf: Uint8Array, start: number, end: number, initial = 0): boolean {
  return foldSum(sumWords(buf, start, end, initial)) === 0xffff;
}

/**
 * Unfolded sum of the IPv4 pseudo-header: source and destination address
 * (4 bytes each at `srcOffset` / `dstOffset` in `buf`), protocol, and the
 * upper-layer length.
 */
export function ipv4PseudoHeaderSum(
  buf: Uint8Array,
  srcOffset: number,
  dstOffset: number,
  protocol: number,
  length: number,
): number {
  let acc = sumWords(buf, srcOffset, srcOffset + 4);
  acc = sumWords(buf, dstOffset, dstOffset + 4, acc);
  return acc + protocol + length;
}

/**
 * Unfolded sum of the IPv6 pseudo-header: source and destination address
 * (16 bytes each), the 32-bit upper-layer length and the next-header value.
 */
export function ipv6PseudoHeaderSum(
  buf: Uint8Array,
  srcOffset: number,
  dstOffset: number,
  protocol: number,
  length: number,
): number {
  let acc = sumWords(buf, srcOffset, srcOffset + 16);
  acc = sumWords(buf, dstOffset, dstOffset + 16, acc);
  return acc + Math.floor(length / 0x10000) + (length % 0x10000) + protocol;
}

/**
 * Pseudo-header sum for the IP packet starting at `ipOffset` (version taken
 * from its first nibble).
 */
export function pseudoHeaderSum(buf: Uint8Array, ipOffset: number, protocol: number, length: number): number {
  return buf[ipOffset]! >> 4 === 6
    ? ipv6PseudoHeaderSum(buf, ipOffset + 8, ipOffset + 24, protocol, length)
    : ipv4PseudoHeaderSum(buf, ipOffset + 12, ipOffset + 16, protocol, length);
}

/**
 * Checksum of an upper-layer segment [l4Start, l4End) with a checksum field
 * at `checksumOffset` (absolute), computed as if that field were zero, with
 * the given pseudo-header sum (0 for ICMPv4, which has none).
 */
export function upperLayerChecksum(
  buf: Uint8Array,
  l4Start: number,
  l4End: number,
  checksumOffset: number,
  pseudoSum: number,
): number {
  let acc = sumWords(buf, l4Start, l4End, pseudoSum);
  if (checksumOffset + 1 < l4End) acc -= (buf[checksumOffset]! << 8) | buf[checksumOffset + 1]!;
  return finishChecksum(acc);
}
