import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  parseSs,
  parseSsEndpoint,
  parseSsRate,
  parseSsTimerValue,
  SsParseError,
  type SsSocket,
} from '../../src/evidence/ss-parser.js';

const FIX = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/ss');
const load = (name: string): string => readFileSync(join(FIX, name), 'utf8');
const t3 = parseSs(load('lossy-t3-a.txt'));

function byLocal(socks: SsSocket[], port: number, state?: string): SsSocket {
  const found = socks.filter((s) => s.local.port === port && (state === undefined || s.state === state));
  if (found.length !== 1) throw new Error(`expected one socket on local port ${port}, found ${found.length}`);
  return found[0]!;
}

describe('parseSsTimerValue: iproute2 print_ms_timer() output', () => {
  it.each([
    ['052ms', 52, 1],
    ['1.072ms', 1072, 1], // 6.1 prints seconds.millis with an "ms" suffix
    ['2.256sec', 2256, 1], // newer iproute2 says what it means
    ['1sec', 1000, 1],
    ['18sec', 18000, 1000],
    ['1min', 60000, 1000],
    ['1min11sec', 71000, 1000],
    ['11min', 660000, 60000],
  ])('%s = %d ms (resolution %d ms)', (text, ms, res) => {
    expect(parseSsTimerValue(text)).toEqual({ ms, resolutionMs: res });
  });
  it('empty field: due or overdue', () => {
    expect(parseSsTimerValue('')).toBeNull();
  });
  it.each(['abc', '1.ms', '12', 'min', '5hours'])('rejects %j', (text) => {
    expect(() => parseSsTimerValue(text)).toThrow(/timer value/);
  });
});

describe('parseSsEndpoint', () => {
  it('IPv4, wildcard port', () => {
    expect(parseSsEndpoint('0.0.0.0:*')).toEqual({ text: '0.0.0.0:*', address: '0.0.0.0', family: 'inet', port: null });
  });
  it('dual-stack wildcard', () => {
    expect(parseSsEndpoint('*:8081')).toMatchObject({ address: '*', family: 'any', port: 8081 });
  });
  it('IPv6 in brackets, v4-mapped, scope', () => {
    expect(parseSsEndpoint('[::1]:8082')).toMatchObject({ address: '::1', family: 'inet6', port: 8082 });
    expect(parseSsEndpoint('[::ffff:192.168.0.1]:80')).toMatchObject({
      address: '::ffff:192.168.0.1',
      family: 'inet6',
      v4mapped: '192.168.0.1',
    });
    expect(parseSsEndpoint('[fe80::1]%va:43056')).toMatchObject({ address: 'fe80::1', scope: 'va', port: 43056 });
    expect(parseSsEndpoint('192.168.0.1%tun0:8080')).toMatchObject({ address: '192.168.0.1', scope: 'tun0', port: 8080 });
  });
  it('service names without -n', () => {
    expect(parseSsEndpoint('127.0.0.1:http-alt')).toMatchObject({ port: null, service: 'http-alt' });
  });
});

describe('parseSsRate', () => {
  it('plain -n numbers and suffixed values', () => {
    expect(parseSsRate('827428571bps')).toBe(827428571);
    expect(parseSsRate('1.5Mbps')).toBe(1.5e6);
    expect(parseSsRate('35.3Gbps')).toBeCloseTo(35.3e9);
    expect(parseSsRate('0bps')).toBe(0);
    expect(() => parseSsRate('fast')).toThrow(/rate/);
  });
});

