/**
 * ICMPv6 (RFC 4443). Error messages carry as much of the offending packet as
 * fits; packet-too-big carries the MTU.
 */

import { defineHeader, type HeaderFields } from './fields.js';

const ICMPV6_FIELDS = [
  { name: 'type', bits: 8 },
  { name: 'code', bits: 8 },
  { name: 'checksum', bits: 16 },
  /** The type-specific second word: MTU, pointer, echo id/sequence. */
  { name: 'rest', bits: 32 },
] as const;

/** The 8-byte ICMPv6 header as a plain object. */
export type Icmpv6Fixed = HeaderFields<typeof ICMPV6_FIELDS>;

/** Codec for the ICMPv6 header. */
export const ICMPV6 = defineHeader('ICMPv6', ICMPV6_FIELDS);

export const ICMPV6_HEADER_LEN = 8;
export const ICMPV6_OFF_CHECKSUM = 2;

export const ICMPV6_DEST_UNREACH = 1;
export const ICMPV6_PKT_TOOBIG = 2;
export const ICMPV6_TIME_EXCEED = 3;
export const ICMPV6_PARAMPROB = 4;
export const ICMPV6_ECHO_REQUEST = 128;
export const ICMPV6_ECHO_REPLY = 129;

/** ICMPv6 type names as packetdrill scripts write them. */
export const ICMPV6_TYPES: Readonly<Record<string, number>> = {
  unreachable: 1,
  packet_too_big: 2,
  time_exceeded: 3,
  parameter_problem: 4,
  echo_request: 128,
  echo_reply: 129,
};

/** Code names per ICMPv6 type name, as packetdrill scripts write them. */
export const ICMPV6_CODES: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  unreachable: {
    net_unreachable: 0,
    no_route: 0,
    admin_prohibited: 1,
    not_neighbour: 2,
    address_unreachable: 3,
    port_unreachable: 4,
  },
  time_exceeded: {
    exceeded_hop_limit: 0,
    exceeded_frag_time: 1,
  },
  parameter_problem: {
    header_field: 0,
    unknown_next_header: 1,
    unknown_option: 2,
  },
};

/** True for ICMPv6 error types (< 128), whose body quotes the offending packet. */
export function icmpv6IsError(type: number): boolean {
  return type < 128;
}

/** Fields of an ICMPv6 header to encode; checksum computed unless given. */
export interface Icmpv6Spec extends Partial<Icmpv6Fixed> {
  /** MTU for packet_too_big (all of `rest`). */
  mtu?: number;
  /** Echo identifier (high 16 bits of `rest`). */
  echoId?: number;
  /** Echo sequence number (low 16 bits of `rest`). */
  echoSequence?: number;
  /** Store a wrong checksum (the correct one with its low bit flipped). */
  badChecksum?: boolean;
}
