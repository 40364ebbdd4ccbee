/**
 * TCP options: the typed forms of every option packetdrill scripts can
 * write, their wire encoding, and a decoder that keeps unknown kinds raw and
 * reports malformed lists instead of throwing.
 *
 * Decoding walks the whole option area the way packetdrill does: an EOL is
 * one byte and the walk goes on, so zero padding after an EOL shows up as
 * more EOLs.
 */

export const TCPOPT_EOL = 0;
export const TCPOPT_NOP = 1;
export const TCPOPT_MSS = 2;
export const TCPOPT_WSCALE = 3;
export const TCPOPT_SACK_PERMITTED = 4;
export const TCPOPT_SACK = 5;
export const TCPOPT_TIMESTAMP = 8;
export const TCPOPT_MD5SIG = 19;
export const TCPOPT_FASTOPEN = 34;
export const TCPOPT_ACCECN0 = 172;
export const TCPOPT_ACCECN1 = 174;
export const TCPOPT_EXP = 254;
/** Magic number after kind and length of the experimental TCP Fast Open option. */
export const TCPOPT_FASTOPEN_MAGIC = 0xf989;

export const TCPOLEN_MSS = 4;
export const TCPOLEN_WSCALE = 3;
export const TCPOLEN_SACK_PERMITTED = 2;
export const TCPOLEN_TIMESTAMP = 10;
export const TCPOLEN_MD5SIG = 18;
/** Most option bytes a TCP header can carry (data offset 15 words). */
export const MAX_TCP_OPTION_BYTES = 40;
/** Most 24-bit counters an AccECN option carries. */
export const MAX_ACCECN_FIELDS = 3;

export interface SackBlock {
  /** First sequence number in the block. */
  left: number;
  /** First sequence number past the block. */
  right: number;
}

/** One TCP option in typed form. */
export type TcpOption =
  | { type: 'eol' }
  | { type: 'nop' }
  | { type: 'mss'; mss: number }
  | { type: 'wscale'; shift: number }
  | { type: 'sackOK' }
  | { type: 'sack'; blocks: SackBlock[] }
  | { type: 'timestamp'; val: number; ecr: number }
  /** TCP MD5 signature (RFC 2385), kind 19; a digest of up to 16 bytes. */
  | { type: 'md5'; digest: Uint8Array }
  /** TCP Fast Open (RFC 7413), kind 34. */
  | { type: 'fastopen'; cookie: Uint8Array }
  /** Experimental TCP Fast Open, kind 254 with magic 0xF989. */
  | { type: 'fastopenExp'; cookie: Uint8Array }
  /**
   * Accurate ECN: order 0 is kind 172 with counters e0b, ceb, e1b; order 1
   * is kind 174 with e1b, ceb, e0b. `fields` holds 0..3 counters in wire
   * order, 24 bits each.
   */
  | { type: 'accecn'; order: 0 | 1; fields: number[] }
  /**
   * Any other kind, or a deliberately odd one: kind, then the length byte
   * (`length`, default data.length + 2), then `data`.
   */
  | { type: 'raw'; kind: number; data: Uint8Array; length?: number };

export type TcpOptionType = TcpOption['type'];

/** Where a decoded option sits in the packet. */
export interface TcpOptionPlacement {
  /** Option kind byte. */
  kind: number;
  /** Offset of the kind byte from the start of the TCP header. */
  offset: number;
  /** Bytes on the wire (1 for EOL and NOP). */
  length: number;
  /** The option's wire bytes (a view into the decoded buffer). */
  bytes: Buffer;
}

/** A decoded option: its typed form plus where it sits. */
export type DecodedTcpOption = TcpOption & TcpOptionPlacement;

export interface TcpOptionsDecodeResult {
  options: DecodedTcpOption[];
  /**
   * Why the walk stopped early (packetdrill's wording, e.g. "TCP option data
   * extends too far"); the options before the bad one are in `options`.
   */
  error?: string;
  /** Offset (from the TCP header) of the option that stopped the walk. */
  errorOffset?: number;
}

