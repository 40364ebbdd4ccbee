/**
 * Linux user-space structure layouts on the 64-bit little-endian ABIs we run
 * on (x86_64 and aarch64), built in Buffers: sockaddr_in/in6, iovec, msghdr,
 * cmsghdr and its iteration (glibc's CMSG_* rules), pollfd, linger,
 * epoll_event (packed on x86_64), sock_extended_err, scm_timestamping,
 * netlink attributes, struct gre, packetdrill's mpls_stack and the
 * capget/capset header and data.
 *
 * Pointers inside structures are written with the address of another Buffer;
 * callers keep those Buffers alive until the system call is over.
 */
import { addressOf } from '../../native/addon.js';
import { isIpv4, writeIpv4, writeIpv6 } from '../../packet/address.js';
import type { GreHeader, MplsEntry } from '../../script/ast.js';

export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_INET6 = 10;

export type Arch = 'x64' | 'arm64';

/** The architecture whose ABI the structures follow. */
export function currentArch(): Arch {
  if (process.arch === 'x64' || process.arch === 'arm64') return process.arch;
  throw new Error(`unsupported architecture ${process.arch}: tundrill runs on x86_64 and aarch64 Linux`);
}

/** Address of a Buffer's first byte, or 0 for null. */
export function pointerTo(buf: Buffer | null): bigint {
  return buf === null ? 0n : addressOf(buf);
}

// ---------------------------------------------------------------------------
// Socket addresses

export const SOCKADDR_IN_SIZE = 16;
export const SOCKADDR_IN6_SIZE = 28;
export const SOCKADDR_STORAGE_SIZE = 128;

/**
 * Write a sockaddr_in (IPv4 text) or sockaddr_in6 (any other address) for
 * `ip`:`port` at the start of `buf` (zeroing what it covers) and return its
 * length, as packetdrill's ip_to_sockaddr does.
 */
export function writeSockaddr(buf: Buffer, ip: string, port: number): number {
  if (isIpv4(ip)) {
    buf.fill(0, 0, SOCKADDR_IN_SIZE);
    buf.writeUInt16LE(AF_INET, 0);
    buf.writeUInt16BE(port & 0xffff, 2);
    writeIpv4(ip, buf, 4);
    return SOCKADDR_IN_SIZE;
  }
  buf.fill(0, 0, SOCKADDR_IN6_SIZE);
  buf.writeUInt16LE(AF_INET6, 0);
  buf.writeUInt16BE(port & 0xffff, 2);
  writeIpv6(ip, buf, 8);
  return SOCKADDR_IN6_SIZE;
}

/** A sockaddr_storage-sized buffer holding the address of `ip`:`port`, and its length. */
export function sockaddrFor(ip: string, port: number): { buf: Buffer; len: number } {
  const buf = Buffer.alloc(SOCKADDR_STORAGE_SIZE);
  const len = writeSockaddr(buf, ip, port);
  return { buf, len };
}

// ---------------------------------------------------------------------------
// iovec

export const IOVEC_SIZE = 16;

/** An iovec array over zero-filled buffers of the given lengths. */
export function buildIovecs(lengths: bigint[]): { iov: Buffer; buffers: Buffer[] } {
  const iov = Buffer.alloc(Math.max(1, lengths.length) * IOVEC_SIZE);
  const buffers: Buffer[] = [];
  lengths.forEach((len, i) => {
    const b = Buffer.alloc(safeLength(len));
    buffers.push(b);
    iov.writeBigUInt64LE(b.length > 0 ? pointerTo(b) : 0n, i * IOVEC_SIZE);
    iov.writeBigUInt64LE(BigInt.asUintN(64, len), i * IOVEC_SIZE + 8);
  });
  return { iov, buffers };
}

/** Lengths that cannot be allocated (negative, absurd) get a 0-byte buffer; the kernel then faults. */
function safeLength(len: bigint): number {
  return len > 0n && len <= 0x7fffffffn ? Number(len) : 0;
}

