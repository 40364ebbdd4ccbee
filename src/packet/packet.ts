/**
 * Whole packets: IP (v4 or v6) + TCP/UDP/ICMP + payload.
 *
 * `decodePacket` turns raw bytes as read from a TUN device (no link-layer
 * header) into plain typed objects and never throws: truncated or malformed
 * input yields a packet with `errors` and `truncated` set, decoded as far as
 * it goes. `encodePacket` builds bytes from per-layer specs, computing
 * lengths, data offsets, next-header chains and checksums unless a field is
 * given explicitly.
 */

import { finishChecksum, pseudoHeaderSum, sumWords, checksumVerifies } from './checksum.js';
import {
  ICMPV4,
  ICMPV4_HEADER_LEN,
  ICMP_DEST_UNREACH,
  ICMP_ECHO,
  ICMP_ECHOREPLY,
  ICMP_FRAG_NEEDED,
  icmpv4IsError,
  type Icmpv4Fixed,
  type Icmpv4Spec,
} from './icmpv4.js';
import {
  ICMPV6,
  ICMPV6_ECHO_REPLY,
  ICMPV6_ECHO_REQUEST,
  ICMPV6_HEADER_LEN,
  ICMPV6_PKT_TOOBIG,
  icmpv6IsError,
  type Icmpv6Fixed,
  type Icmpv6Spec,
} from './icmpv6.js';
import {
  IPV4,
  IPV4_FLAG_MF,
  IPV4_HEADER_LEN,
  ipv4HeaderChecksum,
  ipv4HeaderChecksumOk,
  type Ipv4Header,
  type Ipv4Spec,
} from './ipv4.js';
import { IPV6, IPV6_HEADER_LEN, decodeIpv6, type Ipv6Header, type Ipv6Spec } from './ipv6.js';
import { TCP, TCP_HEADER_LEN, parseTcpFlags, type TcpFlagName, type TcpHeader, type TcpSpec } from './tcp.js';
import { MAX_TCP_OPTION_BYTES, decodeTcpOptions, tcpOptionsLength, writeTcpOptions } from './tcp-options.js';
import { UDP, UDP_HEADER_LEN, type UdpHeader, type UdpSpec } from './udp.js';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from './protocols.js';

export { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP };

/** A decoded ICMPv4 header with its type-specific word interpreted. */
export interface Icmpv4Header extends Icmpv4Fixed {
  /** Next-hop MTU of an unreachable/frag_needed message. */
  mtu?: number;
  /** Identifier and sequence of an echo request or reply. */
  echoId?: number;
  echoSequence?: number;
  /** The quoted datagram of an error message, decoded as far as it goes. */
  quoted?: DecodedPacket;
}

/** A decoded ICMPv6 header with its type-specific word interpreted. */
export interface Icmpv6Header extends Icmpv6Fixed {
  /** MTU of a packet-too-big message. */
  mtu?: number;
  echoId?: number;
  echoSequence?: number;
  /** The quoted packet of an error message, decoded as far as it goes. */
  quoted?: DecodedPacket;
}

/** The first 8 bytes of a TCP header, as an ICMP error quotes them. */
export interface PartialTcpHeader {
  srcPort: number;
  dstPort: number;
  seq: number;
}

