/**
 * The TCP option table is the one place an option is described: a new
 * option is one entry, and the script parser, the encoder, the decoder and
 * the printer all take it from there. Shown with the experimental kind 253
 * (RFC 6994) carrying a 2-byte value, added through the table's extension
 * point without touching the standard table.
 */
import { describe, expect, it } from 'vitest';
import { decodePacket, encodePacket } from '../../src/packet/packet.js';
import { formatScriptPacket } from '../../src/packet/format.js';
import {
  decodeTcpOptions,
  encodeTcpOptions,
  formatTcpOptions,
  plainTcpOption,
  TCP_OPTIONS,
  type TcpOption,
  type TcpOptionEntry,
} from '../../src/packet/tcp-options.js';
import { ScriptError } from '../../src/script/errors.js';
import { parseScript } from '../../src/script/parser.js';

/** `exp253 <0..65535>`: kind 253, length 4, the value in network order. */
const EXP253: TcpOptionEntry = {
  type: 'raw',
  name: 'exp253',
  kinds: [253],
  length: 4,
  write: (o, buf, at) => {
    if (o.type !== 'raw' || o.data.length !== 2) throw new RangeError('exp253 carries 2 bytes');
    buf[at] = 253;
    buf[at + 1] = 4;
    buf.set(o.data, at + 2);
  },
  decode: (kind, data) => ({ type: 'raw', kind, data: Buffer.from(data) }),
  print: (o) => `exp253 ${o.type === 'raw' ? (o.data[0]! << 8) | o.data[1]! : '?'}`,
  parse: (r) => {
    const v = r.integer('a 16-bit value');
    if (v.value < 0n || v.value > 0xffffn) v.fail('exp253 value out of range');
    const data = Buffer.alloc(2);
    data.writeUInt16BE(Number(v.value));
    return { type: 'raw', kind: 253, data };
  },
};

const TABLE = TCP_OPTIONS.with(EXP253);

function scriptOptions(list: string, tcpOptions = TABLE): TcpOption[] {
  const ev = parseScript(`0 < S 0:0(0) win 1000 <${list}>\n`, { path: 't.pkt', tcpOptions }).events[0]!;
  if (ev.type !== 'packet' || ev.packet.l4.proto !== 'tcp' || !Array.isArray(ev.packet.l4.options)) {
    throw new Error('no TCP option list');
  }
  return ev.packet.l4.options;
}

describe('a TCP option added as one table entry', () => {
  it('round-trips parse, encode, decode and print', () => {
    const options = scriptOptions('exp253 4660,mss 1460');
    expect(options[0]).toEqual({ type: 'raw', kind: 253, data: Buffer.from([0x12, 0x34]) });

    const wire = encodeTcpOptions(options, true, TABLE);
    expect(wire.toString('hex')).toBe('fd041234' + '020405b4');

    const decoded = decodeTcpOptions(Buffer.concat([Buffer.alloc(20), wire]), 20, 20 + wire.length, 0, TABLE);
    expect(decoded.error).toBeUndefined();
    expect(decoded.options.map(plainTcpOption)).toEqual(options);
    expect(formatTcpOptions(decoded.options, decoded.error, TABLE)).toBe('exp253 4660,mss 1460');
  });

  it('is checked by the decoder as its entry says (a fixed length of 4)', () => {
    const bad = Buffer.concat([Buffer.alloc(20), Buffer.from('fd05123456010101', 'hex')]);
    expect(decodeTcpOptions(bad, 20, bad.length, 0, TABLE).error).toBe('bad TCP option length: was 5 but expected 4');
    expect(decodeTcpOptions(bad, 20, bad.length, 0).error).toBeUndefined();
  });

  it('gets script errors with the position and wording of the entry', () => {
    expect(() => scriptOptions('exp253 65536,mss 1460')).toThrow(/exp253 value out of range/);
    expect(() => scriptOptions('exp253 x,mss 1460')).toThrow(ScriptError);
  });

  it('leaves the standard table alone', () => {
    expect(() => scriptOptions('exp253 1,mss 1460', TCP_OPTIONS)).toThrow(/syntax error/);
    const packet = decodePacket(
      encodePacket({
        ipv4: { src: '192.0.2.1', dst: '192.168.0.1' },
        tcp: { flags: 'S', window: 1000, options: [{ type: 'raw', kind: 253, data: Buffer.from([0x12, 0x34]) }] },
      }),
    );
    expect(formatScriptPacket(packet)).toBe('S 0:0(0) win 1000 <kind 253 len 4>');
    expect(formatTcpOptions(packet.tcp!.options, undefined, TABLE)).toBe('exp253 4660');
  });
});
