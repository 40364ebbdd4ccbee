/**
 * TCP options: one typed form of every option packetdrill scripts can
 * write, and one table that says, an entry an option, how it is written in
 * scripts, encoded, decoded and printed. The script parser, the encoder, the
 * decoder, the engine's option check and the printer all read this table;
 * a new option is one more entry (`TCP_OPTIONS.with(entry)` adds one
 * without touching this file).
 *
 * Decoding walks the whole option area the way packetdrill does: an EOL is
 * one byte and the walk goes on, so zero padding after an EOL shows up as
 * more EOLs. Kinds the table does not know stay raw.
 */

import { readUintBE, writeUintBE } from './fields.js';

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


/** Values out of range are refused with a RangeError naming the field. */
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

const readU32 = (b: Uint8Array, at: number): number => readUintBE(b, at, 4);
const writeU32 = (b: Uint8Array, at: number, v: number): void => writeUintBE(b, at, 4, v);

/** Lowercase hex of some bytes, as packetdrill prints digests and cookies. */
export function hexText(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += bytes[i]!.toString(16).padStart(2, '0');
  return s;
}

/**
 * What the script parser lends an entry to read the words after the
 * option's name. Errors carry the script position and packetdrill's wording.
 */
export interface TcpOptionReader {
  /** An integer (decimal or hex); `what` names it in the syntax error ("an MSS value"). */
  integer(what: string): { value: bigint; fail(message: string): never };
  /** True when an integer comes next. */
  atInteger(): boolean;
  /** True when the word (`val`, `ceb`, ...) comes next. */
  atWord(word: string): boolean;
  /** The word, or a syntax error. */
  word(word: string): void;
  /** The character (`:`), or a syntax error. */
  char(c: string): void;
  /** A hex string (a word or a run of digits), or a syntax error. */
  hex(): string;
  /** True when a hex string comes next. */
  atHex(): boolean;
  /** A semantic error at the option's name. */
  fail(message: string): never;
  /** A syntax error: `what` was expected here. */
  expected(what: string): never;
}

/**
 * One row of the option table. `O` is the form the entry reads and writes;
 * an entry for a kind with no typed form of its own keeps its options as
 * `{ type: 'raw', kind, data }` (its `type` is 'raw').
 */
export interface TcpOptionEntry<O extends TcpOption = TcpOption> {
  /** The `type` of the options this entry reads and writes. */
  type: O['type'];
  /** Its name in scripts and in printed packets (`mss`, `TS`, `FO`). */
  name: string;
  /** The kind bytes it is sent with (AccECN has two, one per counter order). */
  kinds: readonly number[];
  /** Total bytes on the wire when fixed; the decoder refuses other lengths, as packetdrill does. */
  length?: number;
  /** Bytes of `o` on the wire; absent when `length` fixes it. */
  wireLength?(o: O): number;
  /** Writes kind, length and data of `o` at `at` (room is checked before). Throws a RangeError on values that do not fit. */
  write(o: O, buf: Uint8Array, at: number): void;
  /** The typed form of option `kind` whose data (after kind and length) is `data`; undefined leaves it raw. */
  decode(kind: number, data: Buffer): O | undefined;
  /** The option as packetdrill prints it. */
  print(o: O): string;
  /** Reads the words after the name in a script line; absent for options scripts cannot write. */
  parse?(r: TcpOptionReader): O;
}

type OptionOf<T extends TcpOptionType> = Extract<TcpOption, { type: T }>;

/** An entry checked against the form of its `type`. */
function entry<T extends TcpOptionType>(e: TcpOptionEntry<OptionOf<T>> & { type: T }): TcpOptionEntry {
  return e as unknown as TcpOptionEntry;
}

/** Kind and length bytes. */
function head(buf: Uint8Array, at: number, kind: number, length: number, what: string): void {
  buf[at] = kind;
  buf[at + 1] = checkByte(length, what);
}

