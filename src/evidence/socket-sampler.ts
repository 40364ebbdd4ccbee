/**
 * Socket-state sampling of the run's namespace into timeline records, by
 * either sampler:
 *   sock_diag  the addon's netlink sampler: a query of the packet's socket
 *              after every packet read from or written to the TUN, and a
 *              dump of every TCP socket each interval, on a native thread;
 *              changes only. Records wait in native memory until take().
 *   ss         `ss -tinoemHa` spawned each interval, its listings turned into
 *              the same change records.
 * Start it on the thread that lives in the run's namespace.
 */
import { nowNs, sockDiagStart, type SockDiagSampler, type SockDiagStats } from '../native/addon.js';
import { ChangeTracker, fromSockDiag, SocketTable, type EndRecord, type SamplerKind, type SocketRecord, type StartRecord } from './socket-timeline.js';
import { DEFAULT_SS_ARGS, startSsSampler, type SsSampler } from './ss-sampler.js';

export interface SocketSamplerOptions {
  sampler: SamplerKind;
  intervalMs: number;
  /** sock_diag: the TUN whose packets trigger per-packet queries, and its frame header length. */
  tunFd?: number;
  vnetHdrLen?: number;
  onError?: (e: Error) => void;
}

export interface SocketSampler {
  readonly kind: SamplerKind;
  readonly start: StartRecord;
  /** Records kept since the last take(); the table below follows them. */
  take(): SocketRecord[];
  /** Stop (one last full listing first); the records not taken yet and the end record. */
  stop(): Promise<{ records: SocketRecord[]; end: EndRecord }>;
  /** The sockets present as of the records taken so far. */
  readonly table: SocketTable;
  /** Full listings done so far. */
  listings(): number;
}

function costStats(prefix: string, v: Int32Array | undefined): Record<string, number> {
  if (!v || v.length === 0) return {};
  const a = [...v].sort((x, y) => x - y);
  const q = (p: number): number => a[Math.min(a.length - 1, Math.floor(p * a.length))]!;
  return { [`${prefix}MedianNs`]: q(0.5), [`${prefix}P99Ns`]: q(0.99), [`${prefix}MaxNs`]: a[a.length - 1]! };
}

/** The sock_diag sampler's counters and costs as the end record's stats. */
export function sockDiagSummary(st: SockDiagStats): Record<string, number> {
  return {
    dumps: st.dumps, queries: st.queries, records: st.records, notFound: st.notFound, merged: st.merged, dropped: st.dropped,
    cpuNs: st.cpuNs, ...costStats('dumpCost', st.dumpCostNs), ...costStats('queryCost', st.queryCostNs), ...costStats('queryLag', st.queryLagNs),
  };
}

function startSockDiag(opts: SocketSamplerOptions): SocketSampler {
  const table = new SocketTable();
  const s: SockDiagSampler = sockDiagStart({ intervalMs: opts.intervalMs, tunFd: opts.tunFd ?? -1, vnetHdrLen: opts.vnetHdrLen ?? 0 });
  const start: StartRecord = { type: 'start', sampler: 'sock_diag', intervalMs: opts.intervalMs, tsNs: nowNs() };
  const convert = (raw: ReturnType<SockDiagSampler['take']>): SocketRecord[] => {
    const out = raw.map(fromSockDiag);
    for (const r of out) table.apply(r);
    return out;
  };
  return {
    kind: 'sock_diag',
    start,
    table,
    take: () => convert(s.take()),
    async stop() {
      const records = convert(s.stop());
      const st = s.stats();
      if (st.error) opts.onError?.(new Error(`sock_diag sampler: errno ${st.error}`));
      return { records, end: { type: 'end', tsNs: nowNs(), stats: sockDiagSummary(st) } };
    },
    listings: () => s.stats().dumps,
  };
}

function startSs(opts: SocketSamplerOptions): SocketSampler {
  const table = new SocketTable();
  const tracker = new ChangeTracker();
  let pending: SocketRecord[] = [];
  let costs: number[] = [];
  const start: StartRecord = { type: 'start', sampler: 'ss', intervalMs: opts.intervalMs, tsNs: nowNs() };
  const sampler: SsSampler = startSsSampler({
    intervalMs: opts.intervalMs,
    // -m: skmem, as the sock_diag sampler records it.
    args: [...DEFAULT_SS_ARGS, '-m'],
    finalSample: true,
    onSample: (x) => {
      costs.push(Number(x.endNs - x.tsNs));
      pending.push(...tracker.ssListing(x.tsNs, x.endNs, x.sockets));
    },
    onError: (e) => opts.onError?.(e),
  });
  const take = (): SocketRecord[] => {
    const out = pending;
    pending = [];
    for (const r of out) table.apply(r);
    return out;
  };
  return {
    kind: 'ss',
    start,
    table,
    take,
    async stop() {
      await sampler.stop();
      const records = take();
      const sorted = costs.sort((a, b) => a - b);
      const q = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
      const stats = { dumps: sampler.samples, skipped: sampler.skipped, sampleCostMedianNs: q(0.5), sampleCostP99Ns: q(0.99) };
      costs = [];
      return { records, end: { type: 'end', tsNs: nowNs(), stats } };
    },
    listings: () => sampler.samples,
  };
}

export function startSocketSampler(opts: SocketSamplerOptions): SocketSampler {
  return opts.sampler === 'ss' ? startSs(opts) : startSockDiag(opts);
}
