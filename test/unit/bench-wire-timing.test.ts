/**
 * The pure parts of the side-by-side injection bench: when each inbound
 * line of a script is due, matching a capture's packets to those lines,
 * the errors and their statistics, reading a Linux cooked pcap, and the
 * packetdrill command line and binary check.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packetdrillFlags } from '../../src/bench/packetdrill-side.js';
import { packetdrillPathProblem } from '../../src/runner/packetdrill-run.js';
import { distribution } from '../../src/bench/stats.js';
import { inboundSchedule, readCookedPcap, wireErrors, type Schedule, type WirePacket } from '../../src/bench/wire-timing.js';
import { parseScript } from '../../src/script/index.js';

const SCRIPT = `0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+.01 < S 0:0(0) win 65535 <mss 1000>
+0 > S. 0:0(0) ack 1 <...>
0.020 < . 1:1(0) ack 1 win 512
+.0005 < . 1:1(0) ack 1 win 512
+0 < . 1:1(0) ack 1 win 512
+0 accept(3, ..., ...) = 4
0.030 < P. 1:101(100) ack 1 win 512
+0 > . 1:1(0) ack 101
+.001 < P. 101:201(100) ack 1 win 512
+0 < P. 201:301(100) ack 1 win 512
+0 > . 1:1(0) ack 301
* > . 1:1(0) ack 301
+.002 < . 301:301(0) ack 1 win 512
`;

function schedule(): Schedule {
  return inboundSchedule(parseScript(SCRIPT, { path: 'test.pkt', ipVersion: 'ipv4' }));
}

describe('inboundSchedule', () => {
  it('dates each inbound line as packetdrill does: script clock, after an outbound packet, or unknown', () => {
    const s = schedule();
    expect(s.outbound).toBe(4);
    expect(s.inbound).toEqual([
      // relative to a system call: due when the harness gets there, not on the wire
      { line: 4, anchor: { kind: 'unknown' }, usecs: 10_000, outboundBefore: 0 },
      { line: 6, anchor: { kind: 'clock' }, usecs: 20_000, outboundBefore: 1 },
      // relative to an inbound line: the same clock
      { line: 7, anchor: { kind: 'clock' }, usecs: 20_500, outboundBefore: 1 },
      { line: 8, anchor: { kind: 'clock' }, usecs: 20_500, outboundBefore: 1 },
      { line: 10, anchor: { kind: 'clock' }, usecs: 30_000, outboundBefore: 1 },
      // relative to an outbound line: from that packet
      { line: 12, anchor: { kind: 'outbound', index: 1 }, usecs: 1000, outboundBefore: 2 },
      // and the chain of inbound lines after it keeps that anchor
      { line: 13, anchor: { kind: 'outbound', index: 1 }, usecs: 1000, outboundBefore: 2 },
      // after a `*` outbound line, still from that packet
      { line: 16, anchor: { kind: 'outbound', index: 3 }, usecs: 2000, outboundBefore: 4 },
    ]);
  });
});

const MS = 1_000_000n;
const inb = (ns: bigint): WirePacket => ({ tsNs: ns, direction: 'inbound' });
const outb = (ns: bigint): WirePacket => ({ tsNs: ns, direction: 'outbound' });

/** A capture of the script above whose harness starts at `t0`, with the given lateness (µs) of each injected packet. */
function capture(t0: bigint, late: number[], extra: WirePacket[] = []): WirePacket[] {
  const us = (n: number): bigint => BigInt(Math.round(n * 1000));
  const due = [10_000, 20_000, 20_500, 20_500, 30_000];
  const pkts: WirePacket[] = due.map((d, i) => inb(t0 + us(d + late[i]!)));
  pkts.splice(1, 0, outb(t0 + us(10_000 + late[0]! + 50))); // SYN-ACK
  const ack101 = t0 + us(30_000 + late[4]! + 40);
  pkts.push(outb(ack101));
  pkts.push(inb(ack101 + us(1000 + late[5]!)), inb(ack101 + us(1000 + late[6]!)));
  const ack301 = ack101 + us(1000 + late[6]! + 30);
  pkts.push(outb(ack301), outb(ack301 + 200_000n), inb(ack301 + 200_000n + us(2000 + late[7]!)));
  return [...pkts, ...extra];
}

