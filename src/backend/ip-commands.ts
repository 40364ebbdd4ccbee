/**
 * `ip`, `tc` and sysctl writes in the calling thread's network namespace,
 * with one-line errors naming the commands; an interface's counters and
 * root qdisc read over rtnetlink (rtnetlink.ts), with the same numbers.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { NetSetupError } from './namespace.js';
import { readLinkCounters, readQdiscs, RtnetlinkError, type LinkCounters } from './rtnetlink.js';

const ENODEV = 19;

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

/** Write a sysctl of this thread's namespace, e.g. `net.ipv6.conf.tun0.accept_dad`. */
export function writeSysctlSync(name: string, value: string): void {
  const path = '/proc/sys/' + name.replace(/\./g, '/');
  try {
    writeFileSync(path, value);
  } catch (e) {
    throw new NetSetupError(`cannot set ${name}=${value}: ${(e as Error).message}`);
  }
}

/** An interface's hardware address and packet counters (what `ip -s link show` prints), read over rtnetlink. */
export function linkStats(dev: string): { mac: string; txPackets: number; txDropped: number; rxPackets: number; rxDropped: number } {
  let l: LinkCounters;
  try {
    l = readLinkCounters(dev);
  } catch (e) {
    if (e instanceof RtnetlinkError && e.errno === ENODEV) throw new NetSetupError(`ip link show ${dev}: no such interface`);
    throw e;
  }
  return { mac: l.mac, txPackets: l.txPackets, txDropped: l.txDropped, rxPackets: l.rxPackets, rxDropped: l.rxDropped };
}

/** The root qdisc of an interface: kind, packets and bytes waiting in it, drops (what `tc -s qdisc show` prints), read over rtnetlink. */
export function rootQdisc(dev: string): { kind: string; backlogPackets: number; backlogBytes: number; drops: number } | null {
  const all = readQdiscs(readLinkCounters(dev).ifindex);
  const q = all.find((x) => x.root) ?? all[0];
  if (!q) return null;
  return { kind: q.kind, backlogPackets: q.qlen, backlogBytes: q.backlog, drops: q.drops };
}

/** The root qdisc's numbers as a device report shows them (kind, backlog, drops). */
export function qdiscReport(dev: string): { qdisc: string; 'qdisc backlog (packets)': number; 'qdisc drops': number } {
  const q = rootQdisc(dev);
  return { qdisc: q?.kind ?? '-', 'qdisc backlog (packets)': q?.backlogPackets ?? 0, 'qdisc drops': q?.drops ?? 0 };
}
