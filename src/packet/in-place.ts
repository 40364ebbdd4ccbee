/**
 * Hot-path helpers that read and rewrite raw packet bytes in place, without
 * decoding into objects: locate the TCP header, read or patch sequence and
 * acknowledgment numbers, window and options, verify or refresh checksums.
 *
 * Offsets are absolute within the buffer; the IP header starts at 0. Helpers
 * that take an optional `tcpOff` locate the TCP header themselves when it is
 * omitted; pass it when doing several operations on one packet.
 */

import { checksumVerifies, pseudoHeaderSum } from './checksum.js';
import { readUintBE, writeUintBE } from './fields.js';
import { ipv4HeaderChecksum } from './ipv4.js';
import { isIpv6ExtensionHeader, ipv6ExtensionHeaderLength } from './ipv6.js';
import { computeL4Checksum } from './packet.js';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from './protocols.js';
import { TCPOLEN_TIMESTAMP, TCPOPT_SACK, TCPOPT_TIMESTAMP, walkTcpOptions } from './tcp-options.js';

/** End of the IP datagram in `buf`: its claimed length, bounded by the buffer. 0 when not IP. */
export function ipEnd(buf: Uint8Array): number {
  if (buf.length < 1) return 0;
  const v = buf[0]! >> 4;
  let len: number;
  if (v === 4 && buf.length >= 20) len = (buf[2]! << 8) | buf[3]!;
  else if (v === 6 && buf.length >= 40) len = 40 + ((buf[4]! << 8) | buf[5]!);
  else return 0;
  return len < buf.length ? len : buf.length;
}

/**
 * Offset of the upper-layer header and its protocol, written to `out`
 * (reused to avoid allocation). Returns false when `buf` is not a complete
 * unfragmented IP header.
 */
export function locateL4(buf: Uint8Array, out: { offset: number; protocol: number }): boolean {
  if (buf.length < 1) return false;
  const v = buf[0]! >> 4;
  if (v === 4) {
    if (buf.length < 20) return false;
    const hl = (buf[0]! & 0x0f) * 4;
    if (hl < 20 || hl > buf.length) return false;
    if (((buf[6]! & 0x1f) | buf[7]!) !== 0) return false; // fragment offset
    out.offset = hl;
    out.protocol = buf[9]!;
    return true;
  }
  if (v === 6) {
    if (buf.length < 40) return false;
    let next = buf[6]!;
    let at = 40;
    while (isIpv6ExtensionHeader(next)) {
      if (at + 2 > buf.length) return false;
      const len = ipv6ExtensionHeaderLength(next, buf, at);
      if (at + len > buf.length) return false;
      next = buf[at]!;
      at += len;
    }
    out.offset = at;
    out.protocol = next;
    return true;
  }
  return false;
}

const scratch = { offset: 0, protocol: 0 };

/** Offset of the TCP header, or -1 when the packet is not TCP or too short to hold one. */
export function tcpOffset(buf: Uint8Array): number {
  // Fast path: IPv4 without options, or IPv6 without extension headers.
  const v = buf.length > 0 ? buf[0]! >> 4 : 0;
  if (v === 4 && buf.length >= 40 && buf[0] === 0x45 && buf[9] === IPPROTO_TCP && ((buf[6]! & 0x1f) | buf[7]!) === 0) {
    return 20;
  }
  if (v === 6 && buf.length >= 60 && buf[6] === IPPROTO_TCP) return 40;
  if (!locateL4(buf, scratch) || scratch.protocol !== IPPROTO_TCP) return -1;
  return scratch.offset + 20 <= buf.length ? scratch.offset : -1;
}

const u32 = (buf: Uint8Array, at: number): number => readUintBE(buf, at, 4);
const setU32 = (buf: Uint8Array, at: number, v: number): void => writeUintBE(buf, at, 4, v);

function need(off: number): number {
  if (off < 0) throw new Error('not a TCP packet');
  return off;
}

export function readTcpSeq(buf: Uint8Array, tcpOff = tcpOffset(buf)): number {
  return u32(buf, need(tcpOff) + 4);
}

/** Stores a sequence number (taken modulo 2^32). Checksums are not updated. */
export function writeTcpSeq(buf: Uint8Array, value: number, tcpOff = tcpOffset(buf)): void {
  setU32(buf, need(tcpOff) + 4, value >>> 0);
}

export function readTcpAck(buf: Uint8Array, tcpOff = tcpOffset(buf)): number {
  return u32(buf, need(tcpOff) + 8);
}

/** Stores an acknowledgment number (taken modulo 2^32). Checksums are not updated. */
export function writeTcpAck(buf: Uint8Array, value: number, tcpOff = tcpOffset(buf)): void {
  setU32(buf, need(tcpOff) + 8, value >>> 0);
}

export function readTcpWindow(buf: Uint8Array, tcpOff = tcpOffset(buf)): number {
  const at = need(tcpOff) + 14;
  return (buf[at]! << 8) | buf[at + 1]!;
}

export function writeTcpWindow(buf: Uint8Array, value: number, tcpOff = tcpOffset(buf)): void {
  const at = need(tcpOff) + 14;
  buf[at] = (value >> 8) & 0xff;
  buf[at + 1] = value & 0xff;
}