/** An option of kind and length only (one byte for EOL and NOP). */
function bare(type: 'eol' | 'nop' | 'sackOK', name: string, kind: number, length: number): TcpOptionEntry {
  const make = (): TcpOption => ({ type }) as TcpOption;
  return {
    type,
    name,
    kinds: [kind],
    length,
    write: (_o, buf, at) => {
      buf[at] = kind;
      if (length > 1) buf[at + 1] = length;
    },
    decode: make,
    print: () => name,
    parse: make,
  };
}

const ACCECN_LABELS: readonly (readonly ['e0b', 'ceb', 'e1b'] | readonly ['e1b', 'ceb', 'e0b'])[] = [
  ['e0b', 'ceb', 'e1b'],
  ['e1b', 'ceb', 'e0b'],
];

/** The options of packetdrill's grammar, plus the experimental kind it prints. */
const STANDARD_ENTRIES: readonly TcpOptionEntry[] = [
  bare('eol', 'eol', TCPOPT_EOL, 1),
  bare('nop', 'nop', TCPOPT_NOP, 1),
  entry<'mss'>({
    type: 'mss',
    name: 'mss',
    kinds: [TCPOPT_MSS],
    length: TCPOLEN_MSS,
    write: (o, buf, at) => {
      const v = checkU16(o.mss, 'mss');
      head(buf, at, TCPOPT_MSS, TCPOLEN_MSS, 'mss option length');
      buf[at + 2] = v >> 8;
      buf[at + 3] = v & 0xff;
    },
    decode: (_k, d) => ({ type: 'mss', mss: (d[0]! << 8) | d[1]! }),
    print: (o) => `mss ${o.mss}`,
    parse: (r) => {
      const v = r.integer('an MSS value');
      if (v.value < 0n || v.value > 0xffffn) v.fail('mss value out of range');
      return { type: 'mss', mss: Number(v.value) };
    },
  }),
  entry<'wscale'>({
    type: 'wscale',
    name: 'wscale',
    kinds: [TCPOPT_WSCALE],
    length: TCPOLEN_WSCALE,
    write: (o, buf, at) => {
      head(buf, at, TCPOPT_WSCALE, TCPOLEN_WSCALE, 'wscale option length');
      buf[at + 2] = checkByte(o.shift, 'window scale shift count');
    },
    decode: (_k, d) => ({ type: 'wscale', shift: d[0]! }),
    print: (o) => `wscale ${o.shift}`,
    parse: (r) => {
      const v = r.integer('a window scale shift count');
      if (v.value < 0n || v.value > 0xffn) v.fail('window scale shift count out of range');
      return { type: 'wscale', shift: Number(v.value) };
    },
  }),
  bare('sackOK', 'sackOK', TCPOPT_SACK_PERMITTED, TCPOLEN_SACK_PERMITTED),
  entry<'sack'>({
    type: 'sack',
    name: 'sack',
    kinds: [TCPOPT_SACK],
    wireLength: (o) => 2 + 8 * o.blocks.length,
    write: (o, buf, at) => {
      if (o.blocks.length === 0) throw new RangeError('a SACK option needs at least one block');
      head(buf, at, TCPOPT_SACK, 2 + 8 * o.blocks.length, 'SACK option length');
      let p = at + 2;
      for (const b of o.blocks) {
        writeU32(buf, p, checkU32(b.left, 'SACK left edge'));
        writeU32(buf, p + 4, checkU32(b.right, 'SACK right edge'));
        p += 8;
      }
    },
    decode: (_k, d) => {
      if (d.length === 0 || d.length % 8 !== 0) return undefined;
      const blocks: SackBlock[] = [];
      for (let p = 0; p < d.length; p += 8) blocks.push({ left: readU32(d, p), right: readU32(d, p + 4) });
      return { type: 'sack', blocks };
    },
    print: (o) => `sack ${o.blocks.map((b) => `${b.left >>> 0}:${b.right >>> 0}`).join(' ')}`,
    parse: (r) => {
      const blocks: SackBlock[] = [];
      do {
        const l = r.integer('a SACK block');
        r.char(':');
        const rt = r.integer('a SACK block right edge');
        if (l.value < 0n || l.value > 0xffffffffn) l.fail('TCP SACK left sequence number out of range');
        if (rt.value < 0n || rt.value > 0xffffffffn) rt.fail('TCP SACK right sequence number out of range');
        blocks.push({ left: Number(l.value), right: Number(rt.value) });
      } while (r.atInteger());
      return { type: 'sack', blocks };
    },
  }),
  entry<'timestamp'>({
    type: 'timestamp',
    name: 'TS',
    kinds: [TCPOPT_TIMESTAMP],
    length: TCPOLEN_TIMESTAMP,
    write: (o, buf, at) => {
      head(buf, at, TCPOPT_TIMESTAMP, TCPOLEN_TIMESTAMP, 'TS option length');
      writeU32(buf, at + 2, checkU32(o.val, 'TS val'));
      writeU32(buf, at + 6, checkU32(o.ecr, 'TS ecr'));
    },
    decode: (_k, d) => ({ type: 'timestamp', val: readU32(d, 0), ecr: readU32(d, 4) }),
    print: (o) => `TS val ${o.val >>> 0} ecr ${o.ecr >>> 0}`,
    parse: (r) => {
      r.word('val');
      const val = r.integer('a TS value');
      r.word('ecr');
      const ecr = r.integer('a TS echo reply');
      if (val.value < 0n || val.value > 0xffffffffn) val.fail('ts val out of range');
      if (ecr.value < 0n || ecr.value > 0xffffffffn) ecr.fail('ecr val out of range');
      return { type: 'timestamp', val: Number(val.value), ecr: Number(ecr.value) };
    },
  }),
  entry<'md5'>({
    type: 'md5',
    name: 'md5',
    kinds: [TCPOPT_MD5SIG],
    wireLength: (o) => 2 + o.digest.length,
    write: (o, buf, at) => {
      if (o.digest.length > 16) throw new RangeError('TCP MD5 digest longer than 16 bytes');
      head(buf, at, TCPOPT_MD5SIG, 2 + o.digest.length, 'md5 option length');
      buf.set(o.digest, at + 2);
    },
    decode: (_k, d) => (d.length <= TCPOLEN_MD5SIG - 2 ? { type: 'md5', digest: Buffer.from(d) } : undefined),
    print: (o) => (o.digest.length > 0 ? `md5 ${hexText(o.digest)}` : 'md5'),
    parse: (r) => {
      const text = r.hex();
      if (Math.floor(text.length / 2) > 16) r.fail('TCP MD5 digest longer than 16 bytes');
      if (!/^([0-9a-fA-F]{2})*$/.test(text)) r.fail('TCP MD5 digest is not a valid hex string');
      return { type: 'md5', digest: Buffer.from(text, 'hex') };
    },
  }),
  entry<'fastopen'>({
    type: 'fastopen',
    name: 'FO',
    kinds: [TCPOPT_FASTOPEN],
    wireLength: (o) => 2 + o.cookie.length,
    write: (o, buf, at) => {
      head(buf, at, TCPOPT_FASTOPEN, 2 + o.cookie.length, 'Fast Open option length');
      buf.set(o.cookie, at + 2);
    },
    decode: (_k, d) => ({ type: 'fastopen', cookie: Buffer.from(d) }),
    print: (o) => (o.cookie.length > 0 ? `FO ${hexText(o.cookie)}` : 'FO'),
    parse: (r) => ({ type: 'fastopen', cookie: fastOpenCookie(r, MAX_TCP_OPTION_BYTES - 2) }),
  }),
  entry<'fastopenExp'>({
    type: 'fastopenExp',
    name: 'FOEXP',
    kinds: [TCPOPT_EXP],
    wireLength: (o) => 4 + o.cookie.length,
    write: (o, buf, at) => {
      head(buf, at, TCPOPT_EXP, 4 + o.cookie.length, 'experimental Fast Open option length');
      buf[at + 2] = TCPOPT_FASTOPEN_MAGIC >> 8;
      buf[at + 3] = TCPOPT_FASTOPEN_MAGIC & 0xff;
      buf.set(o.cookie, at + 4);
    },
    decode: (_k, d) =>
      d.length >= 2 && ((d[0]! << 8) | d[1]!) === TCPOPT_FASTOPEN_MAGIC
        ? { type: 'fastopenExp', cookie: Buffer.from(d.subarray(2)) }
        : undefined,
    print: (o) => (o.cookie.length > 0 ? `FOEXP ${hexText(o.cookie)}` : 'FOEXP'),
    parse: (r) => ({ type: 'fastopenExp', cookie: fastOpenCookie(r, MAX_TCP_OPTION_BYTES - 4) }),
  }),
  // Kind 254 without the Fast Open magic: printed, not written in scripts.
  entry<'raw'>({
    type: 'raw',
    name: 'exp',
    kinds: [TCPOPT_EXP],
    wireLength: rawLength,
    write: writeRaw,
    decode: (kind, d) => ({ type: 'raw', kind, data: Buffer.from(d) }),
    print: (o) => `exp ${hexText(o.data)}`,
  }),
  entry<'accecn'>({
    type: 'accecn',
    name: 'ECN',
    kinds: [TCPOPT_ACCECN0, TCPOPT_ACCECN1],
    wireLength: (o) => 2 + 3 * o.fields.length,
    write: (o, buf, at) => {
      if (o.fields.length > MAX_ACCECN_FIELDS) {
        throw new RangeError(`an AccECN option carries at most ${MAX_ACCECN_FIELDS} counters`);
      }
      head(buf, at, o.order === 0 ? TCPOPT_ACCECN0 : TCPOPT_ACCECN1, 2 + 3 * o.fields.length, 'AccECN option length');
      let p = at + 2;
      for (const f of o.fields) {
        if (!Number.isInteger(f) || f < 0 || f > 0xffffff) {
          throw new RangeError(`AccECN counter must be in 0..16777215, got ${f}`);
        }
        buf[p] = f >>> 16;
        buf[p + 1] = (f >>> 8) & 0xff;
        buf[p + 2] = f & 0xff;
        p += 3;
      }
    },
    decode: (kind, d) => {
      if (d.length > MAX_ACCECN_FIELDS * 3) return undefined;
      const fields: number[] = [];
      for (let p = 0; p + 3 <= d.length; p += 3) fields.push((d[p]! << 16) | (d[p + 1]! << 8) | d[p + 2]!);
      return { type: 'accecn', order: kind === TCPOPT_ACCECN0 ? 0 : 1, fields };
    },
    print: (o) => {
      let s = 'ECN';
      const labels = ACCECN_LABELS[o.order]!;
      for (let i = 0; i < o.fields.length && i < 3; i++) s += ` ${labels[i]} ${o.fields[i]}`;
      return s;
    },
    parse: (r) => {
      // `ECN e0b N [ceb N [e1b N]]` or the same from e1b: the first label picks the kind and the order.
      const order = r.atWord('e0b') ? 0 : r.atWord('e1b') ? 1 : r.expected('e0b or e1b');
      const labels = ACCECN_LABELS[order]!;
      const counter = (): number => {
        const v = r.integer('an AccECN counter');
        if (v.value < 0n || v.value > 0xffffffn) v.fail('TCP AccECN field value out of range');
        return Number(v.value);
      };
      r.word(labels[0]);
      const fields = [counter()];
      if (r.atWord(labels[1])) {
        r.word(labels[1]);
        fields.push(counter());
        if (r.atWord(labels[2])) {
          r.word(labels[2]);
          fields.push(counter());
        }
      }
      return { type: 'accecn', order, fields };
    },
  }),
];