/** Expected total length of fixed-length option kinds; 0 for variable-length ones. */
function expectedLength(kind: number): number {
  switch (kind) {
    case TCPOPT_MSS:
      return TCPOLEN_MSS;
    case TCPOPT_WSCALE:
      return TCPOLEN_WSCALE;
    case TCPOPT_SACK_PERMITTED:
      return TCPOLEN_SACK_PERMITTED;
    case TCPOPT_TIMESTAMP:
      return TCPOLEN_TIMESTAMP;
    default:
      return 0;
  }
}

function readU32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

function typedOption(buf: Buffer, at: number, kind: number, length: number): TcpOption {
  const dataStart = at + 2;
  const dataLen = length - 2;
  switch (kind) {
    case TCPOPT_MSS:
      return { type: 'mss', mss: (buf[dataStart]! << 8) | buf[dataStart + 1]! };
    case TCPOPT_WSCALE:
      return { type: 'wscale', shift: buf[dataStart]! };
    case TCPOPT_SACK_PERMITTED:
      return { type: 'sackOK' };
    case TCPOPT_TIMESTAMP:
      return { type: 'timestamp', val: readU32(buf, dataStart), ecr: readU32(buf, dataStart + 4) };
    case TCPOPT_SACK:
      if (dataLen > 0 && dataLen % 8 === 0) {
        const blocks: SackBlock[] = [];
        for (let p = dataStart; p < at + length; p += 8) {
          blocks.push({ left: readU32(buf, p), right: readU32(buf, p + 4) });
        }
        return { type: 'sack', blocks };
      }
      break;
    case TCPOPT_MD5SIG:
      if (dataLen <= TCPOLEN_MD5SIG - 2) {
        return { type: 'md5', digest: Buffer.from(buf.subarray(dataStart, at + length)) };
      }
      break;
    case TCPOPT_FASTOPEN:
      return { type: 'fastopen', cookie: Buffer.from(buf.subarray(dataStart, at + length)) };
    case TCPOPT_EXP:
      if (dataLen >= 2 && ((buf[dataStart]! << 8) | buf[dataStart + 1]!) === TCPOPT_FASTOPEN_MAGIC) {
        return { type: 'fastopenExp', cookie: Buffer.from(buf.subarray(dataStart + 2, at + length)) };
      }
      break;
    case TCPOPT_ACCECN0:
    case TCPOPT_ACCECN1:
      if (dataLen <= MAX_ACCECN_FIELDS * 3) {
        const fields: number[] = [];
        for (let p = dataStart; p + 3 <= at + length; p += 3) {
          fields.push((buf[p]! << 16) | (buf[p + 1]! << 8) | buf[p + 2]!);
        }
        return { type: 'accecn', order: kind === TCPOPT_ACCECN0 ? 0 : 1, fields };
      }
      break;
  }
  return { type: 'raw', kind, data: Buffer.from(buf.subarray(dataStart, at + length)) };
}

/** Where one option sits: its kind byte at `at`, `len` bytes on the wire (1 for EOL and NOP). */
export interface TcpOptionPlace {
  kind: number;
  at: number;
  len: number;
}

/**
 * Walks the options in `buf[start, end)` as packetdrill's option iterator
 * does: EOL and NOP are one byte each and the walk covers the whole option
 * area. Calls `visit` for each well-formed option; returns why the walk
 * stopped early (packetdrill's wording) and where, or undefined.
 */
export function walkTcpOptions(
  buf: Uint8Array,
  start: number,
  end: number,
  visit: (place: TcpOptionPlace) => void,
): { error: string; at: number } | undefined {
  let at = start;
  while (at < end) {
    const kind = buf[at]!;
    if (kind === TCPOPT_EOL || kind === TCPOPT_NOP) {
      visit({ kind, at, len: 1 });
      at += 1;
      continue;
    }
    if (at + 1 >= end) return { error: 'TCP option length byte extends too far', at };
    const len = buf[at + 1]!;
    if (len < 2) return { error: 'TCP option with length byte is too short', at };
    if (at + len > end) return { error: 'TCP option data extends too far', at };
    visit({ kind, at, len });
    at += len;
  }
  return undefined;
}