export interface DecodedPacket {
  /** The bytes that were decoded (not copied; views below point into it). */
  buffer: Buffer;
  /** 4 or 6; undefined when there is no usable IP header. */
  ipVersion?: 4 | 6;
  ipv4?: Ipv4Header;
  ipv6?: Ipv6Header;
  /** Source and destination address text (inet_ntop form). */
  src?: string;
  dst?: string;
  /** Upper-layer protocol number (after any IPv6 extension headers). */
  protocol?: number;
  /** Offset of the upper-layer header, or -1. */
  l4Offset: number;
  /** Datagram length the IP header claims (total length, or 40 + payload length). */
  ipLength: number;
  /** End of the datagram within `buffer`: min(ipLength, buffer.length). */
  end: number;
  tcp?: TcpHeader;
  udp?: UdpHeader;
  icmpv4?: Icmpv4Header;
  icmpv6?: Icmpv6Header;
  /** Set instead of `tcp` when fewer than 20 but at least 8 TCP bytes are there (quoted headers). */
  partialTcp?: PartialTcpHeader;
  /** Ports of TCP or UDP (also from partial headers). */
  srcPort?: number;
  dstPort?: number;
  /** Offset of the payload after the upper-layer header (or of the whole upper layer if unknown). */
  payloadOffset: number;
  /** Payload bytes (a view into `buffer`), up to `end`. */
  payload: Buffer;
  /** What was wrong with the bytes, in packetdrill's wording where it has one; empty when all is well. */
  errors: string[];
  /** True when the bytes end before what the headers promise. */
  truncated: boolean;
  /** IPv4 header checksum verified (undefined for IPv6 or when not checked). */
  ipChecksumOk?: boolean;
  /** TCP/UDP/ICMP checksum verified; only set when asked for and the packet is complete. */
  l4ChecksumOk?: boolean;
}

export interface DecodeOptions {
  /**
   * Decode an ICMP-quoted datagram: being cut short is expected (no error,
   * `truncated` still set) and checksums are not verified.
   */
  quoted?: boolean;
  /** Verify the upper-layer checksum too (sets `l4ChecksumOk`). */
  verifyChecksums?: boolean;
}

const EMPTY = Buffer.alloc(0);

function emptyPacket(buffer: Buffer): DecodedPacket {
  return {
    buffer,
    l4Offset: -1,
    ipLength: 0,
    end: buffer.length,
    payloadOffset: buffer.length,
    payload: EMPTY,
    errors: [],
    truncated: false,
  };
}

/**
 * Decodes one IP packet. Never throws: problems are listed in `errors` and
 * the packet is decoded as far as its bytes allow.
 */