/** A Fast Open cookie in hex, checked as packetdrill checks it. */
function fastOpenCookie(r: TcpOptionReader, max: number): Buffer {
  const text = r.atHex() ? r.hex() : '';
  if (text.length & 1) r.fail('TCP fast open cookie has an odd number of digits');
  const bytes = text.length / 2;
  if (bytes > max) r.fail(`TCP fast open cookie of ${bytes} bytes exceeds maximum cookie length of ${max} bytes`);
  if (!/^[0-9a-fA-F]*$/.test(text)) r.fail(`TCP fast open cookie '${text}' is not a valid hex string`);
  return Buffer.from(text, 'hex');
}

function rawLength(o: OptionOf<'raw'>): number {
  return 2 + o.data.length;
}

function writeRaw(o: OptionOf<'raw'>, buf: Uint8Array, at: number): void {
  buf[at] = checkByte(o.kind, 'TCP option kind');
  buf[at + 1] = checkByte(o.length ?? 2 + o.data.length, 'TCP option length');
  buf.set(o.data, at + 2);
}

/** A raw option of a kind no entry knows, as the engine's messages show it. */
function printUnknown(o: OptionOf<'raw'>): string {
  return `kind ${o.kind} len ${o.length ?? 2 + o.data.length}`;
}

/**
 * The option table: entries by type, by kind (for decoding; several
 * entries may share a kind and are tried in order) and by script name.
 */
