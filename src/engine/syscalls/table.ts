/**
 * The system calls a script may make, by name: exactly packetdrill's table.
 */
import type { Handler } from './call.js';
import * as io from './io-calls.js';
import * as misc from './misc-calls.js';
import * as msg from './msg-calls.js';
import * as poll from './poll-calls.js';
import * as sock from './socket-calls.js';
import * as opt from './sockopt-calls.js';

export const SYSCALL_HANDLERS: ReadonlyMap<string, Handler> = new Map<string, Handler>([
  ['socket', sock.socket],
  ['bind', sock.bind],
  ['listen', sock.listen],
  ['accept', sock.accept],
  ['connect', sock.connect],
  ['read', io.read],
  ['readv', io.readv],
  ['recv', io.recv],
  ['recvfrom', io.recvfrom],
  ['recvmsg', msg.recvmsg],
  ['write', io.write],
  ['writev', io.writev],
  ['send', io.send],
  ['sendto', io.sendto],
  ['sendmsg', msg.sendmsg],
  ['fcntl', sock.fcntl],
  ['ioctl', sock.ioctl],
  ['close', sock.close],
  ['shutdown', sock.shutdown],
  ['getsockopt', opt.getsockopt],
  ['setsockopt', opt.setsockopt],
  ['poll', poll.poll],
  ['cap_set', misc.cap_set],
  ['open', io.open],
  ['sendfile', io.sendfile],
  ['epoll_create', poll.epoll_create],
  ['epoll_ctl', poll.epoll_ctl],
  ['epoll_wait', poll.epoll_wait],
  ['pipe', io.pipe],
  ['splice', io.splice],
  ['psp_rx_assoc', misc.psp_rx_assoc],
  ['psp_tx_assoc', misc.psp_tx_assoc],
]);

/** Names of every supported system call. */
export const SUPPORTED_SYSCALLS: readonly string[] = [...SYSCALL_HANDLERS.keys()];
