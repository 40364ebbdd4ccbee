/**
 * End-to-end check of the native layer, run inside a private network
 * namespace: opens tun0, sees the kernel's SYN for a non-blocking connect()
 * to the remote address, answers it with a RST written to the TUN (the
 * connect then fails with ECONNREFUSED), measures how close timed TUN
 * writes land to their deadlines, and checks that a packet read late
 * carries the time the kernel sent it (the stamp socket).
 *
 *   unshare --net node dist/native/selfcheck.js
 *
 * Prints one JSON object (SelfCheckReport) and exits by itself once done:
 * a thread still blocked in a system call must not keep the process alive.
 * Refuses to run in the namespace of PID 1 or of its parent process: every
 * packet must stay inside a namespace created for the purpose.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CONSTANTS,
  SYMBOLS,
  nowNs,
  packetStampSocketOpen,
  sysNr,
  syscall,
  syscallAsync,
  tunOpen,
  tunReaderStart,
  tunWrite,
  tunWriteAt,
  tunWriteBurst,
  errnoName,
  type TunPacket,
} from './addon.js';

export interface TimingStats {
  count: number;
  minUs: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
}

export interface SelfCheckReport {
  ok: boolean;
  error?: string;
  tunName?: string;
  connect?: { ret: string; errno: string };
  syn?: { srcPort: number; dstPort: number; flags: number; stampAfterConnectUs: number };
  rst?: { writeRet: number; soError: string; refusedAfterUs: number };
  packetsSeen?: number;
  leftoverAtStop?: number;
  /** Error (actual - deadline) of every timed write. */
  tunWriteAt?: TimingStats;
  /** The same, over the writes requested before their deadline. */
  tunWriteAtSubmittedOnTime?: TimingStats;
  threadsBeforeStop?: number;
  threadsAfterStop?: number;
  /**
   * A SYN sent while no reader ran, read `readAfterConnectUs` later by a
   * reader with the stamp socket: its stamp, after the connect() began.
   */
  kernelStamp?: { stampAfterConnectUs: number; readAfterConnectUs: number; stamped: number; unstamped: number; lagCount: number; lagMaxUs: number };
  /**
   * DIRECT_SYNS SYNs written to a listener, each followed at once by the
   * engine's wait (waitFor) and take(): the destination ports of the
   * SYN-ACKs in the order the JS thread got them (by take() or the
   * reader's callback), how many the wait read from the TUN itself, and
   * how many came with the kernel's stamp.
   */
  directRead?: { ports: number[]; directReads: number; stamped: number; realtime: boolean };
  /**
   * The engine's wait asleep (the packet comes after its spin): SLEEP_ROUNDS
   * UDP datagrams sent SLEEP_SEND_AFTER_MS after the wait began, from a
   * native thread. How many the wait returned with, how many it read from
   * the TUN itself, and how long after the kernel sent each the wait
   * returned (µs). Then two waits with nothing to read: one the event loop
   * cuts short with a call ending LOOP_WORK_AFTER_MS in (ms it lasted), one
   * that lasts to its deadline (QUIET_WAIT_MS; ms it lasted).
   */
  sleepWait?: { delivered: number; directReads: number; returnAfterSendUs: number[]; loopCutMs: number; quietMs: number };
  /**
   * The reader thread held off the TUN (hold): HOLD_SYNS SYNs written to a
   * listener during a 2 s hold, then HOLD_QUIET_MS of the event loop: how
   * many SYN-ACKs the reader's callback delivered meanwhile, and how many
   * the engine's wait then read itself. A hold the engine's wait ends
   * (a wait for nothing, HOLD_WAIT_MS, inside another 2 s hold): ms from
   * a SYN written after it to its SYN-ACK's delivery. A hold that runs
   * out (HOLD_SHORT_MS): ms from a SYN written at its start to the
   * delivery. And how many SYN-ACKs carried the kernel's stamp.
   */
  hold?: { deliveredWhileHeld: number; readByWait: number; afterWaitEndedMs: number; holdMs: number; afterShortHoldMs: number; stamped: number };
  /**
   * tunWriteBurst: three SYNs to a listener in one call (stamps of the
   * writes, µs after the first; SYN-ACKs seen), then three whose first
   * stop limit has passed (how many it wrote), then three with a frame
   * the device refuses in the middle (writes made, ret and errno).
   */
  burstWrite?: { stampsUs: number[]; synAcks: number; writtenPastStop: number; refused: { written: number; ret: number; errno: string } };
}

