/**
 * Script packet lines as bytes: TCP flags (AccECN ACE digits included),
 * TCP option encoding, header checks, and the ICMP type/code tables.
 */
import { describe, expect, it } from 'vitest';
import {
  buildScriptPacket,
  icmpTypeAndCode,
  PacketBuildError,
  scriptFlags,
  TTL_CHECK_NONE,
} from '../../src/engine/build-packet.js';
import { encodeTcpOptions } from '../../src/packet/tcp-options.js';
import {
  IPPROTO_ICMP as PROTO_ICMP,
  IPPROTO_ICMPV6 as PROTO_ICMPV6,
  IPPROTO_TCP as PROTO_TCP,
  IPPROTO_UDP as PROTO_UDP,
} from '../../src/packet/protocols.js';
import type { IpVersion, PacketSpec, TcpOption, TcpSpec } from '../../src/script/ast.js';
import { parseScript } from '../../src/script/parser.js';

function spec(line: string, ipVersion: IpVersion = 'ipv4'): PacketSpec {
  const ev = parseScript(`0 ${line}\n`, { path: 't.pkt', ipVersion }).events[0]!;
  if (ev.type !== 'packet') throw new Error('not a packet line');
  return ev.packet;
}

const build = (line: string, family: 4 | 6 = 4) => buildScriptPacket(spec(line, family === 6 ? 'ipv6' : 'ipv4'), family);

/** A hand-made TCP spec, for what the parser itself would refuse. */
function tcpSpec(over: Partial<TcpSpec>, direction: 'inbound' | 'outbound' = 'outbound'): PacketSpec {
  return {
    direction,
    loc: { line: 1, column: 1 },
    encap: [],
    ipInfo: {},
    l4: { proto: 'tcp', flags: '.', startSeq: 1, endSeq: 1, payloadBytes: 0, options: null, ...over },
  };
}

describe('scriptFlags', () => {
  it('reads the classic flags', () => {
    const { flags, ace } = scriptFlags('FSRP.U');
    expect(flags).toEqual({ fin: true, syn: true, rst: true, psh: true, ack: true, urg: true, ece: false, cwr: false, ae: false });
    expect(ace).toBeNull();
    expect(scriptFlags('').flags.ack).toBe(false);
  });

  it('reads E, W and A as ECE, CWR and AE', () => {
    const { flags } = scriptFlags('SEWA');
    expect(flags).toMatchObject({ syn: true, ece: true, cwr: true, ae: true });
  });

  it('turns an ACE digit into AE/CWR/ECE bits', () => {
    for (let d = 0; d <= 7; d++) {
      const { flags, ace } = scriptFlags(`S.${d}`);
      expect(flags.ece).toBe((d & 1) !== 0);
      expect(flags.cwr).toBe((d & 2) !== 0);
      expect(flags.ae).toBe((d & 4) !== 0);
      expect(ace).toBe(d === 0 ? null : d);
    }
  });

  it('refuses unknown flags', () => {
    expect(() => scriptFlags('SX')).toThrow(PacketBuildError);
    expect(() => scriptFlags('SX')).toThrow("Invalid TCP flag: 'X'");
    expect(() => scriptFlags('S8')).toThrow("Invalid TCP flag: '8'");
  });

  it('refuses an ACE digit together with E, W or A, or a second digit', () => {
    expect(() => scriptFlags('SE1')).toThrow("Conflicting TCP flag: '1'");
    expect(() => scriptFlags('S1E')).toThrow("Conflicting TCP flag: 'E'");
    expect(() => scriptFlags('S.W2')).toThrow("Conflicting TCP flag: '2'");
    expect(() => scriptFlags('.12')).toThrow("Conflicting TCP flag: '2'");
  });
});

