/**
 * Where headers sit in raw packets: IPv4 (with options), IPv6 (with
 * extension headers), the IP packet an ICMP error echoes, addresses, and
 * and the TCP option walks the engine uses to rewrite timestamps and SACK.
 */
import { describe, expect, it } from 'vitest';
import { offsetSackBlocks, tcpTimestampOffset } from '../../src/packet/in-place.js';
import { layoutOf, readAddr, writeAddr } from '../../src/packet/layout.js';
import {
  IPPROTO_ICMP as PROTO_ICMP,
  IPPROTO_ICMPV6 as PROTO_ICMPV6,
  IPPROTO_TCP as PROTO_TCP,
  IPPROTO_UDP as PROTO_UDP,
} from '../../src/packet/protocols.js';
import { tcpOptionPlaces } from '../../src/packet/tcp-options.js';

function ipv4(proto: number, l4: Buffer, ihl = 5): Buffer {
  const b = Buffer.alloc(ihl * 4 + l4.length);
  b[0] = 0x40 | ihl;
  b.writeUInt16BE(b.length, 2);
  b[8] = 64;
  b[9] = proto;
  l4.copy(b, ihl * 4);
  return b;
}

function ipv6(next: number, rest: Buffer): Buffer {
  const b = Buffer.alloc(40 + rest.length);
  b.writeUInt32BE(0x60000000, 0);
  b.writeUInt16BE(rest.length, 4);
  b[6] = next;
  b[7] = 64;
  rest.copy(b, 40);
  return b;
}

function tcp(opts: number[] = [], payload = 0): Buffer {
  const len = 20 + opts.length;
  const t = Buffer.alloc(len + payload);
  t.writeUInt16BE(8080, 0);
  t.writeUInt16BE(40000, 2);
  t[12] = (len / 4) << 4;
  t[13] = 0x10;
  Buffer.from(opts).copy(t, 20);
  return t;
}

