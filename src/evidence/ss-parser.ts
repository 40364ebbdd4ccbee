/**
 * Parser for the TCP socket listings of `ss -tinoe` (iproute2 6.1, the
 * version Debian 12 ships; newer output is accepted too), with or without
 * `-H` (header line), `-a`, `-m` (skmem), `-p` (users) and `-O` (one line).
 *
 * Layout of one socket, as ss prints it when stdout is not a terminal:
 *
 *   STATE  RECV-Q SEND-Q  LOCAL:PORT  PEER:PORT  [users:(..)] [timer:(..)] [uid:N] ino:N sk:HEX [fwmark:0xN] [cgroup:PATH] [v6only:N] <->
 *   \t [skmem:(..)] ts sack ... (the -i line: tcp_info, one token per field)
 *
 * A line that begins with white space continues the socket above it. For
 * TIME-WAIT and SYN-RECV mini-sockets the kernel has no tcp_info, and the
 * continuation line is empty.
 *
 * ## Units
 * ss prints times in milliseconds (`rto:204`, `rtt:0.017/0.008`,
 * `lastsnd:312`, `busy:504ms`) and rates in bits per second (`send 681411765bps`,
 * with `-n` as plain integers, otherwise with k/M/G/T suffixes). Every field
 * below keeps those units and says so in its name: `...Ms` is milliseconds
 * (float where ss prints fractions), `...Bps` is bits per second.
 * Byte counters are JavaScript numbers (exact up to 2^53 bytes).
 *
 * ## Fields ss leaves out
 * ss prints most tcp_info counters only when they are non-zero. When a socket
 * has an info line, such counters are filled with 0 here (and `reordering`
 * with its default 3, which ss also omits), so a timeline has a value at every
 * sample. Fields that ss omits for other reasons stay `undefined`:
 * `rtoMs` (omitted when 0 or the initial 3000 ms), `ssthresh` (omitted while
 * "infinite", >= 65535), `minRttMs` (no sample yet), `rttMs`, `atoMs`, `mss`
 * and the other sizes when 0, the rates, `bbr`, `dctcp`.
 *
 * ## The timer field: `timer:(KIND,EXPIRES,RETRANS)`
 * KIND is `on` (retransmission, loss probe or reordering timer; also the
 * SYN-ACK timer of a SYN-RECV request), `keepalive`, `timewait`, `persist`
 * (zero-window probe), `unknown` (6.1 for any other kernel value) or, in newer
 * ss, `delack`. RETRANS is the kernel's icsk_retransmits (for TIME-WAIT 0,
 * for keepalive the probes sent, for persist the probes out).
 *
 * EXPIRES is iproute2's print_ms_timer() of the milliseconds left, which the
 * kernel clamps at 0 when the timer is due or overdue. That function splits
 * the value into minutes, seconds and milliseconds and prints:
 *
 *   left            6.1 prints      newer prints    resolution
 *   0               ""              ""              (due or overdue)
 *   1..999 ms       "052ms"         "052ms"         1 ms
 *   1.000..9.999 s  "2.256ms" !     "2.256sec"      1 ms   (the unit is seconds)
 *                   "2sec" when the ms part is 0
 *   10..59.999 s    "18sec"         "18sec"         1 s    (ms dropped)
 *   1..9.99 min     "1min2sec"      "1min2sec"      1 s    ("1min" when secs 0)
 *   >= 10 min       "11min"         "11min"         1 min  (secs dropped)
 *
 * So `timer:(on,2.256ms,3)` means 2.256 SECONDS in iproute2 6.1. All parts
 * are truncated, so the true time left lies in
 * [expiresMs, expiresMs + resolutionMs). An empty field gives
 * `expiresMs: null` (due now or overdue: the kernel's timer wheel may fire a
 * long timer late by up to 1/8 of its length).
 */

