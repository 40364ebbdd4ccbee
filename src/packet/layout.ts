/**
 * Where the headers of a raw IP packet sit, so the engine can read and
 * rewrite fields in place (ports, sequence numbers, SACK blocks, TCP
 * timestamps) while mapping between script and live values, as packetdrill
 * does on its packet buffers. Computed once a packet, without decoding the
 * headers into objects.
 */

import { formatIpv4, formatIpv6, writeIpv4, writeIpv6 } from './address.js';
import { walkIpv6Chain } from './ipv6.js';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from './protocols.js';

export interface Layout {
  ipVersion: 4 | 6;
  ipHeaderLen: number;
  /** IP total length from the header (IPv6: 40 + payload length). */
  ipTotalLen: number;
  /** L4 protocol after any IPv6 extension headers. */
  proto: number;
  l4: number;
  /** TCP header length (doff * 4), UDP 8, ICMP 8. */
  l4HeaderLen: number;
  payload: number;
  payloadLen: number;
  /** For ICMP errors: the echoed IP header and what follows it. */
  echoed?: { ip: number; ipVersion: 4 | 6; ipHeaderLen: number; proto: number; l4: number };
}

/** Upper-layer protocol and its offset after the IPv6 header at `at` and its extension headers. */
function walkV6(buf: Buffer, at: number): { proto: number; l4: number } {
  const chain = walkIpv6Chain(buf, at, buf.length);
  return { proto: chain.protocol, l4: chain.offset };
}

/** Compute the layout; returns null for what is not an IPv4/IPv6 packet. */
export function layoutOf(buf: Buffer, at = 0): Layout | null {
  if (buf.length - at < 20) return null;
  const v = buf[at]! >> 4;
  let ipHeaderLen: number;
  let ipTotalLen: number;
  let proto: number;
  let l4: number;
  if (v === 4) {
    ipHeaderLen = (buf[at]! & 0x0f) * 4;
    ipTotalLen = buf.readUInt16BE(at + 2);
    proto = buf[at + 9]!;
    l4 = at + ipHeaderLen;
  } else if (v === 6) {
    if (buf.length - at < 40) return null;
    ipHeaderLen = 40;
    ipTotalLen = 40 + buf.readUInt16BE(at + 4);
    ({ proto, l4 } = walkV6(buf, at));
  } else {
    return null;
  }
  const end = Math.min(buf.length, at + ipTotalLen);
  let l4HeaderLen = 0;
  if (proto === IPPROTO_TCP) l4HeaderLen = l4 + 13 <= end ? (buf[l4 + 12]! >> 4) * 4 : 0;
  else if (proto === IPPROTO_UDP || proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6) l4HeaderLen = 8;
  const payload = Math.min(end, l4 + l4HeaderLen);
  const layout: Layout = {
    ipVersion: v as 4 | 6,
    ipHeaderLen,
    ipTotalLen,
    proto,
    l4,
    l4HeaderLen,
    payload,
    payloadLen: Math.max(0, end - payload),
  };
  if ((proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6) && payload < end) {
    const e = payload;
    const ev = buf[e]! >> 4;
    if (ev === 4 && e + 20 <= buf.length) {
      const hl = (buf[e]! & 0x0f) * 4;
      layout.echoed = { ip: e, ipVersion: 4, ipHeaderLen: hl, proto: buf[e + 9]!, l4: e + hl };
    } else if (ev === 6 && e + 40 <= buf.length) {
      const w = walkV6(buf, e);
      layout.echoed = { ip: e, ipVersion: 6, ipHeaderLen: 40, proto: w.proto, l4: w.l4 };
    }
  }
  return layout;
}

// ---- addresses ------------------------------------------------------------

/** The source or destination address of the IP header at `ipAt`, as text (inet_ntop form). */
export function readAddr(buf: Buffer, ipAt: number, which: 'src' | 'dst'): string {
  if (buf[ipAt]! >> 4 === 4) return formatIpv4(buf, ipAt + (which === 'src' ? 12 : 16));
  // The same spelling as the run's configured addresses (canonicalIpv6).
  return formatIpv6(buf, ipAt + (which === 'src' ? 8 : 24));
}

/** Stores an address into the IP header at `ipAt`; '' stores the unspecified address. */
export function writeAddr(buf: Buffer, ipAt: number, which: 'src' | 'dst', addr: string): void {
  if (buf[ipAt]! >> 4 === 4) {
    const o = ipAt + (which === 'src' ? 12 : 16);
    if (addr === '') buf.fill(0, o, o + 4);
    else writeIpv4(addr, buf, o);
    return;
  }
  const o = ipAt + (which === 'src' ? 8 : 24);
  if (addr === '') buf.fill(0, o, o + 16);
  else writeIpv6(addr, buf, o);
}
