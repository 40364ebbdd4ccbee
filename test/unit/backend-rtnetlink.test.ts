/**
 * The rtnetlink messages that replace `ip -s link show` and
 * `tc -s qdisc show`: requests as the kernel expects them, replies built
 * by hand as the kernel sends them (rtnl_fill_ifinfo, tc_fill_qdisc).
 */
import { describe, expect, it } from 'vitest';
import { attributes, getLinkRequest, getQdiscRequest, parseLink, parseQdisc, splitMessages } from '../../src/backend/rtnetlink.js';

function attr(type: number, payload: Buffer): Buffer {
  const len = 4 + payload.length;
  const b = Buffer.alloc((len + 3) & ~3);
  b.writeUInt16LE(len, 0);
  b.writeUInt16LE(type, 2);
  payload.copy(b, 4);
  return b;
}

function message(type: number, seq: number, body: Buffer): Buffer {
  const len = 16 + body.length;
  const b = Buffer.alloc((len + 3) & ~3);
  b.writeUInt32LE(len, 0);
  b.writeUInt16LE(type, 4);
  b.writeUInt16LE(0x2, 6);
  b.writeUInt32LE(seq, 8);
  body.copy(b, 16);
  return b;
}

function stats64(v: { rxPackets: bigint; txPackets: bigint; rxDropped: bigint; txDropped: bigint }): Buffer {
  const b = Buffer.alloc(24 * 8);
  b.writeBigUInt64LE(v.rxPackets, 0);
  b.writeBigUInt64LE(v.txPackets, 8);
  b.writeBigUInt64LE(999n, 16); // rx_bytes: not a packet count
  b.writeBigUInt64LE(v.rxDropped, 48);
  b.writeBigUInt64LE(v.txDropped, 56);
  return b;
}

function ifinfo(index: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt16LE(65534, 2); // ARPHRD_NONE, as tun
  b.writeInt32LE(index, 4);
  return b;
}

function tcmsg(ifindex: number, parent: number): Buffer {
  const b = Buffer.alloc(20);
  b.writeInt32LE(ifindex, 4);
  b.writeUInt32LE(0x80010000, 8);
  b.writeUInt32LE(parent, 12);
  return b;
}

function queue(qlen: number, backlog: number, drops: number): Buffer {
  const b = Buffer.alloc(20);
  b.writeUInt32LE(qlen, 0);
  b.writeUInt32LE(backlog, 4);
  b.writeUInt32LE(drops, 8);
  b.writeUInt32LE(77, 12); // requeues
  b.writeUInt32LE(88, 16); // overlimits
  return b;
}

describe('rtnetlink requests', () => {
  it('RTM_GETLINK names the interface in IFLA_IFNAME, NUL-terminated and padded', () => {
    const r = getLinkRequest('tun0', 7);
    expect(r.length).toBe(16 + 16 + 12);
    expect(r.readUInt32LE(0)).toBe(r.length);
    expect(r.readUInt16LE(4)).toBe(18); // RTM_GETLINK
    expect(r.readUInt16LE(6)).toBe(1); // NLM_F_REQUEST, no dump
    expect(r.readUInt32LE(8)).toBe(7);
    expect(r.readInt32LE(16 + 4)).toBe(0); // by name, not index
    const a = attributes(r, 32);
    expect(a.get(3)!.toString()).toBe('tun0\0');
  });

  it('RTM_GETQDISC is a dump for one ifindex', () => {
    const r = getQdiscRequest(5, 9);
    expect(r.length).toBe(36);
    expect(r.readUInt16LE(4)).toBe(38);
    expect(r.readUInt16LE(6)).toBe(0x301);
    expect(r.readInt32LE(20)).toBe(5);
  });
});

describe('rtnetlink replies', () => {
  it('splits a datagram into its messages, padding included', () => {
    const a = message(16, 3, Buffer.from([1, 2, 3])); // 19 bytes, padded to 20
    const b = message(3, 3, Buffer.alloc(4));
    const msgs = splitMessages(Buffer.concat([a, b]));
    expect(msgs.map((m) => [m.type, m.seq, m.body.length])).toEqual([[16, 3, 3], [3, 3, 4]]);
  });

  it('stops at a truncated message instead of reading past the datagram', () => {
    const a = message(16, 1, Buffer.alloc(8));
    expect(splitMessages(a.subarray(0, a.length - 2))).toEqual([]);
  });

  it('reads index, address and counters of RTM_NEWLINK as ip -s link prints them', () => {
    const body = Buffer.concat([
      ifinfo(4),
      attr(3, Buffer.from('veth0\0')),
      attr(1, Buffer.from([0x02, 0xab, 0x0c, 0, 0, 0x1f])),
      attr(23, stats64({ rxPackets: 10n, txPackets: 12n, rxDropped: 1n, txDropped: 3n })),
    ]);
    expect(parseLink(body)).toEqual({ ifindex: 4, mac: '02:ab:0c:00:00:1f', rxPackets: 10, txPackets: 12, rxDropped: 1, txDropped: 3 });
  });

  it('a device without a hardware address (tun) has mac ""; counters absent read as 0', () => {
    expect(parseLink(Buffer.concat([ifinfo(2), attr(3, Buffer.from('tun0\0'))]))).toEqual({
      ifindex: 2, mac: '', rxPackets: 0, txPackets: 0, rxDropped: 0, txDropped: 0,
    });
  });

  it('reads kind, root and gnet_stats_queue of RTM_NEWQDISC as tc -s qdisc prints them', () => {
    const body = Buffer.concat([
      tcmsg(4, 0xffffffff),
      attr(1, Buffer.from('fq_codel\0')),
      attr(7, Buffer.concat([attr(1, Buffer.alloc(16)), attr(3, queue(2, 180, 6))])),
    ]);
    expect(parseQdisc(body, 4)).toEqual({ kind: 'fq_codel', root: true, qlen: 2, backlog: 180, drops: 6 });
  });

  it('a child qdisc is not root, and another interface\'s qdisc is left out', () => {
    const body = Buffer.concat([tcmsg(4, 0x80010001), attr(1, Buffer.from('pfifo\0'))]);
    expect(parseQdisc(body, 4)).toEqual({ kind: 'pfifo', root: false, qlen: 0, backlog: 0, drops: 0 });
    expect(parseQdisc(body, 5)).toBeNull();
  });
});
