import { describe, expect, it } from 'vitest';
import {
  decodePacket,
  encodePacket,
  findTcpOption,
  ipEnd,
  locateL4,
  readTcpAck,
  readTcpDstPort,
  readTcpFlagsByte,
  readTcpSeq,
  readTcpSrcPort,
  readTcpWindow,
  refreshChecksums,
  refreshL4Checksum,
  tcpChecksumOk,
  tcpOffset,
  tcpPayloadLength,
  writeTcpAck,
  writeTcpSeq,
  writeTcpWindow,
  TCPOPT_TIMESTAMP,
  TCPOPT_WSCALE,
  TCPOPT_SACK,
  offsetSackBlocks,
  tcpTimestampOffset,
} from '../../src/packet/index.js';
import { KERNEL, hex } from '../fixtures/kernel-packets.js';

const KERNEL_SYN_V4 = KERNEL.synV4;
const KERNEL_SYN_V6 = KERNEL.synV6;

describe('in-place helpers', () => {
  it('find the TCP header in IPv4, IPv6, with IPv4 options and IPv6 extension headers', () => {
    expect(tcpOffset(KERNEL_SYN_V4)).toBe(20);
    expect(tcpOffset(KERNEL_SYN_V6)).toBe(40);
    const withOpts = encodePacket({ ipv4: { src: '1.1.1.1', dst: '2.2.2.2', options: hex('94040000') }, tcp: {} });
    expect(tcpOffset(withOpts)).toBe(24);
    const withExt = encodePacket({ ipv6: { src: '::1', dst: '::2', extensionHeaders: [{ type: 60, data: hex('0001 0000 0000 0000 0000 0000 0000 0000') }] }, tcp: {} });
    expect(tcpOffset(withExt)).toBe(56);
    const udp = encodePacket({ ipv4: { src: '1.1.1.1', dst: '2.2.2.2' }, udp: {} });
    expect(tcpOffset(udp)).toBe(-1);
    expect(tcpOffset(KERNEL_SYN_V4.subarray(0, 30))).toBe(-1);
    expect(tcpOffset(Buffer.alloc(0))).toBe(-1);
    const out = { offset: 0, protocol: 0 };
    expect(locateL4(udp, out)).toBe(true);
    expect(out).toEqual({ offset: 20, protocol: 17 });
  });

  it('read the fields decodePacket reads', () => {
    for (const b of [KERNEL_SYN_V4, KERNEL_SYN_V6]) {
      const p = decodePacket(b);
      expect(readTcpSeq(b)).toBe(p.tcp!.seq);
      expect(readTcpAck(b)).toBe(p.tcp!.ackSeq);
      expect(readTcpWindow(b)).toBe(p.tcp!.window);
      expect(readTcpSrcPort(b)).toBe(p.tcp!.srcPort);
      expect(readTcpDstPort(b)).toBe(p.tcp!.dstPort);
      expect(readTcpFlagsByte(b)).toBe(0x02);
      expect(tcpPayloadLength(b)).toBe(0);
      expect(ipEnd(b)).toBe(b.length);
    }
  });

  it('verify TCP checksums of kernel packets and detect corruption', () => {
    expect(tcpChecksumOk(KERNEL_SYN_V4)).toBe(true);
    expect(tcpChecksumOk(KERNEL_SYN_V6)).toBe(true);
    const bad = Buffer.from(KERNEL_SYN_V4);
    bad[bad.length - 1] ^= 0x40;
    expect(tcpChecksumOk(bad)).toBe(false);
    const bad6 = Buffer.from(KERNEL_SYN_V6);
    bad6[9] ^= 1; // source address is covered by the pseudo-header
    expect(tcpChecksumOk(bad6)).toBe(false);
  });

  it('rewrite seq, ack and window, and refresh checksums', () => {
    const b = Buffer.from(KERNEL_SYN_V4);
    const off = tcpOffset(b);
    writeTcpSeq(b, 2 ** 32 + 5, off);
    writeTcpAck(b, -1, off);
    writeTcpWindow(b, 1234, off);
    expect(readTcpSeq(b, off)).toBe(5);
    expect(readTcpAck(b, off)).toBe(0xffffffff);
    expect(tcpChecksumOk(b)).toBe(false);
    refreshChecksums(b);
    expect(tcpChecksumOk(b)).toBe(true);
    const p = decodePacket(b, { verifyChecksums: true });
    expect(p.errors).toEqual([]);
    expect(p.l4ChecksumOk).toBe(true);
    expect(p.tcp).toMatchObject({ seq: 5, ackSeq: 0xffffffff, window: 1234 });
  });

  it('refresh UDP and ICMPv6 checksums', () => {
    const udp = encodePacket({ ipv6: { src: '::1', dst: '::2' }, udp: { srcPort: 1, dstPort: 2 }, payload: 3 });
    udp[udp.length - 1] = 9;
    expect(decodePacket(udp, { verifyChecksums: true }).l4ChecksumOk).toBe(false);
    expect(refreshL4Checksum(udp)).toBe(true);
    expect(decodePacket(udp, { verifyChecksums: true }).l4ChecksumOk).toBe(true);
    const icmp = encodePacket({ ipv6: { src: '::1', dst: '::2' }, icmpv6: { type: 128 }, payload: 3 });
    icmp[icmp.length - 1] = 9;
    refreshL4Checksum(icmp);
    expect(decodePacket(icmp, { verifyChecksums: true }).l4ChecksumOk).toBe(true);
  });

  it('find options by kind', () => {
    const b = KERNEL_SYN_V4;
    const ts = findTcpOption(b, TCPOPT_TIMESTAMP);
    expect(ts).toBe(20 + 20 + 6);
    expect(b.readUInt32BE(ts + 2)).toBe(0xfa36df0f);
    expect(findTcpOption(b, TCPOPT_WSCALE)).toBe(20 + 20 + 17);
    expect(findTcpOption(b, TCPOPT_SACK)).toBe(-1);
  });

  it('count payload bytes up to the IP total length', () => {
    const b = encodePacket({ ipv4: { src: '1.1.1.1', dst: '2.2.2.2' }, tcp: { options: [{ type: 'nop' }] }, payload: 100 });
    expect(tcpPayloadLength(b)).toBe(100);
    expect(tcpPayloadLength(Buffer.concat([b, Buffer.alloc(4)]))).toBe(100);
  });

  it('locate timestamps and shift SACK blocks in place', () => {
    const b = encodePacket({
      ipv4: { src: '1.1.1.1', dst: '2.2.2.2' },
      tcp: {
        flags: '.',
        options: [
          { type: 'nop' },
          { type: 'nop' },
          { type: 'timestamp', val: 7, ecr: 9 },
          { type: 'nop' },
          { type: 'nop' },
          { type: 'sack', blocks: [{ left: 100, right: 200 }, { left: 0xfffffff0, right: 5 }] },
        ],
      },
    });
    const ts = tcpTimestampOffset(b);
    expect(b.readUInt32BE(ts)).toBe(7);
    expect(b.readUInt32BE(ts + 4)).toBe(9);
    expect(offsetSackBlocks(b, 0x20)).toBe(2);
    refreshChecksums(b);
    const p = decodePacket(b, { verifyChecksums: true });
    expect(p.l4ChecksumOk).toBe(true);
    const sack = p.tcp!.options.find((o) => o.type === 'sack');
    expect(sack).toMatchObject({ blocks: [{ left: 0x84, right: 0xe8 }, { left: 0x10, right: 0x25 }] });
    expect(tcpTimestampOffset(KERNEL_SYN_V6)).toBe(40 + 20 + 6 + 2);
    expect(offsetSackBlocks(KERNEL_SYN_V6, 1)).toBe(0);
  });

  it('complain when asked for TCP fields of a non-TCP packet', () => {
    const udp = encodePacket({ ipv4: { src: '1.1.1.1', dst: '2.2.2.2' }, udp: {} });
    expect(() => readTcpSeq(udp)).toThrow('not a TCP packet');
    expect(tcpChecksumOk(udp)).toBe(false);
  });
});