// ---------------------------------------------------------------------------
// msghdr and control messages

export const MSGHDR_SIZE = 56;
const MSG_NAME = 0;
const MSG_NAMELEN = 8;
const MSG_IOV = 16;
const MSG_IOVLEN = 24;
const MSG_CONTROL = 32;
const MSG_CONTROLLEN = 40;
const MSG_FLAGS = 48;

export interface MsghdrParts {
  name: Buffer | null;
  namelen: number;
  iov: Buffer | null;
  iovlen: bigint;
  control: Buffer | null;
  controllen: number;
  flags: number;
}

export function buildMsghdr(p: MsghdrParts): Buffer {
  const m = Buffer.alloc(MSGHDR_SIZE);
  m.writeBigUInt64LE(pointerTo(p.name), MSG_NAME);
  m.writeUInt32LE(p.namelen >>> 0, MSG_NAMELEN);
  m.writeBigUInt64LE(pointerTo(p.iov), MSG_IOV);
  m.writeBigUInt64LE(BigInt.asUintN(64, p.iovlen), MSG_IOVLEN);
  m.writeBigUInt64LE(pointerTo(p.control), MSG_CONTROL);
  m.writeBigUInt64LE(BigInt(p.controllen), MSG_CONTROLLEN);
  m.writeInt32LE(p.flags | 0, MSG_FLAGS);
  return m;
}

export function setMsghdrNamelen(m: Buffer, len: number): void {
  m.writeUInt32LE(len >>> 0, MSG_NAMELEN);
}

export function msghdrFlags(m: Buffer): number {
  return m.readInt32LE(MSG_FLAGS);
}

export function msghdrControllen(m: Buffer): number {
  return Number(m.readBigUInt64LE(MSG_CONTROLLEN));
}

export const CMSGHDR_SIZE = 16;
export const cmsgAlign = (n: number): number => (n + 7) & ~7;
export const cmsgLen = (dataLen: number): number => CMSGHDR_SIZE + dataLen;
export const cmsgSpace = (dataLen: number): number => CMSGHDR_SIZE + cmsgAlign(dataLen);

export interface CmsgView {
  /** Offset of the header in the control buffer. */
  offset: number;
  len: number;
  level: number;
  type: number;
  /** Offset of the data (CMSG_DATA). */
  dataOffset: number;
}

function readCmsg(control: Buffer, offset: number): CmsgView {
  return {
    offset,
    len: Number(control.readBigUInt64LE(offset)),
    level: control.readInt32LE(offset + 8),
    type: control.readInt32LE(offset + 12),
    dataOffset: offset + CMSGHDR_SIZE,
  };
}

/** CMSG_FIRSTHDR. */
export function cmsgFirst(control: Buffer, controllen: number): CmsgView | null {
  return controllen >= CMSGHDR_SIZE && control.length >= CMSGHDR_SIZE ? readCmsg(control, 0) : null;
}

/** CMSG_NXTHDR with glibc's bounds rules: null unless the current one and a whole next header fit. */
export function cmsgNext(control: Buffer, controllen: number, cur: CmsgView): CmsgView | null {
  if (cur.len < CMSGHDR_SIZE) return null;
  const next = cur.offset + cmsgAlign(cur.len);
  if (next + CMSGHDR_SIZE > controllen || next + CMSGHDR_SIZE > control.length) return null;
  return readCmsg(control, next);
}

export function writeCmsgHeader(control: Buffer, offset: number, len: number, level: number, type: number): void {
  control.writeBigUInt64LE(BigInt(len), offset);
  control.writeInt32LE(level | 0, offset + 8);
  control.writeInt32LE(type | 0, offset + 12);
}

// ---------------------------------------------------------------------------
// sock_extended_err (linux/errqueue.h)

export const SOCK_EXTENDED_ERR_SIZE = 16;

export interface SockExtendedErr {
  errno: number; // u32
  origin: number; // u8
  type: number; // u8
  code: number; // u8
  info: number; // u32
  data: number; // u32
}

