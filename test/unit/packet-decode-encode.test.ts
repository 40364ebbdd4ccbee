import { describe, expect, it } from 'vitest';
import {
  decodePacket,
  encodePacket,
  encodeQuoted,
  plainTcpOption,
  type DecodedPacket,
  type PacketToEncode,
} from '../../src/packet/index.js';
import { KERNEL, hex } from '../fixtures/kernel-packets.js';

/** Rebuilds an encode spec from a decoded packet, leaving computed fields out. */
function specFrom(p: DecodedPacket): PacketToEncode {
  const spec: PacketToEncode = {};
  if (p.ipv4) {
    const { checksum: _c, totalLength: _t, ihl: _i, ...ip } = p.ipv4;
    spec.ipv4 = ip;
  } else if (p.ipv6) {
    const { payloadLength: _p, nextHeader: _n, ...ip } = p.ipv6;
    spec.ipv6 = ip;
  }
  if (p.tcp) {
    const { checksum: _c, dataOffset: _d, options, optionsRaw: _r, ...tcp } = p.tcp;
    spec.tcp = { ...tcp, options: options.map(plainTcpOption) };
  }
  if (p.udp) {
    const { checksum: _c, length: _l, ...udp } = p.udp;
    spec.udp = udp;
  }
  spec.payload = Buffer.from(p.payload);
  return spec;
}

describe('decodePacket on kernel packets', () => {
  it('decodes an IPv4 SYN', () => {
    const p = decodePacket(KERNEL.synV4, { verifyChecksums: true });
    expect(p.errors).toEqual([]);
    expect(p.truncated).toBe(false);
    expect(p.ipVersion).toBe(4);
    expect(p.ipChecksumOk).toBe(true);
    expect(p.l4ChecksumOk).toBe(true);
    expect(p).toMatchObject({ src: '192.168.0.1', dst: '192.0.2.1', protocol: 6, l4Offset: 20, ipLength: 60, end: 60 });
    expect(p.srcPort).toBe(49496);
    expect(p.dstPort).toBe(8080);
    expect(p.tcp).toMatchObject({ seq: 125767513, ackSeq: 0, dataOffset: 10, syn: true, ack: false, window: 64240 });
    expect(p.tcp!.options.map((o) => o.type)).toEqual(['mss', 'sackOK', 'timestamp', 'nop', 'wscale']);
    expect(p.payload.length).toBe(0);
    expect(p.payloadOffset).toBe(60);
  });

  it('decodes an IPv6 SYN-ACK', () => {
    const p = decodePacket(KERNEL.synAckV6, { verifyChecksums: true });
    expect(p.errors).toEqual([]);
    expect(p.l4ChecksumOk).toBe(true);
    expect(p.ipChecksumOk).toBeUndefined();
    expect(p).toMatchObject({ ipVersion: 6, src: 'fd3d:a0b:17d6::1', dst: 'fd3d:fa7b:d17d::1', protocol: 6, l4Offset: 40 });
    expect(p.tcp).toMatchObject({ syn: true, ack: true, ackSeq: 1, srcPort: 8080, dstPort: 41234 });
    expect(plainTcpOption(p.tcp!.options[2]!)).toEqual({ type: 'timestamp', val: 0xc2b1926a, ecr: 100 });
  });

  it('decodes ICMPv4 port unreachable with the quoted UDP datagram', () => {
    const p = decodePacket(KERNEL.icmpV4, { verifyChecksums: true });
    expect(p.errors).toEqual([]);
    expect(p.l4ChecksumOk).toBe(true);
    expect(p.ipv4!.tos).toBe(0xc0);
    expect(p.icmpv4).toMatchObject({ type: 3, code: 3, rest: 0 });
    const q = p.icmpv4!.quoted!;
    expect(q.errors).toEqual([]);
    expect(q.truncated).toBe(false);
    expect(q).toMatchObject({ src: '192.0.2.1', dst: '192.168.0.1', srcPort: 5000, dstPort: 9 });
    expect(q.payload.toString()).toBe('hello');
  });

  it('decodes ICMPv6 port unreachable with the quoted packet', () => {
    const p = decodePacket(KERNEL.icmpV6, { verifyChecksums: true });
    expect(p.errors).toEqual([]);
    expect(p.l4ChecksumOk).toBe(true);
    expect(p.icmpv6).toMatchObject({ type: 1, code: 4 });
    const q = p.icmpv6!.quoted!;
    expect(q).toMatchObject({ ipVersion: 6, src: 'fd3d:fa7b:d17d::1', srcPort: 5000, dstPort: 9 });
    expect(q.udp).toMatchObject({ length: 13, checksum: 0xc018 });
  });
});

