/**
 * Control messages of sendmsg()/recvmsg(): building them from the script's
 * `msg_control=[{cmsg_level=..., cmsg_type=..., cmsg_data=...}]`, and
 * comparing what recvmsg() received against them, with packetdrill's
 * rules and messages (IP_RECVERR/IPV6_RECVERR extended errors,
 * SCM_TIMESTAMPING time stamps within the run's tolerance,
 * SCM_TIMESTAMPING_OPT_STATS netlink attributes, byte equality otherwise).
 */
import { checkType, getS32, getU8 } from './args.js';
import {
  CMSGHDR_SIZE,
  NLA_HDRLEN,
  SCM_TIMESTAMPING_SIZE,
  SOCKADDR_IN6_SIZE,
  SOCKADDR_IN_SIZE,
  SOCK_EXTENDED_ERR_SIZE,
  cmsgFirst,
  cmsgLen,
  cmsgNext,
  cmsgSpace,
  nlaAlign,
  readSockExtendedErr,
  readTimespec,
  writeCmsgHeader,
  writeNla,
  writeSockExtendedErr,
  writeTimespec,
  type CmsgView,
} from './structs.js';
import { SyscallFailure, type SyscallClock } from './types.js';
import type { Value } from './values.js';

/** The size of the control buffer packetdrill allocates for a msghdr. */
export const MSGHDR_MAX_CONTROLLEN = 2000;

const SOL_SOCKET = 1;
const SOL_IP = 0;
const SOL_IPV6 = 41;
const IP_RECVERR = 11;
const IPV6_RECVERR = 25;
const SCM_TIMESTAMPING = 37;
const SCM_TIMESTAMPING_OPT_STATS = 54;

/** The TCP_NLA_* attributes of SCM_TIMESTAMPING_OPT_STATS: name and value size. */
export const TCP_NLA: ReadonlyArray<{ name: string; size: 1 | 4 | 8 }> = [
  { name: 'TCP_NLA_PAD', size: 4 },
  { name: 'TCP_NLA_BUSY', size: 8 },
  { name: 'TCP_NLA_RWND_LIMITED', size: 8 },
  { name: 'TCP_NLA_SNDBUF_LIMITED', size: 8 },
  { name: 'TCP_NLA_DATA_SEGS_OUT', size: 8 },
  { name: 'TCP_NLA_TOTAL_RETRANS', size: 8 },
  { name: 'TCP_NLA_PACING_RATE', size: 8 },
  { name: 'TCP_NLA_DELIVERY_RATE', size: 8 },
  { name: 'TCP_NLA_SND_CWND', size: 4 },
  { name: 'TCP_NLA_REORDERING', size: 4 },
  { name: 'TCP_NLA_MIN_RTT', size: 4 },
  { name: 'TCP_NLA_RECUR_RETRANS', size: 1 },
  { name: 'TCP_NLA_DELIVERY_RATE_APP_LMT', size: 1 },
  { name: 'TCP_NLA_SNDQ_SIZE', size: 4 },
  { name: 'TCP_NLA_CA_STATE', size: 1 },
  { name: 'TCP_NLA_SND_SSTHRESH', size: 4 },
  { name: 'TCP_NLA_DELIVERED', size: 4 },
  { name: 'TCP_NLA_DELIVERED_CE', size: 4 },
  { name: 'TCP_NLA_BYTES_SENT', size: 8 },
  { name: 'TCP_NLA_BYTES_RETRANS', size: 8 },
  { name: 'TCP_NLA_DSACK_DUPS', size: 4 },
  { name: 'TCP_NLA_REORD_SEEN', size: 4 },
  { name: 'TCP_NLA_SRTT', size: 4 },
];

/** Value of an attribute written `...`: not checked. */
const NLA_IGNORE = 0xffffffffn;

