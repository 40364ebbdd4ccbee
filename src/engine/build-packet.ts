/**
 * Script packets as bytes: a TCP, UDP or ICMP line of the script becomes
 * an IP packet in script space (addresses unset, sequence numbers as
 * written), with the flags that say which fields are not to be checked.
 * This is the counterpart of packetdrill's new_tcp_packet, new_udp_packet
 * and new_icmp_packet.
 */
import type { IcmpSpec, IpInfo, PacketSpec, TcpOption, TcpSpec, UdpSpec } from '../script/ast.js';
import { icmpTypeAndCode as parserIcmpTypeAndCode } from '../script/parser.js';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from '../packet/protocols.js';
import { layoutOf, type Layout } from '../packet/layout.js';

export const TTL_CHECK_NONE = 255;

export interface ScriptPacket {
  direction: 'inbound' | 'outbound';
  buf: Buffer;
  layout: Layout;
  family: 4 | 6;
  /** `<...>`: options are not checked (outbound only). */
  optionsNoCheck: boolean;
  /** No `win`: the window is not checked (outbound only). */
  winNoCheck: boolean;
  /** Flags written with an AccECN ACE count (e.g. `S.0`). */
  parseAce: boolean;
  tosCheck: 'none' | 'ecn' | 'ect01' | 'tos';
  /** Payload length the script expects (TCP/UDP). */
  payloadLen: number;
  /** Parsed TCP flags for quick access. */
  tcpFlags?: TcpFlags;
}

export interface TcpFlags {
  fin: boolean; syn: boolean; rst: boolean; psh: boolean; ack: boolean; urg: boolean;
  ece: boolean; cwr: boolean; ae: boolean;
}

export class PacketBuildError extends Error {}

const VALID_TCP_FLAGS = '.FSRPEWAU01234567';

/**
 * Validate and read a flags word such as `S.`, `F.`, `P.`, `SEW`, `S.2`
 * (a digit is an AccECN ACE count; a non-zero count sets AE/CWR/ECE).
 */
export function parseTcpFlags(flags: string): { flags: TcpFlags; ace: number | null } {
  let hasEcn = false;
  let aceDigit: number | null = null;
  for (const c of flags) {
    if (!VALID_TCP_FLAGS.includes(c)) throw new PacketBuildError(`Invalid TCP flag: '${c}'`);
    if ('EWA'.includes(c)) {
      if (aceDigit !== null) throw new PacketBuildError(`Conflicting TCP flag: '${c}'`);
      hasEcn = true;
    }
    if (c >= '0' && c <= '7') {
      if (hasEcn || aceDigit !== null) throw new PacketBuildError(`Conflicting TCP flag: '${c}'`);
      aceDigit = c.charCodeAt(0) - 48;
    }
  }
  const has = (c: string) => flags.includes(c);
  const ace = aceDigit !== null && aceDigit !== 0 ? aceDigit : null;
  const f: TcpFlags = {
    fin: has('F'), syn: has('S'), rst: has('R'), psh: has('P'), ack: has('.'), urg: has('U'),
    ece: ace !== null ? (ace & 1) !== 0 : has('E'),
    cwr: ace !== null ? (ace & 2) !== 0 : has('W'),
    ae: ace !== null ? (ace & 4) !== 0 : has('A'),
  };
  return { flags: f, ace };
}

function hexBytes(hex: string, what: string): Buffer {
  if (hex.length % 2) throw new PacketBuildError(`${what} has an odd number of digits`);
  if (!/^[0-9a-fA-F]*$/.test(hex)) throw new PacketBuildError(`${what} '${hex}' is not a valid hex string`);
  return Buffer.from(hex, 'hex');
}

const ACCECN_ORDER: Record<'e0b' | 'e1b', Array<'e0b' | 'ceb' | 'e1b'>> = {
  e0b: ['e0b', 'ceb', 'e1b'],
  e1b: ['e1b', 'ceb', 'e0b'],
};