describe('wireErrors', () => {
  it('fits the zero to the most punctual line on the clock and times lines after `>` from that packet', () => {
    const w = wireErrors(schedule(), capture(5_000n * MS, [900, 30, 10, 22, 110, 70, 85, 400]), { passed: true });
    expect(w.clock.map((v) => Math.round(v * 1000) / 1000)).toEqual([20, 0, 12, 100]);
    expect(w.afterOutbound.map((v) => Math.round(v * 1000) / 1000)).toEqual([70, 85, 400]);
    // Lines 7 and 8, both due at 20.5 ms: the second went out 12 µs after the first.
    expect(w.burstSpread).toEqual([12]);
    expect(w.unknown).toBe(1);
    expect(w.note).toBeUndefined();
  });

  it('leaves out injected packets after the last inbound line (a harness resetting what is left open)', () => {
    const late = [0, 5, 5, 5, 5, 5, 5, 5];
    const plain = wireErrors(schedule(), capture(0n, late), { passed: true });
    const reset = wireErrors(schedule(), capture(0n, late, [inb(9_000n * MS)]), { passed: true });
    expect(reset).toEqual(plain);
  });

  it('gives no numbers when the capture holds fewer injected packets than the harness wrote', () => {
    const pkts = capture(0n, [0, 5, 5, 5, 5, 5, 5, 5]).slice(1); // the first packet missed
    const w = wireErrors(schedule(), pkts, { passed: true });
    expect(w.clock).toEqual([]);
    expect(w.afterOutbound).toEqual([]);
    expect(w.note).toMatch(/capture holds 7 injected packets, the tool wrote 8/);
    expect(wireErrors(schedule(), pkts.slice(0, 3), { passed: false, injected: 3 }).note).toMatch(/holds 2 .* wrote 3/);
  });

  it('a failing run counts its packets up to the failure on the clock but none after `>`', () => {
    const pkts = capture(0n, [0, 5, 7, 9, 11, 5, 5, 5]);
    const w = wireErrors(schedule(), pkts, { passed: false });
    expect(w.clock.length).toBe(4);
    expect(w.afterOutbound).toEqual([]);
    const cut = pkts.filter((p) => p.tsNs < 25n * MS); // stopped before line 10
    expect(wireErrors(schedule(), cut, { passed: false, injected: 4 }).clock.map(Math.round)).toEqual([0, 2, 4]);
  });

  it('gives no numbers after `>` when a `>` line stands for several packets on the wire (a TSO burst split)', () => {
    const pkts = capture(0n, [0, 5, 5, 5, 5, 5, 5, 5]);
    const ack101 = pkts.filter((p) => p.direction === 'outbound')[1]!;
    const split = [...pkts, outb(ack101.tsNs + 10_000n)].sort((a, b) => (a.tsNs < b.tsNs ? -1 : 1));
    const w = wireErrors(schedule(), split, { passed: true });
    expect(w.clock.length).toBe(4);
    expect(w.afterOutbound).toEqual([]);
    expect(w.note).toMatch(/3 outbound packets on the wire before script line 12, which follows 2 `>` lines/);
  });

  it('a passing run whose capture lacks an outbound packet gives clock numbers only, and says so', () => {
    const pkts = capture(0n, [0, 5, 5, 5, 5, 5, 5, 5]).filter((p, i, all) => !(p.direction === 'outbound' && p === all.filter((q) => q.direction === 'outbound').at(-1)));
    const w = wireErrors(schedule(), pkts, { passed: true });
    expect(w.clock.length).toBe(4);
    expect(w.afterOutbound).toEqual([]);
    expect(w.note).toMatch(/3 outbound packets on the wire before script line 16, which follows 4 `>` lines/);
  });
});

describe('distribution (nearest rank)', () => {
  it('p50, p99 and max of injection errors', () => {
    const values = Array.from({ length: 200 }, (_v, i) => 200 - i); // 1..200, unsorted
    const d = distribution(values);
    expect(d).toMatchObject({ count: 200, p50: 100, p99: 198, max: 200 });
    expect(d.mean).toBeCloseTo(100.5);
    expect(distribution([7])).toMatchObject({ count: 1, p50: 7, p99: 7, max: 7 });
    expect(distribution([]).count).toBe(0);
    expect(Number.isNaN(distribution([]).p99)).toBe(true);
  });
});

