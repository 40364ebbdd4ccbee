/**
 * The system-call runner against the real kernel: a child process in a
 * fresh network namespace (`unshare --net`) runs script system calls over
 * loopback through prepareSyscall() and the native addon, in each IP
 * variant, and reports every call's verdict and the final fd table. Calls
 * with wrong expectations must fail with packetdrill's exact messages.
 *
 * The runner's modules are compiled with tsc into a cache folder under
 * node_modules (inside the package, so the addon finds its build).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, test } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OUT = path.join(ROOT, 'node_modules', '.cache', 'tundrill-syscall-loopback');
const CHILD = path.join(OUT, 'child.mjs');

const CHILD_SOURCE = String.raw`
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as addon from './native/addon.js';
import { finalizeConfig } from './engine/config.js';
import { FdTable, newSocketEntry } from './engine/sockets.js';
import { prepareSyscall, SyscallFailure, syscallClockFromMonotonic } from './engine/run-syscall.js';
import { parseScript } from './script/index.js';

const input = JSON.parse(process.argv[2]);
execFileSync('ip', ['link', 'set', 'lo', 'up']);
writeFileSync(input.file, 'hello');
const cc = readFileSync('/proc/sys/net/ipv4/tcp_congestion_control', 'utf8').trim();

const config = finalizeConfig(input.options);
const fds = new FdTable();
const liveStartNs = addon.nowNs();
const ctx = {
  config,
  fds,
  symbol: (name) => addon.SYMBOLS[name],
  clock: syscallClockFromMonotonic(() => liveStartNs),
};
const v6 = input.options.ipVersion !== 'ipv4';
// Script time (ns) at which the last write() started.
let lastWriteNs = 0n;

function spec(line) {
  const text = line
    .replaceAll('@CC@', cc)
    .replaceAll('@CCLEN@', String(cc.length))
    .replaceAll('@T@', String(lastWriteNs))
    .replaceAll('@T+50ms@', String(lastWriteNs + 50000000n))
    .replaceAll('@LEVEL@', v6 ? 'SOL_IPV6' : 'SOL_IP')
    .replaceAll('@RECVERR@', v6 ? 'IPV6_RECVERR' : 'IP_RECVERR');
  const s = parseScript('0 ' + text + '\n', { path: 'loopback.pkt' });
  return s.events[0].syscall;
}

function messageOf(e) {
  if (e instanceof SyscallFailure) return e.message;
  throw e;
}

const results = [];
let pending = null;
for (const step of input.steps) {
  if (step.handshake) {
    // What the packet side does when the script plays a handshake to a listener.
    const child = newSocketEntry({ phase: 'passive_synack_acked', family: fds.socketUnderTest.family, type: 1 });
    fds.add(child);
    fds.socketUnderTest = child;
    continue;
  }
  if (step.await) {
    const { p, promise, slot } = pending;
    const r = await promise;
    try { p.complete(r); } catch (e) { slot.error = messageOf(e); }
    pending = null;
    continue;
  }
  let error = null;
  try {
    const p = prepareSyscall(ctx, spec(step.line));
    if (step.async) {
      const promise = addon.syscallAsync(p.nr, p.args, { hold: p.keepAlive.filter((b) => Buffer.isBuffer(b)) });
      const slot = { line: step.line, error: null };
      results.push(slot);
      pending = { p, promise, slot };
      continue;
    }
    const r = p.nr === null ? p.emulate() : addon.syscall(p.nr, p.args);
    if (p.name === 'write') lastWriteNs = r.startNs - liveStartNs;
    p.complete(r);
  } catch (e) {
    error = messageOf(e);
  }
  results.push({ line: step.line, error });
}

const table = fds.entries.map((e) => ({
  kind: e.kind,
  scriptFd: e.scriptFd,
  liveFd: e.liveFd,
  isClosed: e.isClosed,
  phase: e.phase,
  liveRemote: e.live ? e.live.remote : undefined,
}));
process.stdout.write(JSON.stringify({ results, table }));
`;

interface Step {
  line?: string;
  /** The failure message expected (exact text, or a pattern), or undefined for success. */
  error?: string | RegExp;
  handshake?: true;
  async?: true;
  await?: true;
}

