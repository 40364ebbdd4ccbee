/**
 * ICMPv4 (RFC 792, RFC 1191 for the fragmentation-needed MTU). Error
 * messages carry the start of the datagram that caused them.
 */

import { defineHeader, type HeaderFields } from './fields.js';

const ICMPV4_FIELDS = [
  { name: 'type', bits: 8 },
  { name: 'code', bits: 8 },
  { name: 'checksum', bits: 16 },
  /** The type-specific second word: echo id/sequence, MTU, gateway, pointer. */
  { name: 'rest', bits: 32 },
] as const;

/** The 8-byte ICMPv4 header as a plain object. */
export type Icmpv4Fixed = HeaderFields<typeof ICMPV4_FIELDS>;

/** Codec for the ICMPv4 header. */
export const ICMPV4 = defineHeader('ICMPv4', ICMPV4_FIELDS);

export const ICMPV4_HEADER_LEN = 8;
export const ICMPV4_OFF_CHECKSUM = 2;

export const ICMP_ECHOREPLY = 0;
export const ICMP_DEST_UNREACH = 3;
export const ICMP_SOURCE_QUENCH = 4;
export const ICMP_REDIRECT = 5;
export const ICMP_ECHO = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_PARAMETERPROB = 12;

/** Destination-unreachable code for "fragmentation needed and DF set". */
export const ICMP_FRAG_NEEDED = 4;

/** ICMPv4 type names as packetdrill scripts write them. */
export const ICMPV4_TYPES: Readonly<Record<string, number>> = {
  echo_reply: 0,
  unreachable: 3,
  source_quench: 4,
  redirect: 5,
  echo_request: 8,
  time_exceeded: 11,
  parameter_problem: 12,
  timestamp_request: 13,
  timestamp_reply: 14,
  information_request: 15,
  information_reply: 16,
  address_mask_request: 17,
  address_mask_reply: 18,
};

/** Destination-unreachable code names as packetdrill scripts write them. */
export const ICMPV4_UNREACHABLE_CODES: Readonly<Record<string, number>> = {
  net_unreachable: 0,
  host_unreachable: 1,
  protocol_unreachable: 2,
  port_unreachable: 3,
  frag_needed: 4,
  source_route_failed: 5,
  net_unknown: 6,
  host_unknown: 7,
  source_host_isolated: 8,
  net_prohibited: 9,
  host_prohibited: 10,
  net_unreachable_for_tos: 11,
  host_unreachable_for_tos: 12,
  packet_filtered: 13,
  precedence_violation: 14,
  precedence_cutoff: 15,
};

/** True for ICMPv4 types whose body quotes the offending datagram. */
export function icmpv4IsError(type: number): boolean {
  return (
    type === ICMP_DEST_UNREACH ||
    type === ICMP_SOURCE_QUENCH ||
    type === ICMP_REDIRECT ||
    type === ICMP_TIME_EXCEEDED ||
    type === ICMP_PARAMETERPROB
  );
}

/** Fields of an ICMPv4 header to encode; checksum computed unless given. */
export interface Icmpv4Spec extends Partial<Icmpv4Fixed> {
  /** Next-hop MTU for unreachable/frag_needed (low 16 bits of `rest`). */
  mtu?: number;
  /** Echo identifier (high 16 bits of `rest`). */
  echoId?: number;
  /** Echo sequence number (low 16 bits of `rest`). */
  echoSequence?: number;
  /** Store a wrong checksum (the correct one with its low bit flipped). */
  badChecksum?: boolean;
}
