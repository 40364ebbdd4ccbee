/**
 * Typed access to the native addon (build/Release/tundrill.node), the only
 * module that loads it. It is loaded on first use, not on import, through
 * one injectable function: `useNativeBinding()` hands in another binding
 * (an object, e.g. a fake for unit tests, or the path of a compiled addon)
 * before that, the way better-sqlite3's `nativeBinding` option does. The addon does what JavaScript cannot: TUN access,
 * raw system calls with errno and CLOCK_MONOTONIC stamps taken in C,
 * blocking calls on their own native threads, and a precise timer.
 *
 * Times are CLOCK_MONOTONIC nanoseconds as bigint, like `nowNs()`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** What a system call returned: `ret` is -1 on failure, with `errno` set. */
export interface SyscallResult {
  ret: bigint;
  errno: number;
  /** CLOCK_MONOTONIC right before the call. */
  startNs: bigint;
  /** CLOCK_MONOTONIC right after it returned. */
  endNs: bigint;
}

/**
 * A system call argument: an integer as is, a byte buffer (Buffer, any
 * TypedArray, DataView or ArrayBuffer) as a pointer to its first byte,
 * `null`/`undefined` as 0.
 */
export type SyscallArg = bigint | number | ArrayBufferView | ArrayBuffer | null | undefined;

export interface SyscallAsyncOptions {
  /** Start the call at this CLOCK_MONOTONIC time (precise sleep first). */
  atNs?: bigint;
  /** Keep the event loop alive while the call is in flight (default true). */
  keepAlive?: boolean;
  /**
   * Buffers the arguments point to indirectly (through `addressOf` inside an
   * iovec, msghdr, ...): kept reachable until the call completes. Buffers
   * passed directly as arguments are always kept alive.
   */
  hold?: readonly (ArrayBufferView | ArrayBuffer)[];
  /**
   * Progress words the native thread updates (atomically; read them with
   * Atomics.load): [0] = the id of the thread running the call, as this
   * process's /proc numbers it (not gettid() in a PID namespace of its own),
   * [1] = 0 before, 1 while inside, 2 after the system call. With the
   * thread id, /proc/self/task/<tid>/stat tells whether the call sleeps in
   * the kernel.
   */
  status?: Int32Array;
}

/**
 * A packet read from the TUN or a packet socket, stamped (CLOCK_MONOTONIC)
 * with the time the kernel's packet tap saw it where a stamp socket or the
 * packet socket gives it, else right after the read returned.
 */
export interface TunPacket {
  data: Buffer;
  tsNs: bigint;
  /** From an AF_PACKET socket: sll_pkttype (PACKET_HOST 0 ... PACKET_OUTGOING 4). */
  pkttype?: number;
}

/** sll_pkttype values (linux/if_packet.h). */
export const PACKET_TYPE = { HOST: 0, BROADCAST: 1, MULTICAST: 2, OTHERHOST: 3, OUTGOING: 4 } as const;

/** A bound AF_PACKET socket (packetSocketOpen). */
export interface PacketSocket {
  fd: number;
  ifindex: number;
  /** The interface's hardware address, `aa:bb:...`; '' when it has none. */
  mac: string;
}

/** Outcome of a TUN write: `tsNs` is taken right before write(). */
export interface TunWriteResult {
  tsNs: bigint;
  ret: number;
  errno: number;
}

export interface TunReaderOptions {
  /**
   * Called once if the reader thread stops on an error (e.g. the device
   * went away). Without it the error is thrown as an uncaught exception.
   */
  onError?: (err: NativeError) => void;
  /** Keep the event loop alive while the reader runs (default false). */
  keepAlive?: boolean;
  /**
   * TUN readers: the device's stamp socket (packetStampSocketOpen) and the
   * bytes in front of the packet in each read. Each packet then carries the
   * time the kernel's packet tap saw it, not the later read time.
   */
  stamp?: { fd: number; skip: number };
}

/** How a TUN reader's packets were stamped (stampStats, after stop). */
export interface StampStats {
  /** Packets stamped with the kernel's time. */
  stamped: number;
  /** Packets that kept the read time (no frame of theirs on the stamp socket). */
  unstamped: number;
  /** Packets sent while the reader ran, whose read lag the next two figures describe (one queued before it waited for it). */
  lagCount: number;
  /** How far the read came after the kernel's stamp: the largest, and the sum. */
  lagMaxNs: number;
  lagSumNs: number;
  /** Packets the engine's own wait (waitFor) read from the TUN, ahead of the reader thread. */
  directReads: number;
}