export class TcpOptionTable {
  private readonly byType = new Map<string, TcpOptionEntry>();
  private readonly byKind = new Map<number, TcpOptionEntry[]>();
  private readonly byName = new Map<string, TcpOptionEntry>();

  constructor(readonly entries: readonly TcpOptionEntry[]) {
    for (const e of entries) {
      if (e.type !== 'raw') this.byType.set(e.type, e);
      for (const k of e.kinds) {
        const list = this.byKind.get(k) ?? [];
        list.push(e);
        this.byKind.set(k, list);
      }
      if (e.parse !== undefined) this.byName.set(e.name, e);
    }
  }

  /** This table with more entries; an entry for a kind already known is tried before the old ones. */
  with(...more: TcpOptionEntry[]): TcpOptionTable {
    return new TcpOptionTable([...more, ...this.entries]);
  }

  /** The entry scripts write as `name`, if any. */
  named(name: string): TcpOptionEntry | undefined {
    return this.byName.get(name);
  }

  /** The entry that writes and prints `o`; undefined for a raw option no entry names. */
  entryOf(o: TcpOption): TcpOptionEntry | undefined {
    if (o.type !== 'raw') return this.byType.get(o.type);
    return this.byKind.get(o.kind)?.find((e) => e.type === 'raw');
  }