export function decodePacket(input: Uint8Array, options: DecodeOptions = {}): DecodedPacket {
  const buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const quoted = options.quoted === true;
  const p = emptyPacket(buf);
  if (buf.length < 1) {
    p.errors.push('IP header overflows packet');
    p.truncated = true;
    return p;
  }
  const version = buf[0]! >> 4;
  let l4Offset: number;
  let protocol: number;
  if (version === 4) {
    if (buf.length < IPV4_HEADER_LEN) {
      p.errors.push('IP header overflows packet');
      p.truncated = true;
      return p;
    }
    const ip = IPV4.decode(buf, 0) as Ipv4Header;
    const hdrLen = ip.ihl * 4;
    p.ipVersion = 4;
    p.ipv4 = ip;
    p.src = ip.src;
    p.dst = ip.dst;
    p.protocol = protocol = ip.protocol;
    p.ipLength = ip.totalLength;
    if (hdrLen < IPV4_HEADER_LEN) {
      p.errors.push('IP header too short');
      ip.options = EMPTY;
      return p;
    }
    if (hdrLen > buf.length) {
      p.errors.push('Full IP header overflows packet');
      p.truncated = true;
      ip.options = Buffer.from(buf.subarray(IPV4_HEADER_LEN));
      return p;
    }
    ip.options = Buffer.from(buf.subarray(IPV4_HEADER_LEN, hdrLen));
    if (ip.totalLength > buf.length) {
      p.truncated = true;
      if (!quoted) p.errors.push('IP payload overflows packet');
    }
    p.end = Math.min(ip.totalLength, buf.length);
    if (hdrLen > ip.totalLength) {
      p.errors.push('IP header bigger than datagram');
      p.end = buf.length;
    }
    if (!quoted) {
      p.ipChecksumOk = ipv4HeaderChecksumOk(buf, 0);
      if (!p.ipChecksumOk) p.errors.push('Bad IP checksum');
    }
    if (ip.flags & IPV4_FLAG_MF) p.errors.push('More fragments remaining');
    if (ip.fragmentOffset !== 0) {
      p.errors.push('Non-zero fragment offset');
      p.payloadOffset = hdrLen;
      p.payload = buf.subarray(hdrLen, p.end);
      return p;
    }
    l4Offset = hdrLen;
  } else if (version === 6) {
    if (buf.length < IPV6_HEADER_LEN) {
      p.errors.push('IPv6 header overflows packet');
      p.truncated = true;
      return p;
    }
    const ipLength = IPV6_HEADER_LEN + ((buf[4]! << 8) | buf[5]!);
    p.ipLength = ipLength;
    if (ipLength > buf.length) {
      p.truncated = true;
      if (!quoted) p.errors.push('IPv6 payload overflows packet');
    }
    p.end = Math.min(ipLength, buf.length);
    const { header, chain } = decodeIpv6(buf, 0, p.end);
    p.ipVersion = 6;
    p.ipv6 = header;
    p.src = header.src;
    p.dst = header.dst;
    p.protocol = protocol = chain.protocol;
    if (chain.error !== undefined) {
      p.errors.push(chain.error);
      p.truncated = true;
      p.payloadOffset = chain.offset;
      p.payload = buf.subarray(Math.min(chain.offset, p.end), p.end);
      return p;
    }
    if (chain.fragmented) {
      p.errors.push('Non-zero fragment offset');
      p.payloadOffset = chain.offset;
      p.payload = buf.subarray(chain.offset, p.end);
      return p;
    }
    l4Offset = chain.offset;
  } else {
    p.errors.push('Unsupported IP version');
    return p;
  }

  p.l4Offset = l4Offset;
  const end = p.end;
  const l4Bytes = end - l4Offset;
  switch (protocol) {
    case IPPROTO_TCP:
      decodeTcpPart(p, buf, l4Offset, l4Bytes, quoted);
      break;
    case IPPROTO_UDP:
      decodeUdpPart(p, buf, l4Offset, l4Bytes, quoted);
      break;
    case IPPROTO_ICMP:
      decodeIcmpPart(p, buf, l4Offset, l4Bytes, 4);
      break;
    case IPPROTO_ICMPV6:
      decodeIcmpPart(p, buf, l4Offset, l4Bytes, 6);
      break;
    default:
      p.payloadOffset = l4Offset;
      p.payload = buf.subarray(l4Offset, end);
  }
  if (options.verifyChecksums === true && !p.truncated && p.payloadOffset <= end && !quoted) {
    p.l4ChecksumOk = l4ChecksumOk(buf, 0, l4Offset, end, protocol);
  }
  return p;
}

function setPorts(p: DecodedPacket, buf: Buffer, at: number, bytes: number): void {
  if (bytes >= 4) {
    p.srcPort = (buf[at]! << 8) | buf[at + 1]!;
    p.dstPort = (buf[at + 2]! << 8) | buf[at + 3]!;
  }
}

function decodeTcpPart(p: DecodedPacket, buf: Buffer, at: number, bytes: number, quoted: boolean): void {
  setPorts(p, buf, at, bytes);
  p.payloadOffset = p.end;
  p.payload = EMPTY;
  if (bytes < TCP_HEADER_LEN) {
    if (bytes >= 8) {
      p.partialTcp = { srcPort: p.srcPort!, dstPort: p.dstPort!, seq: buf.readUInt32BE(at + 4) };
    }
    if (!quoted) p.errors.push('Truncated TCP header');
    p.truncated = true;
    return;
  }
  const tcp = TCP.decode(buf, at) as TcpHeader;
  p.tcp = tcp;
  const hdrLen = tcp.dataOffset * 4;
  let optEnd = at + hdrLen;
  if (hdrLen < TCP_HEADER_LEN) {
    p.errors.push('TCP data offset too small');
    optEnd = at + TCP_HEADER_LEN;
  } else if (hdrLen > bytes) {
    p.errors.push('TCP data offset too big');
    optEnd = at + bytes;
  }
  tcp.optionsRaw = buf.subarray(at + TCP_HEADER_LEN, optEnd);
  const opts = decodeTcpOptions(buf, at + TCP_HEADER_LEN, optEnd, at);
  tcp.options = opts.options;
  if (opts.error !== undefined) tcp.optionsError = opts.error;
  p.payloadOffset = optEnd;
  p.payload = buf.subarray(optEnd, p.end);
}