function timestampRecvmsg(nsec: string, key: number): string {
  return (
    'recvmsg(4, {msg_name(...)=..., msg_iov(1)=[{...,0}], msg_flags=MSG_ERRQUEUE|MSG_TRUNC, msg_control=[' +
    `{cmsg_level=SOL_SOCKET, cmsg_type=SCM_TIMESTAMPING, cmsg_data={scm_sec=0,scm_nsec=${nsec}}},` +
    '{cmsg_level=@LEVEL@, cmsg_type=@RECVERR@, cmsg_data={ee_errno=ENOMSG, ee_origin=SO_EE_ORIGIN_TIMESTAMPING, ' +
    `ee_type=0, ee_code=0, ee_info=SCM_TSTAMP_SND, ee_data=${key}}}]}, MSG_ERRQUEUE) = 0`
  );
}

const TIMESTAMP_ERROR = /^Bad timestamp 0 in scm_timestamping 0: expected=\d+ \(\d+\) actual=\d+ \(\d+\) start=\d+$/;

/** The calls every variant runs; fds: 3 listener, 4 client, 5 accepted. */
function steps(file: string): Step[] {
  return [
    { line: 'socket(..., SOCK_STREAM, IPPROTO_TCP) = 3' },
    { line: 'setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0' },
    { line: 'bind(3, ..., ...) = 0' },
    { line: 'listen(3, 1) = 0' },
    { line: 'socket(..., SOCK_STREAM, IPPROTO_TCP) = 4' },
    { line: 'connect(4, ..., ...) = 0' },
    { handshake: true },
    { line: 'accept(3, ..., ...) = 5' },
    // TCP_INFO's first int: tcpi_state ESTABLISHED (1), ca_state, retransmits, probes all 0.
    { line: 'getsockopt(5, SOL_TCP, TCP_INFO, [1], [4]) = 0' },
    { line: 'getsockopt(4, SOL_TCP, TCP_INFO, [7], [4]) = 0', error: 'Bad getsockopt optval: expected: 7 actual: 1' },
    { line: 'getsockopt(4, SOL_TCP, TCP_CONGESTION, "@CC@", [@CCLEN@]) = 0' },
    { line: 'getsockopt(4, SOL_TCP, TCP_INFO, [1], [8]) = 0', error: 'Unsupported getsockopt optlen: 8' },
    { line: 'getsockopt(5, SOL_SOCKET, SO_REUSEADDR, [1], [4]) = 0' },
    { line: 'getsockopt(4, SOL_SOCKET, SO_REUSEADDR, [1], [4]) = 0', error: 'Bad getsockopt optval: expected: 1 actual: 0' },
    { line: 'setsockopt(4, SOL_TCP, TCP_NODELAY, [1], 4) = 0' },
    { line: 'getsockopt(4, SOL_TCP, TCP_NODELAY, [1], [4]) = 0' },
    { line: 'setsockopt(4, SOL_SOCKET, SO_LINGER, {onoff=1, linger=5}, 8) = 0' },
    { line: 'setsockopt(4, SOL_SOCKET, SO_LINGER, {onoff=1, linger=5}, 4) = -1 EINVAL (Invalid argument)' },
    { line: 'write(4, ..., 1000) = 1000' },
    { line: 'poll([{fd=5, events=POLLIN|POLLOUT, revents=POLLIN|POLLOUT}], 1, 100) = 1' },
    { line: 'ioctl(5, SIOCINQ, [1000]) = 0' },
    { line: 'ioctl(5, SIOCINQ, [999]) = 0', error: 'Bad ioctl optval: expected: 999 actual: 1000' },
    { line: 'read(5, ..., 2000) = 1000' },
    { line: 'poll([{fd=5, events=POLLIN, revents=POLLIN}], 1, 0) = 0', error: 'Expected revents of POLLIN but got  for pollfd 0' },
    { line: 'epoll_create(1) = 6' },
    { line: 'epoll_ctl(6, EPOLL_CTL_ADD, 5, {events=EPOLLIN, fd=5}) = 0' },
    { line: 'epoll_wait(6, {events=0, ptr=0}, 1, 0) = 0' },
    { line: 'write(4, ..., 10) = 10' },
    { line: 'epoll_wait(6, {events=EPOLLIN, fd=5}, 1, 100) = 1' },
    {
      line: 'epoll_wait(6, {events=EPOLLIN|EPOLLOUT, fd=5}, 1, 100) = 1',
      error: 'epoll_event->events does not match script: expected: 0x5 actual: 0x1\n',
    },
    { line: 'pipe([7, 8]) = 0' },
    { line: 'splice(5, NULL, 8, NULL, 10, 0) = 10' },
    { line: 'read(7, ..., 100) = 10' },
    { line: `open("${file}", O_RDONLY) = 9` },
    { line: 'sendfile(4, 9, [0], 5) = 5' },
    { line: 'read(5, ..., 100) = 5' },
    { line: 'writev(4, [{..., 3}, {..., 4}], 2) = 7' },
    { line: 'readv(5, [{..., 2}, {..., 10}], 2) = 7' },
    { line: 'sendmsg(4, {msg_name(...)=..., msg_iov(2)=[{..., 20}, {..., 5}], msg_flags=0}, 0) = 25' },
    { line: 'recvmsg(5, {msg_name(...)=..., msg_iov(1)=[{..., 100}], msg_flags=0}, 0) = 25' },
    { line: 'setsockopt(5, SOL_TCP, TCP_INQ, [1], 4) = 0' },
    { line: 'send(4, ..., 30, 0) = 30' },
    {
      line:
        'recvmsg(5, {msg_name(...)=..., msg_iov(1)=[{..., 10}], msg_flags=0, ' +
        'msg_control=[{cmsg_level=SOL_TCP, cmsg_type=TCP_CM_INQ, cmsg_data=20}]}, 0) = 10',
    },
    {
      line:
        'recvmsg(5, {msg_name(...)=..., msg_iov(1)=[{..., 5}], msg_flags=0, ' +
        'msg_control=[{cmsg_level=SOL_TCP, cmsg_type=TCP_CM_INQ, cmsg_data=20}]}, 0) = 5',
      error: 'Bad data in cmsg 0: expected=\x14 actual=\x0f',
    },
    { line: 'recv(5, ..., 100, 0) = 15' },
    // Transmit time stamps: CLOCK_REALTIME stamps checked against script time.
    {
      line:
        'setsockopt(4, SOL_SOCKET, SO_TIMESTAMPING, ' +
        '[SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_ID], 4) = 0',
    },
    { line: 'write(4, ..., 10) = 10' },
    { line: 'poll([{fd=4, events=POLLIN, revents=POLLERR}], 1, 100) = 1' },
    { line: timestampRecvmsg('@T@', 9) },
    { line: 'write(4, ..., 10) = 10' },
    { line: timestampRecvmsg('@T+50ms@', 19), error: TIMESTAMP_ERROR },
    { line: 'recv(5, ..., 100, 0) = 20' },
    // A blocking read on its own thread, satisfied by a later write.
    { line: 'read(5, ..., 100) = 42', async: true },
    { line: 'write(4, ..., 42) = 42' },
    { await: true },
    { line: 'fcntl(5, F_SETFL, O_RDWR|O_NONBLOCK) = 0' },
    { line: 'read(5, ..., 100) = -1 EAGAIN (Resource temporarily unavailable)' },
    { line: 'read(5, ..., 100) = 0', error: 'Expected result 0 but got -1 with errno 11 (Resource temporarily unavailable)' },
    {
      line: 'read(5, ..., 100) = -1 EINTR (Interrupted system call)',
      error: 'Expected errno 4 (Interrupted system call) but got 11 (Resource temporarily unavailable)',
    },
    { line: 'read(5, NULL, 100) = -1 EAGAIN (Resource temporarily unavailable)' },
    { line: 'write(4, NULL, 100) = -1 EFAULT (Bad address)' },
    { line: 'read(5, 7, 100) = 0', error: 'Expected ... or NULL for buffer' },
    { line: 'read(42, ..., 100) = 0', error: 'unable to find fd with script fd 42' },
    { line: 'shutdown(4, SHUT_WR) = 0' },
    { line: 'poll([{fd=5, events=POLLIN, revents=POLLIN}], 1, 1000) = 1' },
    { line: 'read(5, ..., 100) = 0' },
    { line: 'close(4) = 0' },
    { line: 'close(5) = 0' },
    { line: 'close(3) = 0' },
    // Nobody listens any more.
    { line: 'socket(..., SOCK_STREAM, IPPROTO_TCP) = 3' },
    { line: 'connect(3, ..., ...) = 0', error: 'Expected result 0 but got -1 with errno 111 (Connection refused)' },
    { line: 'socket(..., SOCK_STREAM, IPPROTO_TCP) = 4' },
    { line: 'connect(4, ..., ...) = -1 ECONNREFUSED (Connection refused)' },
    { line: 'socket(..., SOCK_STREAM, IPPROTO_TCP) = 3', error: 'duplicate fd 3 in script' },
    { line: 'close(3) = 0' },
    { line: 'close(3) = 0', error: 'unable to find fd with script fd 3' },
    { line: 'close(4) = 0' },
    { line: 'close(7) = 0' },
    { line: 'close(8) = 0' },
    { line: 'close(9) = 0' },
    { line: 'close(6) = 0' },
  ];
}