/** Socket state names as ss prints them. ss calls the kernel's TCP_CLOSE `UNCONN`. */
export type SsState =
  | 'ESTAB'
  | 'SYN-SENT'
  | 'SYN-RECV'
  | 'FIN-WAIT-1'
  | 'FIN-WAIT-2'
  | 'TIME-WAIT'
  | 'UNCONN'
  | 'CLOSE-WAIT'
  | 'LAST-ACK'
  | 'LISTEN'
  | 'CLOSING'
  | 'UNKNOWN';

/** Kernel TCP state number (TCP_ESTABLISHED = 1, ...) for each ss state name. */
export const TCP_STATE_NUMBER: Readonly<Record<SsState, number>> = {
  UNKNOWN: 0,
  ESTAB: 1,
  'SYN-SENT': 2,
  'SYN-RECV': 3,
  'FIN-WAIT-1': 4,
  'FIN-WAIT-2': 5,
  'TIME-WAIT': 6,
  UNCONN: 7,
  'CLOSE-WAIT': 8,
  'LAST-ACK': 9,
  LISTEN: 10,
  CLOSING: 11,
};

const STATE_ALIASES: Record<string, SsState> = { CLOSE: 'UNCONN', 'SYN-RECEIVED': 'SYN-RECV', ESTABLISHED: 'ESTAB' };

export interface SsEndpoint {
  /** As printed, e.g. `[fe80::1]%va:54298`, `0.0.0.0:*`, `*:8081`. */
  text: string;
  /**
   * Address without brackets and scope: `192.168.0.1`, `::1`,
   * `::ffff:127.0.0.1`, `::` (IPv6-only wildcard), `0.0.0.0`, or `*` (the
   * dual-stack wildcard of an IPv6 socket that also takes IPv4).
   */
  address: string;
  family: 'inet' | 'inet6' | 'any';
  /** Port number; null for `*` (no peer yet) or a service name. */
  port: number | null;
  /** Service name when ss printed one (without -n). */
  service?: string;
  /** Interface after `%` (socket bound to a device, link-local scope). */
  scope?: string;
  /** The IPv4 address inside an IPv4-mapped IPv6 address. */
  v4mapped?: string;
}

export type SsTimerKind = 'off' | 'on' | 'keepalive' | 'timewait' | 'persist' | 'delack' | 'unknown';

export interface SsTimer {
  /** As printed by ss; an unexpected name is kept as is. */
  kind: SsTimerKind | string;
  /** Milliseconds left (lower bound, see resolutionMs); null when ss printed nothing: due or overdue. */
  expiresMs: number | null;
  /** Width of the truncation: the true time left is in [expiresMs, expiresMs + resolutionMs). */
  resolutionMs: number;
  /** icsk_retransmits (probes for keepalive/persist). */
  retransmits: number;
  /** The field as printed, e.g. `(on,2.256ms,3)`. */
  text: string;
}

/** `skmem:(r0,rb131072,t0,tb69120,f3056,w13328,o0,bl0,d0)` (ss -m), bytes. */
export interface SsSkmem {
  rmemAlloc: number;
  rcvBuf: number;
  wmemAlloc: number;
  sndBuf: number;
  fwdAlloc: number;
  wmemQueued: number;
  optmem: number;
  backlog?: number;
  drops?: number;
}

export interface SsBbrInfo {
  /** Bottleneck bandwidth estimate, bits per second. */
  bwBps: number;
  /** Min RTT, ms. */
  minRttMs: number;
  pacingGain?: number;
  cwndGain?: number;
}

export interface SsDctcpInfo {
  ceState: number;
  alpha: number;
  abEcn: number;
  abTot: number;
}