const LOCAL = [192, 168, 0, 1] as const;
const REMOTE = [192, 0, 2, 1] as const;
const REMOTE_PORT = 8080;

/** True when this process's network namespace differs from those of PID 1
 * and of the parent (the namespace it was started from). */
function inPrivateNetns(): boolean {
  let own: string;
  try {
    own = readlinkSync('/proc/self/ns/net');
  } catch {
    return false;
  }
  let compared = 0;
  for (const pid of [1, process.ppid]) {
    try {
      if (readlinkSync(`/proc/${pid}/ns/net`) === own) return false;
      compared++;
    } catch {
      // not readable (e.g. PID 1 of a VM): rely on the other
    }
  }
  return compared > 0;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function checksum(buf: Buffer, initial = 0): number {
  let sum = initial;
  for (let i = 0; i + 1 < buf.length; i += 2) sum += buf.readUInt16BE(i);
  if (buf.length % 2) sum += buf[buf.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** A minimal IPv4/TCP segment without options or payload. */
function tcpSegment(src: readonly number[], dst: readonly number[], sport: number, dport: number, seq: number, ack: number, flags: number): Buffer {
  const pkt = Buffer.alloc(40);
  pkt[0] = 0x45;
  pkt.writeUInt16BE(40, 2);
  pkt.writeUInt16BE(0x4000, 6); // DF
  pkt[8] = 64;
  pkt[9] = 6;
  Buffer.from(src).copy(pkt, 12);
  Buffer.from(dst).copy(pkt, 16);
  pkt.writeUInt16BE(checksum(pkt.subarray(0, 20)), 10);
  const tcp = pkt.subarray(20);
  tcp.writeUInt16BE(sport, 0);
  tcp.writeUInt16BE(dport, 2);
  tcp.writeUInt32BE(seq >>> 0, 4);
  tcp.writeUInt32BE(ack >>> 0, 8);
  tcp[12] = 5 << 4;
  tcp[13] = flags;
  const pseudo = Buffer.alloc(12);
  Buffer.from(src).copy(pseudo, 0);
  Buffer.from(dst).copy(pseudo, 4);
  pseudo[9] = 6;
  pseudo.writeUInt16BE(tcp.length, 10);
  tcp.writeUInt16BE(checksum(Buffer.concat([pseudo, tcp])), 16);
  return pkt;
}

function isIpv4TcpSyn(p: Buffer): boolean {
  if (p.length < 40 || p[0]! >> 4 !== 4 || p[9] !== 6) return false;
  const flags = p[(p[0]! & 0xf) * 4 + 13]!;
  return (flags & 0x12) === 0x02; // SYN without ACK
}

function stats(errorsNs: bigint[]): TimingStats {
  const us = errorsNs.map((e) => Number(e) / 1000).sort((a, b) => a - b);
  const at = (q: number): number => us[Math.min(us.length - 1, Math.floor(q * us.length))]!;
  const round = (x: number): number => Math.round(x * 10) / 10;
  return { count: us.length, minUs: round(us[0]!), p50Us: round(at(0.5)), p99Us: round(at(0.99)), maxUs: round(us[us.length - 1]!) };
}

function threadCount(): number {
  return readdirSync('/proc/self/task').length;
}

function sockaddrIn(addr: readonly number[], port: number): Buffer {
  const sa = Buffer.alloc(16);
  sa.writeUInt16LE(Number(SYMBOLS.AF_INET), 0);
  sa.writeUInt16BE(port, 2);
  Buffer.from(addr).copy(sa, 4);
  return sa;
}

/** Waits for the first IPv4 TCP SYN the reader hands over. */
class SynWatcher {
  readonly seen: TunPacket[] = [];
  private waiter: ((p: TunPacket) => void) | undefined;
  private syn: TunPacket | undefined;

  onPackets = (pkts: TunPacket[]): void => {
    for (const p of pkts) {
      this.seen.push(p);
      if (!this.syn && isIpv4TcpSyn(p.data)) {
        this.syn = p;
        this.waiter?.(p);
      }
    }
  };

  next(timeoutMs: number): Promise<TunPacket> {
    if (this.syn) return Promise.resolve(this.syn);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no SYN read from the TUN within ${timeoutMs} ms`)), timeoutMs);
      this.waiter = (p) => {
        clearTimeout(timer);
        resolve(p);
      };
    });
  }
}

/** How long the SYN of kernelStampCheck waits in tun0 before a reader starts. */
const UNREAD_MS = 50;

/**
 * A SYN sent while nobody reads tun0, read UNREAD_MS later by a reader
 * given the stamp socket: it must carry the time the kernel sent it, not
 * the time it was read.
 */
async function kernelStampCheck(tun: { fd: number; name: string }): Promise<NonNullable<SelfCheckReport['kernelStamp']>> {
  const stampFd = packetStampSocketOpen(tun.name);
  try {
    const sock = syscall(sysNr('socket'), [SYMBOLS.AF_INET, SYMBOLS.SOCK_STREAM! | SYMBOLS.SOCK_NONBLOCK!, 0]);
    if (sock.ret < 0n) throw new Error(`socket() failed: ${errnoName(sock.errno)}`);
    const conn = syscall(sysNr('connect'), [Number(sock.ret), sockaddrIn(REMOTE, REMOTE_PORT + 1), 16]);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, UNREAD_MS);
    const watcher = new SynWatcher();
    const readFrom = nowNs();
    const reader = tunReaderStart(tun.fd, watcher.onPackets, { stamp: { fd: stampFd, skip: 0 } });
    const syn = await watcher.next(3000);
    reader.stop();
    const st = reader.stampStats();
    syscall(sysNr('close'), [Number(sock.ret)]);
    return {
      stampAfterConnectUs: Number(syn.tsNs - conn.startNs) / 1000,
      readAfterConnectUs: Number(readFrom - conn.startNs) / 1000,
      stamped: st?.stamped ?? 0,
      unstamped: st?.unstamped ?? 0,
      lagCount: st?.lagCount ?? 0,
      lagMaxUs: (st?.lagMaxNs ?? 0) / 1000,
    };
  } finally {
    syscall(sysNr('close'), [stampFd]);
  }
}

const SCHED_OTHER = 0;
const SCHED_RR = 2;

function setScheduler(policy: number, priority: number): boolean {
  const param = Buffer.alloc(4);
  param.writeInt32LE(priority);
  return syscall(sysNr('sched_setscheduler'), [0, policy, param]).ret === 0n;
}

/**
 * A reader of `tun` that stamps packets with the kernel's times (what its
 * callback delivers goes to `got`) and a socket of `type`, for `check`;
 * both are closed afterwards.
 */
async function withStampedReader<T>(
  tun: { fd: number; name: string },
  type: number | bigint,
  check: (reader: ReturnType<typeof tunReaderStart>, got: TunPacket[], fd: number) => Promise<T>,
): Promise<T> {
  const stampFd = packetStampSocketOpen(tun.name);
  const got: TunPacket[] = [];
  const reader = tunReaderStart(tun.fd, (pkts) => { got.push(...pkts); }, { stamp: { fd: stampFd, skip: 0 } });
  const sock = syscall(sysNr('socket'), [SYMBOLS.AF_INET, type, 0]);
  try {
    if (sock.ret < 0n) throw new Error(`socket() failed: ${errnoName(sock.errno)}`);
    return await check(reader, got, Number(sock.ret));
  } finally {
    reader.stop();
    if (sock.ret >= 0n) syscall(sysNr('close'), [Number(sock.ret)]);
    syscall(sysNr('close'), [stampFd]);
  }
}

/** A listener on LOCAL for checks that write SYNs to it through the TUN. */
interface Listener {
  /** A SYN to the listener from the next remote port. */
  syn(): Buffer;
  /** Write one such SYN now (it must be taken whole). */
  writeSyn(): void;
  /** The SYN-ACKs the JS thread holds so far, in order. */
  synAcks(): TunPacket[];
  /** Let the event loop run until `n` SYN-ACKs are held or `timeoutMs` passed. */
  awaitSynAcks(n: number, timeoutMs: number): Promise<void>;
}

/** withStampedReader with a TCP socket listening on `listenPort`; SYNs come from `firstPort` on. */
async function withListener<T>(
  tun: { fd: number; name: string },
  listenPort: number,
  firstPort: number,
  check: (reader: ReturnType<typeof tunReaderStart>, got: TunPacket[], l: Listener) => Promise<T>,
): Promise<T> {
  return withStampedReader(tun, SYMBOLS.SOCK_STREAM!, async (reader, got, fd) => {
    if (syscall(sysNr('bind'), [fd, sockaddrIn(LOCAL, listenPort), 16]).ret < 0n) throw new Error('bind() failed');
    if (syscall(sysNr('listen'), [fd, 64]).ret < 0n) throw new Error('listen() failed');
    let port = firstPort;
    const l: Listener = {
      syn: () => tcpSegment(REMOTE, LOCAL, port++, listenPort, 1000, 0, 0x02),
      writeSyn: () => {
        const w = tunWrite(tun.fd, l.syn());
        if (w.ret !== 40) throw new Error(`SYN write returned ${w.ret} (${errnoName(w.errno)})`);
      },
      synAcks: () => got.filter((p) => p.data.length >= 40 && p.data[33] === 0x12),
      awaitSynAcks: async (n, timeoutMs) => {
        const until = nowNs() + BigInt(timeoutMs * 1e6);
        while (l.synAcks().length < n && nowNs() < until) await new Promise((r) => setTimeout(r, 1));
      },
    };
    return check(reader, got, l);
  });
}

const SLEEP_ROUNDS = 5;
const SLEEP_SEND_AFTER_MS = 6;
const LOOP_WORK_AFTER_MS = 8;
const QUIET_WAIT_MS = 20;

/**
 * The engine's wait when the packet comes later than its spin, and when
 * none comes: see SelfCheckReport.sleepWait.
 */
async function sleepWaitCheck(tun: { fd: number; name: string }): Promise<NonNullable<SelfCheckReport['sleepWait']>> {
  return withStampedReader(tun, SYMBOLS.SOCK_DGRAM!, async (reader, got, fd) => {
    const dest = sockaddrIn(REMOTE, 9);
    const returnAfterSendUs: number[] = [];
    let delivered = 0;
    for (let i = 0; i < SLEEP_ROUNDS; i++) {
      const payload = Buffer.from(`round ${i}`);
      const at = nowNs() + BigInt(SLEEP_SEND_AFTER_MS * 1e6);
      void syscallAsync(sysNr('sendto'), [fd, payload, payload.length, 0, dest, 16], { atNs: at, hold: [payload, dest] });
      const deadline = at + 200_000_000n;
      let mine: TunPacket[] = [];
      // As the engine does (netdev.ts): a wait cut short for the event
      // loop's work is taken up again once the loop has run.
      while (mine.length === 0 && nowNs() < deadline) {
        if (reader.waitFor(deadline) > 0) {
          const back = nowNs();
          mine = reader.take();
          for (const p of mine) returnAfterSendUs.push(Number(back - p.tsNs) / 1000);
        } else {
          await new Promise((r) => setTimeout(r, 0));
          mine = got.splice(0);
        }
      }
      delivered += mine.filter((p) => p.data.includes(payload)).length;
      await new Promise((r) => setTimeout(r, 2)); // the sendto's completion
    }
    // A wait with nothing to read, which the end of a call cuts short.
    const pid = syscallAsync(sysNr('getpid'), [], { atNs: nowNs() + BigInt(LOOP_WORK_AFTER_MS * 1e6) });
    let t0 = nowNs();
    reader.waitFor(t0 + 2_000_000_000n);
    const loopCutMs = Number(nowNs() - t0) / 1e6;
    await pid;
    // And one that lasts to its deadline.
    t0 = nowNs();
    reader.waitFor(t0 + BigInt(QUIET_WAIT_MS * 1e6));
    const quietMs = Number(nowNs() - t0) / 1e6;
    reader.stop();
    return { delivered, directReads: reader.stampStats()?.directReads ?? 0, returnAfterSendUs, loopCutMs, quietMs };
  });
}

const DIRECT_SYNS = 20;
const DIRECT_FIRST_PORT = 9000;
const DIRECT_LISTEN_PORT = 7000;

/**
 * The engine's wait reads the TUN itself, beside the reader thread: SYNs
 * written to a listener, each followed at once by the engine's wait and
 * take(), as the engine waits for the kernel's answer: every SYN-ACK must
 * still arrive once, in the order the kernel sent them, with the kernel's
 * stamp.
 */
async function directReadCheck(tun: { fd: number; name: string }): Promise<NonNullable<SelfCheckReport['directRead']>> {
  return withListener(tun, DIRECT_LISTEN_PORT, DIRECT_FIRST_PORT, async (reader, got, l) => {
    let rt = false;
    try {
      // As the engine does while a script runs (engine/priority.ts), when
      // permitted: the reader thread, above it, is then woken on another CPU
      // and the wait reads the SYN-ACK first.
      rt = setScheduler(SCHED_RR, 2);
      for (let i = 0; i < DIRECT_SYNS; i++) {
        l.writeSyn();
        if (reader.waitFor(nowNs() + 50_000_000n) > 0) got.push(...reader.take());
      }
      await l.awaitSynAcks(DIRECT_SYNS, 3000);
      got.push(...reader.stop());
      const st = reader.stampStats();
      const ports = l.synAcks().map((p) => p.data.readUInt16BE((p.data[0]! & 0xf) * 4 + 2));
      return { ports, directReads: st?.directReads ?? 0, stamped: st?.stamped ?? 0, realtime: rt };
    } finally {
      if (rt) setScheduler(SCHED_OTHER, 0);
    }
  });
}

const HOLD_SYNS = 5;
const HOLD_FIRST_PORT = 9100;
const HOLD_LISTEN_PORT = 7100;
const HOLD_QUIET_MS = 20;
const HOLD_WAIT_MS = 5;
const HOLD_SHORT_MS = 30;

/** The reader thread held off the TUN: see SelfCheckReport.hold. */
async function holdCheck(tun: { fd: number; name: string }): Promise<NonNullable<SelfCheckReport['hold']>> {
  return withListener(tun, HOLD_LISTEN_PORT, HOLD_FIRST_PORT, async (reader, got, l) => {
    /** ms from `t0` until the reader's callback has delivered `n` SYN-ACKs in all (the event loop runs meanwhile). */
    const deliveredAfter = async (n: number, t0: bigint): Promise<number> => {
      await l.awaitSynAcks(n, 2000);
      return Number(nowNs() - t0) / 1e6;
    };

    reader.hold(nowNs() + 2_000_000_000n);
    for (let i = 0; i < HOLD_SYNS; i++) l.writeSyn();
    await new Promise((r) => setTimeout(r, HOLD_QUIET_MS));
    const deliveredWhileHeld = l.synAcks().length;
    if (reader.waitFor(nowNs() + 50_000_000n) > 0) got.push(...reader.take());
    const readByWait = l.synAcks().length - deliveredWhileHeld;

    reader.hold(nowNs() + 2_000_000_000n);
    reader.waitFor(nowNs() + BigInt(HOLD_WAIT_MS * 1e6));
    let t0 = nowNs();
    l.writeSyn();
    const afterWaitEndedMs = await deliveredAfter(HOLD_SYNS + 1, t0);

    t0 = nowNs();
    reader.hold(t0 + BigInt(HOLD_SHORT_MS * 1e6));
    l.writeSyn();
    const afterShortHoldMs = await deliveredAfter(HOLD_SYNS + 2, t0);
    got.push(...reader.stop());
    const stamped = reader.stampStats()?.stamped ?? 0;
    return { deliveredWhileHeld, readByWait, afterWaitEndedMs, holdMs: HOLD_SHORT_MS, afterShortHoldMs, stamped };
  });
}

const BURST_FIRST_PORT = 9200;
const BURST_LISTEN_PORT = 7200;

/** The burst write: see SelfCheckReport.burstWrite. */
async function burstWriteCheck(tun: { fd: number; name: string }): Promise<NonNullable<SelfCheckReport['burstWrite']>> {
  return withListener(tun, BURST_LISTEN_PORT, BURST_FIRST_PORT, async (reader, _got, l) => {
    const never = (1n << 63n) - 1n;
    const w = tunWriteBurst(tun.fd, [l.syn(), l.syn(), l.syn()], [never, never, never]);
    const stampsUs = w.tsNs.map((t) => Number(t - w.tsNs[0]!) / 1000);
    await l.awaitSynAcks(3, 3000);
    const late = tunWriteBurst(tun.fd, [l.syn(), l.syn(), l.syn()], [0n, never, never]);
    // A frame too short for an IP header: the TUN refuses it.
    const refused = tunWriteBurst(tun.fd, [l.syn(), Buffer.alloc(1), l.syn()], [never, never, never]);
    reader.stop();
    return {
      stampsUs,
      synAcks: l.synAcks().length,
      writtenPastStop: late.tsNs.length,
      refused: { written: refused.tsNs.length, ret: refused.ret, errno: errnoName(refused.errno) },
    };
  });
}

/** Runs the check; must be called inside a fresh network namespace. */
export async function runSelfCheck(writes = 200): Promise<SelfCheckReport> {
  if (!inPrivateNetns()) {
    throw new Error('self-check refused: not inside a private network namespace (run it under `unshare --net`)');
  }
  const report: SelfCheckReport = { ok: false };
  const tun = tunOpen('tun0');
  report.tunName = tun.name;
  const watcher = new SynWatcher();
  const reader = tunReaderStart(tun.fd, watcher.onPackets);
  try {
    ip('link', 'set', 'lo', 'up');
    ip('link', 'set', tun.name, 'up');
    ip('addr', 'add', '192.168.0.1/16', 'dev', tun.name);
    ip('route', 'add', '192.0.2.0/24', 'dev', tun.name);

    // Non-blocking connect: the kernel sends its SYN through tun0.
    const sock = syscall(sysNr('socket'), [SYMBOLS.AF_INET, SYMBOLS.SOCK_STREAM! | SYMBOLS.SOCK_NONBLOCK!, 0]);
    if (sock.ret < 0n) throw new Error(`socket() failed: ${errnoName(sock.errno)}`);
    const fd = Number(sock.ret);
    const conn = syscall(sysNr('connect'), [fd, sockaddrIn(REMOTE, REMOTE_PORT), 16]);
    report.connect = { ret: conn.ret.toString(), errno: errnoName(conn.errno) };

    const syn = await watcher.next(3000);
    const tcp = syn.data.subarray((syn.data[0]! & 0xf) * 4);
    const sport = tcp.readUInt16BE(0);
    const synSeq = tcp.readUInt32BE(4);
    report.syn = {
      srcPort: sport,
      dstPort: tcp.readUInt16BE(2),
      flags: tcp[13]!,
      stampAfterConnectUs: Number(syn.tsNs - conn.startNs) / 1000,
    };
    if (syn.tsNs < conn.startNs || syn.tsNs > nowNs()) throw new Error('implausible SYN time stamp');

    // Answer with a RST: the connect must fail with ECONNREFUSED. A
    // blocking ppoll() on a native thread waits for it.
    const pollfd = Buffer.alloc(8);
    pollfd.writeInt32LE(fd, 0);
    pollfd.writeInt16LE(Number(SYMBOLS.POLLOUT), 4);
    const timeout = Buffer.alloc(16);
    timeout.writeBigInt64LE(3n, 0);
    const polled = syscallAsync(sysNr('ppoll'), [pollfd, 1, timeout, null, 8]);
    const rst = tcpSegment(REMOTE, LOCAL, REMOTE_PORT, sport, 0, synSeq + 1, 0x14);
    const w = tunWrite(tun.fd, rst);
    const pr = await polled;
    const soError = Buffer.alloc(4);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(4);
    syscall(sysNr('getsockopt'), [fd, SYMBOLS.SOL_SOCKET, SYMBOLS.SO_ERROR, soError, len]);
    report.rst = {
      writeRet: w.ret,
      soError: errnoName(soError.readInt32LE(0)),
      refusedAfterUs: Number(pr.endNs - w.tsNs) / 1000,
    };
    syscall(sysNr('close'), [fd]);

    // Timed writes of segments the kernel drops silently (RST, no socket).
    // A write whose request reached the addon only after its deadline (the
    // JS thread was held up) measures the JS thread, not the timer: such
    // writes are counted apart.
    const errors: bigint[] = [];
    const onTime: bigint[] = [];
    for (let i = 0; i < writes; i++) {
      const pkt = tcpSegment(REMOTE, LOCAL, 9, 9, i, 0, 0x04);
      const deadline = nowNs() + BigInt(300_000 + Math.floor(Math.random() * 1_700_000));
      const pending = tunWriteAt(tun.fd, pkt, deadline);
      const submitted = nowNs();
      const r = await pending;
      if (r.ret !== pkt.length) throw new Error(`tunWriteAt wrote ${r.ret} (${errnoName(r.errno)})`);
      errors.push(r.tsNs - deadline);
      if (submitted < deadline) onTime.push(r.tsNs - deadline);
    }
    report.tunWriteAt = stats(errors);
    report.tunWriteAtSubmittedOnTime = stats(onTime);

    // A call that never returns must not keep the process alive.
    const fds = Buffer.alloc(8);
    syscall(sysNr('pipe2'), [fds, CONSTANTS.O_CLOEXEC]);
    void syscallAsync(sysNr('read'), [fds.readInt32LE(0), Buffer.alloc(1), 1], { keepAlive: false });

    report.threadsBeforeStop = threadCount();
    report.leftoverAtStop = reader.stop().length;
    report.threadsAfterStop = threadCount();
    report.packetsSeen = watcher.seen.length;
    report.kernelStamp = await kernelStampCheck(tun);
    report.directRead = await directReadCheck(tun);
    report.sleepWait = await sleepWaitCheck(tun);
    report.hold = await holdCheck(tun);
    report.burstWrite = await burstWriteCheck(tun);
    report.ok =
      report.connect.errno === 'EINPROGRESS' &&
      report.syn.flags === 0x02 &&
      report.syn.dstPort === REMOTE_PORT &&
      w.ret === rst.length &&
      report.rst.soError === 'ECONNREFUSED';
    return report;
  } finally {
    reader.stop();
    syscall(sysNr('close'), [tun.fd]);
  }
}

const invokedDirectly = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  runSelfCheck().then(
    (report) => {
      process.stdout.write(JSON.stringify(report) + '\n');
      if (!report.ok) process.exitCode = 1;
    },
    (err: unknown) => {
      process.stdout.write(JSON.stringify({ ok: false, error: err instanceof Error ? err.message : String(err) }) + '\n');
      process.exitCode = 1;
    },
  );
}
