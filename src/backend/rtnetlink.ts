/**
 * A run's network over NETLINK_ROUTE in the calling thread's network
 * namespace, without starting a process: a fork of the worker and an exec
 * of `ip` or `tc` cost milliseconds of CPU each, which on a busy machine
 * the timed events of runs beside it pay for.
 * - set-up: links up with an MTU, an address, a route (the messages
 *   `ip link set`, `ip addr add` and `ip route replace` send), and the
 *   IPv6 local route's arrival (`ip -6 route show table local`);
 * - at a run's end, an interface's counters and its root qdisc's numbers:
 *   the messages `ip -s link show` (RTM_GETLINK, IFLA_STATS64) and
 *   `tc -s qdisc show` (RTM_GETQDISC, TCA_STATS2/TCA_STATS_QUEUE) read,
 *   and the same numbers.
 *
 * Messages are built and parsed here (pure functions over buffers, tested
 * without a kernel); the socket is opened with raw system calls through the
 * addon, on the JS thread (rtnetlink answers within the send and receive
 * calls, nothing blocks).
 */
import * as native from '../native/addon.js';
import { parseIpv4, parseIpv6 } from '../packet/address.js';

const AF_NETLINK = 16;
const NETLINK_ROUTE = 0;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;

const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_DUMP = 0x300;
const NLM_F_REPLACE = 0x100;
const NLM_F_EXCL = 0x200;
const NLM_F_CREATE = 0x400;
const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;
const RTM_NEWADDR = 20;
const RTM_NEWROUTE = 24;
const RTM_GETROUTE = 26;
const RTM_NEWQDISC = 36;
const RTM_GETQDISC = 38;

const NLMSG_HDRLEN = 16;
const IFINFOMSG_LEN = 16;
const TCMSG_LEN = 20;
const IFADDRMSG_LEN = 8;
const RTMSG_LEN = 12;
const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFF_UP = 0x1;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_FLAGS = 8;
const IFA_F_NODAD = 0x02;
const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RTA_TABLE = 15;
const RT_TABLE_MAIN = 254;
const RT_TABLE_LOCAL = 255;
const RTPROT_BOOT = 3;
const RT_SCOPE_UNIVERSE = 0;
const RT_SCOPE_LINK = 253;
const RTN_UNICAST = 1;
const AF_INET = 2;
const AF_INET6 = 10;
const IFLA_STATS64 = 23;
const TCA_KIND = 1;
const TCA_STATS2 = 7;
const TCA_STATS_QUEUE = 3;
const TC_H_ROOT = 0xffffffff;
const NLA_TYPE_MASK = 0x3fff;

export interface LinkCounters {
  ifindex: number;
  /** Hardware address as `ip` prints it (`aa:bb:cc:dd:ee:ff`); '' for a device without one (tun). */
  mac: string;
  txPackets: number;
  txDropped: number;
  rxPackets: number;
  rxDropped: number;
}

export interface QdiscNumbers {
  kind: string;
  /** tcm_parent is TC_H_ROOT (`tc -j` prints "root": true). */
  root: boolean;
  /** gnet_stats_queue: packets and bytes waiting, packets dropped. */
  qlen: number;
  backlog: number;
  drops: number;
}

/** A netlink error reply (errno of the request). */
export class RtnetlinkError extends Error {
  constructor(readonly what: string, readonly errno: number) {
    super(`${what}: ${native.strerror(errno)}`);
  }
}

const align4 = (n: number): number => (n + 3) & ~3;

function header(buf: Buffer, len: number, type: number, flags: number, seq: number): void {
  buf.writeUInt32LE(len, 0);
  buf.writeUInt16LE(type, 4);
  buf.writeUInt16LE(flags, 6);
  buf.writeUInt32LE(seq, 8);
  buf.writeUInt32LE(0, 12);
}

/** RTM_GETLINK for one interface by name (what `ip link show dev NAME` sends). */
export function getLinkRequest(name: string, seq: number): Buffer {
  const nameBytes = Buffer.from(`${name}\0`, 'utf8');
  const attrLen = 4 + nameBytes.length;
  const len = NLMSG_HDRLEN + IFINFOMSG_LEN + align4(attrLen);
  const buf = Buffer.alloc(len);
  header(buf, len, RTM_GETLINK, NLM_F_REQUEST, seq);
  // ifinfomsg: family AF_UNSPEC, index 0 (by name)
  const a = NLMSG_HDRLEN + IFINFOMSG_LEN;
  buf.writeUInt16LE(attrLen, a);
  buf.writeUInt16LE(IFLA_IFNAME, a + 2);
  nameBytes.copy(buf, a + 4);
  return buf;
}