describe('script TCP options on the wire', () => {
  /** The options of a script line, as the parser reads them. */
  const written = (list: string): TcpOption[] => {
    const l4 = spec(`> S 0:0(0) win 1 <${list}>`).l4;
    if (l4.proto !== 'tcp' || !Array.isArray(l4.options)) throw new Error('no option list');
    return l4.options;
  };
  /** The bytes of the options, without the NOPs that pad them to whole words. */
  const enc = (list: string) => encodeTcpOptions(written(list), false).toString('hex').replace(/(01)+$/, '');

  it('encodes the classic options byte for byte', () => {
    expect(enc('mss 1460')).toBe('020405b4');
    expect(enc('eol,nop,nop,nop')).toBe('00');
    expect(enc('wscale 7,nop')).toBe('030307');
    expect(enc('sackOK,nop,nop')).toBe('0402');
    expect(enc('TS val 16909060 ecr 4294967294,nop,nop')).toBe('080a01020304fffffffe');
  });

  it('encodes SACK blocks, one to four', () => {
    expect(enc('sack 1:2,nop,nop')).toBe('050a0000000100000002');
    const four = encodeTcpOptions(written('sack 1:2 3:4 5:6 4294967295:0,nop,nop'), false);
    expect(four.length).toBe(36);
    expect(four[1]).toBe(34);
    expect(four.readUInt32BE(26)).toBe(0xffffffff);
  });

  it('encodes an MD5 digest, and refuses a bad or long one', () => {
    expect(enc('md5 00112233445566778899aabbccddeeff,nop,nop')).toBe('131200112233445566778899aabbccddeeff');
    expect(encodeTcpOptions([{ type: 'md5', digest: Buffer.alloc(0) }], false).toString('hex')).toBe('1302');
    expect(() => written(`md5 ${'00'.repeat(17)}`)).toThrow('TCP MD5 digest longer than 16 bytes');
    expect(() => written('md5 abc,nop')).toThrow('TCP MD5 digest is not a valid hex string');
    expect(() => written('md5 zz,nop,nop')).toThrow('TCP MD5 digest is not a valid hex string');
  });

  it('encodes Fast Open cookies as kind 34 (FO) and kind 254 with magic F989 (FOEXP)', () => {
    expect(enc('FO 3021b9d889017eeb,nop,nop')).toBe('220a3021b9d889017eeb');
    expect(enc('FO,nop,nop')).toBe('2202');
    expect(enc('FOEXP abcd,nop,nop')).toBe('fe06f989abcd');
    expect(enc('FOEXP')).toBe('fe04f989');
  });

  it('limits Fast Open cookies to what fits in the option space', () => {
    expect(() => written(`FO ${'00'.repeat(39)}`)).toThrow(
      'TCP fast open cookie of 39 bytes exceeds maximum cookie length of 38 bytes',
    );
    expect(() => written(`FOEXP ${'00'.repeat(37)}`)).toThrow(
      'TCP fast open cookie of 37 bytes exceeds maximum cookie length of 36 bytes',
    );
    expect(encodeTcpOptions(written(`FO ${'00'.repeat(38)}`), false).length).toBe(40);
  });

  it('encodes AccECN options in the field order of their kind, up to the last field written', () => {
    // e0b first: kind 172, order e0b, ceb, e1b.
    expect(enc('ECN e0b 1 ceb 2 e1b 3,nop')).toBe('ac0b000001000002000003');
    // e1b first: kind 174, order e1b, ceb, e0b; only the first field.
    expect(enc('ECN e1b 66051,nop,nop,nop')).toBe('ae05010203');
    expect(encodeTcpOptions([{ type: 'accecn', order: 1, fields: [] }], false).toString('hex')).toBe('ae02');
  });
});