/** The places of the options in `buf[start, end)`, in order, and why the walk stopped early if it did. */
export function tcpOptionPlaces(buf: Uint8Array, start: number, end: number): { places: TcpOptionPlace[]; error?: string } {
  const places: TcpOptionPlace[] = [];
  const stop = walkTcpOptions(buf, start, end, (o) => places.push(o));
  return stop ? { places, error: stop.error } : { places };
}

/**
 * Decodes the options in `buf[start, end)`; offsets are reported relative
 * to `tcpOffset` (the start of the TCP header). Never throws.
 */
export function decodeTcpOptions(buf: Buffer, start: number, end: number, tcpOffset = start - 20): TcpOptionsDecodeResult {
  const options: DecodedTcpOption[] = [];
  let bad: { error: string; at: number } | undefined;
  const stop = walkTcpOptions(buf, start, end, ({ kind, at, len }) => {
    if (bad) return;
    const expected = expectedLength(kind);
    if (expected !== 0 && len !== expected) {
      bad = { error: `bad TCP option length: was ${len} but expected ${expected}`, at };
      return;
    }
    const o = (len === 1 ? { type: kind === TCPOPT_EOL ? 'eol' : 'nop' } : typedOption(buf, at, kind, len)) as DecodedTcpOption;
    o.kind = kind;
    o.offset = at - tcpOffset;
    o.length = len;
    o.bytes = buf.subarray(at, at + len);
    options.push(o);
  });
  const first = bad ?? stop;
  if (first !== undefined) return { options, error: first.error, errorOffset: first.at - tcpOffset };
  return { options };
}

function checkByte(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new RangeError(`${what} must be in 0..255, got ${v}`);
  return v;
}

function checkU16(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new RangeError(`${what} must be in 0..65535, got ${v}`);
  return v;
}

function checkU32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new RangeError(`${what} must be in 0..4294967295, got ${v}`);
  }
  return v;
}

/** Bytes `option` takes on the wire. */
export function tcpOptionLength(option: TcpOption): number {
  switch (option.type) {
    case 'eol':
    case 'nop':
      return 1;
    case 'mss':
      return TCPOLEN_MSS;
    case 'wscale':
      return TCPOLEN_WSCALE;
    case 'sackOK':
      return TCPOLEN_SACK_PERMITTED;
    case 'sack':
      return 2 + 8 * option.blocks.length;
    case 'timestamp':
      return TCPOLEN_TIMESTAMP;
    case 'md5':
      return 2 + option.digest.length;
    case 'fastopen':
      return 2 + option.cookie.length;
    case 'fastopenExp':
      return 4 + option.cookie.length;
    case 'accecn':
      return 2 + 3 * option.fields.length;
    case 'raw':
      return 2 + option.data.length;
  }
}

/** Total bytes of a list of options, before padding. */
export function tcpOptionsLength(options: readonly TcpOption[]): number {
  let n = 0;
  for (const o of options) n += tcpOptionLength(o);
  return n;
}

function writeU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}

/**
 * Writes one option at `at` and returns the bytes written. Throws a
 * RangeError on values that do not fit their field.
 */
