/**
 * Linux `struct tcp_info` (getsockopt(SOL_TCP, TCP_INFO)), TCP_CC_INFO and
 * SO_MEMINFO decoding, and the Python assignments packetdrill feeds to the
 * code command of `%{ }%` blocks.
 *
 * ## Layout (little-endian, offsets in bytes)
 *   0 u8 tcpi_state  1 tcpi_ca_state  2 tcpi_retransmits  3 tcpi_probes
 *   4 tcpi_backoff   5 tcpi_options
 *   6 bits 0-3 tcpi_snd_wscale, bits 4-7 tcpi_rcv_wscale
 *   7 bit 0 tcpi_delivery_rate_app_limited, bits 1-2 tcpi_fastopen_client_fail
 *   8.. u32: rto ato snd_mss rcv_mss unacked sacked lost retrans fackets
 *         last_data_sent last_ack_sent last_data_recv last_ack_recv pmtu
 *         rcv_ssthresh rtt rttvar snd_ssthresh snd_cwnd advmss reordering
 *         rcv_rtt rcv_space total_retrans                         (to 104)
 *  104 u64: pacing_rate max_pacing_rate bytes_acked bytes_received
 *  136 u32: segs_out segs_in notsent_bytes min_rtt data_segs_in data_segs_out
 *  160 u64: delivery_rate busy_time rwnd_limited sndbuf_limited
 *  192 u32: delivered delivered_ce
 *  200 u64: bytes_sent bytes_retrans
 *  216 u32: dsack_dups reord_seen rcv_ooopack snd_wnd rcv_wnd rehash
 *  240 u16: total_rto total_rto_recoveries
 *  244 u32: total_rto_time received_ce delivered_e1_bytes delivered_e0_bytes
 *           delivered_ce_bytes received_e1_bytes received_e0_bytes
 *           received_ce_bytes
 *  276 u32 bits: ecn_mode:2 accecn_opt_seen:2 accecn_fail_mode:4 options2:24
 *  280 end (kernel 6.18 returns 280 bytes; Debian 12's uapi header stops at
 *      tcpi_snd_wnd, 232 bytes).
 *
 * The word at 276 is decoded the way packetdrill and the current upstream
 * header declare it. Kernel 6.18 itself fills it as two u16
 * (tcpi_accecn_fail_mode, tcpi_accecn_opt_seen), both 0 unless AccECN is
 * negotiated; `raw` keeps the bytes for anyone who needs that reading.
 *
 * Decoding goes by the length the kernel returned: a field that does not
 * fit entirely in it reads 0 (as packetdrill and ss, which zero-fill), bytes
 * past 280 (newer kernels) stay in `raw`.
 *
 * Units (kernel's): tcpi_rto, ato, rtt, rttvar, rcv_rtt, min_rtt in µs;
 * last_data_sent, last_ack_sent, last_data_recv, last_ack_recv and
 * total_rto_time in ms; busy_time, rwnd_limited, sndbuf_limited in µs;
 * pacing_rate, max_pacing_rate, delivery_rate in bytes/s; snd_wnd, rcv_wnd in
 * bytes. 64-bit fields are bigints (pacing_rate is 2^64-1 when unlimited).
 */