export interface TunReader {
  /**
   * Stops the reader thread and waits for it. Returns the packets it read
   * but had not delivered yet; no callback runs after stop().
   */
  stop(): TunPacket[];
  /** Packets read and queued for the next callback. */
  pending(): number;
  /** Take the packets queued right now, without waiting for the callback. */
  take(): TunPacket[];
  /**
   * Block this thread until a packet is queued or `deadlineNs` passes,
   * or, after its first 3 ms, the event loop has work (an I/O event or a
   * timer due); returns how many are queued. `spin` (default true): look
   * for the packet in a short spin first, for an answer to what the
   * engine just did; a wait taken up again after the event loop ran
   * sleeps at once.
   */
  waitFor(deadlineNs: bigint, spin?: boolean): number;
  /**
   * Keep the reader thread off the fd until `untilNs`: the engine reads it
   * itself meanwhile (waitFor), and a packet the kernel sends then wakes
   * no thread.
   */
  hold(untilNs: bigint): void;
  /** After stop(): how the packets were stamped; null before, or without a stamp socket. */
  stampStats(): StampStats | null;
  readonly running: boolean;
}

/** Error carrying an errno from the addon. */
export class NativeError extends Error {
  readonly errno: number;
  readonly code: string;
  constructor(message: string, errno: number) {
    super(message);
    this.name = 'NativeError';
    this.errno = errno;
    this.code = errnoName(errno);
  }
}

interface ReaderHandle {
  readonly __tundrillReader: unique symbol;
}

interface SockDiagHandle {
  readonly __tundrillSockDiag: unique symbol;
}

/**
 * One socket-state record of the sock_diag sampler: the kernel's reply
 * (struct inet_diag_msg and its attributes, as received) with the
 * CLOCK_MONOTONIC times around the request.
 */
export interface SockDiagRecord {
  /** Before the request was sent. */
  tsNs: bigint;
  /** When the reply was complete. */
  endNs: bigint;
  /** The end of the last sample that still showed the previous state (0n: first sighting). */
  sinceNs: bigint;
  /** The time stamp of the packet that caused the query (0n for dumps). */
  packetNs: bigint;
  /** 'in': after a packet written to the TUN; 'out': after one read from it; 'dump'/'final': periodic or last dump. */
  cause: 'dump' | 'in' | 'out' | 'final';
  /** The socket was not in this dump any more; `data` is its last state. */
  gone: boolean;
  data: Buffer;
}

/** Counters of a sock_diag sampler and, once stopped, its cost per sample (ns). */
export interface SockDiagStats {
  dumps: number;
  queries: number;
  /** Records kept (changes and disappearances). */
  records: number;
  replies: number;
  /** Per-packet queries that found no socket (e.g. a RST to a closed port). */
  notFound: number;
  /** Per-packet requests folded into one still waiting for the same 4-tuple. */
  merged: number;
  dropped: number;
  /** errno of the last failure, 0 if none. */
  error: number;
  /** CPU time the sampler thread used (set once stopped), ns. */
  cpuNs: number;
  dumpCostNs?: Int32Array;
  queryCostNs?: Int32Array;
  /** From the packet's time stamp to the start of its query. */
  queryLagNs?: Int32Array;
}

export interface SockDiagSampler {
  /** The records kept since the last take(). */
  take(): SockDiagRecord[];
  /** Stops the thread after one final dump; returns the records not taken yet. */
  stop(): SockDiagRecord[];
  stats(): SockDiagStats;
  readonly running: boolean;
}

/** Late wake-ups of the stall monitor's thread (native/stall_monitor.c). */
export interface StallReport {
  /** [should have woken, woke with its wait for a CPU taken off] pairs, CLOCK_MONOTONIC ns. */
  stalls: Array<[bigint, bigint]>;
  wakeups: number;
  running: boolean;
  /** Whether the monitor thread runs at real-time priority (only then is a stall the machine's). */
  realtime: boolean;
  /** Late wake-ups that were waits for a CPU, not stalls (since the monitor started). */
  cpuWaits?: number;
  /** Whether the kernel keeps run delays (then the monitor runs below the engines and tells waits from stalls). */
  runDelays?: boolean;
}

