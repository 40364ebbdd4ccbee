/**
 * The state of one TCP socket at one moment, as the socket-state timeline
 * records it, whichever sampler took it: decoded from a NETLINK_SOCK_DIAG
 * reply (struct inet_diag_msg and its attributes, what ss itself reads) or
 * mapped from ss's printed output.
 *
 * Units are the kernel's: tcp_info keeps its field names (`tcpi_rto` in µs,
 * `tcpi_last_data_sent` in ms, rates in bytes per second; see tcp-info.ts),
 * skmem is in bytes, the timer's expiry in ms. 64-bit tcp_info counters are
 * JavaScript numbers (exact to 2^53; an unlimited pacing rate, 2^64-1, reads
 * 18446744073709552000).
 *
 * A record mapped from ss has only what ss prints: tcp_info fields ss does
 * not show (ca_state, probes, ...) are absent, and so are those ss omits
 * (tcpi_rto while it is the initial 3 s, ...). Times ss rounds (rtt in µs
 * printed as ms with 3 decimals, busy time in whole ms) come back rounded.
 */
import type { SsSocket, SsState, SsTimerKind } from './ss-parser.js';
import { TCP_STATE_NUMBER } from './ss-parser.js';
import { decodeSoMeminfo, decodeTcpInfo, type TcpInfo } from './tcp-info.js';

/** Every numeric tcp_info field (kernel names and units). */
export type TcpInfoFields = { [K in Exclude<keyof TcpInfo, 'raw' | 'length'>]: number };

/** `skmem:(r,rb,t,tb,f,w,o,bl,d)`: SK_MEMINFO_*, bytes (`t` is sk_wmem_alloc). */
export interface Skmem {
  r: number;
  rb: number;
  t: number;
  tb: number;
  f: number;
  w: number;
  o: number;
  bl: number;
  d: number;
}

export interface SocketTimer {
  /** As ss names idiag_timer: 1 on (retransmit, loss probe, reordering), 2 keepalive, 3 timewait, 4 persist. */
  kind: SsTimerKind;
  /** Milliseconds left when sampled (0: due or overdue). */
  expiresMs: number;
  /** idiag_retrans: icsk_retransmits (probes for keepalive and persist). */
  retransmits: number;
}

export interface SocketAddress {
  /** 192.0.2.1, fd3d::1, ::ffff:192.0.2.1 (a v4-mapped peer of an IPv6 socket), 0.0.0.0, ::, or * (ss's dual-stack wildcard). */
  address: string;
  /** 0 for a listener's peer. */
  port: number;
}

export interface SocketState {
  family: 'inet' | 'inet6';
  state: SsState;
  /** Kernel TCP state number (TCP_ESTABLISHED = 1, ..., TCP_NEW_SYN_RECV 12 shows as SYN-RECV). */
  tcpState: number;
  local: SocketAddress;
  peer: SocketAddress;
  /** idiag_rqueue / idiag_wqueue: ss's Recv-Q and Send-Q (a listener's: accept queue and its limit). */
  recvQ: number;
  sendQ: number;
  uid: number;
  /** 0 for sockets without a file: orphans, children not accepted yet, mini-sockets. */
  inode: number;
  /** Socket cookie in hex, as ss prints it after `sk:`. */
  cookie: string;
  timer: SocketTimer | null;
  /** sk_shutdown: receive side (`<` gone in ss's `<->`), send side. */
  shutdown?: { read: boolean; write: boolean };
  /** Closed by its owner, still in the kernel: no inode, FIN-WAIT-1/2, CLOSING or LAST-ACK. */
  orphan: boolean;
  /** Congestion control (INET_DIAG_CONG). */
  cong?: string;
  skmem?: Skmem;
  tcpInfo?: Partial<TcpInfoFields>;
  /** Bytes of tcp_info the kernel gave (sock_diag only). */
  tcpInfoLength?: number;
  tos?: number;
  tclass?: number;
  v6only?: boolean;
  mark?: number;
  cgroupId?: number;
  /** Which sampler saw it. */
  source: 'sock_diag' | 'ss';
}