describe('buildScriptPacket: TCP', () => {
  it('builds an IPv4 segment in script space', () => {
    const p = build('< S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>');
    const b = p.buf;
    expect(p.direction).toBe('inbound');
    expect(p.family).toBe(4);
    expect(b.length).toBe(20 + 32);
    expect(b[0]).toBe(0x45);
    expect(b.readUInt16BE(2)).toBe(52);
    expect(b[8]).toBe(TTL_CHECK_NONE);
    expect(b[9]).toBe(PROTO_TCP);
    expect(b.readUInt32BE(12)).toBe(0); // addresses are filled in at run time
    expect(b.readUInt16BE(20)).toBe(0); // so are the ports
    expect(b.readUInt32BE(24)).toBe(0);
    expect(b[32] >> 4).toBe(8);
    expect(b[33]).toBe(0x02);
    expect(b.readUInt16BE(34)).toBe(32792);
    expect(b.subarray(40).toString('hex')).toBe('020403e80402010101030307');
    expect(p.layout).toMatchObject({ ipVersion: 4, proto: PROTO_TCP, l4: 20, l4HeaderLen: 32, payloadLen: 0 });
    expect(p.winNoCheck).toBe(false);
    expect(p.optionsNoCheck).toBe(false);
    expect(p.parseAce).toBe(false);
  });

  it('writes sequence, ack, payload length and flags', () => {
    const p = build('> P. 1:1001(1000) ack 1');
    const t = p.layout.l4;
    expect(p.buf.readUInt32BE(t + 4)).toBe(1);
    expect(p.buf.readUInt32BE(t + 8)).toBe(1);
    expect(p.buf[t + 13]).toBe(0x18);
    expect(p.payloadLen).toBe(1000);
    expect(p.layout.payloadLen).toBe(1000);
    expect(p.buf.length).toBe(20 + 20 + 1000);
    expect(p.tcpFlags).toMatchObject({ psh: true, ack: true, syn: false });
  });

  it('marks an outbound segment without win as not checking the window, and <...> as not checking options', () => {
    const p = build('> S. 0:0(0) ack 1 <...>');
    expect(p.winNoCheck).toBe(true);
    expect(p.optionsNoCheck).toBe(true);
    expect(p.layout.l4HeaderLen).toBe(20);
  });

  it('sets ECN flag bits and the AE bit from E, W, A', () => {
    const p = build('> SEWA 0:0(0) <...>');
    const t = p.layout.l4;
    expect(p.buf[t + 13]! & 0xc0).toBe(0xc0);
    expect(p.buf[t + 12]! & 1).toBe(1);
    expect(p.parseAce).toBe(false);
  });

  it('sets the bits of an ACE count and remembers to print it as a digit', () => {
    const p = build('> S.5 0:0(0) ack 1 <...>');
    const t = p.layout.l4;
    expect(p.parseAce).toBe(true);
    expect(p.buf[t + 13]! & 0x40).toBe(0x40); // ECE (1)
    expect(p.buf[t + 13]! & 0x80).toBe(0); // CWR (2)
    expect(p.buf[t + 12]! & 1).toBe(1); // AE (4)
  });

  it('refuses an inbound segment without a window', () => {
    expect(() => buildScriptPacket(tcpSpec({ flags: '.' }, 'inbound'), 4)).toThrow('window must be specified for inbound packets');
    expect(() => buildScriptPacket(tcpSpec({ flags: '.' }, 'outbound'), 4)).not.toThrow();
  });

  it('refuses options that do not fill whole 32-bit words', () => {
    const p = tcpSpec({ options: [{ type: 'mss', mss: 1000 }, { type: 'nop' }] });
    expect(() => buildScriptPacket(p, 4)).toThrow(
      'TCP options are not padded correctly to ensure TCP header is a multiple of 4 bytes: 1 excess bytes',
    );
    const q = tcpSpec({ options: [{ type: 'wscale', shift: 7 }] });
    expect(() => buildScriptPacket(q, 4)).toThrow(/: 3 excess bytes$/);
  });

  it('refuses a header longer than 60 bytes', () => {
    const blocks = [[1, 2], [3, 4], [5, 6], [7, 8]].map(([left, right]) => ({ left: left!, right: right! }));
    const nop = { type: 'nop' } as const;
    const p = tcpSpec({ options: [{ type: 'sack', blocks }, { type: 'timestamp', val: 1, ecr: 2 }, nop, nop, nop, nop] });
    expect(() => buildScriptPacket(p, 4)).toThrow('TCP header too large');
  });

  it('builds an IPv6 segment with a traffic class and flow label', () => {
    const p = build('> [ect0, flowlabel 0x12345] . 1:1(0) ack 1', 6);
    expect(p.family).toBe(6);
    expect(p.buf.length).toBe(60);
    const w = p.buf.readUInt32BE(0);
    expect(w >>> 28).toBe(6);
    expect((w >>> 20) & 0xff).toBe(2);
    expect(w & 0xfffff).toBe(0x12345);
    expect(p.buf.readUInt16BE(4)).toBe(20);
    expect(p.buf[6]).toBe(PROTO_TCP);
    expect(p.buf[7]).toBe(TTL_CHECK_NONE);
    expect(p.tosCheck).toBe('ecn');
    expect(p.layout).toMatchObject({ ipVersion: 6, ipHeaderLen: 40, l4: 40 });
  });

  it('writes a TTL when the script gives one', () => {
    const p = build('> [ttl 64] . 1:1(0) ack 1');
    expect(p.buf[8]).toBe(64);
  });

  it('refuses encapsulation and PSP, which need wire mode', () => {
    const s = tcpSpec({});
    s.encap = [{ kind: 'gre', gre: { flags: 0, sum: 0, off: 0, key: 0, seq: 0 }, loc: { line: 1, column: 1 } }];
    expect(() => buildScriptPacket(s, 4)).toThrow('gre encapsulation is not supported in local mode');
    expect(() => buildScriptPacket(tcpSpec({ psp: { spi: 1 } }), 4)).toThrow(/PSP requires wireserver mode/);
  });
});

