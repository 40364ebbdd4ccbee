/**
 * Packets printed in packetdrill's notation, as its "script packet:" and
 * "actual packet:" lines show them.
 */
import { describe, expect, it } from 'vitest';
import { buildScriptPacket } from '../../src/engine/build-packet.js';
import { packetText } from '../../src/engine/run-packet.js';
import { formatDumpTime as dumpTime } from '../../src/packet/format.js';
import { decodePacket } from '../../src/packet/packet.js';
import { formatTcpOption, formatTcpOptions, TCP_OPTIONS } from '../../src/packet/tcp-options.js';
import type { IpVersion } from '../../src/script/ast.js';
import { parseScript } from '../../src/script/parser.js';

function scriptPacket(line: string, ipVersion: IpVersion = 'ipv4') {
  const ev = parseScript(`0 ${line}\n`, { path: 't.pkt', ipVersion }).events[0]!;
  if (ev.type !== 'packet') throw new Error('not a packet line');
  return buildScriptPacket(ev.packet, ipVersion === 'ipv6' ? 6 : 4);
}

/** The text of a script line's packet, printed the way the engine prints script packets. */
function text(line: string, ipVersion: IpVersion = 'ipv4'): string {
  const p = scriptPacket(line, ipVersion);
  return packetText(p.buf, p);
}

/** A live packet: IPv4 + TCP with the given options bytes. */
function liveTcp(opts: number[], flags = 0x12, payload = 0, win = 65535): Buffer {
  const tcpLen = 20 + opts.length;
  const b = Buffer.alloc(20 + tcpLen + payload);
  b[0] = 0x45;
  b.writeUInt16BE(b.length, 2);
  b[8] = 64;
  b[9] = 6;
  b.writeUInt32BE(1000, 24);
  b.writeUInt32BE(1, 28);
  b[32] = (tcpLen / 4) << 4;
  b[33] = flags;
  b.writeUInt16BE(win, 34);
  Buffer.from(opts).copy(b, 40);
  return b;
}

