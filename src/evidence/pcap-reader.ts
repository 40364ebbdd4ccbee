/**
 * Reads pcapng and classic pcap captures (either byte order; pcap with
 * micro- or nanosecond stamps) into plain objects, to check evidence in
 * tests and scenarios. Handles the blocks tundrill writes and skips the
 * others; timestamps come back as nanoseconds since the epoch.
 */

import * as fs from 'node:fs';

export interface CaptureInterface {
  linkType: number;
  snaplen: number;
  name?: string;
  description?: string;
  /** Timestamp units per second (10^9 for if_tsresol 9; 10^6 by default). */
  unitsPerSecond: bigint;
}

export interface CaptureRecord {
  interfaceId: number;
  /** CLOCK_REALTIME nanoseconds. */
  tsNs: bigint;
  data: Buffer;
  originalLength: number;
  /** From epb_flags: 'in' (inbound), 'out' (outbound), undefined when not recorded. */
  direction?: 'in' | 'out';
  /** Raw epb_flags value, when present. */
  flags?: number;
  comments: string[];
}

/** LINKTYPE_ETHERNET: packets begin with a 14-byte Ethernet header. */
export const LINKTYPE_ETHERNET = 1;

/**
 * The IP packet of a record: the data itself on a raw-IP interface (tun0),
 * the data after the Ethernet header on an Ethernet one (veth).
 */
export function networkPayload(file: CaptureFile, rec: CaptureRecord): Buffer {
  const linkType = file.interfaces[rec.interfaceId]?.linkType;
  return linkType === LINKTYPE_ETHERNET ? rec.data.subarray(14) : rec.data;
}

export interface CaptureFile {
  format: 'pcapng' | 'pcap';
  interfaces: CaptureInterface[];
  sectionComments: string[];
  userAppl?: string;
  os?: string;
  packets: CaptureRecord[];
}

interface RawOption {
  code: number;
  value: Buffer;
}

class Reader {
  constructor(
    readonly buf: Buffer,
    readonly le: boolean,
  ) {}
  u16(at: number): number {
    return this.le ? this.buf.readUInt16LE(at) : this.buf.readUInt16BE(at);
  }
  u32(at: number): number {
    return this.le ? this.buf.readUInt32LE(at) : this.buf.readUInt32BE(at);
  }
  options(start: number, end: number): RawOption[] {
    const out: RawOption[] = [];
    let at = start;
    while (at + 4 <= end) {
      const code = this.u16(at);
      const len = this.u16(at + 2);
      if (code === 0) break;
      if (at + 4 + len > end) throw new Error(`capture option at byte ${at} runs past its block`);
      out.push({ code, value: this.buf.subarray(at + 4, at + 4 + len) });
      at += 4 + ((len + 3) & ~3);
    }
    return out;
  }
}

function tsresolUnits(v: number): bigint {
  return v & 0x80 ? 2n ** BigInt(v & 0x7f) : 10n ** BigInt(v & 0x7f);
}