/** RTM_GETQDISC dump of one interface's qdiscs (what `tc qdisc show dev NAME` sends). */
export function getQdiscRequest(ifindex: number, seq: number): Buffer {
  const len = NLMSG_HDRLEN + TCMSG_LEN;
  const buf = Buffer.alloc(len);
  header(buf, len, RTM_GETQDISC, NLM_F_REQUEST | NLM_F_DUMP, seq);
  buf.writeInt32LE(ifindex, NLMSG_HDRLEN + 4);
  return buf;
}

/** A request: header, fixed part, then attributes (type, payload), each padded to 4 bytes. */
function request(type: number, flags: number, seq: number, fixed: Buffer, attrs: Array<[number, Buffer]>): Buffer {
  const len = NLMSG_HDRLEN + fixed.length + attrs.reduce((n, [, v]) => n + align4(4 + v.length), 0);
  const buf = Buffer.alloc(len);
  header(buf, len, type, flags, seq);
  fixed.copy(buf, NLMSG_HDRLEN);
  let off = NLMSG_HDRLEN + fixed.length;
  for (const [t, v] of attrs) {
    buf.writeUInt16LE(4 + v.length, off);
    buf.writeUInt16LE(t, off + 2);
    v.copy(buf, off + 4);
    off += align4(4 + v.length);
  }
  return buf;
}

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};

export type Family = 'inet' | 'inet6';
const familyNumber = (f: Family): number => (f === 'inet' ? AF_INET : AF_INET6);
const addressBytes = (f: Family, text: string): Buffer => (f === 'inet' ? parseIpv4(text) : parseIpv6(text));

/** RTM_NEWLINK on an interface by name: up, and an MTU (`ip link set dev NAME [mtu N] up`). */
export function setLinkRequest(name: string, change: { up?: boolean; mtu?: number }, seq: number): Buffer {
  const ifi = Buffer.alloc(IFINFOMSG_LEN);
  if (change.up) {
    ifi.writeUInt32LE(IFF_UP, 8); // ifi_flags
    ifi.writeUInt32LE(IFF_UP, 12); // ifi_change
  }
  const attrs: Array<[number, Buffer]> = [[IFLA_IFNAME, Buffer.from(`${name}\0`, 'utf8')]];
  if (change.mtu !== undefined) attrs.push([IFLA_MTU, u32(change.mtu)]);
  return request(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq, ifi, attrs);
}

/** RTM_NEWADDR (`ip addr add ADDR/LEN dev IFINDEX [nodad]`): local and address the same, as `ip` sends them. */
export function newAddressRequest(
  a: { family: Family; address: string; prefixLen: number; ifindex: number; nodad?: boolean }, seq: number,
): Buffer {
  const ifa = Buffer.alloc(IFADDRMSG_LEN);
  const flags = a.nodad ? IFA_F_NODAD : 0;
  ifa.writeUInt8(familyNumber(a.family), 0);
  ifa.writeUInt8(a.prefixLen, 1);
  ifa.writeUInt8(flags & 0xff, 2);
  ifa.writeUInt8(RT_SCOPE_UNIVERSE, 3);
  ifa.writeUInt32LE(a.ifindex, 4);
  const addr = addressBytes(a.family, a.address);
  const attrs: Array<[number, Buffer]> = [[IFA_LOCAL, addr], [IFA_ADDRESS, addr]];
  if (flags) attrs.push([IFA_FLAGS, u32(flags)]);
  return request(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq, ifa, attrs);
}

/**
 * RTM_NEWROUTE replacing the main table's route to PREFIX/LEN on IFINDEX,
 * through GATEWAY or on-link (`ip route replace PREFIX/LEN dev D [via GW]`).
 */
export function replaceRouteRequest(
  r: { family: Family; prefix: string; prefixLen: number; ifindex: number; gateway?: string }, seq: number,
): Buffer {
  const rtm = Buffer.alloc(RTMSG_LEN);
  rtm.writeUInt8(familyNumber(r.family), 0);
  rtm.writeUInt8(r.prefixLen, 1);
  rtm.writeUInt8(RT_TABLE_MAIN, 4);
  rtm.writeUInt8(RTPROT_BOOT, 5);
  rtm.writeUInt8(r.gateway === undefined ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE, 6);
  rtm.writeUInt8(RTN_UNICAST, 7);
  const attrs: Array<[number, Buffer]> = [[RTA_DST, addressBytes(r.family, r.prefix)], [RTA_OIF, u32(r.ifindex)]];
  if (r.gateway !== undefined) attrs.push([RTA_GATEWAY, addressBytes(r.family, r.gateway)]);
  return request(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, seq, rtm, attrs);
}