/** Encode the script's TCP options exactly as written (no padding added). */
export function encodeScriptTcpOptions(options: TcpOption[]): Buffer {
  const parts: Buffer[] = [];
  for (const o of options) {
    switch (o.kind) {
      case 'nop': parts.push(Buffer.from([1])); break;
      case 'eol': parts.push(Buffer.from([0])); break;
      case 'mss': { const b = Buffer.alloc(4); b[0] = 2; b[1] = 4; b.writeUInt16BE(o.value, 2); parts.push(b); break; }
      case 'wscale': parts.push(Buffer.from([3, 3, o.value])); break;
      case 'sackOK': parts.push(Buffer.from([4, 2])); break;
      case 'sack': {
        const b = Buffer.alloc(2 + 8 * o.blocks.length);
        b[0] = 5; b[1] = b.length;
        o.blocks.forEach(([l, r], i) => { b.writeUInt32BE(l >>> 0, 2 + 8 * i); b.writeUInt32BE(r >>> 0, 6 + 8 * i); });
        parts.push(b);
        break;
      }
      case 'timestamp': {
        const b = Buffer.alloc(10); b[0] = 8; b[1] = 10;
        b.writeUInt32BE(o.val >>> 0, 2); b.writeUInt32BE(o.ecr >>> 0, 6);
        parts.push(b);
        break;
      }
      case 'md5': {
        const digest = hexBytes(o.hex, 'TCP MD5 digest');
        if (digest.length > 16) throw new PacketBuildError('TCP MD5 digest longer than 16 bytes');
        parts.push(Buffer.concat([Buffer.from([19, 2 + digest.length]), digest]));
        break;
      }
      case 'fastopen': {
        const cookie = hexBytes(o.cookie, 'TCP fast open cookie');
        const max = o.exp ? 36 : 38;
        if (cookie.length > max) {
          throw new PacketBuildError(`TCP fast open cookie of ${cookie.length} bytes exceeds maximum cookie length of ${max} bytes`);
        }
        parts.push(o.exp
          ? Buffer.concat([Buffer.from([254, 4 + cookie.length, 0xf9, 0x89]), cookie])
          : Buffer.concat([Buffer.from([34, 2 + cookie.length]), cookie]));
        break;
      }
      case 'accecn': {
        const order = ACCECN_ORDER[o.first];
        const values = new Map(o.fields.map((f) => [f.name, f.value]));
        let n = 0;
        order.forEach((name, i) => { if (values.has(name)) n = i + 1; });
        const b = Buffer.alloc(2 + 3 * n);
        b[0] = o.first === 'e0b' ? 172 : 174; b[1] = b.length;
        for (let i = 0; i < n; i++) {
          const v = (values.get(order[i]!) ?? 0) >>> 0;
          b[2 + 3 * i] = (v >> 16) & 0xff; b[3 + 3 * i] = (v >> 8) & 0xff; b[4 + 3 * i] = v & 0xff;
        }
        parts.push(b);
        break;
      }
    }
  }
  return Buffer.concat(parts);
}

function writeIpHeader(buf: Buffer, family: 4 | 6, totalLen: number, ip: IpInfo, proto: number): number {
  const tos = ip.tos?.check === 'ect01' ? 0 : (ip.tos?.value ?? 0);
  const ttl = ip.ttl ? ip.ttl : TTL_CHECK_NONE;
  if (family === 4) {
    buf[0] = 0x45;
    buf[1] = tos;
    buf.writeUInt16BE(totalLen, 2);
    buf[8] = ttl;
    buf[9] = proto;
    return 20;
  }
  const fl = (ip.flowLabel ?? 0) & 0xfffff;
  buf.writeUInt32BE(((6 << 28) | (tos << 20) | fl) >>> 0, 0);
  buf.writeUInt16BE(totalLen - 40, 4);
  buf[6] = proto;
  buf[7] = ttl;
  return 40;
}

function tosCheckOf(ip: IpInfo): ScriptPacket['tosCheck'] {
  return ip.tos ? ip.tos.check : 'none';
}

function buildTcp(spec: PacketSpec, l4: TcpSpec, family: 4 | 6): ScriptPacket {
  const opts = l4.options === null ? Buffer.alloc(0) : l4.options === 'any' ? Buffer.alloc(0) : encodeScriptTcpOptions(l4.options);
  if (opts.length & 3) {
    throw new PacketBuildError(`TCP options are not padded correctly to ensure TCP header is a multiple of 4 bytes: ${opts.length & 3} excess bytes`);
  }
  const tcpLen = 20 + opts.length;
  if (tcpLen > 60) throw new PacketBuildError('TCP header too large');
  const ipLen = family === 4 ? 20 : 40;
  const total = ipLen + tcpLen + l4.payloadBytes;
  if (total > 0xffff + (family === 6 ? 40 : 0)) throw new PacketBuildError('TCP segment too large');
  const { flags, ace } = parseTcpFlags(l4.flags);
  if (l4.window === undefined && spec.direction === 'inbound') {
    throw new PacketBuildError('window must be specified for inbound packets');
  }
  const buf = Buffer.alloc(total);
  const t = writeIpHeader(buf, family, total, spec.ipInfo, IPPROTO_TCP);
  buf.writeUInt16BE(l4.srcPort ?? 0, t);
  buf.writeUInt16BE(l4.dstPort ?? 0, t + 2);
  buf.writeUInt32BE(l4.startSeq >>> 0, t + 4);
  buf.writeUInt32BE((l4.ack ?? 0) >>> 0, t + 8);
  buf[t + 12] = ((tcpLen / 4) << 4) | (flags.ae ? 1 : 0);
  buf[t + 13] =
    (flags.fin ? 0x01 : 0) | (flags.syn ? 0x02 : 0) | (flags.rst ? 0x04 : 0) | (flags.psh ? 0x08 : 0) |
    (flags.ack ? 0x10 : 0) | (flags.urg ? 0x20 : 0) | (flags.ece ? 0x40 : 0) | (flags.cwr ? 0x80 : 0);
  buf.writeUInt16BE(l4.window ?? 0, t + 14);
  buf.writeUInt16BE(l4.urgPtr ?? 0, t + 18);
  opts.copy(buf, t + 20);
  return {
    direction: spec.direction,
    buf,
    layout: layoutOf(buf)!,
    family,
    optionsNoCheck: l4.options === 'any',
    winNoCheck: l4.window === undefined,
    parseAce: ace !== null,
    tosCheck: tosCheckOf(spec.ipInfo),
    payloadLen: l4.payloadBytes,
    tcpFlags: flags,
  };
}