/** The addon's raw exports (see native/*.c). */
export interface NativeBinding {
  nowNs(): bigint;
  spinUntil(deadlineNs: bigint): bigint;
  sleepUntil(deadlineNs: bigint): bigint;
  threadpoolRealtime(threads: number, priority: number): Promise<number>;
  setRealtimePriority(priority: number): boolean;
  stallMonitorStart(periodUs: number, thresholdUs: number): { realtime: boolean };
  stallMonitorStop(): void;
  stallMonitorStalls(fromNs: bigint, toNs: bigint): StallReport;
  syscall(nr: number, args: readonly SyscallArg[]): SyscallResult;
  syscallAsync(
    nr: number,
    args: readonly SyscallArg[],
    atNs: bigint | undefined,
    keepAlive: boolean,
    status: Int32Array | undefined,
  ): Promise<SyscallResult>;
  addressOf(buf: ArrayBufferView | ArrayBuffer): bigint;
  tunOpen(name: string): { fd: number; name: string };
  tunWrite(fd: number, data: ArrayBufferView): TunWriteResult;
  tunWriteBurst(fd: number, frames: ArrayBufferView[], stopAfterNs: bigint[]): TunBurstResult;
  tunWriteAt(fd: number, data: ArrayBufferView, deadlineNs: bigint): Promise<TunWriteResult>;
  tunReaderStart(
    fd: number,
    onPackets: (pkts: TunPacket[]) => void,
    onError: (errno: number) => void,
    keepAlive: boolean,
    pkttypeMask?: number,
    stampFd?: number,
    stampSkip?: number,
  ): ReaderHandle;
  tunReaderStampStats(handle: ReaderHandle): StampStats | null;
  packetSocketOpen(ifname: string, vnetHdr: boolean): PacketSocket;
  packetStampSocketOpen(ifname: string): number;
  tunReaderStop(handle: ReaderHandle): TunPacket[];
  tunReaderPending(handle: ReaderHandle): number;
  tunReaderTake(handle: ReaderHandle): TunPacket[];
  tunReaderWait(handle: ReaderHandle, deadlineNs: bigint, spin: boolean): number;
  tunReaderHold(handle: ReaderHandle, untilNs: bigint): void;
  strerror(errno: number): string;
  netnsFollow(): void;
  sockDiagStart(tunFd: number, vnetHdrLen: number, intervalNs: bigint): SockDiagHandle;
  sockDiagTake(handle: SockDiagHandle): SockDiagRecord[];
  sockDiagStop(handle: SockDiagHandle): SockDiagRecord[];
  sockDiagStats(handle: SockDiagHandle): SockDiagStats;
  sockDiagDumpNow(): { tsNs: bigint; endNs: bigint; records: Buffer[] };
  sockDiagWake(): void;
  spawnWait(path: string, argv: string[], env: string[], cwd: string, timeoutMs: number, maxBuffer: number): SpawnWaitResult;
  SYMBOLS: Record<string, bigint>;
  CONSTANTS: Record<string, bigint>;
  SYS: Record<string, number>;
  ERRNO: Record<string, number>;
}

const PACKAGE_NAME = 'tundrill';

/** The package root: the nearest directory above this module whose
 * package.json names this package (works from src/ and from dist/). */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown };
        if (pkg.name === PACKAGE_NAME) return dir;
      } catch {
        // not ours; keep looking
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw new Error(`native addon: cannot find the ${PACKAGE_NAME} package root above ${fileURLToPath(import.meta.url)}`);
    }
    dir = parent;
  }
}

/** Absolute path of the compiled addon. */
export const ADDON_PATH = path.join(packageRoot(), 'build', 'Release', 'tundrill.node');

function loadFrom(file: string): NativeBinding {
  if (!existsSync(file)) {
    throw new Error(`native addon not built: run npm ci / npm run install (missing ${file})`);
  }
  const require = createRequire(import.meta.url);
  return require(file) as NativeBinding;
}

