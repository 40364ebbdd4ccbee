import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseSs } from '../../src/evidence/ss-parser.js';
import { decodeInetDiag, formatTimerMs, socketStateFromSs, ssStyleLine, stableKey, type SocketState } from '../../src/evidence/socket-state.js';
import { ChangeTracker, parseSocketTimeline, socketSnapshots, type TimelineRecord } from '../../src/evidence/socket-timeline.js';
import { toJsonLine } from '../../src/evidence/timeline.js';
import { crossCheck } from '../../src/evidence/sampler-check.js';
import { parseRunArgs } from '../../src/cli/args.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/ss');

function attr(type: number, data: Buffer): Buffer {
  const len = 4 + data.length;
  const out = Buffer.alloc((len + 3) & ~3);
  out.writeUInt16LE(len, 0);
  out.writeUInt16LE(type, 2);
  data.copy(out, 4);
  return out;
}

/** An inet_diag reply as the kernel builds it, for a CLOSING IPv4 socket. */
function closingReply(): Buffer {
  const msg = Buffer.alloc(72);
  msg[0] = 2; // AF_INET
  msg[1] = 11; // TCP_CLOSING
  msg[2] = 1; // retransmit timer
  msg[3] = 2; // icsk_retransmits
  msg.writeUInt16BE(8080, 4);
  msg.writeUInt16BE(52746, 6);
  Buffer.from([192, 168, 0, 1]).copy(msg, 8);
  Buffer.from([192, 0, 2, 1]).copy(msg, 24);
  msg.writeUInt32LE(0x2e, 44); // cookie low
  msg.writeUInt32LE(0x1, 48); // cookie high
  msg.writeUInt32LE(1184, 52); // expires, ms
  msg.writeUInt32LE(1, 56); // rqueue
  msg.writeUInt32LE(1, 60); // wqueue
  msg.writeUInt32LE(0, 64); // uid
  msg.writeUInt32LE(0, 68); // inode: orphan
  const info = Buffer.alloc(232); // Debian 12's struct length: read by attribute length
  info[0] = 11;
  info[4] = 2; // backoff
  info.writeUInt32LE(1184000, 8); // rto, µs
  info.writeUInt32LE(1, 24); // unacked
  info.writeUInt32LE(1, 36); // retrans
  info.writeUInt32LE(77, 44); // last_data_sent, ms
  info.writeUInt32LE(0x7fffffff, 76); // snd_ssthresh: still infinite
  info.writeUInt32LE(1, 80); // snd_cwnd
  info.writeUInt32LE(3, 100); // total_retrans
  const skmem = Buffer.alloc(36);
  [832, 131072, 1280, 69120, 2432, 832, 0, 0, 0].forEach((v, i) => skmem.writeUInt32LE(v, i * 4));
  return Buffer.concat([msg, attr(8, Buffer.from([2])), attr(2, info), attr(4, Buffer.from('cubic\0')), attr(7, skmem)]);
}

describe('socket-state records', () => {
  it('decode an inet_diag reply: message fields, timer, tcp_info by its length, cong, skmem, shutdown', () => {
    const s = decodeInetDiag(closingReply());
    expect(s).toMatchObject({
      family: 'inet', state: 'CLOSING', tcpState: 11, local: { address: '192.168.0.1', port: 8080 }, peer: { address: '192.0.2.1', port: 52746 },
      recvQ: 1, sendQ: 1, uid: 0, inode: 0, cookie: '10000002e', orphan: true, cong: 'cubic',
      timer: { kind: 'on', expiresMs: 1184, retransmits: 2 }, shutdown: { read: false, write: true },
      skmem: { r: 832, rb: 131072, t: 1280, tb: 69120, f: 2432, w: 832, o: 0, bl: 0, d: 0 }, tcpInfoLength: 232, source: 'sock_diag',
    });
    expect(s.tcpInfo).toMatchObject({ tcpi_state: 11, tcpi_backoff: 2, tcpi_rto: 1184000, tcpi_snd_cwnd: 1, tcpi_total_retrans: 3, tcpi_last_data_sent: 77 });
    // Past the 232 bytes the kernel gave: 0, as ss reads them.
    expect(s.tcpInfo?.tcpi_rcv_wnd).toBe(0);
    expect(ssStyleLine(s, true)).toBe('CLOSING 1 1 192.168.0.1:8080 192.0.2.1:52746 timer:(on,1.184sec,2) skmem:(r832,rb131072,t1280,tb69120,f2432,w832,o0,bl0,d0) rto:1184 backoff:2 cwnd:1 unacked:1 retrans:1/3 orphan');
  });
  it('decode IPv6 and v4-mapped addresses', () => {
    const b = closingReply();
    b[0] = 10;
    Buffer.from('00000000000000000000ffffc0a80001', 'hex').copy(b, 8);
    Buffer.from('fd3d0000000000000000000000000001', 'hex').copy(b, 24);
    const s = decodeInetDiag(b);
    expect(s.local.address).toBe('::ffff:192.168.0.1');
    expect(s.peer.address).toBe('fd3d::1');
    expect(ssStyleLine(s)).toContain('[::ffff:192.168.0.1]:8080 [fd3d::1]:52746');
  });
  it('map ss output to the same record, in the kernel units', () => {
    const socks = parseSs(readFileSync(path.join(fixtures, 'lossy-t3-a-skmem.txt'), 'utf8')).map(socketStateFromSs);
    const withInfo = socks.find((s) => s.state === 'ESTAB' && s.tcpInfo?.tcpi_rto !== undefined)!;
    expect(withInfo.source).toBe('ss');
    expect(withInfo.skmem).toBeDefined();
    expect(Number.isInteger(withInfo.tcpInfo!.tcpi_rto)).toBe(true);
    expect(withInfo.tcpInfo!.tcpi_rto! % 1000).toBe(0); // ss prints whole ms here
    const listener = socks.find((s) => s.state === 'LISTEN')!;
    expect(listener.tcpInfo?.tcpi_sacked).toBeUndefined();
  });
  it('print timers as ss does', () => {
    expect([0, 52, 2256, 2000, 18_500, 62_000, 60_000, 660_000].map(formatTimerMs)).toEqual(['', '052ms', '2.256sec', '2sec', '18sec', '1min2sec', '1min', '11min']);
  });
});