describe('buildScriptPacket: UDP', () => {
  it('builds a datagram of the given payload', () => {
    const p = build('< udp (100)');
    expect(p.buf.length).toBe(128);
    expect(p.buf[9]).toBe(PROTO_UDP);
    expect(p.buf.readUInt16BE(24)).toBe(108);
    expect(p.layout).toMatchObject({ proto: PROTO_UDP, l4HeaderLen: 8, payloadLen: 100 });
  });
});

describe('icmpTypeAndCode', () => {
  it('knows the ICMPv4 types and unreachable codes', () => {
    expect(icmpTypeAndCode(4, 'echo_reply', undefined)).toEqual({ type: 0, code: 0 });
    expect(icmpTypeAndCode(4, 'unreachable', 'net_unreachable')).toEqual({ type: 3, code: 0 });
    expect(icmpTypeAndCode(4, 'unreachable', 'port_unreachable')).toEqual({ type: 3, code: 3 });
    expect(icmpTypeAndCode(4, 'unreachable', 'frag_needed')).toEqual({ type: 3, code: 4 });
    expect(icmpTypeAndCode(4, 'unreachable', 'host_prohibited')).toEqual({ type: 3, code: 10 });
    expect(icmpTypeAndCode(4, 'unreachable', 'precedence_cutoff')).toEqual({ type: 3, code: 15 });
    expect(icmpTypeAndCode(4, 'source_quench', undefined).type).toBe(4);
    expect(icmpTypeAndCode(4, 'redirect', undefined).type).toBe(5);
    expect(icmpTypeAndCode(4, 'echo_request', undefined).type).toBe(8);
    expect(icmpTypeAndCode(4, 'time_exceeded', undefined).type).toBe(11);
    expect(icmpTypeAndCode(4, 'parameter_problem', undefined).type).toBe(12);
    expect(icmpTypeAndCode(4, 'timestamp_request', undefined).type).toBe(13);
    expect(icmpTypeAndCode(4, 'timestamp_reply', undefined).type).toBe(14);
    expect(icmpTypeAndCode(4, 'information_request', undefined).type).toBe(15);
    expect(icmpTypeAndCode(4, 'information_reply', undefined).type).toBe(16);
    expect(icmpTypeAndCode(4, 'address_mask_request', undefined).type).toBe(17);
    expect(icmpTypeAndCode(4, 'address_mask_reply', undefined).type).toBe(18);
  });

  it('knows the ICMPv6 types and their codes', () => {
    expect(icmpTypeAndCode(6, 'unreachable', 'no_route')).toEqual({ type: 1, code: 0 });
    expect(icmpTypeAndCode(6, 'unreachable', 'net_unreachable')).toEqual({ type: 1, code: 0 });
    expect(icmpTypeAndCode(6, 'unreachable', 'admin_prohibited')).toEqual({ type: 1, code: 1 });
    expect(icmpTypeAndCode(6, 'unreachable', 'not_neighbour')).toEqual({ type: 1, code: 2 });
    expect(icmpTypeAndCode(6, 'unreachable', 'address_unreachable')).toEqual({ type: 1, code: 3 });
    expect(icmpTypeAndCode(6, 'unreachable', 'port_unreachable')).toEqual({ type: 1, code: 4 });
    expect(icmpTypeAndCode(6, 'packet_too_big', undefined)).toEqual({ type: 2, code: 0 });
    expect(icmpTypeAndCode(6, 'time_exceeded', 'exceeded_frag_time')).toEqual({ type: 3, code: 1 });
    expect(icmpTypeAndCode(6, 'parameter_problem', 'unknown_option')).toEqual({ type: 4, code: 2 });
    expect(icmpTypeAndCode(6, 'echo_request', undefined)).toEqual({ type: 128, code: 0 });
    expect(icmpTypeAndCode(6, 'echo_reply', undefined)).toEqual({ type: 129, code: 0 });
  });

  it('accepts tcpdump-style type_N and code_N', () => {
    expect(icmpTypeAndCode(4, 'type_3', 'code_4')).toEqual({ type: 3, code: 4 });
    expect(icmpTypeAndCode(6, 'type_200', 'code_255')).toEqual({ type: 200, code: 255 });
    expect(icmpTypeAndCode(4, 'echo_request', 'code_9')).toEqual({ type: 8, code: 9 });
  });

  it('refuses unknown types and codes with packetdrill words', () => {
    expect(() => icmpTypeAndCode(4, 'packet_too_big', undefined)).toThrow('bad ICMP type packet_too_big');
    expect(() => icmpTypeAndCode(4, 'type_256', undefined)).toThrow('bad ICMP type type_256');
    expect(() => icmpTypeAndCode(4, 'unreachable', 'no_route')).toThrow('bad ICMP code no_route');
    expect(() => icmpTypeAndCode(4, 'unreachable', 'code_300')).toThrow('bad ICMP code code_300');
    // A named code is only looked up in its own type's table.
    expect(() => icmpTypeAndCode(4, 'echo_request', 'port_unreachable')).toThrow('bad ICMP code port_unreachable');
    expect(() => icmpTypeAndCode(6, 'echo_request', 'no_route')).toThrow(PacketBuildError);
  });
});