describe('encodePacket', () => {
  it('rebuilds every kernel packet byte for byte from its decoded fields', () => {
    for (const [name, bytes] of Object.entries(KERNEL)) {
      const p = decodePacket(bytes);
      let spec: PacketToEncode;
      if (p.icmpv4 || p.icmpv6) {
        spec = specFrom(p);
        const h = (p.icmpv4 ?? p.icmpv6)!;
        const icmp = { type: h.type, code: h.code, rest: h.rest };
        if (p.icmpv4) spec.icmpv4 = icmp;
        else spec.icmpv6 = icmp;
      } else {
        spec = specFrom(p);
      }
      expect(encodePacket(spec).toString('hex'), name).toBe(bytes.toString('hex'));
    }
  });

  it('builds a script-style inbound SYN with computed lengths and checksums', () => {
    const b = encodePacket({
      ipv4: { src: '192.0.2.1', dst: '192.168.0.1', ttl: 255 },
      tcp: {
        srcPort: 41234,
        dstPort: 8080,
        flags: 'S',
        seq: 0,
        window: 32792,
        options: [{ type: 'mss', mss: 1000 }, { type: 'sackOK' }, { type: 'nop' }, { type: 'nop' }, { type: 'nop' }, { type: 'wscale', shift: 7 }],
      },
    });
    expect(b.length).toBe(20 + 20 + 12);
    const p = decodePacket(b, { verifyChecksums: true });
    expect(p.errors).toEqual([]);
    expect(p.ipChecksumOk).toBe(true);
    expect(p.l4ChecksumOk).toBe(true);
    expect(p.ipv4).toMatchObject({ ihl: 5, totalLength: 52, protocol: 6, ttl: 255, id: 0, flags: 0 });
    expect(p.tcp).toMatchObject({ dataOffset: 8, syn: true, ack: false, window: 32792 });
  });

  it('round-trips TCP with payload over IPv6', () => {
    const payload = Buffer.from('0123456789');
    const b = encodePacket({
      ipv6: { src: 'fd3d:fa7b:d17d::1', dst: 'fd3d:a0b:17d6::1', flowLabel: 0x12345, trafficClass: 0x02 },
      tcp: { srcPort: 1, dstPort: 2, flags: 'P.', seq: 1, ackSeq: 4294967295, window: 257, options: [{ type: 'nop' }, { type: 'nop' }, { type: 'timestamp', val: 1, ecr: 2 }] },
      payload,
    });
    const p = decodePacket(b, { verifyChecksums: true });
    expect(p.errors).toEqual([]);
    expect(p.l4ChecksumOk).toBe(true);
    expect(p.ipv6).toMatchObject({ payloadLength: 20 + 12 + 10, nextHeader: 6, flowLabel: 0x12345, trafficClass: 2 });
    expect(p.tcp).toMatchObject({ psh: true, ack: true, ackSeq: 4294967295 });
    expect(p.payload).toEqual(payload);
  });

  it('fills a numeric payload with zeros', () => {
    const b = encodePacket({ ipv4: { src: '1.1.1.1', dst: '2.2.2.2' }, tcp: { flags: '.' }, payload: 1000 });
    const p = decodePacket(b);
    expect(p.payload.length).toBe(1000);
    expect(p.payload.every((x) => x === 0)).toBe(true);
    expect(p.ipv4!.totalLength).toBe(1040);
  });

  it('lets explicit fields override computed ones', () => {
    const b = encodePacket({
      ipv4: { src: '1.1.1.1', dst: '2.2.2.2', totalLength: 99, checksum: 0x1234 },
      tcp: { dataOffset: 6, checksum: 0xbeef, flags: 'S', syn: false, fin: true },
    });
    expect(b.readUInt16BE(2)).toBe(99);
    expect(b.readUInt16BE(10)).toBe(0x1234);
    expect(b[32]! >> 4).toBe(6);
    expect(b.readUInt16BE(36)).toBe(0xbeef);
    const p = decodePacket(b);
    expect(p.tcp).toMatchObject({ syn: false, fin: true });
    expect(p.errors).toContain('Bad IP checksum');
    expect(p.errors).toContain('TCP data offset too big');
  });

  it('stores wrong checksums on request', () => {
    const base: PacketToEncode = { ipv4: { src: '192.0.2.1', dst: '192.168.0.1' }, tcp: { srcPort: 1, dstPort: 2, flags: 'S' } };
    const good = decodePacket(encodePacket(base), { verifyChecksums: true });
    expect(good.l4ChecksumOk).toBe(true);
    const badTcp = decodePacket(encodePacket({ ...base, tcp: { ...base.tcp, badChecksum: true } }), { verifyChecksums: true });
    expect(badTcp.l4ChecksumOk).toBe(false);
    expect(badTcp.ipChecksumOk).toBe(true);
    const badIp = decodePacket(encodePacket({ ...base, ipv4: { ...base.ipv4!, badChecksum: true } }), { verifyChecksums: true });
    expect(badIp.ipChecksumOk).toBe(false);
    expect(badIp.errors).toEqual(['Bad IP checksum']);
    expect(badIp.l4ChecksumOk).toBe(true);
  });

  it('encodes UDP with a length and a never-zero IPv4 checksum', () => {
    const b = encodePacket({
      ipv4: { src: '192.0.2.1', dst: '192.168.0.1', flags: 2 },
      udp: { srcPort: 5000, dstPort: 9 },
      payload: Buffer.from('hello'),
    });
    // Same datagram the kernel quoted back in its port-unreachable message.
    expect(b.toString('hex')).toBe('45000021000040004011b821c0000201c0a8000113880009000d25c668656c6c6f');
    const p = decodePacket(b, { verifyChecksums: true });
    expect(p.udp).toMatchObject({ length: 13 });
    expect(p.l4ChecksumOk).toBe(true);
  });

  it('encodes ICMPv4 frag-needed quoting a TCP segment, as an inbound script packet', () => {
    const quoted = encodeQuoted({
      ipv4: { src: '192.168.0.1', dst: '192.0.2.1', ttl: 0 },
      tcp: { srcPort: 8080, dstPort: 41234, seq: 1 },
      payload: 1460,
    });
    expect(quoted.length).toBe(28);
    const b = encodePacket({
      ipv4: { src: '192.0.2.1', dst: '192.168.0.1' },
      icmpv4: { type: 3, code: 4, mtu: 1200 },
      payload: quoted,
    });
    const p = decodePacket(b, { verifyChecksums: true });
    expect(p.errors).toEqual([]);
    expect(p.l4ChecksumOk).toBe(true);
    expect(p.icmpv4).toMatchObject({ type: 3, code: 4, mtu: 1200, rest: 1200 });
    const q = p.icmpv4!.quoted!;
    expect(q.truncated).toBe(true);
    expect(q.errors).toEqual([]);
    expect(q.tcp).toBeUndefined();
    expect(q.partialTcp).toEqual({ srcPort: 8080, dstPort: 41234, seq: 1 });
    expect(q.ipv4!.totalLength).toBe(20 + 20 + 1460);
  });

  it('encodes ICMPv6 packet-too-big with a 32-bit MTU and the pseudo-header checksum', () => {
    const quoted = encodeQuoted(
      { ipv6: { src: 'fd3d:a0b:17d6::1', dst: 'fd3d:fa7b:d17d::1' }, tcp: { srcPort: 8080, dstPort: 41234, seq: 77 }, payload: 1420 },
      20,
    );
    const b = encodePacket({
      ipv6: { src: 'fd3d:fa7b:d17d::1', dst: 'fd3d:a0b:17d6::1' },
      icmpv6: { type: 2, code: 0, mtu: 1280 },
      payload: quoted,
    });
    const p = decodePacket(b, { verifyChecksums: true });
    expect(p.errors).toEqual([]);
    expect(p.l4ChecksumOk).toBe(true);
    expect(p.icmpv6).toMatchObject({ type: 2, mtu: 1280 });
    expect(p.icmpv6!.quoted!.tcp).toMatchObject({ seq: 77, srcPort: 8080 });
  });

  it('encodes echo requests', () => {
    const b = encodePacket({ ipv4: { src: '1.1.1.1', dst: '2.2.2.2' }, icmpv4: { type: 8, echoId: 0x1234, echoSequence: 7 }, payload: 4 });
    const p = decodePacket(b, { verifyChecksums: true });
    expect(p.icmpv4).toMatchObject({ echoId: 0x1234, echoSequence: 7 });
    expect(p.l4ChecksumOk).toBe(true);
  });

  it('chains IPv6 extension headers', () => {
    const hopByHop = { type: 0, data: hex('ff00 0104 00000000') };
    const b = encodePacket({
      ipv6: { src: '::1', dst: '::2', extensionHeaders: [hopByHop] },
      tcp: { flags: 'S' },
    });
    expect(b[6]).toBe(0);
    expect(b[40]).toBe(6);
    const p = decodePacket(b, { verifyChecksums: true });
    expect(p.errors).toEqual([]);
    expect(p.l4Offset).toBe(48);
    expect(p.ipv6!.extensionHeaders).toEqual([{ type: 0, data: hex('0600 0104 00000000') }]);
    expect(p.l4ChecksumOk).toBe(true);
  });

  it('encodes packets with a raw upper layer', () => {
    const b = encodePacket({ ipv4: { src: '1.1.1.1', dst: '2.2.2.2', protocol: 132 }, payload: hex('01020304') });
    const p = decodePacket(b);
    expect(p.protocol).toBe(132);
    expect(p.payload).toEqual(hex('01020304'));
    expect(p.errors).toEqual([]);
  });

  it('encodes IPv4 options, padded', () => {
    const b = encodePacket({ ipv4: { src: '1.1.1.1', dst: '2.2.2.2', options: hex('940400') }, tcp: { flags: 'S' } });
    const p = decodePacket(b, { verifyChecksums: true });
    expect(p.ipv4!.ihl).toBe(6);
    expect(p.ipv4!.options).toEqual(hex('94040000'));
    expect(p.ipChecksumOk).toBe(true);
    expect(p.l4ChecksumOk).toBe(true);
  });

  it('explains specs it cannot encode', () => {
    expect(() => encodePacket({ tcp: {} })).toThrow(/exactly one of ipv4 or ipv6/);
    expect(() => encodePacket({ ipv4: { src: '1.1.1.1', dst: '2.2.2.2' }, tcp: {}, udp: {} })).toThrow(/at most one/);
    expect(() => encodePacket({ ipv4: { src: '1.1.1.1', dst: '2.2.2.2' } })).toThrow(/ipv4\.protocol/);
    expect(() =>
      encodePacket({ ipv4: { src: '1.1.1.1', dst: '2.2.2.2' }, tcp: { options: new Array(11).fill({ type: 'mss', mss: 1 }) } }),
    ).toThrow(/TCP options too long: 44 bytes/);
    expect(() => encodePacket({ ipv4: { src: '1.1.1.1', dst: 'nope' }, tcp: {} })).toThrow(/not an IPv4 address: 'nope'/);
    expect(() => encodePacket({ ipv4: { src: '1.1.1.1', dst: '2.2.2.2' }, tcp: { window: 70000 } })).toThrow(/TCP field window/);
    expect(() => encodePacket({ ipv4: { src: '1.1.1.1', dst: '2.2.2.2' }, tcp: { flags: 'Q' } })).toThrow(/Invalid TCP flag/);
    expect(() => encodePacket({ ipv4: { src: '1.1.1.1', dst: '2.2.2.2' }, icmpv4: { type: 3, code: 4, mtu: 70000 } })).toThrow(
      /MTU must be in 0\.\.65535/,
    );
  });
});