describe('layoutOf', () => {
  it('finds the TCP header and payload of an IPv4 packet', () => {
    const b = ipv4(PROTO_TCP, tcp([1, 1, 1, 1], 100));
    expect(layoutOf(b)).toEqual({
      ipVersion: 4, ipHeaderLen: 20, ipTotalLen: 144, proto: PROTO_TCP, l4: 20, l4HeaderLen: 24, payload: 44, payloadLen: 100,
    });
  });

  it('honours IPv4 options (IHL > 5)', () => {
    const b = ipv4(PROTO_UDP, Buffer.alloc(8 + 3), 6);
    expect(layoutOf(b)).toMatchObject({ ipHeaderLen: 24, l4: 24, l4HeaderLen: 8, payload: 32, payloadLen: 3 });
  });

  it('ignores bytes past the IP total length', () => {
    const b = Buffer.concat([ipv4(PROTO_TCP, tcp([], 10)), Buffer.alloc(6)]);
    expect(layoutOf(b)!.payloadLen).toBe(10);
  });

  it('walks IPv6 extension headers to the transport header', () => {
    // Hop-by-hop (8 bytes) -> destination options (16 bytes) -> fragment (8) -> TCP.
    const hbh = Buffer.from([60, 0, 1, 4, 0, 0, 0, 0]);
    const dst = Buffer.alloc(16);
    dst[0] = 44;
    dst[1] = 1;
    const frag = Buffer.from([PROTO_TCP, 0, 0, 0, 0, 0, 0, 1]);
    const b = ipv6(0, Buffer.concat([hbh, dst, frag, tcp([], 5)]));
    expect(layoutOf(b)).toMatchObject({ ipVersion: 6, ipHeaderLen: 40, proto: PROTO_TCP, l4: 72, l4HeaderLen: 20, payload: 92, payloadLen: 5 });
  });

  it('sizes an authentication header in 4-byte units', () => {
    const ah = Buffer.alloc(16);
    ah[0] = PROTO_UDP;
    ah[1] = 2; // (2 + 2) * 4 = 16 bytes
    const b = ipv6(51, Buffer.concat([ah, Buffer.alloc(8)]));
    expect(layoutOf(b)).toMatchObject({ proto: PROTO_UDP, l4: 56 });
  });

  it('finds the packet echoed in an ICMPv4 error', () => {
    const echoedTcp = tcp();
    const echoed = ipv4(PROTO_TCP, echoedTcp.subarray(0, 8));
    echoed.writeUInt16BE(40, 2);
    const icmp = Buffer.concat([Buffer.from([3, 4, 0, 0, 0, 0, 0x05, 0xdc]), echoed]);
    const b = ipv4(PROTO_ICMP, icmp);
    const l = layoutOf(b)!;
    expect(l).toMatchObject({ proto: PROTO_ICMP, l4: 20, l4HeaderLen: 8, payload: 28 });
    expect(l.echoed).toEqual({ ip: 28, ipVersion: 4, ipHeaderLen: 20, proto: PROTO_TCP, l4: 48 });
  });

  it('finds the packet echoed in an ICMPv6 error', () => {
    const echoed = ipv6(PROTO_UDP, Buffer.alloc(8));
    const icmp = Buffer.concat([Buffer.from([1, 4, 0, 0, 0, 0, 0, 0]), echoed]);
    const l = layoutOf(ipv6(PROTO_ICMPV6, icmp))!;
    expect(l.proto).toBe(PROTO_ICMPV6);
    expect(l.echoed).toEqual({ ip: 48, ipVersion: 6, ipHeaderLen: 40, proto: PROTO_UDP, l4: 88 });
  });

  it('has no echoed packet for an echo request', () => {
    const b = ipv4(PROTO_ICMP, Buffer.from([8, 0, 0, 0, 0, 1, 0, 1]));
    expect(layoutOf(b)!.echoed).toBeUndefined();
  });

  it('reads packets at an offset', () => {
    const b = Buffer.concat([Buffer.alloc(4), ipv4(PROTO_TCP, tcp())]);
    expect(layoutOf(b, 4)).toMatchObject({ ipVersion: 4, l4: 24 });
  });

  it('returns null for what is not IP', () => {
    expect(layoutOf(Buffer.alloc(10))).toBeNull();
    expect(layoutOf(Buffer.alloc(40))).toBeNull(); // version 0
    const short6 = Buffer.alloc(30);
    short6[0] = 0x60;
    expect(layoutOf(short6)).toBeNull();
  });
});

describe('addresses', () => {
  it('reads and writes IPv4 addresses', () => {
    const b = ipv4(PROTO_TCP, tcp());
    writeAddr(b, 0, 'src', '192.0.2.1');
    writeAddr(b, 0, 'dst', '192.168.0.1');
    expect(b.subarray(12, 20).toString('hex')).toBe('c0000201c0a80001');
    expect(readAddr(b, 0, 'src')).toBe('192.0.2.1');
    expect(readAddr(b, 0, 'dst')).toBe('192.168.0.1');
    writeAddr(b, 0, 'src', '');
    expect(readAddr(b, 0, 'src')).toBe('0.0.0.0');
  });

  it('reads IPv6 addresses in their shortest form', () => {
    const b = ipv6(PROTO_TCP, tcp());
    for (const [written, read] of [
      ['fd3d:0a0b:17d6::1', 'fd3d:a0b:17d6::1'],
      ['fd3d:fa7b:d17d::1', 'fd3d:fa7b:d17d::1'],
      ['fd3d:0a0b:17d6:8888::1', 'fd3d:a0b:17d6:8888::1'],
      ['::1', '::1'],
      ['::', '::'],
      ['1::', '1::'],
      ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1'],
      ['2001:db8::1:0:0:1', '2001:db8::1:0:0:1'],
      ['fe80:0:1:2:3:4:5:6', 'fe80:0:1:2:3:4:5:6'],
    ] as const) {
      writeAddr(b, 0, 'dst', written);
      expect(readAddr(b, 0, 'dst')).toBe(read);
    }
  });

  it('writes IPv6 text as bytes, dotted tails included', () => {
    const b = ipv6(PROTO_TCP, tcp());
    const dst = (text: string) => {
      writeAddr(b, 0, 'dst', text);
      return b.subarray(24, 40).toString('hex');
    };
    expect(dst('fd3d:a0b:17d6::1')).toBe('fd3d0a0b17d600000000000000000001');
    expect(dst('::ffff:192.0.2.1')).toBe('00000000000000000000ffffc0000201');
    expect(dst('::1.2.3.4')).toBe('00000000000000000000000001020304');
    expect(dst('1:2:3:4:5:6:7:8')).toBe('00010002000300040005000600070008');
    expect(dst('')).toBe('00000000000000000000000000000000');
  });

  it('writes the addresses of an echoed header at its own offset', () => {
    const echoed = ipv4(PROTO_TCP, Buffer.alloc(8));
    const b = ipv4(PROTO_ICMP, Buffer.concat([Buffer.from([3, 3, 0, 0, 0, 0, 0, 0]), echoed]));
    writeAddr(b, 28, 'src', '10.0.0.1');
    expect(readAddr(b, 28, 'src')).toBe('10.0.0.1');
    expect(readAddr(b, 0, 'src')).toBe('0.0.0.0');
  });
});

