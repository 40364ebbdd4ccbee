/**
 * Updates of the fd table and of socket state around system calls, as
 * packetdrill's run_syscall_socket/listen/accept/connect/close/open/
 * epoll_create/pipe do them.
 */
import type { RunConfig } from '../config.js';
import { newSocketEntry, type FdEntry, type FdKind, type FdTable, type SocketEntry } from '../sockets.js';
import { SyscallFailure } from './types.js';

/** Flags that may be or'ed into socket()'s type argument. */
const SOCK_TYPE_FLAGS = 0x800 /* SOCK_NONBLOCK */ | 0x80000; /* SOCK_CLOEXEC */

/** The type argument exactly as the script passed it to socket() (flags included). */
const rawSocketTypes = new WeakMap<SocketEntry, number>();

export function rawSocketType(s: SocketEntry): number {
  return rawSocketTypes.get(s) ?? s.type;
}

/** packetdrill's check_duplicate_fd: the script fd first, then the live fd. */
export function checkDuplicateFd(fds: FdTable, scriptFd: number, liveFd: number): void {
  if (fds.byScriptFd(scriptFd)) throw new SyscallFailure(`duplicate fd ${scriptFd} in script`);
  if (fds.byLiveFd(liveFd)) throw new SyscallFailure(`duplicate live fd ${liveFd}`);
}

export function addSocket(
  fds: FdTable,
  family: number,
  type: number,
  protocol: number,
  scriptFd: number,
  liveFd: number,
): SocketEntry {
  if (scriptFd < 0) throw new SyscallFailure(`invalid socket fd ${scriptFd} in script`);
  if (liveFd < 0) throw new SyscallFailure(`invalid live socket fd ${liveFd}`);
  checkDuplicateFd(fds, scriptFd, liveFd);
  const s = newSocketEntry({
    phase: 'new',
    family,
    type: type & ~SOCK_TYPE_FLAGS,
    protocol,
    scriptFd,
    liveFd,
  });
  rawSocketTypes.set(s, type);
  fds.add(s);
  // Any later packets in the script are now mapped to this socket.
  fds.socketUnderTest = s;
  return s;
}

/** Track a plain fd (open(), epoll_create(), one end of a pipe()). */
export function addPlainFd(fds: FdTable, kind: Exclude<FdKind, 'socket'>, scriptFd: number, liveFd: number): FdEntry {
  checkDuplicateFd(fds, scriptFd, liveFd);
  const e: FdEntry = { kind, scriptFd, liveFd, isClosed: false };
  fds.add(e);
  return e;
}

export function addPipe(fds: FdTable, scriptFds: [number, number], liveFds: [number, number]): void {
  for (let i = 0; i < 2; i++) checkDuplicateFd(fds, scriptFds[i]!, liveFds[i]!);
  for (let i = 0; i < 2; i++) {
    fds.add({ kind: 'pipe', scriptFd: scriptFds[i]!, liveFd: liveFds[i]!, isClosed: false });
  }
}

export function markClosed(fds: FdTable, scriptFd: number, liveFd: number): void {
  const e = fds.byScriptFd(scriptFd);
  if (!e || e.liveFd !== liveFd) {
    throw new SyscallFailure(`unable to find fd with script fd ${scriptFd} and live fd ${liveFd}`);
  }
  e.isClosed = true;
}

export function markListening(fds: FdTable, scriptFd: number): void {
  const s = fds.socketByScriptFd(scriptFd);
  if (!s) throw new SyscallFailure(`unable to find socket with script fd ${scriptFd}`);
  s.phase = 'passive_listening';
}

/**
 * accept() returned a live fd: give it to the newest socket whose handshake
 * the script has played (the SYN-ACK was sent, or also acked), as packetdrill
 * does; that socket is already the socket under test.
 */
export function assignAccepted(fds: FdTable, scriptFd: number, liveFd: number): SocketEntry {
  const all = fds.entries;
  for (let i = all.length - 1; i >= 0; i--) {
    const e = all[i]!;
    if (e.kind !== 'socket') continue;
    const s = e as SocketEntry;
    if (s.phase === 'passive_synack_sent' || s.phase === 'passive_synack_acked') {
      s.scriptFd = scriptFd;
      s.liveFd = liveFd;
      return s;
    }
  }
  throw new SyscallFailure('unable to find socket matching accept() call');
}

/**
 * A connect(), sendto() or sendmsg() that may start a connection. With
 * `family` === 0 (AF_UNSPEC) the socket is being disconnected and goes back
 * to 'new'. A 'new' socket becomes 'active_connecting' toward the remote
 * address on the wire and the connect port; its script endpoints are reset
 * so that the next packets learn them again.
 */
export function startConnect(fds: FdTable, config: RunConfig, scriptFd: number, family: number): void {
  const s = fds.socketByScriptFd(scriptFd);
  if (!s) throw new SyscallFailure(`unable to find socket with script fd ${scriptFd}`);
  if (family === 0) {
    s.phase = 'new';
    return;
  }
  if (s.phase !== 'new') return;
  s.phase = 'active_connecting';
  s.script.remote = { ip: '', port: 0 };
  s.script.local = { ip: '', port: 0 };
  s.live.remote = { ip: config.remoteIp, port: config.connectPort };
}
