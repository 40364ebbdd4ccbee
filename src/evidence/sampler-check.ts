/**
 * Cross-check of the two samplers: the same socket read through sock_diag
 * just before and just after ss printed it must agree with ss on every
 * field ss prints. Fields that move with the clock (the timer's countdown,
 * the time since the last send/receive/ack, busy time) must lie between the
 * two sock_diag readings, widened by ss's print resolution.
 */
import { CLOCK_DRIVEN_TCP_INFO, type SocketState, type TcpInfoFields } from './socket-state.js';

export interface FieldMismatch {
  cookie: string;
  field: string;
  ss: unknown;
  before: unknown;
  after: unknown;
}

export interface CrossCheck {
  /** Sockets ss listed that both sock_diag readings had too. */
  sockets: number;
  /** Field comparisons made (socket x field). */
  comparisons: number;
  /** Distinct field names compared. */
  fields: string[];
  mismatches: FieldMismatch[];
  /** Sockets ss listed that a sock_diag reading did not have (created or closed in between). */
  unmatched: string[];
}

/** tcpi_options bits ss shows (ts sack wscale ecn ecnseen fastopen usec_ts); TFO_CHILD it does not. */
const SS_OPTION_BITS = 0x7f;
/** ss prints busy, rwnd_limited and sndbuf_limited in whole ms (truncated), the timer to 1 ms at best. */
const MS_RESOLUTION_US = 1000;

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function between(v: number, a: number | undefined, b: number | undefined, slack: number): boolean {
  if (a === undefined || b === undefined) return false;
  return v >= Math.min(a, b) - slack && v <= Math.max(a, b) + slack;
}

/**
 * Compare ss's view (socketStateFromSs) with sock_diag readings taken right
 * before and right after it; `elapsedMs` is the time between the readings.
 */
export function crossCheck(ss: readonly SocketState[], before: readonly SocketState[], after: readonly SocketState[], elapsedMs: number): CrossCheck {
  const out: CrossCheck = { sockets: 0, comparisons: 0, fields: [], mismatches: [], unmatched: [] };
  const fields = new Set<string>();
  const b = new Map(before.map((s) => [s.cookie, s]));
  const a = new Map(after.map((s) => [s.cookie, s]));
  for (const s of ss) {
    const x = b.get(s.cookie);
    const y = a.get(s.cookie);
    if (!x || !y) {
      out.unmatched.push(`${s.cookie} ${s.state}`);
      continue;
    }
    out.sockets++;
    const cmp = (field: string, v: unknown, vb: unknown, va: unknown, ok?: boolean): void => {
      fields.add(field);
      out.comparisons++;
      const good = ok ?? (same(v, vb) || same(v, va));
      if (!good) out.mismatches.push({ cookie: s.cookie, field, ss: v, before: vb, after: va });
    };
    for (const k of ['family', 'state', 'tcpState', 'local', 'peer', 'recvQ', 'sendQ', 'uid', 'inode', 'cookie', 'orphan', 'cong', 'skmem', 'v6only', 'mark'] as const) {
      if (s[k] === undefined) continue;
      cmp(k, s[k], x[k], y[k]);
    }
    if (s.shutdown) cmp('shutdown', s.shutdown, x.shutdown, y.shutdown);
    cmp('timer.kind', s.timer?.kind ?? null, x.timer?.kind ?? null, y.timer?.kind ?? null);
    if (s.timer) {
      cmp('timer.retransmits', s.timer.retransmits, x.timer?.retransmits, y.timer?.retransmits);
      // ss truncates to its print resolution (1 ms below 10 s).
      cmp('timer.expiresMs', s.timer.expiresMs, x.timer?.expiresMs, y.timer?.expiresMs,
        between(s.timer.expiresMs, x.timer?.expiresMs, y.timer?.expiresMs, s.timer.expiresMs < 10_000 ? 1 : 1000));
    }
    const si = s.tcpInfo;
    if (!si) continue;
    for (const [key, v] of Object.entries(si) as Array<[keyof TcpInfoFields, number]>) {
      const vb = x.tcpInfo?.[key];
      const va = y.tcpInfo?.[key];
      const name = `tcp_info.${key}`;
      if (key === 'tcpi_options') {
        cmp(name, v, (vb ?? 0) & SS_OPTION_BITS, (va ?? 0) & SS_OPTION_BITS);
      } else if (CLOCK_DRIVEN_TCP_INFO.has(key)) {
        // ms counters (last_*) or µs counters printed in whole ms (busy ...).
        const slack = key.startsWith('tcpi_last') ? 1 + elapsedMs : MS_RESOLUTION_US + elapsedMs * 1000;
        cmp(name, v, vb, va, between(v, vb, va, slack));
      } else {
        cmp(name, v, vb, va);
      }
    }
  }
  out.fields = [...fields].sort();
  return out;
}
