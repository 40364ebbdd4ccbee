/**
 * IPv4 header (RFC 791). Options are kept as raw bytes.
 */

import { internetChecksum, checksumVerifies } from './checksum.js';
import { defineHeader, type HeaderFields } from './fields.js';

const IPV4_FIELDS = [
  { name: 'version', bits: 4, default: 4 },
  { name: 'ihl', bits: 4, default: 5 },
  { name: 'tos', bits: 8 },
  { name: 'totalLength', bits: 16 },
  { name: 'id', bits: 16 },
  { name: 'flags', bits: 3 },
  { name: 'fragmentOffset', bits: 13 },
  { name: 'ttl', bits: 8, default: 64 },
  { name: 'protocol', bits: 8 },
  { name: 'checksum', bits: 16 },
  { name: 'src', type: 'ipv4' },
  { name: 'dst', type: 'ipv4' },
] as const;

/** The fixed 20-byte IPv4 header as a plain object. */
export type Ipv4Fixed = HeaderFields<typeof IPV4_FIELDS>;

/** Codec for the fixed part of the IPv4 header. */
export const IPV4 = defineHeader('IPv4', IPV4_FIELDS);

export const IPV4_HEADER_LEN = 20;
/** `flags` bits. */
export const IPV4_FLAG_DF = 0b010;
export const IPV4_FLAG_MF = 0b001;
/** ECN codepoints in the low two bits of `tos`. */
export const IP_ECN_MASK = 3;
export const IP_ECN_NOT_ECT = 0;
export const IP_ECN_ECT1 = 1;
export const IP_ECN_ECT0 = 2;
export const IP_ECN_CE = 3;

/** A decoded IPv4 header: fixed fields plus the raw options. */
export interface Ipv4Header extends Ipv4Fixed {
  /** Raw option bytes (ihl * 4 - 20 of them), a copy. */
  options: Buffer;
}

/**
 * Decodes the IPv4 header at `offset`. The caller checks that 20 bytes are
 * there; options are cut short when the buffer is (the packet decoder reports
 * that).
 */
export function decodeIpv4(buf: Uint8Array, offset = 0): Ipv4Header {
  const h = IPV4.decode(buf, offset) as Ipv4Header;
  const end = Math.min(offset + h.ihl * 4, buf.length);
  h.options = Buffer.from(buf.subarray(offset + IPV4_HEADER_LEN, Math.max(end, offset + IPV4_HEADER_LEN)));
  return h;
}

/** Checksum of the IPv4 header at `offset` of `headerLen` bytes, with the checksum field taken as zero. */
export function ipv4HeaderChecksum(buf: Uint8Array, offset: number, headerLen: number): number {
  const saved0 = buf[offset + 10]!;
  const saved1 = buf[offset + 11]!;
  buf[offset + 10] = 0;
  buf[offset + 11] = 0;
  const sum = internetChecksum(buf, offset, offset + headerLen);
  buf[offset + 10] = saved0;
  buf[offset + 11] = saved1;
  return sum;
}

/** True when the stored IPv4 header checksum at `offset` verifies. */
export function ipv4HeaderChecksumOk(buf: Uint8Array, offset = 0): boolean {
  const len = (buf[offset]! & 0x0f) * 4;
  if (len < IPV4_HEADER_LEN || offset + len > buf.length) return false;
  return checksumVerifies(buf, offset, offset + len);
}

/** Recomputes and stores the IPv4 header checksum at `offset`. */
export function setIpv4HeaderChecksum(buf: Uint8Array, offset = 0): void {
  const len = (buf[offset]! & 0x0f) * 4;
  const sum = ipv4HeaderChecksum(buf, offset, len);
  buf[offset + 10] = sum >> 8;
  buf[offset + 11] = sum & 0xff;
}

/** Fields of an IPv4 header to encode; anything left out is defaulted or computed. */
export interface Ipv4Spec extends Partial<Ipv4Fixed> {
  src: string;
  dst: string;
  /** Raw option bytes; padded with zeros (end of option list) to a multiple of 4. */
  options?: Uint8Array;
  /** Store a wrong header checksum (the correct one with its low bit flipped). */
  badChecksum?: boolean;
}