const VARIANTS = {
  ipv4: { ipVersion: 'ipv4', localIp: '127.0.0.1', remoteIp: '127.0.0.1', gatewayIp: '127.0.0.1' },
  'ipv4-mapped-ipv6': { ipVersion: 'ipv4-mapped-ipv6', localIp: '127.0.0.1', remoteIp: '127.0.0.1', gatewayIp: '127.0.0.1' },
  ipv6: { ipVersion: 'ipv6', localIp: '::1', remoteIp: '::1', gatewayIp: '::1' },
} as const;

interface ChildReport {
  results: Array<{ line: string; error: string | null }>;
  table: Array<{
    kind: string;
    scriptFd: number;
    liveFd: number;
    isClosed: boolean;
    phase?: string;
    liveRemote?: { ip: string; port: number };
  }>;
}

beforeAll(() => {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const entries = ['engine/run-syscall.ts', 'engine/sockets.ts', 'engine/config.ts', 'script/index.ts', 'native/addon.ts'];
  execFileSync(
    path.join(ROOT, 'node_modules', '.bin', 'tsc'),
    [
      '--outDir', OUT, '--rootDir', path.join(ROOT, 'src'),
      '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--target', 'ES2022',
      '--skipLibCheck', '--types', 'node',
      ...entries.map((e) => path.join(ROOT, 'src', e)),
    ],
    { cwd: ROOT, stdio: 'pipe' },
  );
  writeFileSync(CHILD, CHILD_SOURCE);
}, 120_000);

