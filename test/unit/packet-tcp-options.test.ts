import { describe, expect, it } from 'vitest';
import {
  decodeTcpOptions,
  formatTcpOption,
  formatTcpOptions,
  encodeTcpOptions,
  plainTcpOption,
  tcpOptionsLength,
  type TcpOption,
} from '../../src/packet/tcp-options.js';
import { hex } from '../fixtures/kernel-packets.js';

/** Decodes an options block as if it followed a 20-byte TCP header. */
function decode(bytes: Buffer) {
  const buf = Buffer.concat([Buffer.alloc(20), bytes]);
  return decodeTcpOptions(buf, 20, buf.length, 0);
}

function roundTrip(options: TcpOption[]): TcpOption[] {
  const bytes = encodeTcpOptions(options, false);
  const d = decode(bytes);
  expect(d.error).toBeUndefined();
  return d.options.map(plainTcpOption);
}

describe('TCP options', () => {
  it('decodes the options of a kernel SYN', () => {
    const d = decode(hex('020405b40402080afa36df0f000000000103030a'));
    expect(d.error).toBeUndefined();
    expect(d.options.map(plainTcpOption)).toEqual([
      { type: 'mss', mss: 1460 },
      { type: 'sackOK' },
      { type: 'timestamp', val: 0xfa36df0f, ecr: 0 },
      { type: 'nop' },
      { type: 'wscale', shift: 10 },
    ]);
    expect(d.options.map((o) => [o.kind, o.offset, o.length])).toEqual([
      [2, 20, 4],
      [4, 24, 2],
      [8, 26, 10],
      [1, 36, 1],
      [3, 37, 3],
    ]);
    expect(d.options[2]!.bytes.toString('hex')).toBe('080afa36df0f00000000');
  });

  it('encodes to the same bytes the kernel uses', () => {
    const opts: TcpOption[] = [
      { type: 'mss', mss: 1460 },
      { type: 'sackOK' },
      { type: 'timestamp', val: 0xfa36df0f, ecr: 0 },
      { type: 'nop' },
      { type: 'wscale', shift: 10 },
    ];
    expect(encodeTcpOptions(opts).toString('hex')).toBe('020405b40402080afa36df0f000000000103030a');
    expect(tcpOptionsLength(opts)).toBe(20);
  });

  it('round-trips every option kind packetdrill knows', () => {
    const opts: TcpOption[] = [
      { type: 'nop' },
      { type: 'eol' },
      { type: 'mss', mss: 65535 },
      { type: 'wscale', shift: 14 },
      { type: 'sackOK' },
      { type: 'sack', blocks: [{ left: 1, right: 0xffffffff }] },
    ];
    expect(roundTrip(opts)).toEqual(opts);
    const more: TcpOption[] = [
      { type: 'timestamp', val: 1, ecr: 4294967295 },
      { type: 'md5', digest: hex('000102030405060708090a0b0c0d0e0f') },
    ];
    const back = roundTrip(more);
    expect(back[0]).toEqual(more[0]);
    expect(back[1]).toEqual({ type: 'md5', digest: hex('000102030405060708090a0b0c0d0e0f') });
    expect(roundTrip([{ type: 'fastopen', cookie: hex('3021b9d889017eeb') }])).toEqual([
      { type: 'fastopen', cookie: hex('3021b9d889017eeb') },
    ]);
    expect(roundTrip([{ type: 'fastopen', cookie: hex('') }])).toEqual([{ type: 'fastopen', cookie: hex('') }]);
    expect(roundTrip([{ type: 'fastopenExp', cookie: hex('c1d1e9742a47a9bc') }])).toEqual([
      { type: 'fastopenExp', cookie: hex('c1d1e9742a47a9bc') },
    ]);
    expect(roundTrip([{ type: 'accecn', order: 0, fields: [1, 0xffffff, 3] }])).toEqual([
      { type: 'accecn', order: 0, fields: [1, 0xffffff, 3] },
    ]);
    expect(roundTrip([{ type: 'accecn', order: 1, fields: [] }])).toEqual([{ type: 'accecn', order: 1, fields: [] }]);
    expect(roundTrip([{ type: 'raw', kind: 99, data: hex('0102') }])).toEqual([{ type: 'raw', kind: 99, data: hex('0102') }]);
  });

  it('uses the wire formats of the less common options', () => {
    expect(encodeTcpOptions([{ type: 'fastopenExp', cookie: hex('aabb') }], false).toString('hex')).toBe('fe06f989aabb');
    expect(encodeTcpOptions([{ type: 'fastopen', cookie: hex('aabb') }], false).toString('hex')).toBe('2204aabb');
    expect(encodeTcpOptions([{ type: 'md5', digest: hex('') }], false).toString('hex')).toBe('1302');
    expect(encodeTcpOptions([{ type: 'accecn', order: 1, fields: [0x010203, 4] }], false).toString('hex')).toBe(
      'ae08010203000004',
    );
    expect(
      encodeTcpOptions([{ type: 'sack', blocks: [{ left: 1, right: 2 }, { left: 3, right: 4 }] }], false).toString('hex'),
    ).toBe('0512' + '0000000100000002' + '0000000300000004');
    expect(encodeTcpOptions([{ type: 'raw', kind: 30, data: hex('ff'), length: 9 }], false).toString('hex')).toBe('1e09ff');
  });

  it('pads with zero bytes to a multiple of four', () => {
    expect(encodeTcpOptions([{ type: 'mss', mss: 1000 }, { type: 'nop' }]).toString('hex')).toBe('020403e801000000');
  });

  it('keeps experimental options without the Fast Open magic raw', () => {
    const d = decode(hex('fe06abcd0102'));
    expect(d.options.map(plainTcpOption)).toEqual([{ type: 'raw', kind: 254, data: hex('abcd0102') }]);
  });

  it('walks past EOL like packetdrill does', () => {
    const d = decode(hex('0101 00 00'));
    expect(d.options.map((o) => o.type)).toEqual(['nop', 'nop', 'eol', 'eol']);
  });

  it('reports malformed lists with packetdrill wording and keeps what came before', () => {
    let d = decode(hex('020405b4 02'));
    expect(d.error).toBe('TCP option length byte extends too far');
    expect(d.errorOffset).toBe(24);
    expect(d.options.map((o) => o.type)).toEqual(['mss']);

    d = decode(hex('0101 0801'));
    expect(d.error).toBe('TCP option with length byte is too short');
    expect(d.options.map((o) => o.type)).toEqual(['nop', 'nop']);

    d = decode(hex('080a0000'));
    expect(d.error).toBe('TCP option data extends too far');
    expect(d.options).toEqual([]);

    d = decode(hex('0205000000 000000'));
    expect(d.error).toBe('bad TCP option length: was 5 but expected 4');

    d = decode(hex('0302 0000'));
    expect(d.error).toBe('bad TCP option length: was 2 but expected 3');
  });

  it('treats odd-length SACK and oversized MD5 / AccECN options as raw', () => {
    expect(decode(hex('0505 010203')).options.map(plainTcpOption)).toEqual([{ type: 'raw', kind: 5, data: hex('010203') }]);
    const md5 = decode(Buffer.concat([hex('1313'), Buffer.alloc(17)]));
    expect(md5.options[0]!.type).toBe('raw');
    const ecn = decode(Buffer.concat([hex('ac0e'), Buffer.alloc(12)]));
    expect(ecn.options[0]!.type).toBe('raw');
    const ecnShort = decode(hex('ac07 000001 0000'));
    expect(plainTcpOption(ecnShort.options[0]!)).toEqual({ type: 'accecn', order: 0, fields: [1] });
  });

  it('rejects values out of range when encoding', () => {
    expect(() => encodeTcpOptions([{ type: 'mss', mss: 65536 }])).toThrow(/mss must be in 0\.\.65535/);
    expect(() => encodeTcpOptions([{ type: 'wscale', shift: 256 }])).toThrow(/window scale/);
    expect(() => encodeTcpOptions([{ type: 'timestamp', val: -1, ecr: 0 }])).toThrow(/TS val/);
    expect(() => encodeTcpOptions([{ type: 'sack', blocks: [] }])).toThrow(/at least one block/);
    expect(() => encodeTcpOptions([{ type: 'md5', digest: Buffer.alloc(17) }])).toThrow(/longer than 16/);
    expect(() => encodeTcpOptions([{ type: 'accecn', order: 0, fields: [1, 2, 3, 4] }])).toThrow(/at most 3/);
    expect(() => encodeTcpOptions([{ type: 'accecn', order: 0, fields: [0x1000000] }])).toThrow(/AccECN counter/);
  });
});