describe('TCP option walks', () => {
  const withOpts = (opts: number[]) => {
    const b = ipv4(PROTO_TCP, tcp(opts));
    return { b, l: layoutOf(b)! };
  };

  it('finds the timestamp value behind NOPs and other options', () => {
    const { b, l } = withOpts([2, 4, 5, 0xb4, 1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9]);
    const at = tcpTimestampOffset(b, l.l4);
    expect(at).toBe(20 + 20 + 8);
    expect(b.readUInt32BE(at)).toBe(7);
    expect(b.readUInt32BE(at + 4)).toBe(9);
  });

  it('walks past EOL as packetdrill does, and stops at malformed lengths', () => {
    // EOL is one byte like NOP: a timestamp after it is still found (offset 20 + 4 + 2 in the TCP header).
    expect(tcpTimestampOffset(withOpts([0, 1, 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1]).b, 20)).not.toBe(-1);
    expect(tcpTimestampOffset(withOpts([2, 0, 8, 10, 0, 0, 0, 1, 0, 0, 0, 1]).b, 20)).toBe(-1);
    expect(tcpTimestampOffset(withOpts([1, 1, 1, 1]).b, 20)).toBe(-1);
  });

  it('moves every SACK block', () => {
    const { b, l } = withOpts([1, 1, 5, 18, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4]);
    expect(offsetSackBlocks(b, 10, l.l4)).toBe(2);
    const edges: number[] = [];
    for (let at = l.l4 + 24; at < l.l4 + 40; at += 4) edges.push(b.readUInt32BE(at));
    expect(edges).toEqual([11, 12, 13, 14]);
  });

  it('lists options with their placement, EOL and NOP as one byte', () => {
    const { b, l } = withOpts([2, 4, 5, 0xb4, 1, 3, 3, 7, 0, 0, 0, 0]);
    expect(tcpOptionPlaces(b, l.l4 + 20, l.l4 + l.l4HeaderLen)).toEqual({
      places: [
        { kind: 2, at: 40, len: 4 },
        { kind: 1, at: 44, len: 1 },
        { kind: 3, at: 45, len: 3 },
        { kind: 0, at: 48, len: 1 },
        { kind: 0, at: 49, len: 1 },
        { kind: 0, at: 50, len: 1 },
        { kind: 0, at: 51, len: 1 },
      ],
    });
  });

  it('reports broken option lists', () => {
    expect(tcpOptionPlaces(...args(withOpts([1, 1, 1, 2]))).error).toBe('TCP option length byte extends too far');
    expect(tcpOptionPlaces(...args(withOpts([2, 8, 5, 0xb4]))).error).toBe('TCP option data extends too far');
    expect(tcpOptionPlaces(...args(withOpts([2, 1, 5, 0xb4]))).error).toBe('TCP option with length byte is too short');
  });
});

function args(x: { b: Buffer; l: { l4: number; l4HeaderLen: number } }): [Buffer, number, number] {
  return [x.b, x.l.l4 + 20, x.l.l4 + x.l.l4HeaderLen];
}