let bound: NativeBinding | null = null;
let tables: {
  SYMBOLS: Readonly<Record<string, bigint>>;
  CONSTANTS: Readonly<Record<string, bigint>>;
  SYS: Readonly<Record<string, number>>;
  ERRNO: Readonly<Record<string, number>>;
  errnoNames: ReadonlyMap<number, string>;
} | null = null;

/**
 * Use `binding` as the addon: an object with the addon's exports (a fake
 * in unit tests), or the path of a compiled addon. Call it before anything
 * uses the addon; a later call replaces the binding for later calls.
 */
export function useNativeBinding(binding: NativeBinding | string): void {
  bound = typeof binding === 'string' ? loadFrom(binding) : binding;
  unloadTables();
}

/** The binding in use, loaded from ADDON_PATH on first use unless one was handed in. */
export function nativeBinding(): NativeBinding {
  return bound ?? (bound = loadFrom(ADDON_PATH));
}

const ERRNO_ALIASES = new Set(['EWOULDBLOCK', 'EDEADLOCK', 'ENOTSUP']);

function nativeTables(): NonNullable<typeof tables> {
  if (tables) return tables;
  const b = nativeBinding();
  const errnos = Object.freeze({ ...b.ERRNO });
  const errnoNames = new Map<number, string>();
  const entries = Object.entries(errnos);
  for (const [name, value] of entries) if (!ERRNO_ALIASES.has(name) && !errnoNames.has(value)) errnoNames.set(value, name);
  for (const [name, value] of entries) if (!errnoNames.has(value)) errnoNames.set(value, name);
  const t = {
    SYMBOLS: Object.freeze({ ...b.SYMBOLS }),
    CONSTANTS: Object.freeze({ ...b.CONSTANTS }),
    SYS: Object.freeze({ ...b.SYS }),
    ERRNO: errnos,
    errnoNames,
  };
  tables = t;
  SYMBOLS = t.SYMBOLS;
  CONSTANTS = t.CONSTANTS;
  SYS = t.SYS;
  ERRNO = t.ERRNO;
  return t;
}

/** A stand-in for a table of the binding that loads the binding when first read. */
function lazyTable<V>(pick: (t: NonNullable<typeof tables>) => Readonly<Record<string, V>>): Readonly<Record<string, V>> {
  return new Proxy({} as Record<string, V>, {
    get: (_t, key) => (typeof key === 'string' ? pick(nativeTables())[key] : undefined),
    has: (_t, key) => key in pick(nativeTables()),
    ownKeys: () => Reflect.ownKeys(pick(nativeTables())),
    getOwnPropertyDescriptor: (_t, key) => {
      const d = Object.getOwnPropertyDescriptor(pick(nativeTables()), key);
      return d ? { ...d, configurable: true } : undefined;
    },
    set: () => false,
    defineProperty: () => false,
    deleteProperty: () => false,
  });
}

/*
 * The tables are live bindings: until the binding is loaded each one is a
 * stand-in that loads it on first read, after which every table is the
 * binding's own frozen copy.
 */
/** Symbol name -> value for every name a packetdrill script may use on Linux
 * (socket options, flags, errno names, ...), from the system headers. */
export let SYMBOLS: Readonly<Record<string, bigint>>;
/** Further constants the harness needs (AF_UNIX, SOCK_CLOEXEC, SIOCOUTQ, ...). */
export let CONSTANTS: Readonly<Record<string, bigint>>;
/** System call numbers of this architecture (names without the SYS_ prefix;
 * legacy calls such as open, poll or pipe are absent on arm64). */
export let SYS: Readonly<Record<string, number>>;
/** Every errno name -> number (aliases such as EWOULDBLOCK included). */
export let ERRNO: Readonly<Record<string, number>>;

function unloadTables(): void {
  tables = null;
  SYMBOLS = lazyTable((t) => t.SYMBOLS);
  CONSTANTS = lazyTable((t) => t.CONSTANTS);
  SYS = lazyTable((t) => t.SYS);
  ERRNO = lazyTable((t) => t.ERRNO);
}
unloadTables();

/**
 * Tell the addon that the calling (JS) thread has entered another network
 * namespace: the addon's threads run later jobs there. Call it once at
 * start-up (records the base namespace) and after every unshare/setns.
 */
export function netnsFollow(): void {
  nativeBinding().netnsFollow();
}