const NLA_TOLERANT = new Set([1, 2, 3]); // BUSY, RWND_LIMITED, SNDBUF_LIMITED: times in usecs
const NLA_EXACT_U64 = new Set([4, 5, 6, 7, 18, 19]);
const NLA_EXACT_U32 = new Set([8, 9, 10, 13, 15, 16, 17, 20, 21, 22]);
const NLA_EXACT_U8 = new Set([11, 12, 14]);

/** Encode `{TCP_NLA_X=value, TCP_NLA_Y=..., ...}` as netlink attributes. */
function encodeNlaList(list: Value[]): Buffer {
  const parts: Buffer[] = [];
  for (const element of list) {
    const bin = checkType(element, 'binary_expression');
    const key = checkType(bin.lhs, 'integer').num;
    const value = bin.rhs;
    if (value.type !== 'integer' && value.type !== 'ellipsis') {
      throw new SyscallFailure('values must be numeric or ellipsis');
    }
    if (key < 0n || key >= BigInt(TCP_NLA.length)) throw new SyscallFailure(`bad NLA type ${key}\n`);
    const info = TCP_NLA[Number(key)]!;
    if (value.type === 'integer') {
      if (info.size === 1 && (value.num < 0n || value.num > 255n)) {
        throw new SyscallFailure('out of bound u8 value specified\n', true);
      }
      if (info.size === 4 && (value.num < 0n || value.num > 0xffffffffn)) {
        throw new SyscallFailure('out of bound u32 value specified\n', true);
      }
    }
    const v = value.type === 'integer' ? BigInt.asUintN(64, value.num) : NLA_IGNORE;
    const data = Buffer.alloc(8);
    data.writeBigUInt64LE(v, 0);
    const attr = Buffer.alloc(nlaAlign(NLA_HDRLEN + info.size));
    writeNla(attr, 0, Number(key), data.subarray(0, info.size));
    parts.push(attr);
  }
  return Buffer.concat(parts);
}

/**
 * Build a control buffer from a `msg_control` list. The buffer is at least
 * MSGHDR_MAX_CONTROLLEN bytes; `len` (the msg_controllen) is the sum of the
 * CMSG_SPACE of the messages.
 */
export function buildControl(control: Value): { buf: Buffer; len: number } {
  const list = checkType(control, 'list').elements;
  const chunks: Array<{ level: number; type: number; data: Buffer }> = [];
  for (const element of list) {
    const cmsg = checkType(element, 'cmsg');
    const level = getS32(cmsg.level);
    const type = getS32(cmsg.cmsgType);
    const d = cmsg.data;
    let data: Buffer;
    switch (d.type) {
      case 'integer': {
        data = Buffer.alloc(4);
        data.writeInt32LE(getS32(d), 0);
        break;
      }
      case 'scm_timestamping': {
        data = Buffer.alloc(SCM_TIMESTAMPING_SIZE);
        writeTimespec(data, 0, { sec: d.sec, nsec: d.nsec });
        break;
      }
      case 'list':
        data = encodeNlaList(d.elements);
        break;
      case 'sock_extended_err': {
        // ip(v6)_recv_error() appends the offender's address to the error.
        const addrSize = level === SOL_IP ? SOCKADDR_IN_SIZE : SOCKADDR_IN6_SIZE;
        data = Buffer.alloc(SOCK_EXTENDED_ERR_SIZE + addrSize);
        writeSockExtendedErr(data, 0, {
          errno: getS32(d.eeErrno),
          origin: getU8(d.eeOrigin),
          type: getU8(d.eeType),
          code: getU8(d.eeCode),
          info: getS32(d.eeInfo),
          data: getS32(d.eeData),
        });
        break;
      }
      default:
        throw new SyscallFailure('Unrecognized type for cmsg_data');
    }
    chunks.push({ level, type, data });
  }
  const len = chunks.reduce((sum, c) => sum + cmsgSpace(c.data.length), 0);
  const buf = Buffer.alloc(Math.max(MSGHDR_MAX_CONTROLLEN, len));
  let off = 0;
  for (const c of chunks) {
    writeCmsgHeader(buf, off, cmsgLen(c.data.length), c.level, c.type);
    c.data.copy(buf, off + CMSGHDR_SIZE);
    off += cmsgSpace(c.data.length);
  }
  return { buf, len };
}