describe('real ss -tinoeHa output captured on this machine (iproute2 6.1, kernel 6.18)', () => {
  it('parses every fixture, one record per socket line, nothing unknown left', () => {
    const files = readdirSync(FIX).filter((f) => f.endsWith('.txt'));
    expect(files.length).toBeGreaterThanOrEqual(10);
    for (const f of files) {
      const text = load(f);
      const socketLines = text.split('\n').filter((l) => /^[A-Z]/.test(l) && !/^State\s/.test(l)).length;
      const socks = parseSs(text);
      expect(socks.length, f).toBe(socketLines);
      for (const s of socks) expect(s.extra, `${f} ${s.local.text}`).toEqual({});
    }
  });

  it('sees every TCP state the fixtures were made to show', () => {
    expect(new Set(t3.map((s) => s.state))).toEqual(
      new Set(['LISTEN', 'SYN-SENT', 'SYN-RECV', 'ESTAB', 'FIN-WAIT-1', 'FIN-WAIT-2', 'CLOSE-WAIT', 'LAST-ACK', 'CLOSING', 'TIME-WAIT']),
    );
  });

  it('ESTAB retransmitting with backoff (loss on the return path for 3 s)', () => {
    const s = byLocal(t3, 41010);
    expect(s).toMatchObject({
      state: 'ESTAB',
      tcpState: 1,
      recvQ: 0,
      sendQ: 10000,
      local: { address: '192.168.0.1', port: 41010, family: 'inet' },
      peer: { address: '192.0.2.1', port: 9000 },
      timer: { kind: 'on', expiresMs: 36, resolutionMs: 1, retransmits: 3, text: '(on,036ms,3)' },
      uid: 0,
      ino: 314544,
      sk: '1025',
      cgroup: '/',
      shutdown: { read: false, write: false },
      orphan: false,
    });
    expect(s.info).toMatchObject({
      ts: true,
      sack: true,
      ecn: false,
      congestion: 'bbr',
      wscale: { snd: 10, rcv: 10 },
      rtoMs: 1600,
      backoff: 3,
      rttMs: 0.014,
      rttVarMs: 0.007,
      mss: 1448,
      pmtu: 1500,
      rcvMss: 536,
      advMss: 1448,
      cwnd: 1,
      bytesSent: 15656,
      bytesRetrans: 5656,
      bytesAcked: 1,
      bytesReceived: 0,
      segsOut: 13,
      segsIn: 1,
      dataSegsOut: 11,
      bbr: { bwBps: 0, minRttMs: 0.014, pacingGain: 1, cwndGain: 1 },
      sendBps: 827428571,
      lastSndMs: 1564,
      lastRcvMs: 3600,
      lastAckMs: 3600,
      pacingRateBps: 23646678944,
      delivered: 1,
      appLimited: true,
      busyMs: 3028,
      unacked: 7,
      retrans: 1,
      retransTotal: 4,
      lost: 7,
      reordering: 3,
      rcvSpace: 14480,
      rcvSsthresh: 64088,
      minRttMs: 0.014,
      sndWnd: 65160,
    });
    expect(s.info!.ssthresh).toBeUndefined();
    expect(s.info!.atoMs).toBeUndefined();
  });

  it('SYN-SENT retransmitting its SYN, and the SYN-RECV request on the other listener', () => {
    const s = byLocal(t3, 41011);
    expect(s).toMatchObject({ state: 'SYN-SENT', sendQ: 1, timer: { kind: 'on', expiresMs: 12, retransmits: 2 } });
    expect(s.info).toMatchObject({ ts: false, sack: false, rtoMs: 1000, mss: 524, cwnd: 1, retrans: 1, retransTotal: 2, lost: 1, segsOut: 3 });
    expect(s.info!.wscale).toBeUndefined();

    const r = t3.find((x) => x.state === 'SYN-RECV')!;
    expect(r).toMatchObject({
      local: { port: 8084 },
      peer: { address: '192.0.2.1', port: 35228 },
      timer: { kind: 'on', expiresMs: 1072, resolutionMs: 1, retransmits: 3 },
      ino: 0,
      sk: '3f',
      orphan: false,
    });
    expect(r.info).toBeUndefined();
    expect(r.cgroup).toBeUndefined();
  });

  it('orphaned FIN-WAIT-1 and LAST-ACK, owned CLOSING', () => {
    expect(byLocal(t3, 41012)).toMatchObject({
      state: 'FIN-WAIT-1',
      sendQ: 5001,
      ino: 0,
      orphan: true,
      shutdown: { read: true, write: true },
      timer: { kind: 'on', expiresMs: 36, retransmits: 3 },
    });
    expect(byLocal(t3, 41013)).toMatchObject({ state: 'LAST-ACK', tcpState: 9, recvQ: 1, sendQ: 1, orphan: true, timer: { expiresMs: 224 } });
    const c = byLocal(t3, 41014);
    expect(c).toMatchObject({ state: 'CLOSING', tcpState: 11, recvQ: 1, sendQ: 1, ino: 314542, orphan: false, shutdown: { read: true, write: true } });
    expect(c.info).toMatchObject({ rtoMs: 1600, backoff: 3, unacked: 1, retransTotal: 4, lastAckMs: 1312 });
  });

  it('FIN-WAIT-2 with and without an owner, TIME-WAIT, CLOSE-WAIT', () => {
    expect(byLocal(t3, 41007)).toMatchObject({ state: 'FIN-WAIT-2', shutdown: { read: false, write: true }, orphan: false });
    expect(byLocal(t3, 41007).info!.busyMs).toBe(4);
    const o = byLocal(t3, 41008);
    expect(o).toMatchObject({ state: 'FIN-WAIT-2', ino: 0, orphan: true, timer: { kind: 'timewait', expiresMs: 56000, resolutionMs: 1000 } });
    expect(o.info).toBeUndefined();
    expect(byLocal(t3, 41009)).toMatchObject({ state: 'TIME-WAIT', tcpState: 6, orphan: false, timer: { kind: 'timewait', expiresMs: 56000 } });
    expect(byLocal(t3, 41006)).toMatchObject({ state: 'CLOSE-WAIT', recvQ: 1, shutdown: { read: true, write: false } });
  });

  it('keepalive and zero-window (persist) timers', () => {
    expect(byLocal(t3, 41002).timer).toEqual({ kind: 'keepalive', expiresMs: 71000, resolutionMs: 1000, retransmits: 0, text: '(keepalive,1min11sec,0)' });
    expect(byLocal(t3, 41003).timer).toMatchObject({ kind: 'keepalive', expiresMs: 660000, resolutionMs: 60000 });
    expect(byLocal(t3, 41004).timer).toMatchObject({ kind: 'keepalive', expiresMs: 1336, resolutionMs: 1 });
    const p = byLocal(t3, 41005);
    expect(p).toMatchObject({ sendQ: 33056, timer: { kind: 'persist', expiresMs: 2912, retransmits: 0 } });
    expect(p.info).toMatchObject({
      wscale: { snd: 0, rcv: 10 },
      backoff: 4,
      rttMs: 5.39,
      rttVarMs: 10.752,
      mss: 724,
      busyMs: 3660,
      rwndLimitedMs: 3660,
      notsent: 33056,
      deliveryRateBps: 251826080,
    });
  });

  it('uid, fwmark, ECN, Fast Open, congestion control names', () => {
    expect(byLocal(t3, 60580).uid).toBe(65534);
    expect(byLocal(t3, 60588).fwmark).toBe(42);
    expect(byLocal(t3, 58326).info).toMatchObject({ ecn: true, ecnseen: true, ts: true });
    expect(byLocal(t3, 8086, 'ESTAB').info).toMatchObject({ ecn: true, rcvRttMs: 1 });
    expect(byLocal(t3, 44836).info!.fastopen).toBe(true);
    expect(byLocal(t3, 44820).info!.fastopen).toBe(false);
    expect(byLocal(t3, 35046).info!.congestion).toBe('cubic');
    expect(t3.find((s) => s.local.port === 8082 && s.state === 'ESTAB')!.info!.congestion).toBe('reno');
    // bbr with no min RTT sample: ss prints ~0U / 1000 with %g
    const fo = t3.find((s) => s.local.port === 8085 && s.peer.port === 44836)!;
    expect(fo.info!.bbr!.minRttMs).toBe(4.29497e6);
  });

  it('listeners: accept queue, wildcard and v6only forms', () => {
    const l = byLocal(t3, 8083, 'LISTEN');
    expect(l).toMatchObject({ recvQ: 1, sendQ: 8, peer: { address: '0.0.0.0', port: null } });
    expect(l.info).toMatchObject({ congestion: 'bbr', cwnd: 10, unacked: 1 });
    expect(byLocal(t3, 8081, 'LISTEN')).toMatchObject({ local: { family: 'any', address: '*' }, peer: { text: '*:*' }, v6only: false });
    expect(byLocal(t3, 8082, 'LISTEN')).toMatchObject({ local: { family: 'inet6', address: '::' }, v6only: true });
  });

  it('IPv6 global, v4-mapped and link-local addresses', () => {
    expect(byLocal(t3, 41016).peer).toMatchObject({ address: 'fd3d:fa7b:d17d::1', port: 9100, family: 'inet6' });
    expect(byLocal(t3, 49726).local).toMatchObject({ address: '::ffff:127.0.0.1', v4mapped: '127.0.0.1' });
    const ll = byLocal(t3, 43056);
    expect(ll.local).toMatchObject({ address: 'fe80::f489:a0ff:fe3b:f2c8', scope: 'va' });
    expect(ll.peer.scope).toBeUndefined();
    expect(byLocal(t3, 41017).info).toMatchObject({ rtoMs: 1632, mss: 1428, retransTotal: 4, lost: 3 });
  });

  it('an expired retransmission timer prints an empty expiry', () => {
    const socks = parseSs(load('expired-timer-a.txt'));
    const expired = socks.filter((s) => s.timer?.kind === 'on' && s.timer.expiresMs === null);
    expect(expired.length).toBeGreaterThan(0);
    expect(byLocal(socks, 41010).timer).toEqual({ kind: 'on', expiresMs: null, resolutionMs: 1, retransmits: 1, text: '(on,,1)' });
  });

  it('long backoffs later in the same run', () => {
    const t20 = parseSs(load('lossy-t20-a.txt'));
    expect(byLocal(t20, 41011)).toMatchObject({ timer: { expiresMs: 15000, resolutionMs: 1000, retransmits: 8 }, info: { rtoMs: 16000, backoff: 4 } });
    expect(byLocal(t20, 41010)).toMatchObject({ timer: { expiresMs: 5868, retransmits: 6 }, info: { rtoMs: 12800, backoff: 6, retransTotal: 7 } });
    const t40 = parseSs(load('lossy-t40-a.txt'));
    expect(byLocal(t40, 41005).timer).toMatchObject({ kind: 'persist', expiresMs: 13000, resolutionMs: 1000 });
  });

  it('the same listing with a header, without -a, with -m and with -p', () => {
    expect(parseSs(load('lossy-t3-a-header.txt')).map((s) => s.local.text).sort()).toEqual(t3.map((s) => s.local.text).sort());
    const noall = parseSs(load('lossy-t3-a-noall.txt'));
    expect(noall.some((s) => ['LISTEN', 'TIME-WAIT', 'SYN-RECV'].includes(s.state))).toBe(false);
    expect(byLocal(parseSs(load('lossy-t3-a-skmem.txt')), 41010).skmem).toEqual({
      rmemAlloc: 0,
      rcvBuf: 131072,
      wmemAlloc: 0,
      sndBuf: 69120,
      fwdAlloc: 3056,
      wmemQueued: 13328,
      optmem: 0,
      backlog: 0,
      drops: 0,
    });
    const proc = parseSs(load('lossy-t3-a-process.txt'));
    expect(byLocal(proc, 8084, 'LISTEN').users).toBe('("python3",pid=24012,fd=9)');
    expect(proc.find((s) => s.state === 'SYN-RECV')!.timer).toMatchObject({ expiresMs: 1000, resolutionMs: 1 });
  });

  it('the peer namespace: SYN-SENT towards the dropped SYN-ACKs, CLOSE-WAIT with data', () => {
    const b = parseSs(load('lossy-t3-b.txt'));
    const syn = b.find((s) => s.state === 'SYN-SENT')!;
    expect(syn).toMatchObject({ local: { address: '192.0.2.1', port: 35228 }, peer: { port: 8084 }, timer: { expiresMs: 56, retransmits: 2 } });
    expect(b.find((s) => s.peer.port === 41012)).toMatchObject({ state: 'CLOSE-WAIT', recvQ: 5001, shutdown: { read: true, write: false } });
    expect(b.find((s) => s.peer.port === 41014)).toMatchObject({ state: 'FIN-WAIT-1', shutdown: { read: false, write: true } });
  });

  it('keepRaw keeps the socket lines', () => {
    const socks = parseSs(load('lossy-t3-a.txt'), { keepRaw: true });
    const s = byLocal(socks, 41009);
    expect(s.raw).toMatch(/^TIME-WAIT +0 +0 +192\.168\.0\.1:41009 /);
  });
});

