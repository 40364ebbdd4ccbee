/**
 * Declarative header layouts.
 *
 * A protocol header with a fixed part is described once as an ordered list of
 * fields (name, width, default). `defineHeader` turns that list into a codec
 * that decodes the fixed part into a plain typed object and encodes such an
 * object back, filling in defaults for fields that are not given. Field
 * offsets are computed once, so decoding and encoding are loops over a small
 * precomputed table with no per-packet closures.
 *
 * Field kinds:
 *  - unsigned integer: `{ name, bits }` (1..32 bits, big-endian, may start and
 *    end at any bit position), decoded as `number`;
 *  - flag: `{ name, bits: 1, type: 'flag' }`, decoded as `boolean`;
 *  - IPv4 / IPv6 address: `{ name, type: 'ipv4' }` / `{ name, type: 'ipv6' }`,
 *    decoded as the address text;
 *  - raw bytes: `{ name, type: 'bytes', bytes }`, decoded as a Buffer copy.
 *
 * Byte fields must start on a byte boundary. The header's total size must be
 * a whole number of bytes.
 */

import { formatIpv4, formatIpv6, writeIpv4, writeIpv6 } from './address.js';

export interface UintFieldSpec {
  readonly name: string;
  readonly bits: number;
  readonly type?: 'uint';
  readonly default?: number;
}

export interface FlagFieldSpec {
  readonly name: string;
  readonly bits: 1;
  readonly type: 'flag';
  readonly default?: boolean;
}

export interface Ipv4FieldSpec {
  readonly name: string;
  readonly type: 'ipv4';
  readonly default?: string;
}

export interface Ipv6FieldSpec {
  readonly name: string;
  readonly type: 'ipv6';
  readonly default?: string;
}

export interface BytesFieldSpec {
  readonly name: string;
  readonly type: 'bytes';
  readonly bytes: number;
  readonly default?: Uint8Array;
}

export type FieldSpec = UintFieldSpec | FlagFieldSpec | Ipv4FieldSpec | Ipv6FieldSpec | BytesFieldSpec;

/** The decoded value type of one field. */
export type FieldValue<F extends FieldSpec> = F extends { type: 'flag' }
  ? boolean
  : F extends { type: 'ipv4' } | { type: 'ipv6' }
    ? string
    : F extends { type: 'bytes' }
      ? Buffer
      : number;

/** The plain object type a list of fields decodes to. */
export type HeaderFields<Fs extends readonly FieldSpec[]> = {
  -readonly [F in Fs[number] as F['name']]: FieldValue<F>;
};

type Kind = 'uint' | 'flag' | 'ipv4' | 'ipv6' | 'bytes';

/** Precomputed placement of one field. */
interface FieldSlot {
  readonly name: string;
  readonly kind: Kind;
  /** First byte covered by the field. */
  readonly byteStart: number;
  /** Number of bytes covered by the field (1..5 for integers). */
  readonly byteCount: number;
  /** 2^(bits to the right of the field inside its covering bytes). */
  readonly div: number;
  /** 2^bits: values must be below this. */
  readonly limit: number;
  readonly bits: number;
  /** Bits to the right of the field inside its covering bytes (log2 of `div`). */
  readonly shift: number;
  /** True when the covering bytes fit a 32-bit integer (fast bit operations apply). */
  readonly small: boolean;
  readonly defaultValue: unknown;
}

export interface HeaderCodec<T extends object> {
  /** Protocol name used in error messages. */
  readonly name: string;
  /** Size of the fixed part in bytes. */
  readonly size: number;
  /** Field names in wire order. */
  readonly fieldNames: readonly string[];
  /** A header with every field at its default. */
  defaults(): T;
  /**
   * Decodes the fixed part at `offset`. The caller checks that `size` bytes
   * are available; a short buffer raises a RangeError naming the protocol.
   */
  decode(buf: Uint8Array, offset?: number): T;
  /**
   * Writes every field at `offset` (missing ones take their defaults).
   * Throws a RangeError naming the field when a value does not fit.
   */
  encode(values: Partial<T>, buf: Uint8Array, offset?: number): void;
  /** Reads one integer or flag field in place. */
  readField<K extends keyof T & string>(buf: Uint8Array, offset: number, name: K): T[K];
  /** Writes one field in place. */
  writeField<K extends keyof T & string>(buf: Uint8Array, offset: number, name: K, value: T[K]): void;
  /** Byte offset of a field inside the header (its first covering byte). */
  offsetOf(name: keyof T & string): number;
}