function decodeUdpPart(p: DecodedPacket, buf: Buffer, at: number, bytes: number, quoted: boolean): void {
  setPorts(p, buf, at, bytes);
  if (bytes < UDP_HEADER_LEN) {
    if (!quoted) p.errors.push('Truncated UDP header');
    p.truncated = true;
    p.payloadOffset = p.end;
    p.payload = EMPTY;
    return;
  }
  const udp = UDP.decode(buf, at);
  p.udp = udp;
  if (!quoted && !p.truncated) {
    if (udp.length < UDP_HEADER_LEN) p.errors.push('UDP datagram length too small for UDP header');
    else if (udp.length < bytes) p.errors.push('UDP datagram length too small');
    else if (udp.length > bytes) p.errors.push('UDP datagram length too big');
  }
  p.payloadOffset = at + UDP_HEADER_LEN;
  p.payload = buf.subarray(at + UDP_HEADER_LEN, p.end);
}

function decodeIcmpPart(p: DecodedPacket, buf: Buffer, at: number, bytes: number, version: 4 | 6): void {
  if (bytes < ICMPV4_HEADER_LEN) {
    p.errors.push(version === 4 ? 'Truncated ICMPv4 header' : 'Truncated ICMPv6 header');
    p.truncated = true;
    p.payloadOffset = p.end;
    p.payload = EMPTY;
    return;
  }
  const body = buf.subarray(at + ICMPV4_HEADER_LEN, p.end);
  p.payloadOffset = at + ICMPV4_HEADER_LEN;
  p.payload = body;
  if (version === 4) {
    const h = ICMPV4.decode(buf, at) as Icmpv4Header;
    if (h.type === ICMP_DEST_UNREACH && h.code === ICMP_FRAG_NEEDED) h.mtu = h.rest & 0xffff;
    if (h.type === ICMP_ECHO || h.type === ICMP_ECHOREPLY) {
      h.echoId = h.rest >>> 16;
      h.echoSequence = h.rest & 0xffff;
    }
    if (icmpv4IsError(h.type) && body.length > 0) h.quoted = decodePacket(body, { quoted: true });
    p.icmpv4 = h;
  } else {
    const h = ICMPV6.decode(buf, at) as Icmpv6Header;
    if (h.type === ICMPV6_PKT_TOOBIG) h.mtu = h.rest;
    if (h.type === ICMPV6_ECHO_REQUEST || h.type === ICMPV6_ECHO_REPLY) {
      h.echoId = h.rest >>> 16;
      h.echoSequence = h.rest & 0xffff;
    }
    if (icmpv6IsError(h.type) && body.length > 0) h.quoted = decodePacket(body, { quoted: true });
    p.icmpv6 = h;
  }
}

/** Offset of the checksum field inside an upper-layer header, or -1 for protocols without one we know. */
function checksumFieldOffset(protocol: number): number {
  switch (protocol) {
    case IPPROTO_TCP:
      return 16;
    case IPPROTO_UDP:
      return 6;
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6:
      return 2;
    default:
      return -1;
  }
}

/** Verifies the upper-layer checksum of [l4Offset, end) of the IP packet at `ipOffset`. */
function l4ChecksumOk(buf: Buffer, ipOffset: number, l4Offset: number, end: number, protocol: number): boolean | undefined {
  if (checksumFieldOffset(protocol) < 0) return undefined;
  const len = end - l4Offset;
  if (protocol === IPPROTO_ICMP) return checksumVerifies(buf, l4Offset, end);
  if (protocol === IPPROTO_UDP && buf[ipOffset]! >> 4 === 4 && buf[l4Offset + 6] === 0 && buf[l4Offset + 7] === 0) {
    return true; // no checksum sent
  }
  return checksumVerifies(buf, l4Offset, end, pseudoHeaderSum(buf, ipOffset, protocol, len));
}

