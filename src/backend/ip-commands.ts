/**
 * `ip`, `tc` and sysctl writes in the calling thread's network namespace,
 * with one-line errors naming the commands.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { NetSetupError } from './namespace.js';

/** Run `ip -batch` with these lines. */
export function ipBatch(lines: readonly string[], what: string): void {
  try {
    execFileSync('ip', ['-batch', '-'], { input: lines.join('\n') + '\n', stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new NetSetupError(`${what} failed: ${err.stderr?.toString().trim() || err.message}\ncommands:\n  ${lines.join('\n  ')}`);
  }
}

/** Run `tc` with these arguments. */
export function tc(args: readonly string[], what: string): void {
  try {
    execFileSync('tc', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new NetSetupError(`${what} failed: ${err.stderr?.toString().trim() || err.message} (tc ${args.join(' ')})`);
  }
}

/** Output of a command as JSON (`ip -j ...`, `tc -j ...`). */
export function commandJson<T>(cmd: string, args: readonly string[]): T {
  const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return JSON.parse(out) as T;
}

/** Write a sysctl of this thread's namespace, e.g. `net.ipv6.conf.tun0.accept_dad`. */
export function writeSysctlSync(name: string, value: string): void {
  const path = '/proc/sys/' + name.replace(/\./g, '/');
  try {
    writeFileSync(path, value);
  } catch (e) {
    throw new NetSetupError(`cannot set ${name}=${value}: ${(e as Error).message}`);
  }
}

interface IpLinkStats {
  ifname: string;
  address?: string;
  stats64?: { rx: { packets: number; dropped: number }; tx: { packets: number; dropped: number } };
}

/** An interface's hardware address and packet counters (`ip -s -j link show`). */
export function linkStats(dev: string): { mac: string; txPackets: number; txDropped: number; rxPackets: number; rxDropped: number } {
  const [l] = commandJson<IpLinkStats[]>('ip', ['-s', '-j', 'link', 'show', 'dev', dev]);
  if (!l) throw new NetSetupError(`ip link show ${dev}: no such interface`);
  const s = l.stats64;
  return {
    mac: l.address ?? '',
    txPackets: s?.tx.packets ?? 0,
    txDropped: s?.tx.dropped ?? 0,
    rxPackets: s?.rx.packets ?? 0,
    rxDropped: s?.rx.dropped ?? 0,
  };
}

interface TcQdisc {
  kind: string;
  root?: boolean;
  backlog?: number;
  qlen?: number;
  drops?: number;
}

/** The root qdisc of an interface: kind, packets and bytes waiting in it, drops (`tc -s -j qdisc show`). */
export function rootQdisc(dev: string): { kind: string; backlogPackets: number; backlogBytes: number; drops: number } | null {
  const all = commandJson<TcQdisc[]>('tc', ['-s', '-j', 'qdisc', 'show', 'dev', dev]);
  const q = all.find((x) => x.root) ?? all[0];
  if (!q) return null;
  return { kind: q.kind, backlogPackets: q.qlen ?? 0, backlogBytes: q.backlog ?? 0, drops: q.drops ?? 0 };
}

/** The root qdisc's numbers as a device report shows them (kind, backlog, drops). */
export function qdiscReport(dev: string): { qdisc: string; 'qdisc backlog (packets)': number; 'qdisc drops': number } {
  const q = rootQdisc(dev);
  return { qdisc: q?.kind ?? '-', 'qdisc backlog (packets)': q?.backlogPackets ?? 0, 'qdisc drops': q?.drops ?? 0 };
}