/** The -i line: one socket's tcp_info as ss prints it. */
export interface SsTcpInfo {
  /** Negotiated options: ts, sack, ecn, ecnseen, fastopen (SYN data acked), usec_ts. */
  ts: boolean;
  sack: boolean;
  ecn: boolean;
  ecnseen: boolean;
  fastopen: boolean;
  usecTs: boolean;
  /** Congestion control algorithm (bbr, cubic, reno, dctcp, ...). */
  congestion?: string;
  /** Window scale shifts (absent when not negotiated). */
  wscale?: { snd: number; rcv: number };
  /** Retransmission timeout, ms (ss omits 0 and the initial 3000 ms). */
  rtoMs?: number;
  /** icsk_backoff: exponential backoff of the RTO. */
  backoff: number;
  /** Smoothed RTT and its variance, ms. */
  rttMs?: number;
  rttVarMs?: number;
  /** Delayed-ACK timeout, ms. */
  atoMs?: number;
  qack?: number;
  bidir: boolean;
  mss?: number;
  pmtu?: number;
  rcvMss?: number;
  advMss?: number;
  cwnd?: number;
  /** Slow-start threshold; undefined while infinite. */
  ssthresh?: number;
  bytesSent: number;
  bytesRetrans: number;
  bytesAcked: number;
  bytesReceived: number;
  segsOut: number;
  segsIn: number;
  dataSegsOut: number;
  dataSegsIn: number;
  dctcp?: SsDctcpInfo | 'fallback_mode';
  bbr?: SsBbrInfo;
  /** cwnd * mss * 8 / rtt, bits per second. */
  sendBps?: number;
  /** Time since the last data sent / data received / ACK received, ms. */
  lastSndMs: number;
  lastRcvMs: number;
  lastAckMs: number;
  pacingRateBps?: number;
  pacingRateMaxBps?: number;
  deliveryRateBps?: number;
  delivered: number;
  deliveredCe: number;
  appLimited: boolean;
  /** Time busy sending, limited by the receive window, limited by the send buffer, ms. */
  busyMs: number;
  rwndLimitedMs: number;
  sndbufLimitedMs: number;
  unacked: number;
  /** retrans:CUR/TOTAL — tcpi_retrans (segments now retransmitted, not yet acked) / tcpi_total_retrans. */
  retrans: number;
  retransTotal: number;
  lost: number;
  sacked: number;
  dsackDups: number;
  fackets: number;
  reordering: number;
  reordSeen: number;
  /** Receiver-side RTT estimate, ms. */
  rcvRttMs?: number;
  rcvSpace: number;
  rcvSsthresh: number;
  /** Bytes not yet sent (tcpi_notsent_bytes). */
  notsent: number;
  minRttMs?: number;
  rcvOoopack: number;
  /** Peer's advertised window, bytes. */
  sndWnd: number;
  /** Own advertised window, bytes (newer ss only). */
  rcvWnd?: number;
  rehash?: number;
  md5keys?: string;
  /** Upper-layer protocol (tcp-ulp-tls, tcp-ulp-mptcp). */
  ulp?: string;
}

export interface SsSocket {
  state: SsState;
  /** Kernel TCP state number of `state`. */
  tcpState: number;
  /** Netid column (`tcp`, `mptcp`) when ss printed one. */
  netid?: string;
  recvQ: number;
  sendQ: number;
  local: SsEndpoint;
  peer: SsEndpoint;
  /** `users:(...)` contents (ss -p). */
  users?: string;
  timer?: SsTimer;
  /** Owner uid. ss omits uid 0, so with -e details (ino present) a missing uid is 0. */
  uid?: number;
  /** Socket inode; 0 for sockets without a file (orphans, unaccepted children, mini-sockets). */
  ino?: number;
  /** Socket cookie, hex as printed (`sk:2e`). */
  sk?: string;
  fwmark?: number;
  cgroup?: string;
  v6only?: boolean;
  /** From `<->` / `-->` / `<--` / `---`: receive side shut down, send side shut down. */
  shutdown?: { read: boolean; write: boolean };
  /**
   * Closed by its owner but still in the kernel: no inode and a state only
   * a close() leads to (FIN-WAIT-1, FIN-WAIT-2, CLOSING, LAST-ACK).
   */
  orphan: boolean;
  skmem?: SsSkmem;
  /** ss -m on kernels without skmem: `mem:(r,w,f,t)`. */
  mem?: { r: number; w: number; f: number; t: number };
  /** tcp_info fields; undefined when the kernel gave none (TIME-WAIT, SYN-RECV). */
  info?: SsTcpInfo;
  /** Tokens this parser does not know, by name (value '' for a bare word). Never dropped. */
  extra: Record<string, string>;
  /** The socket's lines exactly as read (only with `keepRaw`). */
  raw?: string;
}

