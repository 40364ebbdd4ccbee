import { describe, expect, it } from 'vitest';
import {
  canonicalIpv6,
  formatIpv4,
  formatIpv6,
  isIpv4,
  isIpv6,
  parseIpv4,
  parseIpv6,
} from '../../src/packet/address.js';
import {
  checksumVerifies,
  finishChecksum,
  foldSum,
  internetChecksum,
  ipv4PseudoHeaderSum,
  ipv6PseudoHeaderSum,
  sumWords,
} from '../../src/packet/checksum.js';
import { defineHeader } from '../../src/packet/fields.js';
import {
  IPV4,
  decodeIpv4,
  ipv4HeaderChecksum,
  ipv4HeaderChecksumOk,
  setIpv4HeaderChecksum,
} from '../../src/packet/ipv4.js';
import { IPV6, decodeIpv6, walkIpv6Chain } from '../../src/packet/ipv6.js';
import { TCP, formatTcpFlags, parseTcpFlags, tcpAce } from '../../src/packet/tcp.js';
import { UDP } from '../../src/packet/udp.js';
import { KERNEL, hex } from '../fixtures/kernel-packets.js';

const KERNEL_SYN_V4 = KERNEL.synV4;
const KERNEL_SYN_V6 = KERNEL.synV6;

describe('addresses', () => {
  it('formats IPv6 the way inet_ntop does', () => {
    const cases: [string, string][] = [
      ['::2', '::2'],
      ['::1.2.3.4', '::1.2.3.4'],
      ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
      ['::ffff:0:1.2.3.4', '::ffff:0:102:304'],
      ['1::', '1::'],
      ['1:0:0:1:0:0:0:1', '1:0:0:1::1'],
      ['fd3d:0a0b:17d6::1', 'fd3d:a0b:17d6::1'],
      ['0:0:1::', '0:0:1::'],
      ['::ffff:0.0.0.0', '::ffff:0.0.0.0'],
      ['1:0::0:1', '1::1'],
      ['::', '::'],
      ['::1', '::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:DB8:AAAA:BBBB:CCCC:DDDD:EEEE:1', '2001:db8:aaaa:bbbb:cccc:dddd:eeee:1'],
      ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
    ];
    for (const [input, want] of cases) {
      expect(canonicalIpv6(input), input).toBe(want);
      expect(formatIpv6(parseIpv6(input)), input).toBe(want);
    }
  });

  it('rejects malformed addresses with the address in the message', () => {
    for (const bad of ['', ':', ':::', '1:::2', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7:8::', 'g::1', '12345::', '1:', '::1.2.3']) {
      expect(isIpv6(bad), bad).toBe(false);
    }
    expect(() => parseIpv6('1::2::3')).toThrow(/not an IPv6 address: '1::2::3'/);
    expect(() => parseIpv4('256.1.1.1')).toThrow(/not an IPv4 address/);
    expect(isIpv4('192.0.2.1')).toBe(true);
    expect(isIpv4('192.0.2')).toBe(false);
    expect(formatIpv4(parseIpv4('192.168.0.1'))).toBe('192.168.0.1');
  });
});

describe('checksums', () => {
  it('matches the RFC 1071 worked example', () => {
    const b = hex('0001f203f4f5f6f7');
    expect(foldSum(sumWords(b, 0, b.length))).toBe(0xddf2);
    expect(internetChecksum(b)).toBe(0x220d);
  });

  it('pads an odd trailing byte with zero', () => {
    const b = hex('0102 03');
    expect(sumWords(b, 0, 3)).toBe(0x0102 + 0x0300);
  });

  it('computes a textbook IPv4 header checksum', () => {
    const h = hex('45000073000040004011 0000 c0a80001c0a800c7');
    expect(internetChecksum(h)).toBe(0xb861);
    expect(ipv4HeaderChecksum(h, 0, 20)).toBe(0xb861);
    setIpv4HeaderChecksum(h);
    expect(h.readUInt16BE(10)).toBe(0xb861);
    expect(ipv4HeaderChecksumOk(h)).toBe(true);
    h[8] ^= 1;
    expect(ipv4HeaderChecksumOk(h)).toBe(false);
  });

  it('verifies kernel TCP checksums with the IPv4 pseudo-header', () => {
    const b = KERNEL_SYN_V4;
    const pseudo = ipv4PseudoHeaderSum(b, 12, 16, 6, b.length - 20);
    expect(checksumVerifies(b, 20, b.length, pseudo)).toBe(true);
    const copy = Buffer.from(b);
    copy.writeUInt16BE(0, 36);
    expect(finishChecksum(sumWords(copy, 20, copy.length, pseudo))).toBe(b.readUInt16BE(36));
  });

  it('verifies kernel TCP checksums with the IPv6 pseudo-header', () => {
    const b = KERNEL_SYN_V6;
    const pseudo = ipv6PseudoHeaderSum(b, 8, 24, 6, b.length - 40);
    expect(checksumVerifies(b, 40, b.length, pseudo)).toBe(true);
    const wrongLen = ipv6PseudoHeaderSum(b, 8, 24, 6, b.length - 39);
    expect(checksumVerifies(b, 40, b.length, wrongLen)).toBe(false);
  });

  it('adds IPv6 upper-layer lengths above 65535 as a 32-bit value', () => {
    const z = Buffer.alloc(32);
    expect(ipv6PseudoHeaderSum(z, 0, 16, 6, 0x12345)).toBe(0x1 + 0x2345 + 6);
  });
});

describe('declarative header fields', () => {
  const ODD = defineHeader('Odd', [
    { name: 'a', bits: 3, default: 5 },
    { name: 'b', bits: 13 },
    { name: 'c', bits: 1, type: 'flag' },
    { name: 'd', bits: 20 },
    { name: 'e', bits: 11 },
    { name: 'addr', type: 'ipv4', default: '10.0.0.1' },
    { name: 'blob', type: 'bytes', bytes: 3 },
  ]);

  it('computes the size and defaults', () => {
    expect(ODD.size).toBe(2 + 4 + 4 + 3);
    const d = ODD.defaults();
    expect(d).toEqual({ a: 5, b: 0, c: false, d: 0, e: 0, addr: '10.0.0.1', blob: Buffer.alloc(3) });
  });

  it('round-trips fields that straddle byte boundaries', () => {
    const v = { a: 6, b: 0x1abc, c: true, d: 0xfedcb, e: 0x5a5, addr: '192.0.2.1', blob: hex('aabbcc') };
    const buf = Buffer.alloc(ODD.size + 2, 0xee);
    ODD.encode(v, buf, 1);
    expect(buf[0]).toBe(0xee);
    expect(buf[ODD.size + 1]).toBe(0xee);
    expect(ODD.decode(buf, 1)).toEqual(v);
    // a(3)=110 b(13)=1 1010 1011 1100 -> 1101 1010 1011 1100
    expect(buf.subarray(1, 3).toString('hex')).toBe('dabc');
  });

  it('reads and writes single fields in place without touching neighbours', () => {
    const v = { a: 7, b: 0x1fff, c: true, d: 0xfffff, e: 0x7ff, addr: '255.255.255.255', blob: hex('ffffff') };
    const buf = Buffer.alloc(ODD.size);
    ODD.encode(v, buf);
    ODD.writeField(buf, 0, 'd', 0x12345);
    expect(ODD.readField(buf, 0, 'd')).toBe(0x12345);
    expect(ODD.decode(buf)).toEqual({ ...v, d: 0x12345 });
    ODD.writeField(buf, 0, 'c', false);
    expect(ODD.readField(buf, 0, 'c')).toBe(false);
    expect(ODD.offsetOf('addr')).toBe(6);
  });

  it('rejects values that do not fit, naming the field', () => {
    const buf = Buffer.alloc(ODD.size);
    expect(() => ODD.encode({ a: 8 }, buf)).toThrow(/Odd field a must be an integer in 0\.\.7, got 8/);
    expect(() => ODD.encode({ b: -1 }, buf)).toThrow(/field b/);
    expect(() => ODD.encode({ b: 1.5 }, buf)).toThrow(/field b/);
    expect(() => ODD.encode({ blob: hex('00') }, buf)).toThrow(/field blob must be 3 bytes/);
    expect(() => ODD.decode(Buffer.alloc(3))).toThrow(/Odd header needs 13 bytes/);
  });

  it('refuses bad layouts', () => {
    expect(() => defineHeader('X', [{ name: 'x', bits: 33 }])).toThrow(/1\.\.32 bits/);
    expect(() => defineHeader('X', [{ name: 'x', bits: 4 }])).toThrow(/whole bytes/);
    expect(() => defineHeader('X', [{ name: 'x', bits: 4 }, { name: 'y', type: 'ipv4' }, { name: 'z', bits: 4 }])).toThrow(
      /byte boundary/,
    );
  });
});

describe('IPv4 header', () => {
  it('decodes a kernel header', () => {
    const h = decodeIpv4(KERNEL_SYN_V4);
    expect(h).toMatchObject({
      version: 4,
      ihl: 5,
      tos: 0,
      totalLength: 60,
      id: 0x6fba,
      flags: 0b010,
      fragmentOffset: 0,
      ttl: 64,
      protocol: 6,
      checksum: 0x4857,
      src: '192.168.0.1',
      dst: '192.0.2.1',
    });
    expect(h.options.length).toBe(0);
  });

  it('keeps options raw', () => {
    const b = Buffer.alloc(24);
    IPV4.encode({ ihl: 6, totalLength: 24, src: '1.2.3.4', dst: '5.6.7.8' }, b);
    b.set([0x94, 0x04, 0x00, 0x00], 20); // router alert
    expect(decodeIpv4(b).options).toEqual(hex('94040000'));
  });
});

describe('IPv6 header', () => {
  it('decodes a kernel header', () => {
    const { header, chain } = decodeIpv6(KERNEL_SYN_V6);
    expect(header).toMatchObject({
      version: 6,
      trafficClass: 0,
      flowLabel: 0xed433,
      payloadLength: 40,
      nextHeader: 6,
      hopLimit: 64,
      src: 'fd3d:a0b:17d6::1',
      dst: 'fd3d:fa7b:d17d::1',
      extensionHeaders: [],
    });
    expect(chain).toEqual({ protocol: 6, offset: 40, fragmented: false });
  });

  it('places traffic class and flow label across the first word', () => {
    const b = Buffer.alloc(40);
    IPV6.encode({ trafficClass: 0xab, flowLabel: 0xcdef1, src: '::1', dst: '::2' }, b);
    expect(b.subarray(0, 4).toString('hex')).toBe('6abcdef1');
  });

  it('walks extension headers and notes fragments', () => {
    const b = Buffer.alloc(40 + 8 + 8 + 20);
    IPV6.encode({ payloadLength: 36, nextHeader: 0, src: '::1', dst: '::2' }, b);
    b.set([44, 0, 1, 4, 0, 0], 40); // hop-by-hop -> fragment
    b.set([6, 0, 0x00, 0x09, 0, 0, 0, 1], 48); // fragment offset 1, more fragments
    const chain = walkIpv6Chain(b, 0, b.length);
    expect(chain).toEqual({ protocol: 6, offset: 56, fragmented: true });
    const cut = walkIpv6Chain(b, 0, 50);
    expect(cut.error).toMatch(/extension header overflows packet/);
  });
});

describe('TCP header and flags', () => {
  it('decodes flags and the AE bit', () => {
    const b = Buffer.alloc(20);
    TCP.encode({ srcPort: 1, dstPort: 2, seq: 0xffffffff, ackSeq: 7, ae: true, cwr: true, syn: true, ack: true }, b);
    expect(b.subarray(12, 14).toString('hex')).toBe('5192');
    const t = TCP.decode(b);
    expect(t).toMatchObject({ seq: 0xffffffff, ackSeq: 7, ae: true, cwr: true, ece: false, syn: true, ack: true, fin: false });
    expect(formatTcpFlags(t)).toBe('S.WA');
    expect(formatTcpFlags(t, true)).toBe('S.6');
    expect(tcpAce(t)).toBe(6);
  });

  it('parses packetdrill flag letters', () => {
    expect(parseTcpFlags('S.')).toMatchObject({ syn: true, ack: true, fin: false });
    expect(parseTcpFlags('FPU.EW')).toMatchObject({ fin: true, psh: true, urg: true, ack: true, ece: true, cwr: true, ae: false });
    expect(parseTcpFlags('.5')).toMatchObject({ ack: true, ae: true, cwr: false, ece: true });
    expect(() => parseTcpFlags('SX')).toThrow("Invalid TCP flag: 'X'");
    expect(() => parseTcpFlags('E3')).toThrow("Conflicting TCP flag: '3'");
    expect(() => parseTcpFlags('3E')).toThrow("Conflicting TCP flag: 'E'");
  });

  it('prints flags in packetdrill order', () => {
    expect(formatTcpFlags(parseTcpFlags('.WEPSF'))).toBe('FSP.EW');
    expect(formatTcpFlags(parseTcpFlags('R'))).toBe('R');
  });
});

describe('UDP header', () => {
  it('round-trips', () => {
    const b = Buffer.alloc(8);
    UDP.encode({ srcPort: 5000, dstPort: 9, length: 13, checksum: 0x25c6 }, b);
    expect(b.toString('hex')).toBe('13880009000d25c6');
    expect(UDP.decode(b)).toEqual({ srcPort: 5000, dstPort: 9, length: 13, checksum: 0x25c6 });
  });
});