export function writeSockExtendedErr(buf: Buffer, offset: number, ee: SockExtendedErr): void {
  buf.writeUInt32LE(ee.errno >>> 0, offset);
  buf.writeUInt8(ee.origin & 0xff, offset + 4);
  buf.writeUInt8(ee.type & 0xff, offset + 5);
  buf.writeUInt8(ee.code & 0xff, offset + 6);
  buf.writeUInt8(0, offset + 7);
  buf.writeUInt32LE(ee.info >>> 0, offset + 8);
  buf.writeUInt32LE(ee.data >>> 0, offset + 12);
}

export function readSockExtendedErr(buf: Buffer, offset: number): SockExtendedErr {
  return {
    errno: buf.readUInt32LE(offset),
    origin: buf.readUInt8(offset + 4),
    type: buf.readUInt8(offset + 5),
    code: buf.readUInt8(offset + 6),
    info: buf.readUInt32LE(offset + 8),
    data: buf.readUInt32LE(offset + 12),
  };
}

// ---------------------------------------------------------------------------
// scm_timestamping: three struct timespec

export const TIMESPEC_SIZE = 16;
export const SCM_TIMESTAMPING_SIZE = 3 * TIMESPEC_SIZE;

export interface Timespec {
  sec: bigint;
  nsec: bigint;
}

export function writeTimespec(buf: Buffer, offset: number, ts: Timespec): void {
  buf.writeBigInt64LE(BigInt.asIntN(64, ts.sec), offset);
  buf.writeBigInt64LE(BigInt.asIntN(64, ts.nsec), offset + 8);
}

export function readTimespec(buf: Buffer, offset: number): Timespec {
  return { sec: buf.readBigInt64LE(offset), nsec: buf.readBigInt64LE(offset + 8) };
}

// ---------------------------------------------------------------------------
// Netlink attributes (SCM_TIMESTAMPING_OPT_STATS)

export const NLA_HDRLEN = 4;
export const nlaAlign = (n: number): number => (n + 3) & ~3;

/** Append one attribute at `offset`; returns its aligned size. */
export function writeNla(buf: Buffer, offset: number, type: number, data: Buffer): number {
  const attrSize = NLA_HDRLEN + data.length;
  buf.writeUInt16LE(attrSize & 0xffff, offset);
  buf.writeUInt16LE(type & 0xffff, offset + 2);
  data.copy(buf, offset + NLA_HDRLEN);
  buf.fill(0, offset + attrSize, offset + nlaAlign(attrSize));
  return nlaAlign(attrSize);
}

// ---------------------------------------------------------------------------
// pollfd

export const POLLFD_SIZE = 8;

export function writePollfd(buf: Buffer, index: number, fd: number, events: number, revents: number): void {
  const o = index * POLLFD_SIZE;
  buf.writeInt32LE(fd | 0, o);
  buf.writeInt16LE(((events << 16) >> 16), o + 4);
  buf.writeInt16LE(((revents << 16) >> 16), o + 6);
}

export function readPollfdRevents(buf: Buffer, index: number): number {
  return buf.readInt16LE(index * POLLFD_SIZE + 6);
}

// ---------------------------------------------------------------------------
// linger

export const LINGER_SIZE = 8;

export function buildLinger(onoff: bigint, linger: bigint): Buffer {
  const b = Buffer.alloc(LINGER_SIZE);
  b.writeInt32LE(Number(BigInt.asIntN(32, onoff)), 0);
  b.writeInt32LE(Number(BigInt.asIntN(32, linger)), 4);
  return b;
}

// ---------------------------------------------------------------------------
// epoll_event: packed (12 bytes) on x86_64, naturally aligned (16) elsewhere

export function epollEventSize(arch: Arch = currentArch()): number {
  return arch === 'x64' ? 12 : 16;
}

function epollDataOffset(arch: Arch): number {
  return arch === 'x64' ? 4 : 8;
}