const fileFor = (variant: string): string => path.join(OUT, `sendfile-${variant}.txt`);

function runChild(variant: keyof typeof VARIANTS): ChildReport {
  const file = fileFor(variant);
  const input = { options: VARIANTS[variant], file, steps: steps(file) };
  const r = spawnSync('unshare', ['--net', process.execPath, CHILD, JSON.stringify(input)], {
    cwd: OUT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as ChildReport;
}

describe.each(Object.keys(VARIANTS) as Array<keyof typeof VARIANTS>)('real system calls over loopback (%s)', (variant) => {
  let report: ChildReport;
  beforeAll(() => {
    report = runChild(variant);
  }, 60_000);

  test('every call gets the verdict and message packetdrill gives', () => {
    const expected = steps(fileFor(variant)).filter((s) => s.line !== undefined);
    const got = report.results.map((r, i) => {
      const want = expected[i]?.error;
      // A matching pattern stands for the message it matched.
      return [r.line, want instanceof RegExp && r.error !== null && want.test(r.error) ? want : r.error];
    });
    expect(got).toEqual(expected.map((s) => [s.line, s.error ?? null]));
  });

  test('the fd table follows the calls', () => {
    const t = report.table;
    const listener = t[0]!;
    expect(listener).toMatchObject({ kind: 'socket', scriptFd: 3, isClosed: true, phase: 'passive_listening' });
    const client = t[1]!;
    expect(client).toMatchObject({ kind: 'socket', scriptFd: 4, isClosed: true, phase: 'active_connecting' });
    expect(client.liveRemote).toEqual({ ip: VARIANTS[variant].remoteIp, port: 8080 });
    const accepted = t[2]!;
    expect(accepted).toMatchObject({ kind: 'socket', scriptFd: 5, isClosed: true, phase: 'passive_synack_acked' });
    expect(accepted.liveFd).toBeGreaterThanOrEqual(0);
    expect(t.filter((e) => e.kind === 'epoll').map((e) => e.scriptFd)).toEqual([6]);
    expect(t.filter((e) => e.kind === 'pipe').map((e) => e.scriptFd)).toEqual([7, 8]);
    expect(t.filter((e) => e.kind === 'file').map((e) => e.scriptFd)).toEqual([9]);
    // Every fd was closed at the end, and live fds were all distinct while open.
    expect(t.every((e) => e.isClosed)).toBe(true);
  });
});