/** The unsigned big-endian integer of `count` bytes at `start`. */
export function readUintBE(buf: Uint8Array, start: number, count: number): number {
  switch (count) {
    case 1:
      return buf[start]!;
    case 2:
      return (buf[start]! << 8) | buf[start + 1]!;
    case 3:
      return (buf[start]! << 16) | (buf[start + 1]! << 8) | buf[start + 2]!;
    case 4:
      return ((buf[start]! << 24) | (buf[start + 1]! << 16) | (buf[start + 2]! << 8) | buf[start + 3]!) >>> 0;
  }
  let v = 0;
  for (let i = 0; i < count; i++) v = v * 256 + buf[start + i]!;
  return v;
}

/** Stores `value` as an unsigned big-endian integer of `count` bytes at `start` (taken modulo 2^(8*count)). */
export function writeUintBE(buf: Uint8Array, start: number, count: number, value: number): void {
  if (count <= 4) {
    for (let i = count - 1; i >= 0; i--) {
      buf[start + i] = value & 0xff;
      value >>>= 8;
    }
    return;
  }
  for (let i = count - 1; i >= 0; i--) {
    buf[start + i] = value % 256;
    value = Math.floor(value / 256);
  }
}

class Codec<T extends object> implements HeaderCodec<T> {
  readonly size: number;
  readonly fieldNames: readonly string[];
  private readonly slots: readonly FieldSlot[];
  private readonly byName: ReadonlyMap<string, FieldSlot>;

  constructor(
    readonly name: string,
    specs: readonly FieldSpec[],
  ) {
    const slots: FieldSlot[] = [];
    let bit = 0;
    for (const spec of specs) {
      let kind: Kind;
      let bits: number;
      switch (spec.type) {
        case 'flag':
          kind = 'flag';
          bits = 1;
          break;
        case 'ipv4':
          kind = 'ipv4';
          bits = 32;
          break;
        case 'ipv6':
          kind = 'ipv6';
          bits = 128;
          break;
        case 'bytes':
          kind = 'bytes';
          bits = spec.bytes * 8;
          break;
        default:
          kind = 'uint';
          bits = spec.bits;
          if (!Number.isInteger(bits) || bits < 1 || bits > 32) {
            throw new Error(`${name}: field ${spec.name} must be 1..32 bits wide, not ${bits}`);
          }
      }
      if (kind !== 'uint' && kind !== 'flag' && bit % 8 !== 0) {
        throw new Error(`${name}: field ${spec.name} must start on a byte boundary`);
      }
      const byteStart = Math.floor(bit / 8);
      const endBit = bit + bits;
      const byteEnd = Math.ceil(endBit / 8);
      const rightBits = byteEnd * 8 - endBit;
      let defaultValue: unknown = spec.default;
      if (defaultValue === undefined) {
        defaultValue =
          kind === 'flag'
            ? false
            : kind === 'ipv4'
              ? '0.0.0.0'
              : kind === 'ipv6'
                ? '::'
                : kind === 'bytes'
                  ? new Uint8Array(bits / 8)
                  : 0;
      }
      slots.push({
        name: spec.name,
        kind,
        byteStart,
        byteCount: byteEnd - byteStart,
        div: 2 ** rightBits,
        limit: 2 ** bits,
        bits,
        shift: rightBits,
        small: byteEnd - byteStart <= 4,
        defaultValue,
      });
      bit = endBit;
    }
    if (bit % 8 !== 0) throw new Error(`${name}: fields add up to ${bit} bits, not whole bytes`);
    this.size = bit / 8;
    this.slots = slots;
    this.fieldNames = slots.map((s) => s.name);
    this.byName = new Map(slots.map((s) => [s.name, s]));
  }

  defaults(): T {
    const out: Record<string, unknown> = {};
    for (const s of this.slots) {
      out[s.name] = s.kind === 'bytes' ? Buffer.from(s.defaultValue as Uint8Array) : s.defaultValue;
    }
    return out as T;
  }

  decode(buf: Uint8Array, offset = 0): T {
    if (offset < 0 || offset + this.size > buf.length) {
      throw new RangeError(
        `${this.name} header needs ${this.size} bytes at offset ${offset}, buffer has ${buf.length}`,
      );
    }
    const out: Record<string, unknown> = {};
    const slots = this.slots;
    for (let i = 0; i < slots.length; i++) {
      const s = slots[i]!;
      out[s.name] = this.readSlot(buf, offset, s);
    }
    return out as T;
  }