describe('script notation: TCP', () => {
  it('prints a SYN-ACK with its options', () => {
    expect(text('> S. 0:0(0) ack 1 win 65535 <mss 1460,nop,nop,sackOK,nop,wscale 7>')).toBe(
      'S. 0:0(0) ack 1 win 65535 <mss 1460,nop,nop,sackOK,nop,wscale 7>',
    );
  });

  it('leaves out the window when the script does not check it, and a trailing space stays', () => {
    expect(text('> P. 1:1001(1000) ack 1')).toBe('P. 1:1001(1000) ack 1 ');
    expect(text('> . 1:1(0) ack 1 win 257')).toBe('. 1:1(0) ack 1 win 257 ');
  });

  it('leaves out ack when the ACK flag is not set, and prints - style empty flags', () => {
    expect(text('> S 0:0(0) win 100')).toBe('S 0:0(0) win 100 ');
    expect(text('> R 1:1(0) win 0')).toBe('R 1:1(0) win 0 ');
  });

  it('prints flags in tcpdump order: F S R P . U then E W A', () => {
    expect(text('> UFP. 1:1(0) ack 1 win 1')).toBe('FP.U 1:1(0) ack 1 win 1 ');
    expect(text('> SEWA 0:0(0) win 1')).toBe('SEWA 0:0(0) win 1 ');
  });

  it('prints an ACE count as a digit when the script wrote one', () => {
    expect(text('> S.6 0:0(0) ack 1 win 1')).toBe('S.6 0:0(0) ack 1 win 1 ');
    const p = scriptPacket('> S.6 0:0(0) ack 1 win 1');
    expect(packetText(p.buf)).toBe('S.WA 0:0(0) ack 1 win 1 ');
  });

  it('wraps the end sequence number at 2^32', () => {
    const b = liveTcp([], 0x18, 10);
    b.writeUInt32BE(0xfffffffb, 24);
    expect(packetText(b)).toBe('P. 4294967291:5(10) ack 1 win 65535 ');
  });

  it('prints SACK blocks, timestamps, MD5, Fast Open and AccECN as packetdrill names them', () => {
    expect(text('> . 1:1(0) ack 1 win 1 <nop,nop,sack 10:20 30:40>')).toBe('. 1:1(0) ack 1 win 1 <nop,nop,sack 10:20 30:40>');
    expect(text('> . 1:1(0) ack 1 win 1 <nop,nop,TS val 100 ecr 4294967295>')).toBe(
      '. 1:1(0) ack 1 win 1 <nop,nop,TS val 100 ecr 4294967295>',
    );
    expect(text('> . 1:1(0) ack 1 win 1 <md5 00112233445566778899aabbccddeeff,nop,nop>')).toBe(
      '. 1:1(0) ack 1 win 1 <md5 00112233445566778899aabbccddeeff,nop,nop>',
    );
    expect(text('> S 0:0(0) win 1 <FO 3021b9d889017eeb,nop,nop>')).toBe('S 0:0(0) win 1 <FO 3021b9d889017eeb,nop,nop>');
    expect(text('> S 0:0(0) win 1 <FO,nop,nop>')).toBe('S 0:0(0) win 1 <FO,nop,nop>');
    expect(text('> S 0:0(0) win 1 <FOEXP abcd,nop,nop>')).toBe('S 0:0(0) win 1 <FOEXP abcd,nop,nop>');
    expect(text('> S 0:0(0) win 1 <FOEXP>')).toBe('S 0:0(0) win 1 <FOEXP>');
    expect(text('> . 1:1(0) ack 1 win 1 <ECN e1b 1 ceb 2 e0b 3,nop>')).toBe('. 1:1(0) ack 1 win 1 <ECN e1b 1 ceb 2 e0b 3,nop>');
    expect(text('> . 1:1(0) ack 1 win 1 <ECN e0b 5,nop,nop,nop>')).toBe('. 1:1(0) ack 1 win 1 <ECN e0b 5,nop,nop,nop>');
    expect(text('> S 0:0(0) win 1 <mss 1000,eol,eol,eol,eol,eol,eol,eol,eol>')).toBe(
      'S 0:0(0) win 1 <mss 1000,eol,eol,eol,eol,eol,eol,eol,eol>',
    );
  });

  it('prints unknown and experimental options by kind', () => {
    const b = liveTcp([99, 4, 0, 0, 254, 4, 0x12, 0x34]);
    expect(formatTcpOptions(decodePacket(b).tcp!.options)).toBe('kind 99 len 4,exp 1234');
    expect(formatTcpOption(TCP_OPTIONS.decode(99, b.subarray(42, 44)))).toBe('kind 99 len 4');
  });

  it('prints an IPv6 segment the same way', () => {
    expect(text('> S. 0:0(0) ack 1 <mss 1440,nop,wscale 7>', 'ipv6')).toBe('S. 0:0(0) ack 1 <mss 1440,nop,wscale 7>');
  });
});

describe('script notation: other protocols', () => {
  it('prints UDP with its payload length and ICMP by version', () => {
    expect(text('> udp (100)')).toBe('udp (100)');
    expect(text('< icmp unreachable port_unreachable [udp (10)]')).toBe('icmpv4');
    expect(text('< icmp packet_too_big mtu 1280', 'ipv6')).toBe('icmpv6');
  });

  it('names any other protocol by number', () => {
    const b = Buffer.alloc(28);
    b[0] = 0x45;
    b.writeUInt16BE(28, 2);
    b[9] = 47;
    expect(packetText(b)).toBe('[protocol 47]');
  });
});

describe('dumpTime', () => {
  it('is %9.6f of seconds', () => {
    expect(dumpTime(0)).toBe(' 0.000000');
    expect(dumpTime(10_839)).toBe(' 0.010839');
    expect(dumpTime(223_735.4)).toBe(' 0.223735');
    expect(dumpTime(12_345_678)).toBe('12.345678');
    expect(dumpTime(123_456_789)).toBe('123.456789');
  });
});
