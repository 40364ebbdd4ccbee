/**
 * Where the headers of a raw IP packet sit, so the engine can read and
 * rewrite fields in place (ports, sequence numbers, SACK blocks, TCP
 * timestamps) while mapping between script and live values, as packetdrill
 * does on its packet buffers.
 */

import { formatIpv6 } from '../packet/address.js';

export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
export const PROTO_ICMPV6 = 58;

export interface Layout {
  ipVersion: 4 | 6;
  ipHeaderLen: number;
  /** IP total length from the header (IPv6: 40 + payload length). */
  ipTotalLen: number;
  /** L4 protocol after any IPv6 extension headers. */
  proto: number;
  l4: number;
  /** TCP header length (doff * 4), UDP 8, ICMP 8. */
  l4HeaderLen: number;
  payload: number;
  payloadLen: number;
  /** For ICMP errors: the echoed IP header and what follows it. */
  echoed?: { ip: number; ipVersion: 4 | 6; ipHeaderLen: number; proto: number; l4: number };
}

function walkV6(buf: Buffer, off: number): { proto: number; l4: number } {
  let next = buf[off + 6]!;
  let p = off + 40;
  // Hop-by-hop, routing, destination options, fragment, authentication.
  while ((next === 0 || next === 43 || next === 60 || next === 44 || next === 51) && p + 8 <= buf.length) {
    const nh = buf[p]!;
    const len = next === 44 ? 8 : next === 51 ? (buf[p + 1]! + 2) * 4 : (buf[p + 1]! + 1) * 8;
    next = nh;
    p += len;
  }
  return { proto: next, l4: p };
}

/** Compute the layout; returns null for what is not an IPv4/IPv6 packet. */
export function layoutOf(buf: Buffer, at = 0): Layout | null {
  if (buf.length - at < 20) return null;
  const v = buf[at]! >> 4;
  let ipHeaderLen: number;
  let ipTotalLen: number;
  let proto: number;
  let l4: number;
  if (v === 4) {
    ipHeaderLen = (buf[at]! & 0x0f) * 4;
    ipTotalLen = buf.readUInt16BE(at + 2);
    proto = buf[at + 9]!;
    l4 = at + ipHeaderLen;
  } else if (v === 6) {
    if (buf.length - at < 40) return null;
    ipHeaderLen = 40;
    ipTotalLen = 40 + buf.readUInt16BE(at + 4);
    ({ proto, l4 } = walkV6(buf, at));
  } else {
    return null;
  }
  const end = Math.min(buf.length, at + ipTotalLen);
  let l4HeaderLen = 0;
  if (proto === PROTO_TCP) l4HeaderLen = l4 + 13 <= end ? (buf[l4 + 12]! >> 4) * 4 : 0;
  else if (proto === PROTO_UDP || proto === PROTO_ICMP || proto === PROTO_ICMPV6) l4HeaderLen = 8;
  const payload = Math.min(end, l4 + l4HeaderLen);
  const layout: Layout = {
    ipVersion: v as 4 | 6,
    ipHeaderLen,
    ipTotalLen,
    proto,
    l4,
    l4HeaderLen,
    payload,
    payloadLen: Math.max(0, end - payload),
  };
  if ((proto === PROTO_ICMP || proto === PROTO_ICMPV6) && payload < end) {
    const e = payload;
    const ev = buf[e]! >> 4;
    if (ev === 4 && e + 20 <= buf.length) {
      const hl = (buf[e]! & 0x0f) * 4;
      layout.echoed = { ip: e, ipVersion: 4, ipHeaderLen: hl, proto: buf[e + 9]!, l4: e + hl };
    } else if (ev === 6 && e + 40 <= buf.length) {
      const w = walkV6(buf, e);
      layout.echoed = { ip: e, ipVersion: 6, ipHeaderLen: 40, proto: w.proto, l4: w.l4 };
    }
  }
  return layout;
}

// ---- addresses ------------------------------------------------------------