const STATE_BY_NUMBER: Record<number, SsState> = (() => {
  const m: Record<number, SsState> = {};
  for (const [name, n] of Object.entries(TCP_STATE_NUMBER)) m[n] = name as SsState;
  m[12] = 'SYN-RECV'; // TCP_NEW_SYN_RECV: a request socket
  return m;
})();

const TIMER_KINDS: readonly SsTimerKind[] = ['off', 'on', 'keepalive', 'timewait', 'persist', 'unknown'];
const ORPHAN_STATES = new Set<SsState>(['FIN-WAIT-1', 'FIN-WAIT-2', 'CLOSING', 'LAST-ACK']);

// inet_diag attribute types (linux/inet_diag.h)
const INET_DIAG_INFO = 2;
const INET_DIAG_CONG = 4;
const INET_DIAG_TOS = 5;
const INET_DIAG_TCLASS = 6;
const INET_DIAG_SKMEMINFO = 7;
const INET_DIAG_SHUTDOWN = 8;
const INET_DIAG_SKV6ONLY = 11;
const INET_DIAG_MARK = 15;
const INET_DIAG_CGROUP_ID = 21;

/** Size of struct inet_diag_msg. */
export const INET_DIAG_MSG_SIZE = 72;

function ipv4(b: Buffer, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

function ipv6(b: Buffer, off: number): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push(b.readUInt16BE(off + i * 2));
  if (w.slice(0, 5).every((x) => x === 0) && w[5] === 0xffff) return `::ffff:${ipv4(b, off + 12)}`;
  // Longest run of zero words becomes '::' (RFC 5952).
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = w.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** Decode one sock_diag reply: struct inet_diag_msg followed by its attributes. */
export function decodeInetDiag(buf: Buffer): SocketState {
  if (buf.length < INET_DIAG_MSG_SIZE) throw new Error(`inet_diag_msg needs ${INET_DIAG_MSG_SIZE} bytes, got ${buf.length}`);
  const familyNr = buf[0]!;
  const family = familyNr === 10 ? 'inet6' : 'inet';
  const tcpState = buf[1]!;
  const state = STATE_BY_NUMBER[tcpState] ?? 'UNKNOWN';
  const timerNr = buf[2]!;
  const retrans = buf[3]!;
  const addr = (off: number): string => (family === 'inet' ? ipv4(buf, off) : ipv6(buf, off));
  // struct inet_diag_msg: family state timer retrans | id: sport dport src[16] dst[16] if cookie[2] |
  // expires rqueue wqueue uid inode
  const cookie = (BigInt(buf.readUInt32LE(48)) << 32n) | BigInt(buf.readUInt32LE(44));
  const inode = buf.readUInt32LE(68);
  const s: SocketState = {
    family,
    state,
    tcpState,
    local: { address: addr(8), port: buf.readUInt16BE(4) },
    peer: { address: addr(24), port: buf.readUInt16BE(6) },
    recvQ: buf.readUInt32LE(56),
    sendQ: buf.readUInt32LE(60),
    uid: buf.readUInt32LE(64),
    inode,
    cookie: cookie.toString(16),
    timer: timerNr === 0 ? null : { kind: TIMER_KINDS[Math.min(timerNr, 5)]!, expiresMs: buf.readUInt32LE(52), retransmits: retrans },
    orphan: inode === 0 && ORPHAN_STATES.has(state),
    source: 'sock_diag',
  };
  let off = INET_DIAG_MSG_SIZE;
  while (off + 4 <= buf.length) {
    const len = buf.readUInt16LE(off);
    const type = buf.readUInt16LE(off + 2) & 0x3fff;
    if (len < 4 || off + len > buf.length) break;
    const data = buf.subarray(off + 4, off + len);
    switch (type) {
      case INET_DIAG_INFO: {
        const info = decodeTcpInfo(data);
        const fields: Record<string, number> = {};
        for (const [k, v] of Object.entries(info)) if (k !== 'raw' && k !== 'length') fields[k] = Number(v);
        s.tcpInfo = fields as TcpInfoFields;
        s.tcpInfoLength = info.length;
        break;
      }
      case INET_DIAG_CONG:
        s.cong = data.toString('latin1').replace(/\0.*$/s, '');
        break;
      case INET_DIAG_SKMEMINFO: {
        const m = decodeSoMeminfo(data);
        s.skmem = {
          r: m.SK_MEMINFO_RMEM_ALLOC, rb: m.SK_MEMINFO_RCVBUF, t: m.SK_MEMINFO_WMEM_ALLOC, tb: m.SK_MEMINFO_SNDBUF,
          f: m.SK_MEMINFO_FWD_ALLOC, w: m.SK_MEMINFO_WMEM_QUEUED, o: m.SK_MEMINFO_OPTMEM, bl: m.SK_MEMINFO_BACKLOG, d: m.SK_MEMINFO_DROPS,
        };
        break;
      }
      case INET_DIAG_SHUTDOWN:
        if (data.length >= 1) s.shutdown = { read: (data[0]! & 1) !== 0, write: (data[0]! & 2) !== 0 };
        break;
      case INET_DIAG_TOS:
        if (data.length >= 1) s.tos = data[0]!;
        break;
      case INET_DIAG_TCLASS:
        if (data.length >= 1) s.tclass = data[0]!;
        break;
      case INET_DIAG_SKV6ONLY:
        if (data.length >= 1) s.v6only = data[0] !== 0;
        break;
      case INET_DIAG_MARK:
        if (data.length >= 4) s.mark = data.readUInt32LE(0);
        break;
      case INET_DIAG_CGROUP_ID:
        if (data.length >= 8) s.cgroupId = Number(data.readBigUInt64LE(0));
        break;
      default:
        break;
    }
    off += (len + 3) & ~3;
  }
  return s;
}

const OPT_TS = 1;
const OPT_SACK = 2;
const OPT_WSCALE = 4;
const OPT_ECN = 8;
const OPT_ECN_SEEN = 16;
const OPT_SYN_DATA = 32;
const OPT_USEC_TS = 64;

function endpoint(e: SsSocket['local']): SocketAddress {
  // ss prints an IPv6 wildcard that also takes IPv4 as `*`: the kernel's `::`.
  return { address: e.address === '*' ? '::' : e.address, port: e.port ?? 0 };
}

/** The same record from ss's parsed output (what ss prints, in the kernel's units). */
export function socketStateFromSs(s: SsSocket): SocketState {
  const v6 = s.local.family === 'inet6' || s.local.family === 'any' || s.local.address.includes(':');
  const out: SocketState = {
    family: v6 ? 'inet6' : 'inet',
    state: s.state,
    tcpState: s.tcpState,
    local: endpoint(s.local),
    peer: endpoint(s.peer),
    recvQ: s.recvQ,
    sendQ: s.sendQ,
    uid: s.uid ?? 0,
    inode: s.ino ?? 0,
    cookie: s.sk ?? '',
    timer: s.timer
      ? {
        kind: (TIMER_KINDS as readonly string[]).includes(s.timer.kind) ? (s.timer.kind as SsTimerKind) : 'unknown',
        expiresMs: s.timer.expiresMs ?? 0,
        retransmits: s.timer.retransmits,
      }
      : null,
    orphan: s.orphan,
    source: 'ss',
  };
  if (s.shutdown) out.shutdown = { ...s.shutdown };
  if (s.skmem) {
    const m = s.skmem;
    out.skmem = { r: m.rmemAlloc, rb: m.rcvBuf, t: m.wmemAlloc, tb: m.sndBuf, f: m.fwdAlloc, w: m.wmemQueued, o: m.optmem, bl: m.backlog ?? 0, d: m.drops ?? 0 };
  }
  if (s.v6only !== undefined) out.v6only = s.v6only;
  if (s.fwmark !== undefined) out.mark = s.fwmark;
  const i = s.info;
  if (i) {
    if (i.congestion) out.cong = i.congestion;
    const t: Partial<TcpInfoFields> = {};
    const us = (ms: number | undefined): number | undefined => (ms === undefined ? undefined : Math.round(ms * 1000));
    const set = (k: keyof TcpInfoFields, v: number | undefined): void => {
      if (v !== undefined) t[k] = v;
    };
    set('tcpi_state', s.tcpState);
    set('tcpi_options', (i.ts ? OPT_TS : 0) | (i.sack ? OPT_SACK : 0) | (i.wscale ? OPT_WSCALE : 0) | (i.ecn ? OPT_ECN : 0) |
      (i.ecnseen ? OPT_ECN_SEEN : 0) | (i.fastopen ? OPT_SYN_DATA : 0) | (i.usecTs ? OPT_USEC_TS : 0));
    if (i.wscale) {
      set('tcpi_snd_wscale', i.wscale.snd);
      set('tcpi_rcv_wscale', i.wscale.rcv);
    }
    set('tcpi_rto', us(i.rtoMs));
    set('tcpi_backoff', i.backoff);
    set('tcpi_rtt', us(i.rttMs));
    set('tcpi_rttvar', us(i.rttVarMs));
    set('tcpi_ato', us(i.atoMs));
    set('tcpi_snd_mss', i.mss);
    set('tcpi_pmtu', i.pmtu);
    set('tcpi_rcv_mss', i.rcvMss);
    set('tcpi_advmss', i.advMss);
    set('tcpi_snd_cwnd', i.cwnd);
    set('tcpi_snd_ssthresh', i.ssthresh);
    set('tcpi_bytes_sent', i.bytesSent);
    set('tcpi_bytes_retrans', i.bytesRetrans);
    set('tcpi_bytes_acked', i.bytesAcked);
    set('tcpi_bytes_received', i.bytesReceived);
    set('tcpi_segs_out', i.segsOut);
    set('tcpi_segs_in', i.segsIn);
    set('tcpi_data_segs_out', i.dataSegsOut);
    set('tcpi_data_segs_in', i.dataSegsIn);
    set('tcpi_last_data_sent', i.lastSndMs);
    set('tcpi_last_data_recv', i.lastRcvMs);
    set('tcpi_last_ack_recv', i.lastAckMs);
    set('tcpi_pacing_rate', i.pacingRateBps === undefined ? undefined : i.pacingRateBps / 8);
    set('tcpi_max_pacing_rate', i.pacingRateMaxBps === undefined ? undefined : i.pacingRateMaxBps / 8);
    set('tcpi_delivery_rate', i.deliveryRateBps === undefined ? undefined : i.deliveryRateBps / 8);
    set('tcpi_delivered', i.delivered);
    set('tcpi_delivered_ce', i.deliveredCe);
    set('tcpi_delivery_rate_app_limited', i.appLimited ? 1 : 0);
    set('tcpi_busy_time', us(i.busyMs));
    set('tcpi_rwnd_limited', us(i.rwndLimitedMs));
    set('tcpi_sndbuf_limited', us(i.sndbufLimitedMs));
    set('tcpi_unacked', i.unacked);
    set('tcpi_retrans', i.retrans);
    set('tcpi_total_retrans', i.retransTotal);
    set('tcpi_lost', i.lost);
    set('tcpi_sacked', i.sacked);
    set('tcpi_dsack_dups', i.dsackDups);
    set('tcpi_fackets', i.fackets);
    set('tcpi_reordering', i.reordering);
    set('tcpi_reord_seen', i.reordSeen);
    set('tcpi_rcv_rtt', us(i.rcvRttMs));
    set('tcpi_rcv_space', i.rcvSpace);
    set('tcpi_rcv_ssthresh', i.rcvSsthresh);
    set('tcpi_notsent_bytes', i.notsent);
    set('tcpi_min_rtt', us(i.minRttMs));
    set('tcpi_rcv_ooopack', i.rcvOoopack);
    set('tcpi_snd_wnd', i.sndWnd);
    set('tcpi_rcv_wnd', i.rcvWnd);
    set('tcpi_rehash', i.rehash);
    // A listener's tcpi_sacked is its backlog limit, which ss does not print.
    if (s.state === 'LISTEN') delete t.tcpi_sacked;
    out.tcpInfo = t;
  }
  return out;
}

/** Fields that move with the clock alone (left out when telling whether a socket changed). */
export const CLOCK_DRIVEN_TCP_INFO: ReadonlySet<string> = new Set([
  'tcpi_last_data_sent', 'tcpi_last_ack_sent', 'tcpi_last_data_recv', 'tcpi_last_ack_recv',
  'tcpi_busy_time', 'tcpi_rwnd_limited', 'tcpi_sndbuf_limited', 'tcpi_total_rto_time',
]);

/** A key that changes when the socket's state changes, not when only time passes. */
export function stableKey(s: SocketState, tsMs: number, timerSlackMs = 12): string {
  const { timer, tcpInfo, ...rest } = s;
  const info = tcpInfo ? Object.entries(tcpInfo).filter(([k]) => !CLOCK_DRIVEN_TCP_INFO.has(k)) : null;
  // The timer's expiry as a time, on a grid coarser than its resolution.
  const timerKey = timer ? [timer.kind, timer.retransmits, Math.round((tsMs + timer.expiresMs) / (2 * timerSlackMs))] : null;
  return JSON.stringify([rest, info, timerKey]);
}

/** ss's print_ms_timer: `052ms`, `2.256sec`, `18sec`, `1min2sec`, `11min`, or '' when due. */
export function formatTimerMs(ms: number): string {
  if (ms <= 0) return '';
  const secs = Math.floor(ms / 1000);
  const msec = ms % 1000;
  const mins = Math.floor(secs / 60);
  const s = secs % 60;
  if (mins >= 10) return `${mins}min`;
  if (mins > 0) return s ? `${mins}min${s}sec` : `${mins}min`;
  if (secs >= 10) return `${secs}sec`;
  if (secs > 0) return msec ? `${secs}.${String(msec).padStart(3, '0')}sec` : `${secs}sec`;
  return `${String(msec).padStart(3, '0')}ms`;
}

function hostPort(a: SocketAddress, family: 'inet' | 'inet6'): string {
  const host = family === 'inet6' && a.address !== '*' ? `[${a.address}]` : a.address;
  return `${host}:${a.port === 0 ? '*' : a.port}`;
}

function msText(us: number | undefined): string | undefined {
  return us === undefined ? undefined : String(Math.round(us) / 1000);
}

/**
 * The socket as `ss -tinoem` prints it, on one line: state, queues,
 * addresses, timer, uid, inode, cookie, shutdown arrows, skmem, then the
 * tcp_info part. `brief` keeps what a backoff story needs.
 */
export function ssStyleLine(s: SocketState, brief = false): string {
  const p: string[] = [s.state, String(s.recvQ), String(s.sendQ), hostPort(s.local, s.family), hostPort(s.peer, s.family)];
  if (s.timer) p.push(`timer:(${s.timer.kind},${formatTimerMs(s.timer.expiresMs)},${s.timer.retransmits})`);
  if (!brief) {
    if (s.uid) p.push(`uid:${s.uid}`);
    p.push(`ino:${s.inode}`, `sk:${s.cookie}`);
    if (s.shutdown) p.push(`${s.shutdown.read ? '-' : '<'}-${s.shutdown.write ? '-' : '>'}`);
  }
  if (s.skmem) {
    const m = s.skmem;
    p.push(`skmem:(r${m.r},rb${m.rb},t${m.t},tb${m.tb},f${m.f},w${m.w},o${m.o},bl${m.bl},d${m.d})`);
  }
  const i = s.tcpInfo;
  if (i) {
    if (!brief && s.cong) p.push(s.cong);
    const rto = msText(i.tcpi_rto);
    if (rto !== undefined && i.tcpi_rto !== 0) p.push(`rto:${rto}`);
    p.push(`backoff:${i.tcpi_backoff ?? 0}`);
    if (!brief) {
      if (i.tcpi_rtt) p.push(`rtt:${msText(i.tcpi_rtt)}/${msText(i.tcpi_rttvar)}`);
      if (i.tcpi_snd_mss) p.push(`mss:${i.tcpi_snd_mss}`);
    }
    if (i.tcpi_snd_cwnd !== undefined) p.push(`cwnd:${i.tcpi_snd_cwnd}`);
    if (i.tcpi_snd_ssthresh !== undefined && i.tcpi_snd_ssthresh < 0xffff) p.push(`ssthresh:${i.tcpi_snd_ssthresh}`);
    if (!brief && i.tcpi_bytes_sent) p.push(`bytes_sent:${i.tcpi_bytes_sent}`);
    if (i.tcpi_unacked) p.push(`unacked:${i.tcpi_unacked}`);
    if (i.tcpi_retrans || i.tcpi_total_retrans) p.push(`retrans:${i.tcpi_retrans ?? 0}/${i.tcpi_total_retrans ?? 0}`);
  }
  if (s.orphan) p.push('orphan');
  return p.join(' ');
}