describe('TCP option text', () => {
  it('prints options as packetdrill does', () => {
    const cases: [TcpOption, string][] = [
      [{ type: 'eol' }, 'eol'],
      [{ type: 'nop' }, 'nop'],
      [{ type: 'mss', mss: 1460 }, 'mss 1460'],
      [{ type: 'wscale', shift: 7 }, 'wscale 7'],
      [{ type: 'sackOK' }, 'sackOK'],
      [{ type: 'sack', blocks: [{ left: 2202905347, right: 2202906795 }] }, 'sack 2202905347:2202906795'],
      [{ type: 'sack', blocks: [{ left: 1, right: 2 }, { left: 3, right: 4 }] }, 'sack 1:2 3:4'],
      [{ type: 'timestamp', val: 300, ecr: 1623332896 }, 'TS val 300 ecr 1623332896'],
      [{ type: 'md5', digest: hex('000102030405060708090a0b0c0d0e0f') }, 'md5 000102030405060708090a0b0c0d0e0f'],
      [{ type: 'md5', digest: hex('') }, 'md5'],
      [{ type: 'fastopen', cookie: hex('3021b9d889017eeb') }, 'FO 3021b9d889017eeb'],
      [{ type: 'fastopen', cookie: hex('') }, 'FO'],
      [{ type: 'fastopenExp', cookie: hex('c1d1') }, 'FOEXP c1d1'],
      [{ type: 'fastopenExp', cookie: hex('') }, 'FOEXP'],
      [{ type: 'accecn', order: 0, fields: [1, 2, 3] }, 'ECN e0b 1 ceb 2 e1b 3'],
      [{ type: 'accecn', order: 1, fields: [5] }, 'ECN e1b 5'],
      [{ type: 'accecn', order: 1, fields: [] }, 'ECN'],
      [{ type: 'raw', kind: 254, data: hex('abcd') }, 'exp abcd'],
      [{ type: 'raw', kind: 99, data: hex('0102') }, 'kind 99 len 4'],
    ];
    for (const [o, want] of cases) expect(formatTcpOption(o)).toBe(want);
  });

  it('joins with commas and shows where a list went bad', () => {
    expect(formatTcpOptions([{ type: 'mss', mss: 1000 }, { type: 'sackOK' }, { type: 'nop' }, { type: 'nop' }, { type: 'nop' }, { type: 'wscale', shift: 7 }])).toBe(
      'mss 1000,sackOK,nop,nop,nop,wscale 7',
    );
    expect(formatTcpOptions([{ type: 'nop' }], 'TCP option data extends too far')).toBe(
      'nop,[bad opt: TCP option data extends too far]',
    );
  });
});