export function readAddr(buf: Buffer, ipAt: number, which: 'src' | 'dst'): string {
  if (buf[ipAt]! >> 4 === 4) {
    const o = ipAt + (which === 'src' ? 12 : 16);
    return `${buf[o]}.${buf[o + 1]}.${buf[o + 2]}.${buf[o + 3]}`;
  }
  // The same spelling as the run's configured addresses (canonicalIpv6).
  return formatIpv6(buf, ipAt + (which === 'src' ? 8 : 24));
}

function parseV4(a: string): number[] {
  return a.split('.').map((x) => Number(x));
}

export function parseV6(a: string): number[] {
  let text = a;
  let tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = parseV4(v4[1]!);
    tail = [(b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!];
    text = text.slice(0, -v4[1]!.length) + (text.endsWith('::' + v4[1]) ? '' : '0');
    if (text.endsWith(':0') && tail.length) text = text.slice(0, -2);
  }
  const [head, rest] = text.includes('::') ? text.split('::') as [string, string] : [text, undefined];
  const h = head ? head.split(':').filter((x) => x !== '').map((x) => parseInt(x, 16)) : [];
  const r = rest !== undefined && rest !== '' ? rest.split(':').map((x) => parseInt(x, 16)) : [];
  const words = rest === undefined ? [...h, ...tail] : [...h, ...new Array(8 - h.length - r.length - tail.length).fill(0), ...r, ...tail];
  const bytes: number[] = [];
  for (const w of words.slice(0, 8)) bytes.push((w >> 8) & 0xff, w & 0xff);
  while (bytes.length < 16) bytes.push(0);
  return bytes;
}

export function writeAddr(buf: Buffer, ipAt: number, which: 'src' | 'dst', addr: string): void {
  if (buf[ipAt]! >> 4 === 4) {
    const o = ipAt + (which === 'src' ? 12 : 16);
    const b = addr === '' ? [0, 0, 0, 0] : parseV4(addr);
    for (let i = 0; i < 4; i++) buf[o + i] = b[i]!;
    return;
  }
  const o = ipAt + (which === 'src' ? 8 : 24);
  const b = addr === '' ? new Array(16).fill(0) : parseV6(addr);
  for (let i = 0; i < 16; i++) buf[o + i] = b[i]!;
}

// ---- TCP options ------------------------------------------------------------

export interface RawTcpOption { kind: number; at: number; len: number }

/**
 * Walk the TCP options as packetdrill's option iterator does: EOL and NOP
 * are one byte each and the walk covers the whole option space. Returns an
 * error text for a malformed list (the options before it were visited).
 */
export function walkTcpOptions(buf: Buffer, l4: number, hdrLen: number, visit: (o: RawTcpOption) => void): string | undefined {
  let p = l4 + 20;
  const end = l4 + hdrLen;
  while (p < end) {
    const kind = buf[p]!;
    if (kind === 0 || kind === 1) {
      visit({ kind, at: p, len: 1 });
      p++;
      continue;
    }
    if (p + 1 >= end) return 'TCP option list too short';
    const len = buf[p + 1]!;
    if (len < 2 || p + len > end) return `bad TCP option length ${len} for kind ${kind}`;
    visit({ kind, at: p, len });
    p += len;
  }
  return undefined;
}

/** Offset of the TCP timestamp option's val field (ecr follows at +4), or -1. */
export function findTcpTimestamp(buf: Buffer, l4: number, hdrLen: number): number {
  let at = -1;
  walkTcpOptions(buf, l4, hdrLen, (o) => {
    if (o.kind === 8 && o.len === 10) at = o.at + 2;
  });
  return at;
}

/** Visit each SACK block (offset of its left edge; the right edge is at +4). */
export function forEachSackBlock(buf: Buffer, l4: number, hdrLen: number, fn: (at: number) => void): void {
  walkTcpOptions(buf, l4, hdrLen, (o) => {
    if (o.kind === 5) for (let b = o.at + 2; b + 8 <= o.at + o.len; b += 8) fn(b);
  });
}

/** The options in order, with their placement. */
export function rawTcpOptions(buf: Buffer, l4: number, hdrLen: number): { options: RawTcpOption[]; error?: string } {
  const options: RawTcpOption[] = [];
  const error = walkTcpOptions(buf, l4, hdrLen, (o) => options.push(o));
  return error ? { options, error } : { options };
}
