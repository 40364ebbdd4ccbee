import { describe, expect, it } from 'vitest';
import {
  decodePacket,
  encodePacket,
  encodeQuoted,
  formatPacket,
  formatPacketReportLine,
  formatScriptPacket,
  hexDump,
} from '../../src/packet/index.js';
import { hex } from '../fixtures/kernel-packets.js';

describe('formatPacket', () => {
  it('prints an IPv4 ACK with SACK and timestamps', () => {
    const p = decodePacket(
      encodePacket({
        ipv4: { src: '192.0.2.1', dst: '192.168.0.1', ttl: 255 },
        tcp: {
          srcPort: 53055,
          dstPort: 8080,
          flags: '.',
          seq: 1,
          ackSeq: 2202903899,
          window: 257,
          options: [
            { type: 'sack', blocks: [{ left: 2202905347, right: 2202906795 }] },
            { type: 'timestamp', val: 300, ecr: 1623332896 },
          ],
        },
      }),
    );
    expect(formatPacket(p)).toBe(
      '192.0.2.1:53055 > 192.168.0.1:8080 . 1:1(0) ack 2202903899 win 257 <sack 2202905347:2202906795,TS val 300 ecr 1623332896>',
    );
    expect(formatPacket(p, { format: 'short' })).toBe(
      '. 1:1(0) ack 2202903899 win 257 <sack 2202905347:2202906795,TS val 300 ecr 1623332896>',
    );
  });

  it('prints an IPv6 SYN with inet_ntop addresses', () => {
    const p = decodePacket(
      encodePacket({
        ipv6: { src: '2001:db8::1', dst: 'fd3d:fa7b:d17d::1' },
        tcp: {
          srcPort: 54242,
          dstPort: 8080,
          flags: 'S',
          window: 32792,
          options: [{ type: 'mss', mss: 1000 }, { type: 'sackOK' }, { type: 'nop' }, { type: 'nop' }, { type: 'nop' }, { type: 'wscale', shift: 7 }],
        },
      }),
    );
    expect(formatPacket(p)).toBe(
      '2001:db8::1:54242 > fd3d:fa7b:d17d::1:8080 S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>',
    );
  });

  it('prints FIN-ACK and MD5 segments', () => {
    const fin = decodePacket(
      encodePacket({
        ipv4: { src: '192.168.0.1', dst: '192.0.2.1' },
        tcp: {
          srcPort: 8080,
          dstPort: 56268,
          flags: 'F.',
          seq: 2072102268,
          ackSeq: 1,
          window: 453,
          options: [{ type: 'nop' }, { type: 'nop' }, { type: 'timestamp', val: 117573699, ecr: 5 }],
        },
      }),
    );
    expect(formatPacket(fin)).toBe(
      '192.168.0.1:8080 > 192.0.2.1:56268 F. 2072102268:2072102268(0) ack 1 win 453 <nop,nop,TS val 117573699 ecr 5>',
    );
    const md5 = decodePacket(
      encodePacket({
        ipv4: { src: '192.0.2.1', dst: '192.168.0.1' },
        tcp: { flags: 'S', seq: 1, window: 256, options: [{ type: 'md5', digest: hex('000102030405060708090a0b0c0d0e0f') }, { type: 'nop' }, { type: 'nop' }] },
      }),
    );
    expect(formatScriptPacket(md5)).toBe('S 1:1(0) win 256 <md5 000102030405060708090a0b0c0d0e0f,nop,nop>');
  });

  it('ends fields with a space when there are no options, like packetdrill', () => {
    const p = decodePacket(
      encodePacket({ ipv4: { src: '192.0.2.1', dst: '192.168.0.1' }, tcp: { flags: 'P.', seq: 1, ackSeq: 1, window: 257 }, payload: 1000 }),
    );
    expect(formatScriptPacket(p)).toBe('P. 1:1001(1000) ack 1 win 257 ');
    expect(formatScriptPacket(p, { showWindow: false })).toBe('P. 1:1001(1000) ack 1 ');
  });

  it('wraps the end sequence number at 2^32', () => {
    const p = decodePacket(encodePacket({ ipv4: { src: '1.1.1.1', dst: '2.2.2.2' }, tcp: { seq: 4294967295, window: 1 }, payload: 2 }));
    expect(formatScriptPacket(p)).toBe(' 4294967295:1(2) win 1 ');
  });

  it('prints ECN flags as letters or as the ACE digit', () => {
    const p = decodePacket(encodePacket({ ipv4: { src: '1.1.1.1', dst: '2.2.2.2' }, tcp: { flags: 'S.EWA', window: 5 } }));
    expect(formatScriptPacket(p)).toBe('S.EWA 0:0(0) ack 0 win 5 ');
    expect(formatScriptPacket(p, { ace: true })).toBe('S.7 0:0(0) ack 0 win 5 ');
  });

  it('prints unknown and malformed options readably', () => {
    const p = decodePacket(
      encodePacket({
        ipv4: { src: '1.1.1.1', dst: '2.2.2.2' },
        tcp: { flags: 'S', window: 5, options: hex('0101 6304abcd 0104') },
      }),
    );
    expect(formatScriptPacket(p)).toBe('S 0:0(0) win 5 <nop,nop,kind 99 len 4,nop,[bad opt: TCP option length byte extends too far]>');
  });

  it('prints UDP and ICMP as packetdrill does', () => {
    const udp = decodePacket(
      encodePacket({ ipv4: { src: '192.0.2.1', dst: '192.168.0.1' }, udp: { srcPort: 5000, dstPort: 9 }, payload: 5 }),
    );
    expect(formatPacket(udp)).toBe('192.0.2.1:5000 > 192.168.0.1:9 udp (5)');
    expect(formatScriptPacket(udp)).toBe('udp (5)');
    const icmp = decodePacket(
      encodePacket({
        ipv4: { src: '192.0.2.1', dst: '192.168.0.1' },
        icmpv4: { type: 3, code: 4, mtu: 1200 },
        payload: encodeQuoted({ ipv4: { src: '192.168.0.1', dst: '192.0.2.1' }, tcp: { srcPort: 8080, dstPort: 41234, seq: 1 }, payload: 1460 }),
      }),
    );
    expect(formatPacket(icmp)).toBe('icmpv4');
    expect(formatPacket(icmp, { icmpDetail: true })).toBe(
      'icmpv4 unreachable frag_needed mtu 1200 [192.168.0.1:8080 > 192.0.2.1:41234 tcp seq 1]',
    );
    const icmp6 = decodePacket(
      encodePacket({ ipv6: { src: '::1', dst: '::2' }, icmpv6: { type: 2, mtu: 1280 }, payload: 0 }),
    );
    expect(formatPacket(icmp6)).toBe('icmpv6');
    expect(formatPacket(icmp6, { icmpDetail: true })).toBe('icmpv6 packet_too_big mtu 1280');
  });

  it('names what is missing', () => {
    expect(formatPacket(decodePacket(hex('00')))).toBe('[NO IP HEADER]');
    expect(formatPacket(decodePacket(encodePacket({ ipv4: { src: '1.1.1.1', dst: '2.2.2.2', protocol: 47 }, payload: 4 })))).toBe(
      '[protocol 47]',
    );
  });

  it('adds a hex dump in verbose format', () => {
    const b = encodePacket({ ipv4: { src: '192.0.2.1', dst: '192.168.0.1' }, tcp: { flags: 'S', window: 1 } });
    const p = decodePacket(b);
    const lines = formatPacket(p, { format: 'verbose' }).split('\n');
    expect(lines[0]).toBe('192.0.2.1:0 > 192.168.0.1:0 S 0:0(0) win 1 ');
    expect(lines[1]).toBe(`0x0000: ${[...b.subarray(0, 16)].map((x) => x.toString(16).padStart(2, '0') + ' ').join('')}`);
    expect(lines[3]).toBe('0x0020: 50 02 00 01 ' + b.subarray(36, 40).toString('hex').replace(/(..)/g, '$1 '));
    expect(lines[4]).toBe('');
    expect(hexDump(hex('0102'))).toBe('0x0000: 01 02 \n');
  });
});

describe('formatPacketReportLine', () => {
  it('writes packetdrill\'s script/actual lines', () => {
    const p = decodePacket(
      encodePacket({
        ipv4: { src: '192.168.0.1', dst: '192.0.2.1' },
        tcp: { flags: 'S.', seq: 0, ackSeq: 1, window: 65535, options: [{ type: 'mss', mss: 1460 }] },
      }),
    );
    expect(formatPacketReportLine('script', 100000, p)).toBe('script packet:  0.100000 S. 0:0(0) ack 1 win 65535 <mss 1460>');
    expect(formatPacketReportLine('actual', 12345678, p)).toBe('actual packet: 12.345678 S. 0:0(0) ack 1 win 65535 <mss 1460>');
  });
});
