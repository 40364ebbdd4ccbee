import { describe, expect, it } from 'vitest';
import { ethernetFraming, VNET_F_NEEDS_CSUM, vethGsoSize } from '../../src/backend/veth.js';
import { VNET_FRAMING, VNET_GSO_TCPV4, VNET_GSO_TCPV6, VNET_HDR_LEN } from '../../src/backend/tun-device.js';
import { foldSum, pseudoHeaderSum } from '../../src/packet/checksum.js';
import { decodePacket, encodePacket } from '../../src/packet/index.js';

const harness = Buffer.from([0x02, 0, 0, 0, 0, 0x0a]);
const kernel = Buffer.from([0x02, 0, 0, 0, 0, 0x0b]);
const ETH = 14;

/** A TCP segment from the remote peer to the kernel, `payload` bytes, with or without the timestamp option (nop, nop, timestamp: 12 bytes). */
function tcp4(payload: number, ts = false): Buffer {
  return encodePacket({
    ipv4: { src: '192.0.2.1', dst: '192.168.0.1', ttl: 64 },
    tcp: { srcPort: 55555, dstPort: 8080, seq: 1, ack: 1, flags: 'P.', window: 257, ...(ts ? { options: [{ type: 'nop' }, { type: 'nop' }, { type: 'timestamp', val: 1, ecr: 2 }] } : {}) },
    payload,
  } as Parameters<typeof encodePacket>[0]);
}
function tcp6(payload: number): Buffer {
  return encodePacket({
    ipv6: { src: 'fd3d:fa7b:d17d::1', dst: 'fd3d:a0b:17d6::1', hopLimit: 64 },
    tcp: { srcPort: 55555, dstPort: 8080, seq: 1, ack: 1, flags: 'P.', window: 257 },
    payload,
  } as Parameters<typeof encodePacket>[0]);
}

describe('veth framing: Ethernet behind a virtio-net header', () => {
  const f = ethernetFraming(harness, kernel, 1500);
  const ip4 = Buffer.from([0x45, 0, 0, 20, ...new Array<number>(16).fill(0)]);
  const ip6 = Buffer.from([0x60, ...new Array<number>(39).fill(0)]);

  it('injects from the harness address to the kernel address, with tun\'s GSO marks', () => {
    const frame = f.encode(ip4, 0);
    expect(frame.length).toBe(VNET_HDR_LEN + 14 + 20);
    expect(frame.subarray(VNET_HDR_LEN, VNET_HDR_LEN + 6).equals(kernel)).toBe(true);
    expect(frame.subarray(VNET_HDR_LEN + 6, VNET_HDR_LEN + 12).equals(harness)).toBe(true);
    expect(frame.readUInt16BE(VNET_HDR_LEN + 12)).toBe(0x0800);
    expect(f.encode(ip6, 0).readUInt16BE(VNET_HDR_LEN + 12)).toBe(0x86dd);
    // A packet that is not TCP, or not larger than the MTU, gets no marks, as over tun.
    expect(f.encode(ip6, 1440).subarray(0, VNET_HDR_LEN).equals(VNET_FRAMING.encode(ip6, 0).subarray(0, VNET_HDR_LEN))).toBe(true);
    expect(f.captureOffset).toBe(VNET_HDR_LEN);
    expect(f.linkType).toBe('ethernet');
  });

  it('reads the IP packet and GSO marks of a frame, and drops what is not IP', () => {
    const frame = f.encode(ip6, 0);
    frame[1] = VNET_GSO_TCPV6;
    frame.writeUInt16LE(1440, 4);
    const d = f.decode(frame);
    expect(d?.ip.equals(ip6)).toBe(true);
    expect(d?.gsoType).toBe(4);
    expect(d?.gsoSize).toBe(1440);
    const arp = f.encode(ip4, 0);
    arp.writeUInt16BE(0x0806, VNET_HDR_LEN + 12);
    expect(f.decode(arp)).toBeNull();
    expect(f.decode(Buffer.alloc(VNET_HDR_LEN + 10))).toBeNull();
  });
});