/** RTM_GETROUTE dump of one family's routes, every table. */
export function getRoutesRequest(family: Family, seq: number): Buffer {
  const rtm = Buffer.alloc(RTMSG_LEN);
  rtm.writeUInt8(familyNumber(family), 0);
  return request(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, seq, rtm, []);
}

/** A route message's table, destination (bytes) and prefix length. */
export function parseRoute(body: Buffer): { table: number; dst: Buffer; dstLen: number } | null {
  if (body.length < RTMSG_LEN) return null;
  const attrs = attributes(body, RTMSG_LEN);
  const table = attrs.get(RTA_TABLE);
  return {
    table: table && table.length >= 4 ? table.readUInt32LE(0) : body.readUInt8(4),
    dst: attrs.get(RTA_DST) ?? Buffer.alloc(0),
    dstLen: body.readUInt8(1),
  };
}

interface Message {
  type: number;
  seq: number;
  /** The payload after the netlink header. */
  body: Buffer;
}

/** The netlink messages in one datagram. */
export function splitMessages(buf: Buffer): Message[] {
  const out: Message[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = buf.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || off + len > buf.length) break;
    out.push({ type: buf.readUInt16LE(off + 4), seq: buf.readUInt32LE(off + 8), body: buf.subarray(off + NLMSG_HDRLEN, off + len) });
    off += align4(len);
  }
  return out;
}

/** Attributes (type → payload) from `off` to the end of `buf`; the first of a type wins. */
export function attributes(buf: Buffer, off: number): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  while (off + 4 <= buf.length) {
    const len = buf.readUInt16LE(off);
    if (len < 4 || off + len > buf.length) break;
    const type = buf.readUInt16LE(off + 2) & NLA_TYPE_MASK;
    if (!out.has(type)) out.set(type, buf.subarray(off + 4, off + len));
    off += align4(len);
  }
  return out;
}

/** errno of an NLMSG_ERROR body (0: an acknowledgement). */
function errorOf(body: Buffer): number {
  return body.length >= 4 ? -body.readInt32LE(0) : 0;
}

const u64 = (b: Buffer, off: number): number => (b.length >= off + 8 ? Number(b.readBigUInt64LE(off)) : 0);

/** The RTM_NEWLINK reply's index, address and counters (rtnl_link_stats64). */
export function parseLink(body: Buffer): LinkCounters {
  const ifindex = body.readInt32LE(4);
  const attrs = attributes(body, IFINFOMSG_LEN);
  const addr = attrs.get(IFLA_ADDRESS);
  const s = attrs.get(IFLA_STATS64) ?? Buffer.alloc(0);
  return {
    ifindex,
    mac: addr && addr.length > 0 ? [...addr].map((x) => x.toString(16).padStart(2, '0')).join(':') : '',
    rxPackets: u64(s, 0),
    txPackets: u64(s, 8),
    rxDropped: u64(s, 48),
    txDropped: u64(s, 56),
  };
}

/** One RTM_NEWQDISC message's kind, place and queue numbers; null for another interface's. */
export function parseQdisc(body: Buffer, ifindex: number): QdiscNumbers | null {
  if (body.length < TCMSG_LEN || body.readInt32LE(4) !== ifindex) return null;
  const parent = body.readUInt32LE(12);
  const attrs = attributes(body, TCMSG_LEN);
  const kindRaw = attrs.get(TCA_KIND);
  const kind = kindRaw ? kindRaw.toString('utf8').replace(/\0.*$/s, '') : '';
  const stats2 = attrs.get(TCA_STATS2);
  const queue = stats2 ? attributes(stats2, 0).get(TCA_STATS_QUEUE) : undefined;
  const q32 = (off: number): number => (queue && queue.length >= off + 4 ? queue.readUInt32LE(off) : 0);
  return { kind, root: parent === TC_H_ROOT, qlen: q32(0), backlog: q32(4), drops: q32(8) };
}

let nextSeq = 1;