/** Current CLOCK_MONOTONIC time in nanoseconds. */
export function nowNs(): bigint {
  return nativeBinding().nowNs();
}

/**
 * Spin on this thread until CLOCK_MONOTONIC reaches `deadlineNs` (at most
 * 10 ms away; TypeError otherwise) and return the time reached: no
 * allocation and no JavaScript runs meanwhile.
 */
export function spinUntil(deadlineNs: bigint): bigint {
  return nativeBinding().spinUntil(deadlineNs);
}

/**
 * Sleep this thread until CLOCK_MONOTONIC reaches `deadlineNs` (at most 1 s
 * away; TypeError otherwise) and return the time it woke at. Unlike
 * Atomics.wait it takes no lock that V8's background threads hold
 * (native/clock.c says why that matters at real-time priority).
 */
export function sleepUntil(deadlineNs: bigint): bigint {
  return nativeBinding().sleepUntil(deadlineNs);
}

/**
 * Put `threads` threads of libuv's pool (all of them: its size) at
 * SCHED_FIFO `priority`; resolves with how many were raised (0 where
 * real-time scheduling is not permitted). native/threadpool.c says why.
 */
export function threadpoolRealtime(threads: number, priority: number): Promise<number> {
  return nativeBinding().threadpoolRealtime(threads, priority);
}

/**
 * SCHED_FIFO priority (1..99) of the addon's time-critical threads: timed
 * writes and calls, the TUN reader, idle pool threads
 * (default 10, used when the process may; on a busy machine an ordinary
 * thread can wake milliseconds late). 0 makes them ordinary threads.
 * Returns false once real-time scheduling turned out not to be permitted.
 */
export function setRealtimePriority(priority: number): boolean {
  return nativeBinding().setRealtimePriority(priority);
}

/**
 * Start (or join) the process's stall monitor: a real-time thread that
 * wakes every `periodUs` and notes each wake-up later than `thresholdUs`.
 * Every start needs a stallMonitorStop().
 */
export function stallMonitorStart(periodUs: number, thresholdUs: number): { realtime: boolean } {
  return nativeBinding().stallMonitorStart(periodUs, thresholdUs);
}

export function stallMonitorStop(): void {
  nativeBinding().stallMonitorStop();
}

/** The stalls that overlap [fromNs, toNs] (monotonic), from the last 1024 noted. */
export function stallMonitorStalls(fromNs: bigint, toNs: bigint): StallReport {
  return nativeBinding().stallMonitorStalls(fromNs, toNs);
}

/** Message for an errno value, as strerror(3) gives it. */
export function strerror(errno: number): string {
  return nativeBinding().strerror(errno);
}

/** Canonical name of an errno value (EAGAIN rather than EWOULDBLOCK). */
export function errnoName(errno: number): string {
  return nativeTables().errnoNames.get(errno) ?? `UNKNOWN_ERRNO_${errno}`;
}

/** The number of a system call on this architecture; throws if it has none. */
export function sysNr(name: string): number {
  const nr = SYS[name];
  if (nr === undefined) throw new Error(`system call ${name} is not available on ${process.arch}`);
  return nr;
}

/** Runs a system call on the JS thread (for calls that do not block). */
export function syscall(nr: number, args: readonly SyscallArg[] = []): SyscallResult {
  return nativeBinding().syscall(nr, args);
}

/**
 * Runs a system call on a native thread of its own, so it may block (accept,
 * read, poll, ...) while the event loop keeps going; any number may be in
 * flight. With `atNs`, starts it at that time.
 */
export function syscallAsync(
  nr: number,
  args: readonly SyscallArg[] = [],
  opts: SyscallAsyncOptions = {},
): Promise<SyscallResult> {
  const p = nativeBinding().syscallAsync(nr, args, opts.atNs, opts.keepAlive ?? true, opts.status);
  const hold = opts.hold;
  if (!hold || hold.length === 0) return p;
  return p.finally(() => {
    // Referencing `hold` here keeps those buffers reachable until the call is done.
    void hold;
  });
}

/** Address of a buffer's first byte, for structures that point at buffers. */
export function addressOf(buf: ArrayBufferView | ArrayBuffer): bigint {
  return nativeBinding().addressOf(buf);
}