  /** Total length fixed for `kind`, or 0 when it varies or the kind is unknown. */
  fixedLength(kind: number): number {
    return this.byKind.get(kind)?.find((e) => e.length !== undefined)?.length ?? 0;
  }

  /** Bytes `o` takes on the wire. */
  wireLength(o: TcpOption): number {
    const e = this.entryOf(o);
    if (e !== undefined) return e.wireLength?.(o) ?? e.length ?? 0;
    if (o.type === 'raw') return rawLength(o);
    throw new Error(`no TCP option entry for ${o.type}`);
  }

  /** Writes `o` at `at`; returns the bytes written. */
  write(o: TcpOption, buf: Uint8Array, at: number): number {
    const len = this.wireLength(o);
    if (!Number.isInteger(len) || len < 1) throw new RangeError(`TCP option ${JSON.stringify(o)}: not an option this table can write`);
    if (at + len > buf.length) throw new RangeError(`no room for TCP option ${o.type}`);
    const e = this.entryOf(o);
    if (e !== undefined) e.write(o, buf, at);
    else writeRaw(o as OptionOf<'raw'>, buf, at);
    return len;
  }

  /** The typed form of the option `kind` whose data is `data` (raw when no entry reads it). */
  decode(kind: number, data: Buffer): TcpOption {
    for (const e of this.byKind.get(kind) ?? []) {
      const o = e.decode(kind, data);
      if (o !== undefined) return o;
    }
    return { type: 'raw', kind, data: Buffer.from(data) };
  }