/** Field names of packetdrill's %{ }% environment, in the order its code.c emits them. */
export const PYTHON_TCP_INFO_FIELDS = [
  'tcpi_state',
  'tcpi_ca_state',
  'tcpi_retransmits',
  'tcpi_probes',
  'tcpi_backoff',
  'tcpi_options',
  'tcpi_snd_wscale',
  'tcpi_rcv_wscale',
  'tcpi_delivery_rate_app_limited',
  'tcpi_rto',
  'tcpi_ato',
  'tcpi_snd_mss',
  'tcpi_rcv_mss',
  'tcpi_unacked',
  'tcpi_sacked',
  'tcpi_lost',
  'tcpi_retrans',
  'tcpi_fackets',
  'tcpi_last_data_sent',
  'tcpi_last_ack_sent',
  'tcpi_last_data_recv',
  'tcpi_last_ack_recv',
  'tcpi_pmtu',
  'tcpi_rcv_ssthresh',
  'tcpi_rtt',
  'tcpi_rttvar',
  'tcpi_snd_ssthresh',
  'tcpi_snd_cwnd',
  'tcpi_advmss',
  'tcpi_reordering',
  'tcpi_total_retrans',
  'tcpi_pacing_rate',
  'tcpi_max_pacing_rate',
  'tcpi_rcv_rtt',
  'tcpi_rcv_space',
  'tcpi_bytes_acked',
  'tcpi_bytes_received',
  'tcpi_segs_out',
  'tcpi_segs_in',
  'tcpi_notsent_bytes',
  'tcpi_min_rtt',
  'tcpi_data_segs_in',
  'tcpi_data_segs_out',
  'tcpi_delivery_rate',
  'tcpi_busy_time',
  'tcpi_rwnd_limited',
  'tcpi_sndbuf_limited',
  'tcpi_delivered',
  'tcpi_delivered_ce',
  'tcpi_bytes_sent',
  'tcpi_bytes_retrans',
  'tcpi_dsack_dups',
  'tcpi_reord_seen',
  'tcpi_rcv_ooopack',
  'tcpi_snd_wnd',
  'tcpi_rcv_wnd',
  'tcpi_rehash',
  'tcpi_total_rto',
  'tcpi_total_rto_recoveries',
  'tcpi_total_rto_time',
  'tcpi_ecn_mode',
  'tcpi_accecn_opt_seen',
  'tcpi_accecn_fail_mode',
  'tcpi_options2',
  'tcpi_received_ce',
  'tcpi_delivered_e1_bytes',
  'tcpi_delivered_e0_bytes',
  'tcpi_delivered_ce_bytes',
  'tcpi_received_e1_bytes',
  'tcpi_received_e0_bytes',
  'tcpi_received_ce_bytes',
] as const;

type Kind = 'u8' | 'u16' | 'u32' | 'u64';
interface FieldSpec {
  name: string;
  offset: number;
  kind: Kind;
  /** Bit position and width inside the unit, for bitfields. */
  bits?: [number, number];
}

const SIZE: Record<Kind, number> = { u8: 1, u16: 2, u32: 4, u64: 8 };