/** The bytes from `offset` up to the first NUL, as C's "%s" prints them. */
function cString(buf: Buffer, offset: number): string {
  let end = offset;
  while (end < buf.length && buf[end] !== 0) end++;
  return buf.subarray(offset, end).toString('latin1');
}

function compareExtendedErr(e: Buffer, eo: number, a: Buffer, ao: number, index: number): void {
  const exp = readSockExtendedErr(e, eo);
  const act = readSockExtendedErr(a, ao);
  const fields: Array<[keyof typeof exp, string]> = [
    ['errno', 'errno'],
    ['origin', 'origin'],
    ['type', 'type'],
    ['code', 'code'],
    ['info', 'info'],
    ['data', 'data'],
  ];
  for (const [field, word] of fields) {
    if (exp[field] !== act[field]) {
      throw new SyscallFailure(
        `Bad ${word} in extended err ${index}: expected=${exp[field]} actual=${act[field]}`,
      );
    }
  }
}

function usecsOf(ts: { sec: bigint; nsec: bigint }): bigint {
  return ts.sec * 1000000n + ts.nsec / 1000n;
}

function compareTimestamping(
  e: Buffer,
  eo: number,
  a: Buffer,
  ao: number,
  index: number,
  clock: SyscallClock | undefined,
  toleranceUsecs: number,
): void {
  for (let i = 0; i < 3; i++) {
    const exp = readTimespec(e, eo + i * 16);
    // A zero expected time stamp is not checked.
    if (exp.sec === 0n && exp.nsec === 0n) continue;
    if (!clock) {
      throw new SyscallFailure('cannot check scm_timestamping: the run has no live clock');
    }
    const expUsecs = clock.scriptToLiveRealtimeUsecs(usecsOf(exp));
    const actUsecs = usecsOf(readTimespec(a, ao + i * 16));
    const diff = expUsecs - actUsecs;
    if ((diff < 0n ? -diff : diff) > BigInt(toleranceUsecs)) {
      const start = clock.liveStartRealtimeUsecs;
      throw new SyscallFailure(
        `Bad timestamp ${i} in scm_timestamping ${index}: ` +
          `expected=${expUsecs} (${expUsecs - start}) actual=${actUsecs} (${actUsecs - start}) start=${start}`,
      );
    }
  }
}

function compareOptStats(
  e: Buffer,
  eo: number,
  a: Buffer,
  ao: number,
  len: number,
  index: number,
  toleranceUsecs: number,
): void {
  let off = 0;
  while (off < len) {
    if (eo + off + NLA_HDRLEN > e.length || ao + off + NLA_HDRLEN > a.length) break;
    const eLen = e.readUInt16LE(eo + off);
    const eType = e.readUInt16LE(eo + off + 2);
    const aLen = a.readUInt16LE(ao + off);
    const aType = a.readUInt16LE(ao + off + 2);
    if (eType !== aType) throw new SyscallFailure(`Bad nla_type ${index}: expected=${eType} actual=${aType}`);
    if (eLen !== aLen) throw new SyscallFailure(`Bad nla_len ${index}: expected=${eLen} actual=${aLen}`);
    const ed = eo + off + NLA_HDRLEN;
    const ad = ao + off + NLA_HDRLEN;
    const name = TCP_NLA[eType]?.name ?? String(eType);
    const bad = (ev: bigint, av: bigint): SyscallFailure =>
      new SyscallFailure(`Bad ${name}: expected=${ev} actual=${av}`);
    if (NLA_TOLERANT.has(eType)) {
      const ev = e.readBigUInt64LE(ed);
      const av = a.readBigUInt64LE(ad);
      if (ev !== NLA_IGNORE) {
        if (ev !== 0n) {
          const d = BigInt.asIntN(64, ev - av);
          if ((d < 0n ? -d : d) > BigInt(toleranceUsecs)) throw bad(ev, av);
        } else if (av !== 0n) {
          throw bad(ev, av);
        }
      }
    } else if (NLA_EXACT_U64.has(eType)) {
      const ev = e.readBigUInt64LE(ed);
      const av = a.readBigUInt64LE(ad);
      if (ev !== av && ev !== NLA_IGNORE) throw bad(ev, av);
    } else if (NLA_EXACT_U32.has(eType)) {
      const ev = e.readUInt32LE(ed);
      const av = a.readUInt32LE(ad);
      if (ev !== av && ev !== 0xffffffff) throw bad(BigInt(ev), BigInt(av));
    } else if (NLA_EXACT_U8.has(eType)) {
      const ev = e.readUInt8(ed);
      const av = a.readUInt8(ad);
      if (ev !== av && ev !== 0xff) throw bad(BigInt(ev), BigInt(av));
    } else {
      // packetdrill fails on an attribute it does not know, without a message.
      throw new SyscallFailure('(null)');
    }
    const step = nlaAlign(eLen);
    if (step === 0) break;
    off += step;
  }
}