/** The flags byte (CWR ECE URG ACK PSH RST SYN FIN, high to low). */
export function readTcpFlagsByte(buf: Uint8Array, tcpOff = tcpOffset(buf)): number {
  return buf[need(tcpOff) + 13]!;
}

export function readTcpSrcPort(buf: Uint8Array, tcpOff = tcpOffset(buf)): number {
  const at = need(tcpOff);
  return (buf[at]! << 8) | buf[at + 1]!;
}

export function readTcpDstPort(buf: Uint8Array, tcpOff = tcpOffset(buf)): number {
  const at = need(tcpOff) + 2;
  return (buf[at]! << 8) | buf[at + 1]!;
}

/** TCP payload length: datagram end minus TCP header end (0 when malformed). */
export function tcpPayloadLength(buf: Uint8Array, tcpOff = tcpOffset(buf)): number {
  const at = need(tcpOff);
  const n = ipEnd(buf) - at - (buf[at + 12]! >> 4) * 4;
  return n > 0 ? n : 0;
}

/** End of the TCP header at `tcpOff` (its data offset), bounded by the buffer. */
function tcpHeaderEnd(buf: Uint8Array, tcpOff: number): number {
  return Math.min(tcpOff + (buf[tcpOff + 12]! >> 4) * 4, buf.length);
}

/**
 * Absolute offset of the first TCP option of `kind` (its kind byte), or -1.
 * Stops at a malformed option.
 */
export function findTcpOption(buf: Uint8Array, kind: number, tcpOff = tcpOffset(buf)): number {
  if (tcpOff < 0) return -1;
  let found = -1;
  walkTcpOptions(buf, tcpOff + 20, tcpHeaderEnd(buf, tcpOff), (o) => {
    if (found < 0 && o.kind === kind) found = o.at;
  });
  return found;
}

/**
 * Absolute offset of the TSval field of the timestamp option (TSecr is the
 * 4 bytes after it), or -1 when there is no well-formed timestamp option.
 */
export function tcpTimestampOffset(buf: Uint8Array, tcpOff = tcpOffset(buf)): number {
  const at = findTcpOption(buf, TCPOPT_TIMESTAMP, tcpOff);
  return at >= 0 && buf[at + 1] === TCPOLEN_TIMESTAMP ? at + 2 : -1;
}

/**
 * Adds `delta` (modulo 2^32) to both edges of every SACK block of every SACK
 * option, as when mapping acknowledgment space between script and live
 * sequence numbers. Returns the number of blocks changed. Checksums are
 * not updated.
 */
export function offsetSackBlocks(buf: Uint8Array, delta: number, tcpOff = tcpOffset(buf)): number {
  if (tcpOff < 0) return 0;
  let blocks = 0;
  walkTcpOptions(buf, tcpOff + 20, tcpHeaderEnd(buf, tcpOff), ({ kind, at, len }) => {
    if (kind !== TCPOPT_SACK || (len - 2) % 8 !== 0) return;
    for (let p = at + 2; p < at + len; p += 4) setU32(buf, p, (u32(buf, p) + delta) >>> 0);
    blocks += (len - 2) / 8;
  });
  return blocks;
}

/** True when the TCP checksum of the packet verifies (false when not TCP). */
export function tcpChecksumOk(buf: Uint8Array): boolean {
  const off = tcpOffset(buf);
  if (off < 0) return false;
  const end = ipEnd(buf);
  if (end < off + 20) return false;
  return checksumVerifies(buf, off, end, pseudoHeaderSum(buf, 0, IPPROTO_TCP, end - off));
}

/** Recomputes and stores the IPv4 header checksum (no-op for IPv6). */
export function refreshIpChecksum(buf: Uint8Array): void {
  if (buf.length < 20 || buf[0]! >> 4 !== 4) return;
  const sum = ipv4HeaderChecksum(buf, 0, (buf[0]! & 0x0f) * 4);
  buf[10] = sum >> 8;
  buf[11] = sum & 0xff;
}

/**
 * Recomputes and stores the TCP, UDP, ICMPv4 or ICMPv6 checksum. Returns
 * false when the packet has none of those or is cut short.
 */
export function refreshL4Checksum(buf: Uint8Array): boolean {
  if (!locateL4(buf, scratch)) return false;
  const { offset, protocol } = scratch;
  const end = ipEnd(buf);
  let field: number;
  if (protocol === IPPROTO_TCP) field = 16;
  else if (protocol === IPPROTO_UDP) field = 6;
  else if (protocol === IPPROTO_ICMP || protocol === IPPROTO_ICMPV6) field = 2;
  else return false;
  if (end < offset + field + 2) return false;
  const sum = computeL4Checksum(buf, 0, offset, end, protocol);
  buf[offset + field] = sum >> 8;
  buf[offset + field + 1] = sum & 0xff;
  return true;
}

/** Recomputes every checksum of the packet after in-place edits. */
export function refreshChecksums(buf: Uint8Array): void {
  refreshL4Checksum(buf);
  refreshIpChecksum(buf);
}