function layout(): FieldSpec[] {
  const f: FieldSpec[] = [];
  let off = 0;
  const run = (kind: Kind, names: string[]): void => {
    for (const name of names) {
      f.push({ name, offset: off, kind });
      off += SIZE[kind];
    }
  };
  run('u8', ['tcpi_state', 'tcpi_ca_state', 'tcpi_retransmits', 'tcpi_probes', 'tcpi_backoff', 'tcpi_options']);
  f.push({ name: 'tcpi_snd_wscale', offset: 6, kind: 'u8', bits: [0, 4] });
  f.push({ name: 'tcpi_rcv_wscale', offset: 6, kind: 'u8', bits: [4, 4] });
  f.push({ name: 'tcpi_delivery_rate_app_limited', offset: 7, kind: 'u8', bits: [0, 1] });
  f.push({ name: 'tcpi_fastopen_client_fail', offset: 7, kind: 'u8', bits: [1, 2] });
  off = 8;
  run('u32', [
    'tcpi_rto', 'tcpi_ato', 'tcpi_snd_mss', 'tcpi_rcv_mss',
    'tcpi_unacked', 'tcpi_sacked', 'tcpi_lost', 'tcpi_retrans', 'tcpi_fackets',
    'tcpi_last_data_sent', 'tcpi_last_ack_sent', 'tcpi_last_data_recv', 'tcpi_last_ack_recv',
    'tcpi_pmtu', 'tcpi_rcv_ssthresh', 'tcpi_rtt', 'tcpi_rttvar', 'tcpi_snd_ssthresh',
    'tcpi_snd_cwnd', 'tcpi_advmss', 'tcpi_reordering',
    'tcpi_rcv_rtt', 'tcpi_rcv_space', 'tcpi_total_retrans',
  ]);
  run('u64', ['tcpi_pacing_rate', 'tcpi_max_pacing_rate', 'tcpi_bytes_acked', 'tcpi_bytes_received']);
  run('u32', ['tcpi_segs_out', 'tcpi_segs_in', 'tcpi_notsent_bytes', 'tcpi_min_rtt', 'tcpi_data_segs_in', 'tcpi_data_segs_out']);
  run('u64', ['tcpi_delivery_rate', 'tcpi_busy_time', 'tcpi_rwnd_limited', 'tcpi_sndbuf_limited']);
  run('u32', ['tcpi_delivered', 'tcpi_delivered_ce']);
  run('u64', ['tcpi_bytes_sent', 'tcpi_bytes_retrans']);
  run('u32', ['tcpi_dsack_dups', 'tcpi_reord_seen', 'tcpi_rcv_ooopack', 'tcpi_snd_wnd', 'tcpi_rcv_wnd', 'tcpi_rehash']);
  run('u16', ['tcpi_total_rto', 'tcpi_total_rto_recoveries']);
  run('u32', [
    'tcpi_total_rto_time', 'tcpi_received_ce',
    'tcpi_delivered_e1_bytes', 'tcpi_delivered_e0_bytes', 'tcpi_delivered_ce_bytes',
    'tcpi_received_e1_bytes', 'tcpi_received_e0_bytes', 'tcpi_received_ce_bytes',
  ]);
  f.push({ name: 'tcpi_ecn_mode', offset: off, kind: 'u32', bits: [0, 2] });
  f.push({ name: 'tcpi_accecn_opt_seen', offset: off, kind: 'u32', bits: [2, 2] });
  f.push({ name: 'tcpi_accecn_fail_mode', offset: off, kind: 'u32', bits: [4, 4] });
  f.push({ name: 'tcpi_options2', offset: off, kind: 'u32', bits: [8, 24] });
  return f;
}

/** Every decoded field with its byte offset, type and bit range. */
export const TCP_INFO_LAYOUT: readonly Readonly<FieldSpec>[] = layout();

/** Size of the struct this module knows (kernel 6.18). */
export const TCP_INFO_SIZE = 280;