/** A classic pcap file (little-endian) of Linux cooked v2 frames: [seconds, fraction, pkttype, ethertype, l3 bytes]. */
function pcap(nano: boolean, frames: Array<[number, number, number, number, Buffer]>, linktype = 276): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(nano ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(65535, 16);
  head.writeUInt32LE(linktype, 20);
  const parts = [head];
  for (const [sec, frac, pkttype, proto, l3] of frames) {
    const sll = Buffer.alloc(20);
    sll.writeUInt16BE(proto, 0);
    sll.writeUInt32BE(3, 4);
    sll.writeUInt16BE(0xfffe, 8);
    sll[10] = pkttype;
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(sec, 0);
    rec.writeUInt32LE(frac, 4);
    rec.writeUInt32LE(20 + l3.length, 8);
    rec.writeUInt32LE(20 + l3.length, 12);
    parts.push(rec, sll, l3);
  }
  return Buffer.concat(parts);
}

function ipv4(src: number[], dst: number[]): Buffer {
  const b = Buffer.alloc(40);
  b[0] = 0x45;
  b.set(src, 12);
  b.set(dst, 16);
  return b;
}

describe('readCookedPcap', () => {
  const remote = Uint8Array.from([192, 0, 2, 1]);
  const local = [192, 168, 0, 1];
  const ipv6Rs = Buffer.alloc(48);
  ipv6Rs[0] = 0x60;

  it('keeps what the device received from the remote and what it sent there, with nanosecond stamps', () => {
    const buf = pcap(true, [
      [100, 5, 4, 0x86dd, ipv6Rs], // router solicitation: not the script's
      [100, 123_456_789, 0, 0x0800, ipv4([192, 0, 2, 1], local)],
      [100, 123_500_000, 4, 0x0800, ipv4(local, [192, 0, 2, 1])],
      [100, 200_000_000, 0, 0x0800, ipv4([192, 0, 2, 9], local)], // another address
      [101, 1, 4, 0x0800, ipv4(local, [192, 0, 2, 9])],
    ]);
    expect(readCookedPcap(buf, remote)).toEqual([
      { tsNs: 100_123_456_789n, direction: 'inbound' },
      { tsNs: 100_123_500_000n, direction: 'outbound' },
    ]);
  });

  it('reads microsecond files too, and refuses what is not a cooked capture', () => {
    const micro = pcap(false, [[7, 250, 0, 0x0800, ipv4([192, 0, 2, 1], local)]]);
    expect(readCookedPcap(micro, remote)).toEqual([{ tsNs: 7_000_250_000n, direction: 'inbound' }]);
    expect(() => readCookedPcap(pcap(true, [], 1), remote)).toThrow(/link type 1, not a Linux cooked capture/);
    expect(() => readCookedPcap(Buffer.alloc(24), remote)).toThrow(/not a pcap or pcapng file/);
  });
});

describe('packetdrill command line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tundrill-pdside-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('passes the planned options as packetdrill flags', () => {
    expect(packetdrillFlags({ options: [
      { name: 'ip_version', value: 'ipv4' },
      { name: 'local_ip', value: '192.168.0.1' },
      { name: 'define', value: 'CODE=host_unreachable' },
      { name: 'verbose' },
    ] })).toEqual(['--ip_version=ipv4', '--local_ip=192.168.0.1', '-DCODE=host_unreachable', '--verbose']);
  });

  it('names what is wrong with a packetdrill path', () => {
    const exe = join(dir, 'packetdrill');
    writeFileSync(exe, '#!/bin/sh\n');
    chmodSync(exe, 0o755);
    const plain = join(dir, 'plain');
    writeFileSync(plain, '');
    chmodSync(plain, 0o644);
    expect(packetdrillPathProblem(exe)).toBeUndefined();
    expect(packetdrillPathProblem(join(dir, 'absent'))).toMatch(/no such file/);
    expect(packetdrillPathProblem(dir)).toMatch(/not a file/);
    expect(packetdrillPathProblem(plain)).toMatch(/not executable/);
  });
});
