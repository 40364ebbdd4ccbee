/**
 * Script packets as bytes: a TCP, UDP or ICMP line of the script becomes
 * an IP packet in script space (addresses unset, sequence numbers as
 * written, checksums zero until the packet is mapped to live values), with
 * the flags that say which fields are not to be checked. This is the
 * counterpart of packetdrill's new_tcp_packet, new_udp_packet and
 * new_icmp_packet; the bytes come from the packet layer's encoder.
 */
import type { IcmpSpec, IpInfo, PacketSpec, TcpSpec, UdpSpec } from '../script/ast.js';
import { icmpTypeAndCode as parserIcmpTypeAndCode } from '../script/parser.js';
import { layoutOf, type Layout } from '../packet/layout.js';
import type { Ipv4Spec } from '../packet/ipv4.js';
import type { Ipv6Spec } from '../packet/ipv6.js';
import { encodePacket, encodeQuoted, type PacketToEncode } from '../packet/packet.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../packet/protocols.js';
import { parseTcpFlags, tcpAce, type TcpFlags } from '../packet/tcp.js';
import { MAX_TCP_OPTION_BYTES, tcpOptionsLength } from '../packet/tcp-options.js';

export type { TcpFlags };

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

export class PacketBuildError extends Error {}

/** The IP part of a script packet: unset addresses, the line's TOS, flow label and TTL. */
function ipSpec(family: 4 | 6, ip: IpInfo, protocol?: number): Pick<PacketToEncode, 'ipv4' | 'ipv6'> {
  const tos = ip.tos?.check === 'ect01' ? 0 : (ip.tos?.value ?? 0);
  const ttl = ip.ttl ? ip.ttl : TTL_CHECK_NONE;
  if (family === 4) {
    const ipv4: Ipv4Spec = { src: '0.0.0.0', dst: '0.0.0.0', tos, ttl, checksum: 0 };
    if (protocol !== undefined) ipv4.protocol = protocol;
    return { ipv4 };
  }
  const ipv6: Ipv6Spec = { src: '::', dst: '::', trafficClass: tos, flowLabel: (ip.flowLabel ?? 0) & 0xfffff, hopLimit: ttl };
  if (protocol !== undefined) ipv6.nextHeader = protocol;
  return { ipv6 };
}

function tosCheckOf(ip: IpInfo): ScriptPacket['tosCheck'] {
  return ip.tos ? ip.tos.check : 'none';
}