export interface TcpInfo {
  /** Bytes the kernel returned. */
  length: number;
  /** Those bytes, as returned. */
  raw: Buffer;
  tcpi_state: number;
  tcpi_ca_state: number;
  tcpi_retransmits: number;
  tcpi_probes: number;
  tcpi_backoff: number;
  tcpi_options: number;
  tcpi_snd_wscale: number;
  tcpi_rcv_wscale: number;
  tcpi_delivery_rate_app_limited: number;
  tcpi_fastopen_client_fail: number;
  /** µs */
  tcpi_rto: number;
  /** µs */
  tcpi_ato: number;
  tcpi_snd_mss: number;
  tcpi_rcv_mss: number;
  tcpi_unacked: number;
  tcpi_sacked: number;
  tcpi_lost: number;
  tcpi_retrans: number;
  tcpi_fackets: number;
  /** ms */
  tcpi_last_data_sent: number;
  /** ms (never set by Linux) */
  tcpi_last_ack_sent: number;
  /** ms */
  tcpi_last_data_recv: number;
  /** ms */
  tcpi_last_ack_recv: number;
  tcpi_pmtu: number;
  tcpi_rcv_ssthresh: number;
  /** µs */
  tcpi_rtt: number;
  /** µs */
  tcpi_rttvar: number;
  tcpi_snd_ssthresh: number;
  tcpi_snd_cwnd: number;
  tcpi_advmss: number;
  tcpi_reordering: number;
  /** µs */
  tcpi_rcv_rtt: number;
  tcpi_rcv_space: number;
  tcpi_total_retrans: number;
  /** bytes/s */
  tcpi_pacing_rate: bigint;
  /** bytes/s */
  tcpi_max_pacing_rate: bigint;
  tcpi_bytes_acked: bigint;
  tcpi_bytes_received: bigint;
  tcpi_segs_out: number;
  tcpi_segs_in: number;
  tcpi_notsent_bytes: number;
  /** µs */
  tcpi_min_rtt: number;
  tcpi_data_segs_in: number;
  tcpi_data_segs_out: number;
  /** bytes/s */
  tcpi_delivery_rate: bigint;
  /** µs */
  tcpi_busy_time: bigint;
  /** µs */
  tcpi_rwnd_limited: bigint;
  /** µs */
  tcpi_sndbuf_limited: bigint;
  tcpi_delivered: number;
  tcpi_delivered_ce: number;
  tcpi_bytes_sent: bigint;
  tcpi_bytes_retrans: bigint;
  tcpi_dsack_dups: number;
  tcpi_reord_seen: number;
  tcpi_rcv_ooopack: number;
  tcpi_snd_wnd: number;
  tcpi_rcv_wnd: number;
  tcpi_rehash: number;
  tcpi_total_rto: number;
  tcpi_total_rto_recoveries: number;
  /** ms */
  tcpi_total_rto_time: number;
  tcpi_received_ce: number;
  tcpi_delivered_e1_bytes: number;
  tcpi_delivered_e0_bytes: number;
  tcpi_delivered_ce_bytes: number;
  tcpi_received_e1_bytes: number;
  tcpi_received_e0_bytes: number;
  tcpi_received_ce_bytes: number;
  tcpi_ecn_mode: number;
  tcpi_accecn_opt_seen: number;
  tcpi_accecn_fail_mode: number;
  tcpi_options2: number;
}

function readField(buf: Buffer, len: number, f: FieldSpec): number | bigint {
  const end = f.offset + SIZE[f.kind];
  if (end > len) return f.kind === 'u64' ? 0n : 0;
  let v: number;
  switch (f.kind) {
    case 'u8':
      v = buf.readUInt8(f.offset);
      break;
    case 'u16':
      v = buf.readUInt16LE(f.offset);
      break;
    case 'u32':
      v = buf.readUInt32LE(f.offset);
      break;
    case 'u64':
      return buf.readBigUInt64LE(f.offset);
  }
  if (f.bits) {
    const [shift, width] = f.bits;
    v = Math.floor(v / 2 ** shift) % 2 ** width;
  }
  return v;
}

/**
 * Decode the `len` bytes at the start of `buf` that getsockopt(TCP_INFO)
 * returned (len defaults to buf.length).
 */
export function decodeTcpInfo(buf: Buffer, len: number = buf.length): TcpInfo {
  if (!Number.isInteger(len) || len < 0 || len > buf.length) {
    throw new Error(`tcp_info length ${len} does not fit the ${buf.length}-byte buffer`);
  }
  const out: Record<string, unknown> = { length: len, raw: Buffer.from(buf.subarray(0, len)) };
  for (const f of TCP_INFO_LAYOUT) out[f.name] = readField(buf, len, f);
  return out as unknown as TcpInfo;
}

// ---------------------------------------------------------------- Python