export interface ParseOptions {
  /** Keep each socket's text in `raw`. */
  keepRaw?: boolean;
  /**
   * State of sockets printed without a State column: ss drops that column
   * when its filter selects a single state (`ss -t state established`).
   * Default 'UNKNOWN'.
   */
  defaultState?: SsState;
}

export class SsParseError extends Error {
  constructor(message: string, readonly line: number, readonly text: string) {
    super(`ss output line ${line}: ${message}: ${JSON.stringify(text.length > 200 ? text.slice(0, 200) + '...' : text)}`);
    this.name = 'SsParseError';
  }
}

const STATES = new Set<string>(Object.keys(TCP_STATE_NUMBER));
const ORPHAN_STATES = new Set<SsState>(['FIN-WAIT-1', 'FIN-WAIT-2', 'CLOSING', 'LAST-ACK']);
const OPTION_FLAGS: Record<string, keyof SsTcpInfo> = {
  ts: 'ts',
  sack: 'sack',
  ecn: 'ecn',
  ecnseen: 'ecnseen',
  fastopen: 'fastopen',
  usec_ts: 'usecTs',
};
const SHUTDOWN_MARKS: Record<string, { read: boolean; write: boolean }> = {
  '<->': { read: false, write: false },
  '-->': { read: true, write: false },
  '<--': { read: false, write: true },
  '---': { read: true, write: true },
};
/** Tokens whose value is the next token: `send 123bps`. */
const SPACED_KEYS = new Set(['send', 'pacing_rate', 'delivery_rate']);

/** info fields that ss omits when zero, and their value then. */
function infoDefaults(): SsTcpInfo {
  return {
    ts: false,
    sack: false,
    ecn: false,
    ecnseen: false,
    fastopen: false,
    usecTs: false,
    backoff: 0,
    bidir: false,
    bytesSent: 0,
    bytesRetrans: 0,
    bytesAcked: 0,
    bytesReceived: 0,
    segsOut: 0,
    segsIn: 0,
    dataSegsOut: 0,
    dataSegsIn: 0,
    lastSndMs: 0,
    lastRcvMs: 0,
    lastAckMs: 0,
    delivered: 0,
    deliveredCe: 0,
    appLimited: false,
    busyMs: 0,
    rwndLimitedMs: 0,
    sndbufLimitedMs: 0,
    unacked: 0,
    retrans: 0,
    retransTotal: 0,
    lost: 0,
    sacked: 0,
    dsackDups: 0,
    fackets: 0,
    reordering: 3,
    reordSeen: 0,
    rcvSpace: 0,
    rcvSsthresh: 0,
    notsent: 0,
    rcvOoopack: 0,
    sndWnd: 0,
  };
}

/** Integer keys of the info line and the field each one fills. */
const INFO_INTS: Record<string, keyof SsTcpInfo> = {
  backoff: 'backoff',
  qack: 'qack',
  mss: 'mss',
  pmtu: 'pmtu',
  rcvmss: 'rcvMss',
  advmss: 'advMss',
  cwnd: 'cwnd',
  ssthresh: 'ssthresh',
  bytes_sent: 'bytesSent',
  bytes_retrans: 'bytesRetrans',
  bytes_acked: 'bytesAcked',
  bytes_received: 'bytesReceived',
  segs_out: 'segsOut',
  segs_in: 'segsIn',
  data_segs_out: 'dataSegsOut',
  data_segs_in: 'dataSegsIn',
  lastsnd: 'lastSndMs',
  lastrcv: 'lastRcvMs',
  lastack: 'lastAckMs',
  delivered: 'delivered',
  delivered_ce: 'deliveredCe',
  unacked: 'unacked',
  lost: 'lost',
  sacked: 'sacked',
  dsack_dups: 'dsackDups',
  fackets: 'fackets',
  reordering: 'reordering',
  reord_seen: 'reordSeen',
  rcv_space: 'rcvSpace',
  rcv_ssthresh: 'rcvSsthresh',
  notsent: 'notsent',
  rcv_ooopack: 'rcvOoopack',
  snd_wnd: 'sndWnd',
  rcv_wnd: 'rcvWnd',
  rehash: 'rehash',
};
/** Millisecond keys printed with %g. */
const INFO_FLOATS: Record<string, keyof SsTcpInfo> = {
  rto: 'rtoMs',
  ato: 'atoMs',
  rcv_rtt: 'rcvRttMs',
  minrtt: 'minRttMs',
};