describe('change-only timelines', () => {
  const base = decodeInetDiag(closingReply());
  const later = (f: (s: SocketState) => void): SocketState => {
    const s = structuredClone(base);
    f(s);
    return s;
  };
  it('keep a socket only when more than the clock moved, with the bounds of each change', () => {
    const t = new ChangeTracker();
    const ms = (n: number): bigint => BigInt(n) * 1_000_000n;
    expect(t.listing(ms(0), ms(1), [base], 'dump')).toHaveLength(1);
    // 10 ms later: timer counted down 10 ms, last_data_sent up 10 ms: no change.
    const aged = later((s) => {
      s.timer!.expiresMs -= 10;
      s.tcpInfo!.tcpi_last_data_sent! += 10;
    });
    expect(t.listing(ms(10), ms(11), [aged], 'dump')).toEqual([]);
    const backedOff = later((s) => {
      s.tcpInfo!.tcpi_backoff = 3;
      s.timer!.expiresMs = 2368;
    });
    const [change] = t.listing(ms(20), ms(21), [backedOff], 'dump');
    expect(change).toMatchObject({ type: 'socket', sinceNs: ms(11), key: '10000002e' });
    const [gone] = t.listing(ms(30), ms(31), [], 'dump');
    expect(gone).toMatchObject({ type: 'gone', sinceNs: ms(21) });
    expect(stableKey(base, 0)).toBe(stableKey(aged, 10));
  });
  it('read back as listings: one at each change, one at the last sighting before it, one at the end', () => {
    const t = new ChangeTracker();
    const ms = (n: number): bigint => BigInt(n) * 1_000_000n;
    const recs: TimelineRecord[] = [{ type: 'start', sampler: 'sock_diag', intervalMs: 10, tsNs: 0n }];
    recs.push(...t.listing(ms(0), ms(1), [base], 'dump'));
    t.listing(ms(10), ms(11), [base], 'dump');
    t.listing(ms(20), ms(21), [base], 'dump');
    recs.push(...t.listing(ms(30), ms(31), [later((s) => { s.tcpInfo!.tcpi_backoff = 3; })], 'out'));
    recs.push({ type: 'end', tsNs: ms(40), stats: {} });
    const text = recs.map(toJsonLine).join('');
    const snaps = socketSnapshots(parseSocketTimeline(text));
    expect(snaps.map((s) => [Number(s.tsNs / 1_000_000n), s.cause, s.sockets[0]?.tcpInfo?.tcpi_backoff])).toEqual([
      [0, 'dump', 2], [21, 'since', 2], [30, 'out', 3], [40, 'end', 3],
    ]);
  });
  it('the cross-check flags a field that differs and accepts clock-driven ones that moved', () => {
    const ss = later((s) => { s.source = 'ss'; s.tcpInfo!.tcpi_last_data_sent = 80; });
    const after = later((s) => { s.tcpInfo!.tcpi_last_data_sent = 81; s.timer!.expiresMs = 1180; });
    expect(crossCheck([ss], [base], [after], 4).mismatches).toEqual([]);
    const wrong = later((s) => { s.skmem!.t = 0; });
    const c = crossCheck([wrong], [base], [after], 4);
    expect(c.mismatches.map((m) => m.field)).toEqual(['skmem']);
  });
});

describe('--sampler and --sample-interval', () => {
  const parse = (...a: string[]) => parseRunArgs(a, { captureDir: 'captures' });
  it('default to sock_diag every 10 ms; ss every 100 ms unless told', () => {
    expect(parse('x.pkt')).toMatchObject({ sampler: 'sock_diag', ssIntervalMs: 10 });
    expect(parse('--sampler', 'ss', 'x.pkt')).toMatchObject({ sampler: 'ss', ssIntervalMs: 100 });
    expect(parse('--sampler=ss', '--sample-interval', '50', 'x.pkt')).toMatchObject({ sampler: 'ss', ssIntervalMs: 50 });
    expect(() => parse('--sampler', 'netstat', 'x.pkt')).toThrow('--sampler must be sock_diag or ss, got netstat');
  });
});