describe('decodePacket on bad input', () => {
  it('reports truncation with packetdrill wording', () => {
    const b = KERNEL.synV4;
    expect(decodePacket(Buffer.alloc(0)).errors).toEqual(['IP header overflows packet']);
    expect(decodePacket(b.subarray(0, 10))).toMatchObject({ truncated: true, errors: ['IP header overflows packet'] });
    const cut = decodePacket(b.subarray(0, 30));
    expect(cut.truncated).toBe(true);
    expect(cut.errors).toEqual(['IP payload overflows packet', 'Truncated TCP header']);
    expect(cut.srcPort).toBe(49496);
    expect(cut.src).toBe('192.168.0.1');
    const cutOpts = decodePacket(b.subarray(0, 50));
    expect(cutOpts.errors).toEqual(['IP payload overflows packet', 'TCP data offset too big']);
    expect(cutOpts.tcp!.options.map((o) => o.type)).toEqual(['mss', 'sackOK']);
    expect(cutOpts.tcp!.optionsError).toBe('TCP option data extends too far');
    const v6 = decodePacket(KERNEL.synV6.subarray(0, 39));
    expect(v6.errors).toEqual(['IPv6 header overflows packet']);
    expect(decodePacket(KERNEL.synV6.subarray(0, 70)).errors).toEqual(['IPv6 payload overflows packet', 'TCP data offset too big']);
  });

  it('reports header inconsistencies', () => {
    const short = Buffer.from(KERNEL.synV4);
    short[0] = 0x44;
    expect(decodePacket(short).errors).toContain('IP header too short');
    expect(decodePacket(hex('7000')).errors).toEqual(['Unsupported IP version']);
    const frag = encodePacket({ ipv4: { src: '1.1.1.1', dst: '2.2.2.2', flags: 1, fragmentOffset: 3 }, tcp: {} });
    expect(decodePacket(frag).errors).toEqual(['More fragments remaining', 'Non-zero fragment offset']);
    const udp = encodePacket({ ipv4: { src: '1.1.1.1', dst: '2.2.2.2' }, udp: { length: 7 }, payload: 2 });
    expect(decodePacket(udp).errors).toEqual(['UDP datagram length too small for UDP header']);
    const udpBig = encodePacket({ ipv4: { src: '1.1.1.1', dst: '2.2.2.2' }, udp: { length: 11 }, payload: 2 });
    expect(decodePacket(udpBig).errors).toEqual(['UDP datagram length too big']);
    const doff = encodePacket({ ipv4: { src: '1.1.1.1', dst: '2.2.2.2' }, tcp: { dataOffset: 4 } });
    expect(decodePacket(doff).errors).toEqual(['TCP data offset too small']);
  });

  it('ignores bytes past the IP total length', () => {
    const padded = Buffer.concat([KERNEL.synV4, Buffer.alloc(6, 0xaa)]);
    const p = decodePacket(padded, { verifyChecksums: true });
    expect(p.errors).toEqual([]);
    expect(p.end).toBe(60);
    expect(p.payload.length).toBe(0);
    expect(p.l4ChecksumOk).toBe(true);
  });

  it('never throws on truncations, corruptions and random bytes', () => {
    let seed = 12345;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed >>> 8;
    };
    const samples = Object.values(KERNEL);
    for (const s of samples) {
      for (let n = 0; n <= s.length; n++) expect(() => decodePacket(s.subarray(0, n))).not.toThrow();
    }
    for (let i = 0; i < 3000; i++) {
      const base = Buffer.from(samples[i % samples.length]!);
      const flips = 1 + (rand() % 6);
      for (let f = 0; f < flips; f++) base[rand() % base.length] = rand() & 0xff;
      const n = rand() % (base.length + 1);
      expect(() => decodePacket(base.subarray(0, n), { verifyChecksums: true })).not.toThrow();
    }
    for (let i = 0; i < 2000; i++) {
      const len = rand() % 120;
      const b = Buffer.alloc(len);
      for (let j = 0; j < len; j++) b[j] = rand() & 0xff;
      if (len > 0) b[0] = (i % 2 === 0 ? 0x40 : 0x60) | (b[0]! & 0x0f);
      expect(() => decodePacket(b, { verifyChecksums: true })).not.toThrow();
    }
  });
});