function buildTcp(spec: PacketSpec, l4: TcpSpec, family: 4 | 6): ScriptPacket {
  const options = l4.options === null || l4.options === 'any' ? [] : l4.options;
  const optionBytes = tcpOptionsLength(options);
  if (optionBytes & 3) {
    throw new PacketBuildError(`TCP options are not padded correctly to ensure TCP header is a multiple of 4 bytes: ${optionBytes & 3} excess bytes`);
  }
  if (optionBytes > MAX_TCP_OPTION_BYTES) throw new PacketBuildError('TCP header too large');
  const ipLen = family === 4 ? 20 : 40;
  const total = ipLen + 20 + optionBytes + l4.payloadBytes;
  if (total > 0xffff + (family === 6 ? 40 : 0)) throw new PacketBuildError('TCP segment too large');
  const { flags, ace } = scriptFlags(l4.flags);
  if (l4.window === undefined && spec.direction === 'inbound') {
    throw new PacketBuildError('window must be specified for inbound packets');
  }
  const packet: PacketToEncode = ipSpec(family, spec.ipInfo);
  packet.tcp = {
    srcPort: l4.srcPort ?? 0,
    dstPort: l4.dstPort ?? 0,
    seq: l4.startSeq >>> 0,
    ackSeq: (l4.ack ?? 0) >>> 0,
    fin: flags.fin, syn: flags.syn, rst: flags.rst, psh: flags.psh, ack: flags.ack, urg: flags.urg,
    ece: flags.ece, cwr: flags.cwr, ae: flags.ae,
    window: l4.window ?? 0,
    urgentPointer: l4.urgPtr ?? 0,
    checksum: 0,
    options,
  };
  packet.payload = l4.payloadBytes;
  const buf = encodePacket(packet);
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

/**
 * The flags of a script line (`S.`, `F.`, `SEW`, `S.2`): a digit is an
 * AccECN ACE count, and a non-zero one sets AE, CWR and ECE (`ace` is then
 * the count, else null).
 */
export function scriptFlags(text: string): { flags: TcpFlags; ace: number | null } {
  let flags: TcpFlags;
  try {
    flags = parseTcpFlags(text);
  } catch (e) {
    throw new PacketBuildError((e as Error).message);
  }
  const ace = tcpAce(flags);
  return { flags, ace: /[1-7]/.test(text) && ace !== 0 ? ace : null };
}

function buildUdp(spec: PacketSpec, l4: UdpSpec, family: 4 | 6): ScriptPacket {
  const packet: PacketToEncode = ipSpec(family, spec.ipInfo);
  packet.udp = { srcPort: l4.srcPort ?? 0, dstPort: l4.dstPort ?? 0, checksum: 0 };
  packet.payload = l4.payloadBytes;
  const buf = encodePacket(packet);
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

/** The IP packet an ICMP error line echoes: its IP header and the first 8 bytes after it. */
function echoedPacket(l4: IcmpSpec, family: 4 | 6): Buffer {
  const echoed = l4.echoed;
  if (echoed.proto === 'raw') return Buffer.alloc(0);
  const upper: Pick<PacketToEncode, 'tcp' | 'udp'> =
    echoed.proto === 'tcp'
      ? { tcp: { seq: echoed.startSeq >>> 0, dataOffset: 0, checksum: 0 } }
      : { udp: { length: 0, checksum: 0 } };
  return encodeQuoted({ ...ipSpec(family, {}, echoed.proto === 'tcp' ? IPPROTO_TCP : IPPROTO_UDP), ...upper, payload: echoed.payloadBytes });
}

function buildIcmp(spec: PacketSpec, l4: IcmpSpec, family: 4 | 6): ScriptPacket {
  const echoed = echoedPacket(l4, family);
  const icmpBytes = l4.echoed.proto === 'raw' ? l4.echoed.payloadBytes : 8 + echoed.length;
  if (icmpBytes < 8) throw new PacketBuildError(`icmp_bytes ${icmpBytes} smaller than icmp header length 8`);
  const { type, code } = icmpTypeAndCode(family, l4.type, l4.code);
  // The second word: the MTU of a frag_needed (low half) or packet_too_big (all of it), the echo id in the high half.
  let rest = 0;
  if (l4.mtu !== undefined) {
    if (family === 4) {
      if (type !== 3 || code !== 4) throw new PacketBuildError('ICMPv4 MTU is only valid for unreachable-frag_needed');
      if (l4.mtu < 0 || l4.mtu > 0xffff) throw new PacketBuildError('ICMPv4 MTU out of 16-bit range');
      rest = l4.mtu;
    } else {
      if (type !== 2 || code !== 0) throw new PacketBuildError('ICMPv6 MTU is only valid for packet_too_big-0');
      rest = l4.mtu >>> 0;
    }
  }
  if (l4.echoId !== undefined) {
    if (l4.echoId < 0 || l4.echoId > 65535) throw new PacketBuildError('invalid echo_id, must be between 0 and 65535');
    if (l4.echoId > 0) rest = (l4.echoId * 0x10000 + (rest & 0xffff)) >>> 0;
  }
  const icmp = { type, code, rest, checksum: 0 };
  const payload = l4.echoed.proto === 'raw' ? icmpBytes - 8 : echoed;
  const buf = encodePacket({ ...ipSpec(family, spec.ipInfo), ...(family === 4 ? { icmpv4: icmp } : { icmpv6: icmp }), payload });
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