/**
 * Computes the checksum an upper-layer header [l4Offset, end) should carry
 * (with its checksum field taken as zero).
 */
export function computeL4Checksum(
  buf: Uint8Array,
  ipOffset: number,
  l4Offset: number,
  end: number,
  protocol: number,
): number {
  const field = checksumFieldOffset(protocol);
  if (field < 0) throw new Error(`no checksum known for IP protocol ${protocol}`);
  const pseudo = protocol === IPPROTO_ICMP ? 0 : pseudoHeaderSum(buf, ipOffset, protocol, end - l4Offset);
  let acc = sumWords(buf, l4Offset, end, pseudo);
  acc -= (buf[l4Offset + field]! << 8) | buf[l4Offset + field + 1]!;
  let sum = finishChecksum(acc);
  if (protocol === IPPROTO_UDP && sum === 0) sum = 0xffff;
  return sum;
}

/** Everything needed to build one packet. Give exactly one of `ipv4` / `ipv6`, and at most one upper layer. */
export interface PacketToEncode {
  ipv4?: Ipv4Spec;
  /**
   * With extension headers, their next-header bytes are chained and the
   * fixed header names the first one. Without an upper-layer part,
   * `nextHeader` is the protocol at the end of the chain.
   */
  ipv6?: Ipv6Spec;
  tcp?: TcpSpec;
  udp?: UdpSpec;
  icmpv4?: Icmpv4Spec;
  icmpv6?: Icmpv6Spec;
  /**
   * Bytes after the upper-layer header (for ICMP errors: the quoted
   * datagram), or a length for that many zero bytes. Without an upper-layer
   * part this is the whole IP payload and `ipv4.protocol` /
   * `ipv6.nextHeader` must be given.
   */
  payload?: Uint8Array | number;
}

const TCP_FLAG_NAMES: readonly TcpFlagName[] = ['fin', 'syn', 'rst', 'psh', 'ack', 'urg', 'ece', 'cwr', 'ae'];

function pad4(n: number): number {
  return (n + 3) & ~3;
}

function storeChecksum(buf: Uint8Array, at: number, value: number, bad: boolean | undefined): void {
  const v = bad === true ? value ^ 1 : value;
  buf[at] = v >> 8;
  buf[at + 1] = v & 0xff;
}

/**
 * Builds the bytes of one packet. Lengths (IPv4 ihl and total length, IPv6
 * payload length, TCP data offset, UDP length), protocol numbers and
 * checksums are computed unless given explicitly in the spec; `badChecksum`
 * on a layer stores a wrong checksum there. Throws on specs that cannot be
 * encoded (no IP layer, value out of range, options over 40 bytes, ...).
 */