describe('buildScriptPacket: ICMP', () => {
  it('builds an IPv4 unreachable with an MTU and the echoed IP + 8 bytes of TCP', () => {
    const p = build('< icmp unreachable frag_needed mtu 1200 [1:1461(1460)]');
    const i = p.layout.l4;
    expect(p.buf[9]).toBe(PROTO_ICMP);
    expect(p.buf.length).toBe(20 + 8 + 20 + 8);
    expect(p.buf[i]).toBe(3);
    expect(p.buf[i + 1]).toBe(4);
    expect(p.buf.readUInt16BE(i + 6)).toBe(1200);
    const e = p.layout.echoed!;
    expect(e).toMatchObject({ ip: 28, ipVersion: 4, ipHeaderLen: 20, proto: PROTO_TCP, l4: 48 });
    expect(p.buf.readUInt16BE(e.ip + 2)).toBe(20 + 20 + 1460); // echoed IP total length
    expect(p.buf.readUInt32BE(e.l4 + 4)).toBe(1); // echoed sequence number
  });

  it('builds an echoed UDP header', () => {
    const p = build('< icmp unreachable port_unreachable [udp (10)]');
    expect(p.layout.echoed).toMatchObject({ proto: PROTO_UDP });
    expect(p.buf.readUInt16BE(p.layout.echoed!.ip + 2)).toBe(20 + 8 + 10);
  });

  it('builds an ICMPv6 packet too big with a 32-bit MTU', () => {
    const p = build('< icmp packet_too_big mtu 1280', 6);
    const i = p.layout.l4;
    expect(p.buf[6]).toBe(PROTO_ICMPV6);
    expect(p.buf[i]).toBe(2);
    expect(p.buf.readUInt32BE(i + 4)).toBe(1280);
    expect(p.buf.length).toBe(40 + 8 + 40 + 8);
    expect(p.layout.echoed).toMatchObject({ ipVersion: 6, proto: PROTO_TCP });
  });

  it('builds a raw echo request with an id', () => {
    const p = build('< icmp echo_request id 7 [raw (20)]');
    const i = p.layout.l4;
    expect(p.buf.length).toBe(20 + 20);
    expect(p.buf[i]).toBe(8);
    expect(p.buf.readUInt16BE(i + 4)).toBe(7);
  });

  it('refuses an MTU on the wrong type', () => {
    expect(() => build('< icmp unreachable host_unreachable mtu 1200')).toThrow('ICMPv4 MTU is only valid for unreachable-frag_needed');
    expect(() => build('< icmp type_3 code_4 mtu 70000')).toThrow('ICMPv4 MTU out of 16-bit range');
    expect(() => build('< icmp time_exceeded mtu 1280', 6)).toThrow('ICMPv6 MTU is only valid for packet_too_big-0');
  });

  it('refuses a raw payload smaller than the ICMP header', () => {
    expect(() => build('< icmp echo_request [raw (4)]')).toThrow('icmp_bytes 4 smaller than icmp header length 8');
  });
});
