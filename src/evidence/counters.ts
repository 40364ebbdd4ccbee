/**
 * Kernel MIB counters of the current network namespace: /proc/net/netstat
 * (TcpExt, IpExt, MPTcpExt), /proc/net/snmp (Ip, Icmp, IcmpMsg, Tcp, Udp,
 * UdpLite) and /proc/net/snmp6 (Ip6, Icmp6, Udp6, ...).
 *
 * Names join the group and the field as nstat does: `TcpRetransSegs`,
 * `TcpExtTCPTimeouts`, `TcpExtTCPLossProbes`, `IpExtInOctets`; snmp6 names
 * are already whole (`Ip6InReceives`, `Icmp6OutMsgs`).
 *
 * Values are numbers, or bigints when beyond Number.MAX_SAFE_INTEGER (the
 * kernel's counters are 64-bit). Some snmp fields are signed (`TcpMaxConn`
 * is -1).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export type CounterValue = number | bigint;
export type Counters = Record<string, CounterValue>;

/** Files read by readCounters, relative to the proc root. */
export const COUNTER_FILES = ['net/netstat', 'net/snmp', 'net/snmp6'] as const;

function toValue(text: string, where: string): CounterValue {
  if (!/^-?\d+$/.test(text)) throw new Error(`${where}: counter value ${JSON.stringify(text)} is not an integer`);
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : BigInt(text);
}

/**
 * Parse the two-line-per-group layout of /proc/net/netstat and /proc/net/snmp:
 *   TcpExt: Name1 Name2 ...
 *   TcpExt: 1 2 ...
 */
export function parseNetstat(text: string, source = 'netstat'): Counters {
  const out: Counters = {};
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const head = lines[i]!;
    const vals = lines[i + 1]!;
    const hc = head.indexOf(':');
    const vc = vals.indexOf(':');
    const group = head.slice(0, hc);
    if (hc <= 0 || vals.slice(0, vc) !== group) {
      throw new Error(`${source}: line ${i + 1} and ${i + 2} are not a name/value pair of one group`);
    }
    const names = head.slice(hc + 1).trim().split(/\s+/);
    const values = vals.slice(vc + 1).trim().split(/\s+/);
    if (names.length !== values.length) {
      throw new Error(`${source}: group ${group} has ${names.length} names but ${values.length} values`);
    }
    names.forEach((name, k) => {
      out[group + name] = toValue(values[k]!, `${source} ${group}${name}`);
    });
  }
  return out;
}

/** Parse /proc/net/snmp6: one `Name value` pair a line. */
export function parseSnmp6(text: string, source = 'snmp6'): Counters {
  const out: Counters = {};
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '') continue;
    const m = /^(\S+)\s+(\S+)$/.exec(t);
    if (!m) throw new Error(`${source}: line ${JSON.stringify(line)} is not "name value"`);
    out[m[1]!] = toValue(m[2]!, `${source} ${m[1]}`);
  }
  return out;
}

export interface ReadCountersOptions {
  /** Where proc is mounted (tests point this at fixtures); default /proc. */
  procRoot?: string;
}

/**
 * Read all counters of the calling thread's network namespace, synchronously
 * (cheap: three small files). A missing file (no IPv6) is skipped.
 */
export function readCounters(opts: ReadCountersOptions = {}): Counters {
  const root = opts.procRoot ?? '/proc';
  const out: Counters = {};
  for (const rel of COUNTER_FILES) {
    let text: string;
    try {
      text = readFileSync(join(root, rel), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new Error(`cannot read ${join(root, rel)}: ${(e as Error).message}`);
    }
    Object.assign(out, rel.endsWith('snmp6') ? parseSnmp6(text, join(root, rel)) : parseNetstat(text, join(root, rel)));
  }
  return out;
}

/**
 * Counters that differ between two readings, as after - before (a counter
 * missing on one side counts as 0 there). Gauges such as TcpCurrEstab can
 * give negative differences.
 */
export function diffCounters(before: Counters, after: Counters): Counters {
  const out: Counters = {};
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  for (const name of names) {
    const a = after[name] ?? 0;
    const b = before[name] ?? 0;
    if (typeof a === 'number' && typeof b === 'number') {
      const d = a - b;
      if (d !== 0) out[name] = Number.isSafeInteger(d) ? d : BigInt(a) - BigInt(b);
      continue;
    }
    const d = BigInt(a) - BigInt(b);
    if (d !== 0n) out[name] = d >= BigInt(Number.MIN_SAFE_INTEGER) && d <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(d) : d;
  }
  return out;
}