  encode(values: Partial<T>, buf: Uint8Array, offset = 0): void {
    if (offset < 0 || offset + this.size > buf.length) {
      throw new RangeError(
        `${this.name} header needs ${this.size} bytes at offset ${offset}, buffer has ${buf.length}`,
      );
    }
    const v = values as Record<string, unknown>;
    const slots = this.slots;
    for (let i = 0; i < slots.length; i++) {
      const s = slots[i]!;
      const given = v[s.name];
      this.writeSlot(buf, offset, s, given === undefined ? s.defaultValue : given);
    }
  }

  readField<K extends keyof T & string>(buf: Uint8Array, offset: number, name: K): T[K] {
    return this.readSlot(buf, offset, this.slot(name)) as T[K];
  }

  writeField<K extends keyof T & string>(buf: Uint8Array, offset: number, name: K, value: T[K]): void {
    this.writeSlot(buf, offset, this.slot(name), value);
  }

  offsetOf(name: keyof T & string): number {
    return this.slot(name).byteStart;
  }

  private slot(name: string): FieldSlot {
    const s = this.byName.get(name);
    if (s === undefined) throw new Error(`${this.name} header has no field named ${name}`);
    return s;
  }

  private readSlot(buf: Uint8Array, offset: number, s: FieldSlot): unknown {
    const at = offset + s.byteStart;
    switch (s.kind) {
      case 'uint':
        if (s.small) {
          const acc = readUintBE(buf, at, s.byteCount);
          return s.bits === 32 ? acc : (acc >>> s.shift) & (s.limit - 1);
        }
        return Math.floor(readUintBE(buf, at, s.byteCount) / s.div) % s.limit;
      case 'flag':
        return ((buf[at]! >> s.shift) & 1) === 1;
      case 'ipv4':
        return formatIpv4(buf, at);
      case 'ipv6':
        return formatIpv6(buf, at);
      case 'bytes':
        return Buffer.from(buf.subarray(at, at + s.byteCount));
    }
  }

  private writeSlot(buf: Uint8Array, offset: number, s: FieldSlot, value: unknown): void {
    const at = offset + s.byteStart;
    switch (s.kind) {
      case 'uint':
      case 'flag': {
        let n: number;
        if (s.kind === 'flag') {
          if (typeof value !== 'boolean' && value !== 0 && value !== 1) {
            throw new RangeError(`${this.name} field ${s.name} must be a boolean, got ${String(value)}`);
          }
          n = value === true || value === 1 ? 1 : 0;
        } else {
          if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value >= s.limit) {
            throw new RangeError(
              `${this.name} field ${s.name} must be an integer in 0..${s.limit - 1}, got ${String(value)}`,
            );
          }
          n = value;
        }
        if (s.div === 1 && s.bits === s.byteCount * 8) {
          writeUintBE(buf, at, s.byteCount, n);
          return;
        }
        if (s.small) {
          const mask = ((s.limit - 1) << s.shift) >>> 0;
          const cur = readUintBE(buf, at, s.byteCount);
          writeUintBE(buf, at, s.byteCount, ((cur & ~mask) | (n << s.shift)) >>> 0);
          return;
        }
        const acc = readUintBE(buf, at, s.byteCount);
        const old = Math.floor(acc / s.div) % s.limit;
        writeUintBE(buf, at, s.byteCount, acc + (n - old) * s.div);
        return;
      }
      case 'ipv4':
        if (typeof value !== 'string') throw new TypeError(`${this.name} field ${s.name} must be an IPv4 address`);
        writeIpv4(value, buf, at);
        return;
      case 'ipv6':
        if (typeof value !== 'string') throw new TypeError(`${this.name} field ${s.name} must be an IPv6 address`);
        writeIpv6(value, buf, at);
        return;
      case 'bytes': {
        if (!(value instanceof Uint8Array) || value.length !== s.byteCount) {
          throw new RangeError(`${this.name} field ${s.name} must be ${s.byteCount} bytes`);
        }
        buf.set(value, at);
        return;
      }
    }
  }
}

/**
 * Builds a codec from a field list. Pass the list inline (or `as const`) so
 * the decoded type keeps the field names:
 *
 *     const UDP = defineHeader('UDP', [
 *       { name: 'srcPort', bits: 16 },
 *       { name: 'dstPort', bits: 16 },
 *       { name: 'length', bits: 16 },
 *       { name: 'checksum', bits: 16 },
 *     ]);
 */
export function defineHeader<const Fs extends readonly FieldSpec[]>(
  name: string,
  fields: Fs,
): HeaderCodec<HeaderFields<Fs>> {
  return new Codec<HeaderFields<Fs>>(name, fields);
}