describe('other forms of ss output', () => {
  it('tokens of other iproute2 versions and congestion modules, unknown tokens kept', () => {
    const text =
      'tcp   ESTAB 0 0 10.0.0.1:22 10.0.0.2:5000 timer:(delack,2.256sec,0) uid:1000 ino:7 sk:ab tos:0x10 <->\n' +
      '\t skmem:(r0,rb1,t2,tb3,f4,w5,o6) ts sack ecn usec_ts dctcp wscale:7,7 rto:201.5 rtt:1.25/0.5 ato:40 qack:3 bidir mss:1448 ' +
      'ssthresh:20 dctcp:(ce_state:1,alpha:1024,ab_ecn:5,ab_tot:9) send 1.2Mbps pacing_rate 2.5Mbps/10Mbps ' +
      'delivery_rate 900kbps delivered:9 delivered_ce:2 busy:100ms rwnd_limited:50ms(50.0%) sndbuf_limited:25ms(25.0%) ' +
      'retrans:0/3 sacked:2 dsack_dups:1 fackets:1 reordering:10 reord_seen:4 rcv_rtt:3.5 rcv_space:100 notsent:10 ' +
      'rcv_ooopack:6 snd_wnd:1000 rcv_wnd:2000 rehash:1 tcp-ulp-tls version: 1.3 newfield:42 shiny\n';
    const [s] = parseSs(text);
    expect(s).toMatchObject({
      netid: 'tcp',
      state: 'ESTAB',
      timer: { kind: 'delack', expiresMs: 2256 },
      uid: 1000,
      sk: 'ab',
      skmem: { rmemAlloc: 0, rcvBuf: 1, wmemAlloc: 2, sndBuf: 3, fwdAlloc: 4, wmemQueued: 5, optmem: 6 },
    });
    expect(s!.skmem!.backlog).toBeUndefined();
    expect(s!.info).toMatchObject({
      ecn: true,
      usecTs: true,
      congestion: 'dctcp',
      rtoMs: 201.5,
      qack: 3,
      bidir: true,
      ssthresh: 20,
      dctcp: { ceState: 1, alpha: 1024, abEcn: 5, abTot: 9 },
      sendBps: 1.2e6,
      pacingRateBps: 2.5e6,
      pacingRateMaxBps: 10e6,
      deliveryRateBps: 900e3,
      deliveredCe: 2,
      rwndLimitedMs: 50,
      sndbufLimitedMs: 25,
      retrans: 0,
      retransTotal: 3,
      sacked: 2,
      dsackDups: 1,
      fackets: 1,
      reordering: 10,
      reordSeen: 4,
      rcvRttMs: 3.5,
      rcvOoopack: 6,
      rcvWnd: 2000,
      rehash: 1,
      ulp: 'tls',
    });
    expect(s!.extra).toEqual({ tos: '0x10', version: '', '1.3': '', newfield: '42', shiny: '' });
  });

  it('one-line output (-O) and dctcp fallback', () => {
    const [s] = parseSs('ESTAB 0 0 [::1]:1 [::1]:2 ino:5 sk:1 <-> ts sack cubic wscale:7,7 rto:204 dctcp:fallback_mode mss:100\n');
    expect(s!.info).toMatchObject({ congestion: 'cubic', rtoMs: 204, dctcp: 'fallback_mode', mss: 100 });
  });

  it('a single-state filter drops the State column', () => {
    const text = 'Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n0 0 192.168.0.1:8080 192.0.2.1:1234 ino:1 sk:2\n';
    expect(parseSs(text)[0]!.state).toBe('UNKNOWN');
    expect(parseSs(text, { defaultState: 'ESTAB' })[0]).toMatchObject({ state: 'ESTAB', tcpState: 1 });
  });

  it('a Netid header and CRLF line ends', () => {
    const text = 'Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port\r\ntcp LISTEN 0 128 0.0.0.0:22 0.0.0.0:*\r\n';
    expect(parseSs(text)).toMatchObject([{ netid: 'tcp', state: 'LISTEN', sendQ: 128, local: { port: 22 } }]);
  });

  it('process names with spaces and parentheses stay in one users field', () => {
    const [s] = parseSs('ESTAB 0 0 1.1.1.1:1 2.2.2.2:2 users:(("my app",pid=5,fd=3),("x) y",pid=6,fd=4)) ino:1 sk:1\n');
    expect(s!.users).toBe('("my app",pid=5,fd=3),("x) y",pid=6,fd=4)');
    expect(s!.ino).toBe(1);
    expect(s!.extra).toEqual({});
  });

  it('empty output', () => {
    expect(parseSs('')).toEqual([]);
  });

  it('errors name the line', () => {
    expect(() => parseSs('ESTAB 0 0 10.0.0.1:1 10.0.0.2:2\nBOGUS x y z\n')).toThrow(SsParseError);
    expect(() => parseSs('ESTAB 0 0 10.0.0.1:1 10.0.0.2:2\nBOGUS x y z\n')).toThrow(/line 2: unknown socket state "BOGUS"/);
    expect(() => parseSs('\tts sack\n')).toThrow(/line 1: continuation line/);
    expect(() => parseSs('ESTAB 0 0 10.0.0.1:1 10.0.0.2:2 timer:(on,soon,1)\n')).toThrow(/unrecognised timer value "soon"/);
  });
});