function parsePcapng(buf: Buffer): CaptureFile {
  const file: CaptureFile = { format: 'pcapng', interfaces: [], sectionComments: [], packets: [] };
  let r = new Reader(buf, true);
  let at = 0;
  while (at + 12 <= buf.length) {
    let type = r.u32(at);
    if (type === 0x0a0d0d0a) {
      const bom = buf.readUInt32LE(at + 8);
      r = new Reader(buf, bom === 0x1a2b3c4d);
      type = r.u32(at);
      file.interfaces = [];
    }
    const len = r.u32(at + 4);
    if (len < 12 || len % 4 !== 0 || at + len > buf.length) {
      throw new Error(`truncated or corrupt pcapng block at byte ${at} (length ${len}, file ${buf.length} bytes)`);
    }
    if (r.u32(at + len - 4) !== len) throw new Error(`pcapng block at byte ${at}: trailing length does not match`);
    const bodyEnd = at + len - 4;
    if (type === 0x0a0d0d0a) {
      for (const o of r.options(at + 24, bodyEnd)) {
        if (o.code === 1) file.sectionComments.push(o.value.toString('utf8'));
        else if (o.code === 3) file.os = o.value.toString('utf8');
        else if (o.code === 4) file.userAppl = o.value.toString('utf8');
      }
    } else if (type === 1) {
      const iface: CaptureInterface = { linkType: r.u16(at + 8), snaplen: r.u32(at + 12), unitsPerSecond: 1_000_000n };
      for (const o of r.options(at + 16, bodyEnd)) {
        if (o.code === 2) iface.name = o.value.toString('utf8');
        else if (o.code === 3) iface.description = o.value.toString('utf8');
        else if (o.code === 9 && o.value.length >= 1) iface.unitsPerSecond = tsresolUnits(o.value[0]!);
      }
      file.interfaces.push(iface);
    } else if (type === 6) {
      const interfaceId = r.u32(at + 8);
      const iface = file.interfaces[interfaceId];
      if (iface === undefined) throw new Error(`packet at byte ${at} names unknown interface ${interfaceId}`);
      const ticks = (BigInt(r.u32(at + 12)) << 32n) | BigInt(r.u32(at + 16));
      const capLen = r.u32(at + 20);
      const rec: CaptureRecord = {
        interfaceId,
        tsNs: (ticks * 1_000_000_000n) / iface.unitsPerSecond,
        data: Buffer.from(buf.subarray(at + 28, at + 28 + capLen)),
        originalLength: r.u32(at + 24),
        comments: [],
      };
      for (const o of r.options(at + 28 + ((capLen + 3) & ~3), bodyEnd)) {
        if (o.code === 1) rec.comments.push(o.value.toString('utf8'));
        else if (o.code === 2 && o.value.length === 4) {
          rec.flags = r.le ? o.value.readUInt32LE(0) : o.value.readUInt32BE(0);
          const dir = rec.flags & 3;
          if (dir === 1) rec.direction = 'in';
          else if (dir === 2) rec.direction = 'out';
        }
      }
      file.packets.push(rec);
    }
    at += len;
  }
  if (at !== buf.length) throw new Error(`pcapng file ends inside a block (${buf.length - at} stray bytes)`);
  return file;
}

function parsePcap(buf: Buffer): CaptureFile {
  const m = buf.readUInt32LE(0);
  let le: boolean;
  let nanos: boolean;
  if (m === 0xa1b2c3d4 || m === 0xa1b23c4d) {
    le = true;
    nanos = m === 0xa1b23c4d;
  } else {
    const mb = buf.readUInt32BE(0);
    le = false;
    nanos = mb === 0xa1b23c4d;
  }
  const r = new Reader(buf, le);
  const file: CaptureFile = {
    format: 'pcap',
    interfaces: [{ linkType: r.u32(20) & 0xffff, snaplen: r.u32(16), unitsPerSecond: nanos ? 1_000_000_000n : 1_000_000n }],
    sectionComments: [],
    packets: [],
  };
  let at = 24;
  while (at + 16 <= buf.length) {
    const capLen = r.u32(at + 8);
    if (at + 16 + capLen > buf.length) throw new Error(`truncated pcap record at byte ${at}`);
    const sec = BigInt(r.u32(at));
    const frac = BigInt(r.u32(at + 4));
    file.packets.push({
      interfaceId: 0,
      tsNs: sec * 1_000_000_000n + (nanos ? frac : frac * 1000n),
      data: Buffer.from(buf.subarray(at + 16, at + 16 + capLen)),
      originalLength: r.u32(at + 12),
      comments: [],
    });
    at += 16 + capLen;
  }
  if (at !== buf.length) throw new Error(`pcap file ends inside a record (${buf.length - at} stray bytes)`);
  return file;
}

/** Parses a capture held in memory. Throws with the byte offset on corrupt input. */
export function parseCapture(buf: Buffer): CaptureFile {
  if (buf.length < 4) throw new Error('not a capture file: too short');
  const m = buf.readUInt32LE(0);
  if (m === 0x0a0d0d0a) return parsePcapng(buf);
  const mb = buf.readUInt32BE(0);
  if (m === 0xa1b2c3d4 || m === 0xa1b23c4d || mb === 0xa1b2c3d4 || mb === 0xa1b23c4d) {
    if (buf.length < 24) throw new Error('not a capture file: pcap header cut short');
    return parsePcap(buf);
  }
  throw new Error(`not a pcap or pcapng file (magic 0x${m.toString(16)})`);
}

/** Reads and parses a capture file. */
export async function readCapture(file: string): Promise<CaptureFile> {
  return parseCapture(await fs.promises.readFile(file));
}

/** Synchronous `readCapture`. */
export function readCaptureSync(file: string): CaptureFile {
  return parseCapture(fs.readFileSync(file));
}