describe('veth framing: TCP segments larger than the MTU go as GSO frames', () => {
  const f = ethernetFraming(harness, kernel, 1500);

  it('marks a 10000-byte IPv4 segment as TSO with a partial checksum, as the kernel marks its own TSO frames', () => {
    const ip = tcp4(10000);
    const frame = f.encode(ip, 0);
    expect(frame[0]).toBe(VNET_F_NEEDS_CSUM);
    expect(frame[1]).toBe(VNET_GSO_TCPV4);
    expect(frame.readUInt16LE(2)).toBe(ETH + 20 + 20); // hdr_len: Ethernet + IP + TCP headers
    expect(frame.readUInt16LE(4)).toBe(9999); // gso_size: the largest that keeps it GSO
    expect(frame.readUInt16LE(6)).toBe(ETH + 20); // csum_start: the TCP header
    expect(frame.readUInt16LE(8)).toBe(16); // csum_offset: TCP's checksum field
    // The checksum field holds the pseudo-header sum over the whole segment (CHECKSUM_PARTIAL).
    const at = VNET_HDR_LEN + ETH + 20 + 16;
    expect(frame.readUInt16BE(at)).toBe(foldSum(pseudoHeaderSum(ip, 0, 6, ip.length - 20)));
    expect(frame.readUInt16BE(at)).not.toBe(ip.readUInt16BE(20 + 16));
    // The rest of the frame is the packet as built.
    const rest = Buffer.from(frame.subarray(VNET_HDR_LEN + ETH));
    rest.writeUInt16BE(ip.readUInt16BE(36), 36);
    expect(rest.equals(ip)).toBe(true);
  });

  it('keeps the packet with its full checksum in the capture', () => {
    const ip = tcp4(10000);
    const frame = f.encode(ip, 0);
    const kept = f.captured!(frame, ip);
    expect(kept.subarray(0, ETH).equals(frame.subarray(VNET_HDR_LEN, VNET_HDR_LEN + ETH))).toBe(true);
    expect(kept.subarray(ETH).equals(ip)).toBe(true);
    expect(decodePacket(kept.subarray(ETH), { verifyChecksums: true }).l4ChecksumOk).toBe(true);
    // A plain frame is kept as it went.
    const small = f.encode(tcp4(100), 0);
    expect(f.captured!(small, tcp4(100)).equals(small.subarray(VNET_HDR_LEN))).toBe(true);
  });

  it('IPv6: TCPV6, the checksum after the 40-byte header', () => {
    const f6 = ethernetFraming(harness, kernel, 1520);
    const ip = tcp6(20000);
    const frame = f6.encode(ip, 0);
    expect(frame[0]).toBe(VNET_F_NEEDS_CSUM);
    expect(frame[1]).toBe(VNET_GSO_TCPV6);
    expect(frame.readUInt16LE(4)).toBe(19999);
    expect(frame.readUInt16LE(6)).toBe(ETH + 40);
    expect(frame.readUInt16BE(VNET_HDR_LEN + ETH + 40 + 16)).toBe(foldSum(pseudoHeaderSum(ip, 0, 6, ip.length - 40)));
  });

  it('takes packetdrill\'s --mss where the script gives one, as over tun', () => {
    expect(vethGsoSize(tcp4(4000), 1000, 1500)).toBe(1000);
    // Under the MTU but above --mss: a GSO frame at --mss, as tun0 gets it.
    expect(vethGsoSize(tcp4(1200), 1000, 1500)).toBe(1000);
    const frame = f.encode(tcp4(1200), 1000);
    expect([frame[0], frame[1], frame.readUInt16LE(4)]).toEqual([VNET_F_NEEDS_CSUM, VNET_GSO_TCPV4, 1000]);
    // --mss larger than the segment, the segment larger than the MTU: GSO all the same.
    expect(vethGsoSize(tcp4(5000), 9000, 1500)).toBe(4999);
  });

  it('leaves alone what fits, and what is not TCP', () => {
    expect(vethGsoSize(tcp4(1460), 0, 1500)).toBe(0);
    expect(vethGsoSize(tcp4(1461), 0, 1500)).toBe(1460);
    expect(vethGsoSize(tcp4(60000), 0, 1500)).toBe(59999);
    expect(vethGsoSize(tcp4(1000), 1000, 1500)).toBe(0);
    const udp = encodePacket({ ipv4: { src: '192.0.2.1', dst: '192.168.0.1' }, udp: { srcPort: 1, dstPort: 2 }, payload: 3000 } as Parameters<typeof encodePacket>[0]);
    expect(vethGsoSize(udp, 0, 1500)).toBe(0);
    expect(f.encode(udp, 0).subarray(0, VNET_HDR_LEN).equals(Buffer.alloc(VNET_HDR_LEN))).toBe(true);
  });

  it('counts the TCP options as header, not payload', () => {
    // 20 + 32 header bytes: 1449 payload bytes make 1501.
    const ip = tcp4(1449, true);
    expect(ip.length).toBe(1501);
    expect(vethGsoSize(ip, 0, 1500)).toBe(1448);
    expect(vethGsoSize(tcp4(1448, true), 0, 1500)).toBe(0);
    expect(f.encode(ip, 0).readUInt16LE(2)).toBe(ETH + 20 + 32);
  });
});