export function writeTcpOption(option: TcpOption, buf: Uint8Array, at: number): number {
  const len = tcpOptionLength(option);
  if (at + len > buf.length) throw new RangeError(`no room for TCP option ${option.type}`);
  switch (option.type) {
    case 'eol':
      buf[at] = TCPOPT_EOL;
      return 1;
    case 'nop':
      buf[at] = TCPOPT_NOP;
      return 1;
    case 'mss': {
      const v = checkU16(option.mss, 'mss');
      buf[at] = TCPOPT_MSS;
      buf[at + 1] = len;
      buf[at + 2] = v >> 8;
      buf[at + 3] = v & 0xff;
      return len;
    }
    case 'wscale':
      buf[at] = TCPOPT_WSCALE;
      buf[at + 1] = len;
      buf[at + 2] = checkByte(option.shift, 'window scale shift count');
      return len;
    case 'sackOK':
      buf[at] = TCPOPT_SACK_PERMITTED;
      buf[at + 1] = len;
      return len;
    case 'sack': {
      if (option.blocks.length === 0) throw new RangeError('a SACK option needs at least one block');
      buf[at] = TCPOPT_SACK;
      buf[at + 1] = checkByte(len, 'SACK option length');
      let p = at + 2;
      for (const b of option.blocks) {
        writeU32(buf, p, checkU32(b.left, 'SACK left edge'));
        writeU32(buf, p + 4, checkU32(b.right, 'SACK right edge'));
        p += 8;
      }
      return len;
    }
    case 'timestamp':
      buf[at] = TCPOPT_TIMESTAMP;
      buf[at + 1] = len;
      writeU32(buf, at + 2, checkU32(option.val, 'TS val'));
      writeU32(buf, at + 6, checkU32(option.ecr, 'TS ecr'));
      return len;
    case 'md5':
      if (option.digest.length > 16) throw new RangeError('TCP MD5 digest longer than 16 bytes');
      buf[at] = TCPOPT_MD5SIG;
      buf[at + 1] = len;
      buf.set(option.digest, at + 2);
      return len;
    case 'fastopen':
      buf[at] = TCPOPT_FASTOPEN;
      buf[at + 1] = checkByte(len, 'Fast Open option length');
      buf.set(option.cookie, at + 2);
      return len;
    case 'fastopenExp':
      buf[at] = TCPOPT_EXP;
      buf[at + 1] = checkByte(len, 'experimental Fast Open option length');
      buf[at + 2] = TCPOPT_FASTOPEN_MAGIC >> 8;
      buf[at + 3] = TCPOPT_FASTOPEN_MAGIC & 0xff;
      buf.set(option.cookie, at + 4);
      return len;
    case 'accecn': {
      if (option.fields.length > MAX_ACCECN_FIELDS) {
        throw new RangeError(`an AccECN option carries at most ${MAX_ACCECN_FIELDS} counters`);
      }
      buf[at] = option.order === 0 ? TCPOPT_ACCECN0 : TCPOPT_ACCECN1;
      buf[at + 1] = len;
      let p = at + 2;
      for (const f of option.fields) {
        if (!Number.isInteger(f) || f < 0 || f > 0xffffff) {
          throw new RangeError(`AccECN counter must be in 0..16777215, got ${f}`);
        }
        buf[p] = f >>> 16;
        buf[p + 1] = (f >>> 8) & 0xff;
        buf[p + 2] = f & 0xff;
        p += 3;
      }
      return len;
    }
    case 'raw':
      buf[at] = checkByte(option.kind, 'TCP option kind');
      buf[at + 1] = checkByte(option.length ?? len, 'TCP option length');
      buf.set(option.data, at + 2);
      return len;
  }
}

/**
 * Writes a list of options at `at`, then zero bytes (EOL) up to a multiple
 * of four when `pad` is set. Returns the bytes written.
 */
export function writeTcpOptions(options: readonly TcpOption[], buf: Uint8Array, at: number, pad = true): number {
  let p = at;
  for (const o of options) p += writeTcpOption(o, buf, p);
  if (pad) {
    while ((p - at) % 4 !== 0) buf[p++] = 0;
  }
  return p - at;
}

/** Encodes a list of options into a new Buffer (padded to a multiple of four unless `pad` is false). */
export function encodeTcpOptions(options: readonly TcpOption[], pad = true): Buffer {
  const raw = tcpOptionsLength(options);
  const buf = Buffer.alloc(pad ? (raw + 3) & ~3 : raw);
  writeTcpOptions(options, buf, 0, pad);
  return buf;
}

/** Strips placement details from a decoded option, leaving its typed form. */
export function plainTcpOption(o: DecodedTcpOption): TcpOption {
  const copy: Record<string, unknown> = { ...o };
  delete copy['offset'];
  delete copy['length'];
  delete copy['bytes'];
  if (o.type !== 'raw') delete copy['kind'];
  return copy as TcpOption;
}
