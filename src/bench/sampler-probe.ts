/**
 * Socket-state samplers side by side, inside a network namespace made for
 * it (run as `unshare --net node dist/bench/sampler-probe.js [rounds]`; it
 * refuses to run in its parent's or PID 1's namespace). Prints one JSON report:
 *   - crossCheck: ss and sock_diag on the same sockets (listener, IPv4,
 *     IPv6 and v4-mapped connections, unread data, half-closed, TIME-WAIT),
 *     every field ss prints compared;
 *   - cost per sample: a sock_diag dump (every 10 ms, as in a run) and a
 *     per-packet 4-tuple query (on the sampler's thread; the queries follow SYNs the kernel sends to a
 *     TUN), and one `ss -tinoemHa` process (wall time from spawn to exit).
 */
import { readlinkSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import * as native from '../native/addon.js';
import { decodeInetDiag, socketStateFromSs, type SocketState } from '../evidence/socket-state.js';
import { crossCheck, type CrossCheck } from '../evidence/sampler-check.js';
import { DEFAULT_SS_ARGS, runSsOnce } from '../evidence/ss-sampler.js';
import { parseSs } from '../evidence/ss-parser.js';
import { privateEhashForChildren, enterFreshNamespace } from '../backend/private-ehash.js';

export interface Cost {
  samples: number;
  medianUs: number;
  p99Us: number;
}

export interface SamplerProbeReport {
  crossCheck: CrossCheck;
  rounds: number;
  sockDiagDump: Cost;
  sockDiagQuery: Cost;
  /** From the packet's time stamp to the start of its query. */
  sockDiagQueryLag: Cost;
  ss: Cost;
  /** Sockets in the namespace during the cross-check, and while dumps and queries were timed. */
  sockets: number;
  socketsTimed: number;
}

function cost(ns: ArrayLike<number>): Cost {
  const a = Array.from(ns).sort((x, y) => x - y);
  const q = (p: number): number => (a.length ? a[Math.min(a.length - 1, Math.floor(p * a.length))]! / 1000 : 0);
  return { samples: a.length, medianUs: q(0.5), p99Us: q(0.99) };
}

const once = <T>(emitter: NodeJS.EventEmitter, ev: string): Promise<T> => new Promise((r) => emitter.once(ev, r as (x: T) => void));

async function makeSockets(): Promise<net.Socket[]> {
  const keep: net.Socket[] = [];
  const accepted: net.Socket[] = [];
  const srv4 = net.createServer((c) => accepted.push(c)).listen(8080, '127.0.0.1');
  const srv6 = net.createServer((c) => accepted.push(c)).listen(8081, '::');
  await Promise.all([once(srv4, 'listening'), once(srv6, 'listening')]);
  const connect = async (port: number, host: string): Promise<net.Socket> => {
    const c = net.connect(port, host);
    await once(c, 'connect');
    keep.push(c);
    return c;
  };
  const a = await connect(8080, '127.0.0.1');
  a.write('x'.repeat(3000)); // unread on the other side: Recv-Q
  await connect(8081, '::1');
  await connect(8081, '127.0.0.1'); // v4-mapped on the server side
  const half = await connect(8080, '127.0.0.1');
  half.end(); // FIN-WAIT-2 here, CLOSE-WAIT there
  const tw = await connect(8080, '127.0.0.1');
  tw.end();
  await new Promise((r) => setTimeout(r, 50));
  // The accepted side of `tw` closes too: the client ends in TIME-WAIT.
  for (const c of accepted) if (c.remotePort === tw.localPort) c.end();
  await new Promise((r) => setTimeout(r, 100));
  return keep;
}

function dumpStates(): SocketState[] {
  return native.sockDiagDumpNow().records.map(decodeInetDiag);
}

export async function samplerProbe(rounds: number): Promise<SamplerProbeReport> {
  execFileSync('ip', ['link', 'set', 'lo', 'up']);
  const sockets = await makeSockets();
  // Cross-check: sock_diag right before and right after each ss.
  let check: CrossCheck | null = null;
  const ssArgs = [...DEFAULT_SS_ARGS, '-m'];
  const ssCosts: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = native.nowNs();
    const before = dumpStates();
    const r = await runSsOnce(ssArgs);
    const after = dumpStates();
    const elapsedMs = Number(native.nowNs() - t0) / 1e6;
    ssCosts.push(Number(r.endNs - r.tsNs));
    const c = crossCheck(parseSs(r.text).map(socketStateFromSs), before, after, elapsedMs);
    if (!check) check = c;
    else {
      check.sockets += c.sockets;
      check.comparisons += c.comparisons;
      check.mismatches.push(...c.mismatches);
      check.unmatched.push(...c.unmatched);
      check.fields = [...new Set([...check.fields, ...c.fields])].sort();
    }
  }
  const count = dumpStates().length;

  // sock_diag on its thread: dumps every 10 ms, and a query after each SYN
  // the kernel sends to tun0 (connections to an address behind it).
  const tun = native.tunOpen('tun0');
  execFileSync('ip', ['link', 'set', 'tun0', 'up']);
  execFileSync('ip', ['addr', 'add', '10.9.0.1/24', 'dev', 'tun0']);
  const sampler = native.sockDiagStart({ intervalMs: 10, tunFd: tun.fd, vnetHdrLen: 0 });
  const reader = native.tunReaderStart(tun.fd, () => undefined);
  const pending: net.Socket[] = [];
  for (let i = 0; i < 200; i++) {
    const c = net.connect({ port: 9000 + i, host: '10.9.0.2' });
    c.on('error', () => undefined);
    pending.push(c);
    if (i % 20 === 19) await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 1000));
  const socketsTimed = dumpStates().length;
  sampler.stop();
  reader.stop();
  const st = sampler.stats();
  for (const c of [...pending, ...sockets]) c.destroy();
  return {
    crossCheck: check!,
    rounds,
    sockDiagDump: cost(st.dumpCostNs ?? []),
    sockDiagQuery: cost(st.queryCostNs ?? []),
    sockDiagQueryLag: cost(st.queryLagNs ?? []),
    ss: cost(ssCosts),
    sockets: count,
    socketsTimed,
  };
}

async function main(): Promise<void> {
  const own = readlinkSync('/proc/self/ns/net');
  const shared = [1, process.ppid].some((pid) => {
    try {
      return readlinkSync(`/proc/${pid}/ns/net`) === own;
    } catch {
      return false;
    }
  });
  if (shared) {
    process.stderr.write('sampler-probe: refusing to run in the host network namespace; run it under `unshare --net`\n');
    process.exit(4);
  }
  // Like a run's namespace: a socket hash of its own.
  native.netnsFollow();
  if (privateEhashForChildren()) enterFreshNamespace();
  const rounds = Number(process.argv[2] ?? 5);
  process.stdout.write(JSON.stringify(await samplerProbe(rounds)) + '\n');
  process.exit(0);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  main().catch((e: unknown) => {
    process.stderr.write(`sampler-probe: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