export function writeEpollEvent(buf: Buffer, index: number, events: number, data: bigint, arch: Arch = currentArch()): void {
  const o = index * epollEventSize(arch);
  buf.writeUInt32LE(events >>> 0, o);
  buf.writeBigUInt64LE(BigInt.asUintN(64, data), o + epollDataOffset(arch));
}

export function readEpollEvent(buf: Buffer, index: number, arch: Arch = currentArch()): { events: number; data: bigint } {
  const o = index * epollEventSize(arch);
  return { events: buf.readUInt32LE(o), data: buf.readBigUInt64LE(o + epollDataOffset(arch)) };
}

// ---------------------------------------------------------------------------
// struct gre (packetdrill's setsockopt/getsockopt value): flags, proto, then
// 12 bytes of optional fields: sum and offset as be16, key and seq as be32.

export const GRE_STRUCT_SIZE = 16;

export function buildGre(g: GreHeader): Buffer {
  const b = Buffer.alloc(GRE_STRUCT_SIZE);
  b.writeUInt16BE(g.flags & 0xffff, 0);
  b.writeUInt16BE(g.sum & 0xffff, 4);
  b.writeUInt16BE(g.off & 0xffff, 6);
  b.writeUInt32BE(g.key >>> 0, 8);
  b.writeUInt32BE(g.seq >>> 0, 12);
  return b;
}

/** The fields packetdrill compares in a getsockopt() of a struct gre. */
export function greFieldsEqual(a: Buffer, b: Buffer): boolean {
  return (
    a.readUInt16BE(0) === b.readUInt16BE(0) &&
    a.readUInt16BE(4) === b.readUInt16BE(4) &&
    a.readUInt16BE(6) === b.readUInt16BE(6) &&
    a.readUInt32BE(8) === b.readUInt32BE(8) &&
    a.readUInt32BE(12) === b.readUInt32BE(12)
  );
}

// ---------------------------------------------------------------------------
// packetdrill's struct mpls_stack: up to 6 big-endian label stack entries, then an int count

export const MPLS_STACK_MAX_ENTRIES = 6;
export const MPLS_STACK_SIZE = MPLS_STACK_MAX_ENTRIES * 4 + 4;

export function buildMplsStack(entries: MplsEntry[]): Buffer {
  const b = Buffer.alloc(MPLS_STACK_SIZE);
  entries.slice(0, MPLS_STACK_MAX_ENTRIES).forEach((e, i) => {
    const v = ((e.label & 0xfffff) << 12) | ((e.tc & 0x7) << 9) | ((e.bottom ? 1 : 0) << 8) | (e.ttl & 0xff);
    b.writeUInt32BE(v >>> 0, i * 4);
  });
  b.writeInt32LE(Math.min(entries.length, MPLS_STACK_MAX_ENTRIES), MPLS_STACK_MAX_ENTRIES * 4);
  return b;
}

// ---------------------------------------------------------------------------
// capget/capset (linux/capability.h, version 3: two 32-bit data words)

export const LINUX_CAPABILITY_VERSION_3 = 0x20080522;
export const CAP_HEADER_SIZE = 8;
export const CAP_DATA_SIZE = 2 * 12;

export function buildCapHeader(): Buffer {
  const b = Buffer.alloc(CAP_HEADER_SIZE);
  b.writeUInt32LE(LINUX_CAPABILITY_VERSION_3, 0);
  b.writeInt32LE(0, 4);
  return b;
}

/** Set or clear capability `cap` in set `flag` (0 effective, 1 permitted, 2 inheritable). */
export function updateCapData(data: Buffer, flag: number, cap: number, set: boolean): void {
  const word = cap >> 5;
  const bit = 1 << (cap & 31);
  const o = word * 12 + flag * 4;
  const v = data.readUInt32LE(o);
  data.writeUInt32LE((set ? v | bit : v & ~bit) >>> 0, o);
}
