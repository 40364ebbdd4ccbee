/** Checksums of packets the engine injects, and the check of the kernel's IPv4 header checksum. */
import { checksumVerifies, internetChecksum, pseudoHeaderSum, upperLayerChecksum } from '../packet/checksum.js';
import { PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, type Layout } from './packet-layout.js';

/** Fill in the IPv4 header checksum and the TCP/UDP/ICMP checksum. */
export function finishChecksums(buf: Buffer, l: Layout): void {
  const end = Math.min(buf.length, l.ipTotalLen);
  const l4Len = end - l.l4;
  let off = -1;
  if (l.proto === PROTO_TCP) off = l.l4 + 16;
  else if (l.proto === PROTO_UDP) off = l.l4 + 6;
  else if (l.proto === PROTO_ICMP || l.proto === PROTO_ICMPV6) off = l.l4 + 2;
  if (off >= 0 && off + 2 <= end) {
    const pseudo = l.proto === PROTO_ICMP ? 0 : pseudoHeaderSum(buf, 0, l.proto, l4Len);
    buf.writeUInt16BE(0, off);
    buf.writeUInt16BE(upperLayerChecksum(buf, l.l4, end, off, pseudo), off);
  }
  if (l.ipVersion === 4) {
    buf.writeUInt16BE(0, 10);
    buf.writeUInt16BE(internetChecksum(buf, 0, l.ipHeaderLen), 10);
  }
}

export function ipv4HeaderChecksumOk(buf: Buffer): boolean {
  const hl = (buf[0]! & 0x0f) * 4;
  return checksumVerifies(buf, 0, hl);
}