/**
 * Opens a TUN device (IFF_TUN | IFF_NO_PI) in the calling thread's network
 * namespace. The fd is O_CLOEXEC and O_NONBLOCK. An empty name lets the
 * kernel choose; the name it used is returned.
 */
export function tunOpen(name: string): { fd: number; name: string } {
  return nativeBinding().tunOpen(name);
}

/** Writes one packet to the TUN now. */
export function tunWrite(fd: number, data: ArrayBufferView): TunWriteResult {
  return nativeBinding().tunWrite(fd, data);
}

/** What tunWriteBurst did: a stamp for each write made, and the last write's result. */
export interface TunBurstResult {
  /** CLOCK_MONOTONIC ns right before each write made, in order. */
  tsNs: bigint[];
  /** The last write's return value (negative: it failed, with `errno`). */
  ret: number;
  errno: number;
}

/**
 * Write 1-64 frames back to back in one call, each stamped right before
 * its write; stops after a write that fails and after one stamped later
 * than its `stopAfterNs` entry.
 */
export function tunWriteBurst(fd: number, frames: ArrayBufferView[], stopAfterNs: bigint[]): TunBurstResult {
  return nativeBinding().tunWriteBurst(fd, frames, stopAfterNs);
}

/**
 * Writes a copy of `data` to the TUN at `deadlineNs`: a native thread sleeps
 * until shortly before it, busy-waits to it, stamps and writes. A deadline in
 * the past writes at once.
 */
export function tunWriteAt(fd: number, data: ArrayBufferView, deadlineNs: bigint): Promise<TunWriteResult> {
  return nativeBinding().tunWriteAt(fd, data, deadlineNs);
}

/**
 * Starts a thread that reads every packet from the TUN as soon as it
 * arrives, stamps it, and queues it without limit; `onPackets` receives the
 * queue in batches on the JS thread.
 */
export function tunReaderStart(
  fd: number,
  onPackets: (pkts: TunPacket[]) => void,
  opts: TunReaderOptions = {},
): TunReader {
  return startReader(fd, onPackets, opts, 0);
}

/**
 * Opens an AF_PACKET socket on `ifname` in the calling thread's network
 * namespace (where it stays): raw frames of every protocol, O_NONBLOCK,
 * with a virtio-net header on each frame when `vnetHdr`. tunWrite and
 * tunWriteAt send frames on it.
 */
export function packetSocketOpen(ifname: string, vnetHdr: boolean): PacketSocket {
  return nativeBinding().packetSocketOpen(ifname, vnetHdr);
}

/**
 * Opens the stamp socket of `ifname` in the calling thread's namespace: an
 * AF_PACKET socket that keeps, of every frame the interface sends, its
 * first bytes and the time the kernel's packet tap saw it (the time
 * packetdrill and tcpdump give sent packets). Returns its fd (O_CLOEXEC);
 * the caller closes it after the reader that uses it has stopped.
 */
export function packetStampSocketOpen(ifname: string): number {
  return nativeBinding().packetStampSocketOpen(ifname);
}

/**
 * The reader thread of tunReaderStart on an AF_PACKET socket: every frame
 * whose sll_pkttype is in `pkttypes` (PACKET_TYPE values), with its type,
 * stamped with the time the kernel's packet tap saw it (the read's time
 * where the kernel gave none).
 */
export function packetReaderStart(
  fd: number,
  pkttypes: readonly number[],
  onPackets: (pkts: TunPacket[]) => void,
  opts: TunReaderOptions = {},
): TunReader {
  const mask = pkttypes.reduce((m, t) => m | (1 << t), 0);
  if (mask === 0) throw new TypeError('packetReaderStart: no packet type to keep');
  return startReader(fd, onPackets, opts, mask);
}