function buildUdp(spec: PacketSpec, l4: UdpSpec, family: 4 | 6): ScriptPacket {
  const ipLen = family === 4 ? 20 : 40;
  const total = ipLen + 8 + l4.payloadBytes;
  const buf = Buffer.alloc(total);
  const u = writeIpHeader(buf, family, total, spec.ipInfo, IPPROTO_UDP);
  buf.writeUInt16BE(l4.srcPort ?? 0, u);
  buf.writeUInt16BE(l4.dstPort ?? 0, u + 2);
  buf.writeUInt16BE(8 + l4.payloadBytes, u + 4);
  return {
    direction: spec.direction, buf, layout: layoutOf(buf)!, family, optionsNoCheck: false, winNoCheck: false,
    parseAce: false, tosCheck: tosCheckOf(spec.ipInfo), payloadLen: l4.payloadBytes,
  };
}

/** Type and code bytes of an ICMP line (the parser's reading of the names, as packetdrill's). */
export function icmpTypeAndCode(family: 4 | 6, type: string, code: string | undefined): { type: number; code: number } {
  const r = parserIcmpTypeAndCode(family === 6 ? 'ipv6' : 'ipv4', type, code);
  if ('error' in r) throw new PacketBuildError(r.error);
  return r;
}

function buildIcmp(spec: PacketSpec, l4: IcmpSpec, family: 4 | 6): ScriptPacket {
  const ipLen = family === 4 ? 20 : 40;
  const proto = family === 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
  const echoedProto = l4.echoed.proto;
  const echoedBytes = echoedProto === 'raw' ? 0 : ipLen + 8;
  const icmpBytes = echoedProto === 'raw' ? l4.echoed.payloadBytes : 8 + echoedBytes;
  if (icmpBytes < 8) throw new PacketBuildError(`icmp_bytes ${icmpBytes} smaller than icmp header length 8`);
  const { type, code } = icmpTypeAndCode(family, l4.type, l4.code);
  const total = ipLen + icmpBytes;
  const buf = Buffer.alloc(total);
  const i = writeIpHeader(buf, family, total, spec.ipInfo, proto);
  buf[i] = type;
  buf[i + 1] = code;
  if (l4.mtu !== undefined) {
    if (family === 4) {
      if (type !== 3 || code !== 4) throw new PacketBuildError('ICMPv4 MTU is only valid for unreachable-frag_needed');
      if (l4.mtu < 0 || l4.mtu > 0xffff) throw new PacketBuildError('ICMPv4 MTU out of 16-bit range');
      buf.writeUInt16BE(l4.mtu, i + 6);
    } else {
      if (type !== 2 || code !== 0) throw new PacketBuildError('ICMPv6 MTU is only valid for packet_too_big-0');
      buf.writeUInt32BE(l4.mtu >>> 0, i + 4);
    }
  }
  if (l4.echoId !== undefined) {
    if (l4.echoId < 0 || l4.echoId > 65535) throw new PacketBuildError('invalid echo_id, must be between 0 and 65535');
    if (l4.echoId > 0) buf.writeUInt16BE(l4.echoId, i + 4);
  }
  if (echoedBytes) {
    const e = i + 8;
    const eproto = echoedProto === 'tcp' ? IPPROTO_TCP : IPPROTO_UDP;
    const l4len = echoedProto === 'tcp' ? 20 : 8;
    const echoedIpTotal = ipLen + l4len + l4.echoed.payloadBytes;
    const hdr = Buffer.alloc(ipLen);
    writeIpHeader(hdr, family, echoedIpTotal, {}, eproto);
    hdr.copy(buf, e);
    if (echoedProto === 'tcp') buf.writeUInt32BE(l4.echoed.startSeq >>> 0, e + ipLen + 4);
  }
  return {
    direction: spec.direction, buf, layout: layoutOf(buf)!, family, optionsNoCheck: false, winNoCheck: false,
    parseAce: false, tosCheck: tosCheckOf(spec.ipInfo), payloadLen: 0,
  };
}

/** Build a script packet for a run whose wire family is `family`. */
export function buildScriptPacket(spec: PacketSpec, family: 4 | 6): ScriptPacket {
  if (spec.encap.length > 0) {
    throw new PacketBuildError(`${spec.encap[0]!.kind} encapsulation is not supported in local mode`);
  }
  if (spec.l4.proto === 'tcp') {
    if (spec.l4.psp) throw new PacketBuildError('PSP requires wireserver mode (use --wire_client or --wire_server)');
    return buildTcp(spec, spec.l4, family);
  }
  if (spec.l4.proto === 'udp') return buildUdp(spec, spec.l4, family);
  return buildIcmp(spec, spec.l4, family);
}