/** Symbolic names packetdrill defines before each tcp_info dump. */
export const PYTHON_TCP_SYMBOLS: ReadonlyArray<readonly [string, number]> = [
  ['TCP_ESTABLISHED', 1],
  ['TCP_SYN_SENT', 2],
  ['TCP_SYN_RECV', 3],
  ['TCP_FIN_WAIT1', 4],
  ['TCP_FIN_WAIT2', 5],
  ['TCP_TIME_WAIT', 6],
  ['TCP_CLOSE', 7],
  ['TCP_CLOSE_WAIT', 8],
  ['TCP_LAST_ACK', 9],
  ['TCP_LISTEN', 10],
  ['TCP_CLOSING', 11],
  ['TCP_CA_Open', 0],
  ['TCP_CA_Disorder', 1],
  ['TCP_CA_CWR', 2],
  ['TCP_CA_Recovery', 3],
  ['TCP_CA_Loss', 4],
  ['TCPI_OPT_TIMESTAMPS', 1],
  ['TCPI_OPT_SACK', 2],
  ['TCPI_OPT_WSCALE', 4],
  ['TCPI_OPT_ECN', 8],
  ['TCPI_OPT_ECN_SEEN', 16],
  ['TCPI_OPT_SYN_DATA', 32],
  ['TCPI_OPT_USEC_TS', 64],
  ['TCPI_OPT_TFO_CHILD', 128],
];

function line(name: string, value: number | bigint): string {
  return `${name} = ${value.toString()}\n`;
}

/**
 * The text packetdrill writes for a TCP_INFO reading: the symbolic
 * constants, then `tcpi_<field> = <unsigned decimal>` for each field of
 * PYTHON_TCP_INFO_FIELDS, then an empty line.
 */
export function tcpInfoToPythonAssignments(info: TcpInfo): string {
  let s = '';
  for (const [name, value] of PYTHON_TCP_SYMBOLS) s += line(name, value);
  for (const name of PYTHON_TCP_INFO_FIELDS) s += line(name, info[name]);
  return s + '\n';
}

export interface TcpCcInfo {
  length: number;
  /** struct tcp_bbr_info reading (when at least 20 bytes). */
  bbr?: { bbr_bw_lo: number; bbr_bw_hi: number; bbr_bw: bigint; bbr_min_rtt: number; bbr_pacing_gain: number; bbr_cwnd_gain: number };
  /** struct tcp_dctcp_info reading (when at least 16 bytes). */
  dctcp?: { dctcp_enabled: number; dctcp_ce_state: number; dctcp_alpha: number; dctcp_ab_ecn: number; dctcp_ab_tot: number };
  /** struct tcpvegas_info reading (when at least 16 bytes). */
  vegas?: { tcpv_enabled: number; tcpv_rttcnt: number; tcpv_rtt: number; tcpv_minrtt: number };
}

/**
 * Decode TCP_CC_INFO. The kernel returns a union whose member depends on the
 * congestion control (bbr: 20 bytes, dctcp and vegas: 16, cubic/reno: 0);
 * like packetdrill, every reading that fits the length is given, whatever
 * the algorithm.
 */
export function decodeTcpCcInfo(buf: Buffer, len: number = buf.length): TcpCcInfo {
  if (!Number.isInteger(len) || len < 0 || len > buf.length) {
    throw new Error(`TCP_CC_INFO length ${len} does not fit the ${buf.length}-byte buffer`);
  }
  const out: TcpCcInfo = { length: len };
  if (len >= 20) {
    const lo = buf.readUInt32LE(0);
    const hi = buf.readUInt32LE(4);
    out.bbr = {
      bbr_bw_lo: lo,
      bbr_bw_hi: hi,
      bbr_bw: (BigInt(hi) << 32n) + BigInt(lo),
      bbr_min_rtt: buf.readUInt32LE(8),
      bbr_pacing_gain: buf.readUInt32LE(12),
      bbr_cwnd_gain: buf.readUInt32LE(16),
    };
  }
  if (len >= 16) {
    out.dctcp = {
      dctcp_enabled: buf.readUInt16LE(0),
      dctcp_ce_state: buf.readUInt16LE(2),
      dctcp_alpha: buf.readUInt32LE(4),
      dctcp_ab_ecn: buf.readUInt32LE(8),
      dctcp_ab_tot: buf.readUInt32LE(12),
    };
    out.vegas = {
      tcpv_enabled: buf.readUInt32LE(0),
      tcpv_rttcnt: buf.readUInt32LE(4),
      tcpv_rtt: buf.readUInt32LE(8),
      tcpv_minrtt: buf.readUInt32LE(12),
    };
  }
  return out;
}