/**
 * Parse a timer expiry as printed by iproute2's print_ms_timer(): see the
 * table at the top of this file. Returns null for the empty field.
 */
export function parseSsTimerValue(text: string): { ms: number; resolutionMs: number } | null {
  if (text === '') return null;
  const m = /^(?:(\d+)min)?(?:(\d+)(sec|\.))?(?:(\d+)(ms|sec))?$/.exec(text);
  if (!m || (m[1] === undefined && m[2] === undefined && m[4] === undefined)) {
    throw new Error(`unrecognised timer value ${JSON.stringify(text)}`);
  }
  const minutes = m[1] !== undefined ? Number(m[1]) : 0;
  const secs = m[2] !== undefined ? Number(m[2]) : 0;
  const msecs = m[4] !== undefined ? Number(m[4]) : 0;
  if (m[3] === '.' && m[4] === undefined) throw new Error(`unrecognised timer value ${JSON.stringify(text)}`);
  let resolutionMs = 1;
  if (minutes > 9) resolutionMs = 60_000;
  else if (minutes > 0 || secs > 9) resolutionMs = 1000;
  return { ms: minutes * 60_000 + secs * 1000 + msecs, resolutionMs };
}

function parseTimer(inner: string): SsTimer {
  const parts = inner.split(',');
  if (parts.length !== 3) throw new Error(`timer field ${JSON.stringify(inner)} does not have 3 parts`);
  const v = parseSsTimerValue(parts[1]!);
  const retransmits = Number(parts[2]);
  if (!Number.isInteger(retransmits)) throw new Error(`timer retransmit count ${JSON.stringify(parts[2])} is not a number`);
  return {
    kind: parts[0]!,
    expiresMs: v ? v.ms : null,
    resolutionMs: v ? v.resolutionMs : 1,
    retransmits,
    text: `(${inner})`,
  };
}

/** Parse `681411765bps`, `1.2Mbps`, `32768000000bps` into bits per second. */
export function parseSsRate(text: string): number {
  const m = /^([0-9.]+(?:e[+-]?\d+)?)([kMGT]?)bps$/.exec(text);
  if (!m) throw new Error(`unrecognised rate ${JSON.stringify(text)}`);
  const scale = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }[m[2] as '' | 'k' | 'M' | 'G' | 'T'];
  return Number(m[1]) * scale;
}

function num(text: string, what: string): number {
  if (!/^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text)) throw new Error(`${what} value ${JSON.stringify(text)} is not a number`);
  return Number(text);
}

function int(text: string, what: string): number {
  if (!/^\d+$/.test(text)) throw new Error(`${what} value ${JSON.stringify(text)} is not an integer`);
  return Number(text);
}

