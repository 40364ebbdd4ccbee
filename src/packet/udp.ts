/**
 * UDP header (RFC 768).
 */

import { defineHeader, type HeaderFields } from './fields.js';

const UDP_FIELDS = [
  { name: 'srcPort', bits: 16 },
  { name: 'dstPort', bits: 16 },
  { name: 'length', bits: 16 },
  { name: 'checksum', bits: 16 },
] as const;

/** The 8-byte UDP header as a plain object. */
export type UdpHeader = HeaderFields<typeof UDP_FIELDS>;

/** Codec for the UDP header. */
export const UDP = defineHeader('UDP', UDP_FIELDS);

export const UDP_HEADER_LEN = 8;
export const UDP_OFF_CHECKSUM = 6;

/** Fields of a UDP header to encode; length and checksum are computed unless given. */
export interface UdpSpec extends Partial<UdpHeader> {
  /** Store a wrong checksum (the correct one with its low bit flipped). */
  badChecksum?: boolean;
}