function startReader(
  fd: number,
  onPackets: (pkts: TunPacket[]) => void,
  opts: TunReaderOptions,
  pkttypeMask: number,
): TunReader {
  const onError = (errno: number): void => {
    const err = new NativeError(`${pkttypeMask ? 'packet' : 'TUN'} reader stopped: ${strerror(errno)} (${errnoName(errno)})`, errno);
    if (opts.onError) opts.onError(err);
    else throw err;
  };
  const b = nativeBinding();
  const stamp = pkttypeMask === 0 ? opts.stamp : undefined;
  const handle = b.tunReaderStart(fd, onPackets, onError, opts.keepAlive ?? false, pkttypeMask, stamp?.fd ?? -1, stamp?.skip ?? 0);
  let running = true;
  return {
    stop(): TunPacket[] {
      if (!running) return [];
      running = false;
      return b.tunReaderStop(handle);
    },
    pending(): number {
      return running ? b.tunReaderPending(handle) : 0;
    },
    take(): TunPacket[] {
      return running ? b.tunReaderTake(handle) : [];
    },
    waitFor(deadlineNs: bigint, spin = true): number {
      return running ? b.tunReaderWait(handle, deadlineNs, spin) : 0;
    },
    hold(untilNs: bigint): void {
      if (running) b.tunReaderHold(handle, untilNs);
    },
    stampStats(): StampStats | null {
      return stamp && !running ? b.tunReaderStampStats(handle) : null;
    },
    get running(): boolean {
      return running;
    },
  };
}

export interface SockDiagOptions {
  /** The TUN whose packets trigger per-packet queries; -1 or absent: none; -2: every TUN this process uses. */
  tunFd?: number;
  /** Bytes in front of the IP header of every TUN frame (virtio-net header: 10). */
  vnetHdrLen?: number;
  /** Period of the full dumps, ms; 0: none. */
  intervalMs: number;
}

/**
 * Starts the socket-state sampler of the calling thread's network
 * namespace (its netlink socket is made here and stays in this namespace):
 * a native thread that queries the socket of every packet read from or
 * written to `tunFd` and dumps every TCP socket each `intervalMs`, keeping
 * a record only when a socket changed.
 */
export function sockDiagStart(opts: SockDiagOptions): SockDiagSampler {
  if (!(opts.intervalMs >= 0)) throw new Error(`sock_diag interval must be >= 0 ms, got ${opts.intervalMs}`);
  const handle = nativeBinding().sockDiagStart(opts.tunFd ?? -1, opts.vnetHdrLen ?? 0, BigInt(Math.round(opts.intervalMs * 1e6)));
  let running = true;
  return {
    take: () => nativeBinding().sockDiagTake(handle),
    stop(): SockDiagRecord[] {
      running = false;
      return nativeBinding().sockDiagStop(handle);
    },
    stats: () => nativeBinding().sockDiagStats(handle),
    get running(): boolean {
      return running;
    },
  };
}

/**
 * The engine has time to spare (it is about to sleep or wait): wakes the
 * samplers whose queries of packets written on this thread wait for it.
 * Writing does not wake them itself, since a wake-up costs the writer
 * microseconds the next packet would start late by. Nothing to do costs
 * one native call.
 */
export function sockDiagWake(): void {
  nativeBinding().sockDiagWake();
}

/** Every TCP socket of the calling thread's namespace now, read on this thread. */
export function sockDiagDumpNow(): { tsNs: bigint; endNs: bigint; records: Buffer[] } {
  return nativeBinding().sockDiagDumpNow();
}

/** What spawnWait gives back. */
export interface SpawnWaitResult {
  /** posix_spawn's error (ENOENT for a missing program), 0 when the child started. */
  spawnErrno: number;
  /** Exit status, or null when a signal ended the child (or it never started). */
  status: number | null;
  /** The signal number that ended the child, or null. */
  signal: number | null;
  stdout: Buffer;
  stderr: Buffer;
  /** The time limit was reached (the child got SIGTERM, then SIGKILL). */
  timedOut: boolean;
  /** Output beyond maxBuffer was left out. */
  truncated: boolean;
}

/**
 * Run a program to its end on this thread, as system(3) does (posix_spawn:
 * no copy of this process's page tables), with stdin from /dev/null and
 * stdout and stderr collected; the child inherits this thread's scheduling
 * policy. timeoutMs 0: no limit.
 */
export function spawnWait(
  file: string,
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; maxBuffer?: number } = {},
): SpawnWaitResult {
  const env = Object.entries(opts.env ?? process.env)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => `${k}=${v}`);
  return nativeBinding().spawnWait(file, [...args], env, opts.cwd ?? '', opts.timeoutMs ?? 0, opts.maxBuffer ?? 64 * 1024 * 1024);
}