/** Send one request on a fresh NETLINK_ROUTE socket; `onMessage` sees every reply until it returns true or the dump is done. */
function exchange(what: string, request: (seq: number) => Buffer, onMessage: (m: Message) => boolean): void {
  const sock = native.syscall(native.sysNr('socket'), [AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE]);
  if (sock.ret < 0n) throw new RtnetlinkError(`${what}: socket(AF_NETLINK)`, sock.errno);
  const fd = Number(sock.ret);
  try {
    const seq = nextSeq++;
    const req = request(seq);
    const sent = native.syscall(native.sysNr('sendto'), [fd, req, req.length, 0, null, 0]);
    if (sent.ret < 0n) throw new RtnetlinkError(`${what}: sendto`, sent.errno);
    const buf = Buffer.alloc(32768);
    for (;;) {
      const got = native.syscall(native.sysNr('recvfrom'), [fd, buf, buf.length, 0, null, null]);
      if (got.ret < 0n) {
        if (got.errno === 4 /* EINTR */) continue;
        throw new RtnetlinkError(`${what}: recvfrom`, got.errno);
      }
      for (const m of splitMessages(buf.subarray(0, Number(got.ret)))) {
        if (m.seq !== seq) continue;
        if (m.type === NLMSG_DONE) return;
        if (m.type === NLMSG_ERROR) {
          const errno = errorOf(m.body);
          if (errno !== 0) throw new RtnetlinkError(what, errno);
          return;
        }
        if (onMessage(m)) return;
      }
    }
  } finally {
    native.syscall(native.sysNr('close'), [fd]);
  }
}

/** An interface's index, address and counters (`ip -s link show dev NAME`). */
export function readLinkCounters(name: string): LinkCounters {
  let link: LinkCounters | null = null;
  exchange(`RTM_GETLINK ${name}`, (seq) => getLinkRequest(name, seq), (m) => {
    if (m.type !== RTM_NEWLINK) return false;
    link = parseLink(m.body);
    return true;
  });
  if (!link) throw new RtnetlinkError(`RTM_GETLINK ${name}`, 19 /* ENODEV */);
  return link;
}

/** Every qdisc of an interface with its numbers (`tc -s qdisc show dev NAME`), in the kernel's order. */
export function readQdiscs(ifindex: number): QdiscNumbers[] {
  const out: QdiscNumbers[] = [];
  exchange(`RTM_GETQDISC ${ifindex}`, (seq) => getQdiscRequest(ifindex, seq), (m) => {
    if (m.type === RTM_NEWQDISC) {
      const q = parseQdisc(m.body, ifindex);
      if (q) out.push(q);
    }
    return false;
  });
  return out;
}

/** `ip link set dev NAME [mtu N] [up]`. */
export function setLink(name: string, change: { up?: boolean; mtu?: number }): void {
  const what = `link set dev ${name}${change.mtu !== undefined ? ` mtu ${change.mtu}` : ''}${change.up ? ' up' : ''}`;
  exchange(what, (seq) => setLinkRequest(name, change, seq), () => false);
}

/** `ip addr add ADDR/LEN dev NAME [nodad]`. */
export function addAddress(a: { family: Family; address: string; prefixLen: number; dev: string; nodad?: boolean }): void {
  const what = `addr add ${a.address}/${a.prefixLen} dev ${a.dev}${a.nodad ? ' nodad' : ''}`;
  const ifindex = readLinkCounters(a.dev).ifindex;
  exchange(what, (seq) => newAddressRequest({ ...a, ifindex }, seq), () => false);
}

/** `ip route replace PREFIX/LEN dev NAME [via GATEWAY]`. */
export function replaceRoute(r: { family: Family; prefix: string; prefixLen: number; dev: string; gateway?: string }): void {
  const what = `route replace ${r.prefix}/${r.prefixLen} dev ${r.dev}${r.gateway !== undefined ? ` via ${r.gateway}` : ''}`;
  const ifindex = readLinkCounters(r.dev).ifindex;
  exchange(what, (seq) => replaceRouteRequest({ ...r, ifindex }, seq), () => false);
}

/** Whether the local table holds the host route of `address` (`ip -6 route show table local ADDRESS`). */
export function hasLocalRoute(family: Family, address: string): boolean {
  const want = addressBytes(family, address);
  let found = false;
  exchange(`route show table local ${address}`, (seq) => getRoutesRequest(family, seq), (m) => {
    if (m.type !== RTM_NEWROUTE) return false;
    const r = parseRoute(m.body);
    if (r && r.table === RT_TABLE_LOCAL && r.dstLen === want.length * 8 && r.dst.equals(want)) found = true;
    return false;
  });
  return found;
}