/** packetdrill's Python text for a TCP_CC_INFO reading (vegas rtt names are `tcp_rtt`, `tcp_minrtt`). */
export function tcpCcInfoToPythonAssignments(cc: TcpCcInfo): string {
  let s = '';
  if (cc.bbr) {
    const b = cc.bbr;
    s += line('bbr_bw_lo', b.bbr_bw_lo) + line('bbr_bw_hi', b.bbr_bw_hi) + line('bbr_bw', b.bbr_bw);
    s += line('bbr_min_rtt', b.bbr_min_rtt) + line('bbr_pacing_gain', b.bbr_pacing_gain) + line('bbr_cwnd_gain', b.bbr_cwnd_gain);
  }
  if (cc.dctcp) {
    const d = cc.dctcp;
    s += line('dctcp_enabled', d.dctcp_enabled) + line('dctcp_ce_state', d.dctcp_ce_state) + line('dctcp_alpha', d.dctcp_alpha);
    s += line('dctcp_ab_ecn', d.dctcp_ab_ecn) + line('dctcp_ab_tot', d.dctcp_ab_tot);
  }
  if (cc.vegas) {
    const v = cc.vegas;
    s += line('tcpv_enabled', v.tcpv_enabled) + line('tcpv_rttcnt', v.tcpv_rttcnt);
    s += line('tcp_rtt', v.tcpv_rtt) + line('tcp_minrtt', v.tcpv_minrtt);
  }
  return s + '\n';
}

/** SO_MEMINFO slots (u32 each), in kernel order. */
export const SK_MEMINFO_NAMES = [
  'SK_MEMINFO_RMEM_ALLOC',
  'SK_MEMINFO_RCVBUF',
  'SK_MEMINFO_WMEM_ALLOC',
  'SK_MEMINFO_SNDBUF',
  'SK_MEMINFO_FWD_ALLOC',
  'SK_MEMINFO_WMEM_QUEUED',
  'SK_MEMINFO_OPTMEM',
  'SK_MEMINFO_BACKLOG',
  'SK_MEMINFO_DROPS',
] as const;

export type SoMeminfo = Record<(typeof SK_MEMINFO_NAMES)[number], number>;

/** Decode SO_MEMINFO; slots past the returned length read 0. */
export function decodeSoMeminfo(buf: Buffer, len: number = buf.length): SoMeminfo {
  if (!Number.isInteger(len) || len < 0 || len > buf.length) {
    throw new Error(`SO_MEMINFO length ${len} does not fit the ${buf.length}-byte buffer`);
  }
  const out = {} as SoMeminfo;
  SK_MEMINFO_NAMES.forEach((name, i) => {
    out[name] = (i + 1) * 4 <= len ? buf.readUInt32LE(i * 4) : 0;
  });
  return out;
}

export function soMeminfoToPythonAssignments(mem: SoMeminfo): string {
  let s = '';
  for (const name of SK_MEMINFO_NAMES) s += line(name, mem[name]);
  return s + '\n';
}

/**
 * Everything packetdrill writes for one %{ }% block's socket data, from the
 * three getsockopt results (each buffer exactly as long as the kernel's
 * returned length): the TCP_INFO part, then TCP_CC_INFO, then SO_MEMINFO.
 */
export function codeAssignments(tcpInfo: Buffer, ccInfo: Buffer, memInfo: Buffer): string {
  return (
    tcpInfoToPythonAssignments(decodeTcpInfo(tcpInfo)) +
    tcpCcInfoToPythonAssignments(decodeTcpCcInfo(ccInfo)) +
    soMeminfoToPythonAssignments(decodeSoMeminfo(memInfo))
  );
}