  /** The option as packetdrill prints it. */
  print(o: TcpOption): string {
    const e = this.entryOf(o);
    if (e !== undefined) return e.print(o);
    return printUnknown(o as OptionOf<'raw'>);
  }
}

/** Every option packetdrill's grammar knows. */
export const TCP_OPTIONS = new TcpOptionTable(STANDARD_ENTRIES);

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
export function decodeTcpOptions(
  buf: Buffer,
  start: number,
  end: number,
  tcpOffset = start - 20,
  table: TcpOptionTable = TCP_OPTIONS,
): TcpOptionsDecodeResult {
  const options: DecodedTcpOption[] = [];
  let bad: { error: string; at: number } | undefined;
  const stop = walkTcpOptions(buf, start, end, ({ kind, at, len }) => {
    if (bad) return;
    const expected = table.fixedLength(kind);
    if (expected !== 0 && len !== expected) {
      bad = { error: `bad TCP option length: was ${len} but expected ${expected}`, at };
      return;
    }
    const o = table.decode(kind, buf.subarray(at + 2, at + Math.max(len, 2))) as DecodedTcpOption;
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

/** Bytes `option` takes on the wire. */
export function tcpOptionLength(option: TcpOption, table: TcpOptionTable = TCP_OPTIONS): number {
  return table.wireLength(option);
}

/** Total bytes of a list of options, before padding. */
export function tcpOptionsLength(options: readonly TcpOption[], table: TcpOptionTable = TCP_OPTIONS): number {
  let n = 0;
  for (const o of options) n += table.wireLength(o);
  return n;
}

/**
 * Writes one option at `at` and returns the bytes written. Throws a
 * RangeError on values that do not fit their field.
 */
export function writeTcpOption(option: TcpOption, buf: Uint8Array, at: number, table: TcpOptionTable = TCP_OPTIONS): number {
  return table.write(option, buf, at);
}

/**
 * Writes a list of options at `at`, then zero bytes (EOL) up to a multiple
 * of four when `pad` is set. Returns the bytes written.
 */
export function writeTcpOptions(
  options: readonly TcpOption[],
  buf: Uint8Array,
  at: number,
  pad = true,
  table: TcpOptionTable = TCP_OPTIONS,
): number {
  let p = at;
  for (const o of options) p += table.write(o, buf, p);
  if (pad) {
    while ((p - at) % 4 !== 0) buf[p++] = 0;
  }
  return p - at;
}

/** Encodes a list of options into a new Buffer (padded to a multiple of four unless `pad` is false). */
export function encodeTcpOptions(options: readonly TcpOption[], pad = true, table: TcpOptionTable = TCP_OPTIONS): Buffer {
  const raw = tcpOptionsLength(options, table);
  const buf = Buffer.alloc(pad ? (raw + 3) & ~3 : raw);
  writeTcpOptions(options, buf, 0, pad, table);
  return buf;
}

/** One option as packetdrill prints it ("mss 1460", "TS val 1 ecr 0", "sack 1:2 3:4", ...). */
export function formatTcpOption(o: TcpOption, table: TcpOptionTable = TCP_OPTIONS): string {
  return table.print(o);
}

/** A list of options joined by commas, without the angle brackets; `error` ends it as "[bad opt: ...]". */
export function formatTcpOptions(options: readonly TcpOption[], error?: string, table: TcpOptionTable = TCP_OPTIONS): string {
  let s = '';
  for (let i = 0; i < options.length; i++) {
    if (i > 0) s += ',';
    s += table.print(options[i]!);
  }
  if (error !== undefined) s += `${options.length > 0 ? ',' : ''}[bad opt: ${error}]`;
  return s;
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