/** Parse an address:port column. */
export function parseSsEndpoint(text: string): SsEndpoint {
  const colon = text.lastIndexOf(':');
  if (colon <= 0) throw new Error(`address ${JSON.stringify(text)} has no port`);
  let addr = text.slice(0, colon);
  const portText = text.slice(colon + 1);
  const ep: SsEndpoint = { text, address: '', family: 'inet', port: null };
  if (portText !== '*') {
    if (/^\d+$/.test(portText)) ep.port = Number(portText);
    else ep.service = portText;
  }
  const pct = addr.lastIndexOf('%');
  if (pct > 0 && (addr.startsWith('[') ? pct > addr.indexOf(']') : true)) {
    ep.scope = addr.slice(pct + 1);
    addr = addr.slice(0, pct);
  }
  if (addr.startsWith('[') && addr.endsWith(']')) addr = addr.slice(1, -1);
  ep.address = addr;
  if (addr === '*') ep.family = 'any';
  else if (addr.includes(':')) {
    ep.family = 'inet6';
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr);
    if (mapped) ep.v4mapped = mapped[1]!;
  }
  return ep;
}

/** Split on white space outside parentheses and double quotes. */
function tokenize(text: string): string[] {
  const t = text.trim();
  if (t === '') return [];
  const words = t.split(/\s+/);
  if (!/[()"]/.test(t)) return words;
  // Re-join words that white space split inside (...) or "..." (users:(("a b",pid=1,fd=3))).
  const out: string[] = [];
  let cur: string | null = null;
  let depth = 0;
  let quoted = false;
  for (const w of words) {
    cur = cur === null ? w : `${cur} ${w}`;
    if (/[()"]/.test(w)) {
      for (let i = 0; i < w.length; i++) {
        const c = w[i];
        if (quoted) {
          if (c === '\\') i++;
          else if (c === '"') quoted = false;
        } else if (c === '"') quoted = true;
        else if (c === '(') depth++;
        else if (c === ')' && depth > 0) depth--;
      }
    }
    if (depth === 0 && !quoted) {
      out.push(cur);
      cur = null;
    }
  }
  if (cur !== null) out.push(cur);
  return out;
}

function parseParenList(inner: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of inner.split(',')) {
    const m = /^([a-z_]+)(.*)$/i.exec(part);
    if (m) out.set(m[1]!, m[2]!.startsWith(':') ? m[2]!.slice(1) : m[2]!);
  }
  return out;
}

function parseSkmem(inner: string): SsSkmem {
  const f = parseParenList(inner);
  const get = (k: string): number => int(f.get(k) ?? '', `skmem ${k}`);
  const s: SsSkmem = {
    rmemAlloc: get('r'),
    rcvBuf: get('rb'),
    wmemAlloc: get('t'),
    sndBuf: get('tb'),
    fwdAlloc: get('f'),
    wmemQueued: get('w'),
    optmem: get('o'),
  };
  if (f.has('bl')) s.backlog = get('bl');
  if (f.has('d')) s.drops = get('d');
  return s;
}

function addExtra(extra: Record<string, string>, key: string, value: string): void {
  extra[key] = key in extra ? `${extra[key]} ${value}` : value;
}

function parseSocket(lines: string[], opts: ParseOptions): SsSocket {
  const main = tokenize(lines[0]!);
  let i = 0;
  let netid: string | undefined;
  const stateOf = (t: string | undefined): SsState | undefined => {
    if (t === undefined) return undefined;
    if (STATES.has(t)) return t as SsState;
    return STATE_ALIASES[t];
  };
  const isInt = (t: string | undefined): boolean => t !== undefined && /^\d+$/.test(t);
  if (stateOf(main[0]) === undefined && (stateOf(main[1]) !== undefined || (!isInt(main[0]) && isInt(main[1])))) {
    netid = main[i++];
  }
  let state = stateOf(main[i]);
  if (state !== undefined) i++;
  else if (isInt(main[i]) && isInt(main[i + 1])) state = opts.defaultState ?? 'UNKNOWN';
  else throw new Error(`unknown socket state ${JSON.stringify(main[i] ?? '')}`);
  if (main.length < i + 4) throw new Error('too few columns');
  const recvQ = int(main[i++]!, 'Recv-Q');
  const sendQ = int(main[i++]!, 'Send-Q');
  const local = parseSsEndpoint(main[i++]!);
  const peer = parseSsEndpoint(main[i++]!);

  const sock: SsSocket = {
    state,
    tcpState: TCP_STATE_NUMBER[state],
    recvQ,
    sendQ,
    local,
    peer,
    orphan: false,
    extra: {},
  };
  if (netid !== undefined) sock.netid = netid;

  const rest = main.slice(i);
  let infoTokens: string[] = [];
  for (const l of lines.slice(1)) infoTokens = infoTokens.concat(tokenize(l));
  const info = infoDefaults();
  let sawInfo = false;
  const all = rest.concat(infoTokens);
  for (let k = 0; k < all.length; k++) {
    const tok = all[k]!;
    const colon = tok.indexOf(':');
    const key = colon > 0 ? tok.slice(0, colon) : tok;
    const value = colon > 0 ? tok.slice(colon + 1) : '';
    const paren = value.startsWith('(') && value.endsWith(')') ? value.slice(1, -1) : null;

    if (SHUTDOWN_MARKS[tok]) {
      sock.shutdown = { ...SHUTDOWN_MARKS[tok]! };
      continue;
    }
    if (colon < 0) {
      if (tok in OPTION_FLAGS) {
        (info as unknown as Record<string, unknown>)[OPTION_FLAGS[tok]!] = true;
        sawInfo = true;
      } else if (tok === 'app_limited') {
        info.appLimited = true;
        sawInfo = true;
      } else if (tok === 'bidir') {
        info.bidir = true;
        sawInfo = true;
      } else if (SPACED_KEYS.has(tok) && k + 1 < all.length) {
        const v = all[++k]!;
        sawInfo = true;
        if (tok === 'send') info.sendBps = parseSsRate(v);
        else if (tok === 'delivery_rate') info.deliveryRateBps = parseSsRate(v);
        else {
          const [cur, max] = v.split('/');
          info.pacingRateBps = parseSsRate(cur!);
          if (max !== undefined) info.pacingRateMaxBps = parseSsRate(max);
        }
      } else if (tok.startsWith('tcp-ulp-')) {
        info.ulp = tok.slice('tcp-ulp-'.length);
      } else if (info.congestion === undefined && /^[a-z][a-z0-9_]*$/.test(tok)) {
        info.congestion = tok;
        sawInfo = true;
      } else {
        addExtra(sock.extra, tok, '');
      }
      continue;
    }

    switch (key) {
      case 'users':
        sock.users = paren ?? value;
        continue;
      case 'timer':
        if (paren === null) throw new Error(`timer field ${JSON.stringify(tok)} has no parentheses`);
        sock.timer = parseTimer(paren);
        continue;
      case 'uid':
        sock.uid = int(value, 'uid');
        continue;
      case 'ino':
        sock.ino = int(value, 'ino');
        continue;
      case 'sk':
        sock.sk = value;
        continue;
      case 'fwmark':
        sock.fwmark = Number(value);
        continue;
      case 'cgroup':
        sock.cgroup = value;
        continue;
      case 'v6only':
        sock.v6only = value === '1';
        continue;
      case 'skmem':
        if (paren === null) break;
        sock.skmem = parseSkmem(paren);
        continue;
      case 'mem': {
        if (paren === null) break;
        const f = parseParenList(paren);
        sock.mem = { r: int(f.get('r') ?? '', 'mem r'), w: int(f.get('w') ?? '', 'mem w'), f: int(f.get('f') ?? '', 'mem f'), t: int(f.get('t') ?? '', 'mem t') };
        continue;
      }
      case 'wscale': {
        const [s, r] = value.split(',');
        info.wscale = { snd: int(s ?? '', 'wscale'), rcv: int(r ?? '', 'wscale') };
        sawInfo = true;
        continue;
      }
      case 'rtt': {
        const [avg, v] = value.split('/');
        info.rttMs = num(avg ?? '', 'rtt');
        if (v !== undefined) info.rttVarMs = num(v, 'rtt variance');
        sawInfo = true;
        continue;
      }
      case 'retrans': {
        const [cur, total] = value.split('/');
        info.retrans = int(cur ?? '', 'retrans');
        info.retransTotal = int(total ?? '', 'retrans total');
        sawInfo = true;
        continue;
      }
      case 'busy':
        info.busyMs = num(value.replace(/ms$/, ''), 'busy');
        sawInfo = true;
        continue;
      case 'rwnd_limited':
      case 'sndbuf_limited': {
        const m = /^([0-9.]+)ms(?:\(([0-9.]+)%\))?$/.exec(value);
        if (!m) throw new Error(`${key} value ${JSON.stringify(value)} is not N ms(P%)`);
        if (key === 'rwnd_limited') info.rwndLimitedMs = Number(m[1]);
        else info.sndbufLimitedMs = Number(m[1]);
        sawInfo = true;
        continue;
      }
      case 'bbr': {
        if (paren === null) break;
        const f = parseParenList(paren);
        const bbr: SsBbrInfo = { bwBps: parseSsRate(f.get('bw') ?? ''), minRttMs: num(f.get('mrtt') ?? '', 'bbr mrtt') };
        if (f.has('pacing_gain')) bbr.pacingGain = num(f.get('pacing_gain')!, 'bbr pacing_gain');
        if (f.has('cwnd_gain')) bbr.cwndGain = num(f.get('cwnd_gain')!, 'bbr cwnd_gain');
        info.bbr = bbr;
        sawInfo = true;
        continue;
      }
      case 'dctcp': {
        sawInfo = true;
        if (value === 'fallback_mode') {
          info.dctcp = 'fallback_mode';
          continue;
        }
        if (paren === null) break;
        const f = parseParenList(paren);
        info.dctcp = {
          ceState: int(f.get('ce_state') ?? '', 'dctcp ce_state'),
          alpha: int(f.get('alpha') ?? '', 'dctcp alpha'),
          abEcn: int(f.get('ab_ecn') ?? '', 'dctcp ab_ecn'),
          abTot: int(f.get('ab_tot') ?? '', 'dctcp ab_tot'),
        };
        continue;
      }
      case 'md5keys':
        info.md5keys = value;
        continue;
      default:
        break;
    }
    if (key in INFO_FLOATS && value !== '') {
      (info as unknown as Record<string, number>)[INFO_FLOATS[key]!] = num(value, key);
      sawInfo = true;
      continue;
    }
    if (key in INFO_INTS && /^\d+$/.test(value)) {
      (info as unknown as Record<string, number>)[INFO_INTS[key]!] = Number(value);
      sawInfo = true;
      continue;
    }
    addExtra(sock.extra, key, value);
  }

  if (sawInfo) sock.info = info;
  if (sock.ino !== undefined && sock.uid === undefined) sock.uid = 0;
  sock.orphan = sock.ino === 0 && ORPHAN_STATES.has(state);
  if (opts.keepRaw) sock.raw = lines.join('\n');
  return sock;
}

function isHeader(line: string): boolean {
  return /^(Netid\s+)?(State\s+)?Recv-Q\s+Send-Q\b/.test(line);
}

/**
 * Parse a whole `ss -tinoe[H]` listing into one record per socket.
 * Throws SsParseError naming the line when a socket cannot be read.
 */
export function parseSs(text: string, opts: ParseOptions = {}): SsSocket[] {
  const lines = text.split('\n');
  const out: SsSocket[] = [];
  let cur: string[] | null = null;
  let curLine = 0;
  const flush = (): void => {
    if (!cur) return;
    try {
      out.push(parseSocket(cur, opts));
    } catch (e) {
      throw new SsParseError((e as Error).message, curLine, cur.join('\n'));
    }
    cur = null;
  };
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.replace(/\r$/, '');
    if (line.trim() === '') {
      if (cur && line !== '') cur.push(line);
      continue;
    }
    if (/^\s/.test(line)) {
      if (!cur) throw new SsParseError('continuation line without a socket line before it', n + 1, line);
      cur.push(line);
      continue;
    }
    if (isHeader(line)) continue;
    flush();
    cur = [line];
    curLine = n + 1;
  }
  flush();
  return out;
}