export interface ControlBuffers {
  buf: Buffer;
  len: number;
}

/**
 * Compare the control messages recvmsg() returned (`actual`, with the
 * msg_controllen the kernel left) against the script's (`expected`).
 */
export function compareControl(
  expected: ControlBuffers,
  actual: ControlBuffers,
  clock: SyscallClock | undefined,
  toleranceUsecs: number,
): void {
  let i = 0;
  let acm: CmsgView | null = cmsgFirst(actual.buf, actual.len);
  let ecm: CmsgView | null = cmsgFirst(expected.buf, expected.len);
  for (; acm && ecm && acm.len && ecm.len; acm = cmsgNext(actual.buf, actual.len, acm), ecm = cmsgNext(expected.buf, expected.len, ecm), i++) {
    if (acm.level !== ecm.level) {
      throw new SyscallFailure(`Bad level in cmsg ${i}: expected=${ecm.level} actual=${acm.level}`);
    }
    if (acm.type !== ecm.type) {
      throw new SyscallFailure(`Bad type in cmsg ${i}: expected=${ecm.type} actual=${acm.type}`);
    }
    if (acm.len !== ecm.len) {
      throw new SyscallFailure(`Bad len in cmsg ${i}: expected=${ecm.len} actual=${acm.len}`);
    }
    const dataLen = acm.len - CMSGHDR_SIZE;
    if (
      (acm.level === SOL_IP && acm.type === IP_RECVERR) ||
      (acm.level === SOL_IPV6 && acm.type === IPV6_RECVERR)
    ) {
      compareExtendedErr(expected.buf, ecm.dataOffset, actual.buf, acm.dataOffset, i);
    } else if (acm.level === SOL_SOCKET && acm.type === SCM_TIMESTAMPING) {
      compareTimestamping(expected.buf, ecm.dataOffset, actual.buf, acm.dataOffset, i, clock, toleranceUsecs);
    } else if (acm.level === SOL_SOCKET && acm.type === SCM_TIMESTAMPING_OPT_STATS) {
      compareOptStats(expected.buf, ecm.dataOffset, actual.buf, acm.dataOffset, dataLen, i, toleranceUsecs);
    } else {
      const e = expected.buf.subarray(ecm.dataOffset, ecm.dataOffset + dataLen);
      const a = actual.buf.subarray(acm.dataOffset, acm.dataOffset + dataLen);
      if (!e.equals(a)) {
        throw new SyscallFailure(
          `Bad data in cmsg ${i}: expected=${cString(expected.buf, ecm.dataOffset)} actual=${cString(actual.buf, acm.dataOffset)}`,
        );
      }
    }
  }
  if (!acm && !ecm) return;
  if (acm && !ecm) throw new SyscallFailure(`received more than ${i} cmsgs`);
  if (!acm && ecm) throw new SyscallFailure(`received only ${i} cmsgs`);
  throw new SyscallFailure('cmsgs do not match');
}
