/**
 * An interface's counters and its root qdisc's numbers read over
 * NETLINK_ROUTE in the calling thread's network namespace: the same
 * messages `ip -s link show` (RTM_GETLINK, IFLA_STATS64) and
 * `tc -s qdisc show` (RTM_GETQDISC, TCA_STATS2/TCA_STATS_QUEUE) read, and
 * the same numbers, without starting a process. Every run reads them at
 * its end; a fork of the worker and an exec of `ip` and `tc` cost tens of
 * milliseconds of CPU a run, which on a busy machine the next run's timed
 * events pay for.
 *
 * Messages are built and parsed here (pure functions over buffers, tested
 * without a kernel); the socket is opened with raw system calls through the
 * addon, on the JS thread (rtnetlink answers within the send and receive
 * calls, nothing blocks).
 */
import * as native from '../native/addon.js';

const AF_NETLINK = 16;
const NETLINK_ROUTE = 0;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;

const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLM_F_REQUEST = 0x1;
const NLM_F_DUMP = 0x300;
const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;
const RTM_NEWQDISC = 36;
const RTM_GETQDISC = 38;

const NLMSG_HDRLEN = 16;
const IFINFOMSG_LEN = 16;
const TCMSG_LEN = 20;
const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
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