export function encodePacket(p: PacketToEncode): Buffer {
  if ((p.ipv4 === undefined) === (p.ipv6 === undefined)) {
    throw new Error('encodePacket: give exactly one of ipv4 or ipv6');
  }
  const l4Count =
    (p.tcp ? 1 : 0) + (p.udp ? 1 : 0) + (p.icmpv4 ? 1 : 0) + (p.icmpv6 ? 1 : 0);
  if (l4Count > 1) throw new Error('encodePacket: give at most one of tcp, udp, icmpv4, icmpv6');

  // Sizes.
  let ipHdrLen: number;
  if (p.ipv4 !== undefined) {
    ipHdrLen = IPV4_HEADER_LEN + pad4(p.ipv4.options?.length ?? 0);
    if (ipHdrLen > 60) throw new Error(`IPv4 options too long: ${ipHdrLen - IPV4_HEADER_LEN} bytes (max 40)`);
  } else {
    ipHdrLen = IPV6_HEADER_LEN;
    for (const e of p.ipv6!.extensionHeaders ?? []) ipHdrLen += e.data.length;
  }
  let l4HdrLen = 0;
  let protocol: number | undefined;
  let tcpOptLen = 0;
  if (p.tcp !== undefined) {
    const o = p.tcp.options;
    tcpOptLen = o === undefined ? 0 : o instanceof Uint8Array ? o.length : tcpOptionsLength(o);
    tcpOptLen = pad4(tcpOptLen);
    if (tcpOptLen > MAX_TCP_OPTION_BYTES) {
      throw new Error(`TCP options too long: ${tcpOptLen} bytes (max ${MAX_TCP_OPTION_BYTES})`);
    }
    l4HdrLen = TCP_HEADER_LEN + tcpOptLen;
    protocol = IPPROTO_TCP;
  } else if (p.udp !== undefined) {
    l4HdrLen = UDP_HEADER_LEN;
    protocol = IPPROTO_UDP;
  } else if (p.icmpv4 !== undefined) {
    l4HdrLen = ICMPV4_HEADER_LEN;
    protocol = IPPROTO_ICMP;
  } else if (p.icmpv6 !== undefined) {
    l4HdrLen = ICMPV6_HEADER_LEN;
    protocol = IPPROTO_ICMPV6;
  } else {
    protocol = p.ipv4 !== undefined ? p.ipv4.protocol : p.ipv6!.nextHeader;
    if (protocol === undefined) {
      throw new Error('encodePacket: without tcp, udp or icmp give ipv4.protocol or ipv6.nextHeader');
    }
  }
  const payloadLen = p.payload === undefined ? 0 : typeof p.payload === 'number' ? p.payload : p.payload.length;
  if (!Number.isInteger(payloadLen) || payloadLen < 0) throw new RangeError(`bad payload length ${payloadLen}`);
  const total = ipHdrLen + l4HdrLen + payloadLen;
  const l4Offset = ipHdrLen;
  const buf = Buffer.alloc(total);

  // IP header (checksum filled in last).
  if (p.ipv4 !== undefined) {
    const s = p.ipv4;
    if (total > 0xffff && s.totalLength === undefined) throw new RangeError(`IPv4 packet too long: ${total} bytes`);
    IPV4.encode(s, buf, 0);
    if (s.ihl === undefined) IPV4.writeField(buf, 0, 'ihl', ipHdrLen / 4);
    if (s.totalLength === undefined) IPV4.writeField(buf, 0, 'totalLength', total);
    if (s.protocol === undefined) IPV4.writeField(buf, 0, 'protocol', protocol);
    if (s.options !== undefined) buf.set(s.options, IPV4_HEADER_LEN);
  } else {
    const s = p.ipv6!;
    const exts = s.extensionHeaders ?? [];
    if (total - IPV6_HEADER_LEN > 0xffff && s.payloadLength === undefined) {
      throw new RangeError(`IPv6 payload too long: ${total - IPV6_HEADER_LEN} bytes`);
    }
    const hasL4 = l4Count === 1;
    const upper = protocol;
    const fixedNext =
      hasL4 && s.nextHeader !== undefined ? s.nextHeader : exts.length > 0 ? exts[0]!.type : upper;
    IPV6.encode(s, buf, 0);
    if (s.payloadLength === undefined) IPV6.writeField(buf, 0, 'payloadLength', total - IPV6_HEADER_LEN);
    IPV6.writeField(buf, 0, 'nextHeader', fixedNext);
    let at = IPV6_HEADER_LEN;
    for (let i = 0; i < exts.length; i++) {
      const e = exts[i]!;
      buf.set(e.data, at);
      if (e.data.length > 0) buf[at] = i + 1 < exts.length ? exts[i + 1]!.type : upper;
      at += e.data.length;
    }
  }

  // Upper layer.
  const payloadAt = l4Offset + l4HdrLen;
  if (p.payload instanceof Uint8Array) buf.set(p.payload, payloadAt);
  let checksumAt = -1;
  let checksumGiven: number | undefined;
  let bad: boolean | undefined;
  if (p.tcp !== undefined) {
    const s = p.tcp;
    TCP.encode(s, buf, l4Offset);
    if (s.flags !== undefined) {
      const letters = parseTcpFlags(s.flags);
      for (const name of TCP_FLAG_NAMES) {
        if (s[name] === undefined) TCP.writeField(buf, l4Offset, name, letters[name]);
      }
    }
    if (s.dataOffset === undefined) TCP.writeField(buf, l4Offset, 'dataOffset', l4HdrLen / 4);
    const o = s.options;
    if (o instanceof Uint8Array) buf.set(o, l4Offset + TCP_HEADER_LEN);
    else if (o !== undefined) writeTcpOptions(o, buf, l4Offset + TCP_HEADER_LEN, true);
    checksumAt = l4Offset + 16;
    checksumGiven = s.checksum;
    bad = s.badChecksum;
  } else if (p.udp !== undefined) {
    const s = p.udp;
    UDP.encode(s, buf, l4Offset);
    if (s.length === undefined) UDP.writeField(buf, l4Offset, 'length', total - l4Offset);
    checksumAt = l4Offset + 6;
    checksumGiven = s.checksum;
    bad = s.badChecksum;
  } else if (p.icmpv4 !== undefined) {
    const s = p.icmpv4;
    ICMPV4.encode(s, buf, l4Offset);
    if (s.rest === undefined) ICMPV4.writeField(buf, l4Offset, 'rest', icmpRest(s, false));
    checksumAt = l4Offset + 2;
    checksumGiven = s.checksum;
    bad = s.badChecksum;
  } else if (p.icmpv6 !== undefined) {
    const s = p.icmpv6;
    ICMPV6.encode(s, buf, l4Offset);
    if (s.rest === undefined) ICMPV6.writeField(buf, l4Offset, 'rest', icmpRest(s, true));
    checksumAt = l4Offset + 2;
    checksumGiven = s.checksum;
    bad = s.badChecksum;
  }
  if (checksumAt >= 0) {
    if (checksumGiven !== undefined) {
      storeChecksum(buf, checksumAt, checksumGiven, false);
    } else {
      storeChecksum(buf, checksumAt, computeL4Checksum(buf, 0, l4Offset, total, protocol), bad);
    }
  }

  if (p.ipv4 !== undefined) {
    const s = p.ipv4;
    const sum = s.checksum ?? ipv4HeaderChecksum(buf, 0, ipHdrLen);
    storeChecksum(buf, 10, sum, s.checksum === undefined ? s.badChecksum : false);
  }
  return buf;
}

function icmpRest(s: Icmpv4Spec | Icmpv6Spec, v6: boolean): number {
  if (s.mtu !== undefined) {
    const limit = v6 ? 0xffffffff : 0xffff;
    if (!Number.isInteger(s.mtu) || s.mtu < 0 || s.mtu > limit) {
      throw new RangeError(`ICMP${v6 ? 'v6' : 'v4'} MTU must be in 0..${limit}, got ${s.mtu}`);
    }
    return s.mtu;
  }
  if (s.echoId !== undefined || s.echoSequence !== undefined) {
    const id = s.echoId ?? 0;
    const seq = s.echoSequence ?? 0;
    if (!Number.isInteger(id) || id < 0 || id > 0xffff || !Number.isInteger(seq) || seq < 0 || seq > 0xffff) {
      throw new RangeError('ICMP echo id and sequence must be in 0..65535');
    }
    return (id * 0x10000 + seq) >>> 0;
  }
  return 0;
}

/**
 * The start of a packet as an ICMP error quotes it: the IP header (with
 * options or extension headers) and the first `l4Bytes` bytes after it (8
 * by default, enough for ports and the TCP sequence number). Lengths and
 * checksums inside are those of the full packet, so a `payload` given as a
 * number sets the quoted total length without carrying the bytes.
 */
export function encodeQuoted(p: PacketToEncode, l4Bytes = 8): Buffer {
  const full = encodePacket(p);
  let hdrLen: number;
  if (p.ipv4 !== undefined) {
    hdrLen = (full[0]! & 0x0f) * 4;
  } else {
    hdrLen = IPV6_HEADER_LEN;
    for (const e of p.ipv6!.extensionHeaders ?? []) hdrLen += e.data.length;
  }
  return Buffer.from(full.subarray(0, Math.min(full.length, hdrLen + l4Bytes)));
}
