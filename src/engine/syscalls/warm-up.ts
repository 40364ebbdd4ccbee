/**
 * A dry run of the system-call runner before a test starts: every handler
 * prepares and completes a few calls against a throwaway fd table, with
 * made-up results and no system call made, so that V8 has compiled the code
 * before the first timed event (a cold prepare of connect() costs about a
 * millisecond, a warm one tens of microseconds).
 */
import { parseScript } from '../../script/parser.js';
import type { SyscallEvent } from '../../script/ast.js';
import type { RunConfig } from '../config.js';
import { FdTable, newSocketEntry } from '../sockets.js';
import { SYSCALL_HANDLERS } from './table.js';
import type { SyscallContext, SyscallResult } from './types.js';
import { evaluateList } from './values.js';

const WARM_UP_SCRIPT = `
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0 setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0
+0 setsockopt(3, SOL_TCP, TCP_CONGESTION, "cubic", 5) = 0
+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0 fcntl(3, F_GETFL) = 0x802
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 accept(3, ..., ...) = 4
+0 getsockopt(4, SOL_TCP, TCP_MAXSEG, [1000], [4]) = 0
+0 getsockopt(4, SOL_TCP, TCP_CONGESTION, "cubic", [5]) = 0
+0 ioctl(4, SIOCINQ, [0]) = 0
+0 write(4, ..., 1000) = 1000
+0 read(4, ..., 1000) = 1000
+0 send(4, ..., 100, 0) = 100
+0 recv(4, ..., 100, 0) = 100
+0 recvfrom(4, ..., 100, 0, ..., ...) = 100
+0 writev(4, [{..., 10}, {..., 20}], 2) = 30
+0 readv(4, [{..., 10}, {..., 20}], 2) = 30
+0 sendmsg(4, {msg_name(...)=..., msg_iov(1)=[{..., 40}], msg_flags=0}, 0) = 40
+0 recvmsg(4, {msg_name(...)=..., msg_iov(1)=[{..., 40}], msg_flags=0}, 0) = 40
+0 recvmsg(4, {msg_name(...)=..., msg_iov(1)=[{...,0}], msg_flags=0,
              msg_control=[{cmsg_level=SOL_TCP, cmsg_type=TCP_CM_INQ, cmsg_data=0},
                           {cmsg_level=SOL_IP, cmsg_type=IP_RECVERR,
                            cmsg_data={ee_errno=0, ee_origin=0, ee_type=0, ee_code=0, ee_info=0, ee_data=0}}]}, 0) = 0
+0 poll([{fd=4, events=POLLIN|POLLOUT, revents=0}], 1, 0) = 0
+0 epoll_create(1) = 5
+0 epoll_ctl(5, EPOLL_CTL_ADD, 4, {events=EPOLLIN, fd=4}) = 0
+0 epoll_wait(5, {events=0, ptr=0}, 1, 0) = 0
+0 pipe([6, 7]) = 0
+0 splice(4, NULL, 7, NULL, 10, 0) = 10
+0 open("/dev/null", O_RDONLY) = 8
+0 sendfile(4, 8, [0], 5) = 5
+0 shutdown(4, SHUT_WR) = 0
+0 close(4) = 0
+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 4
+0 connect(4, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 9
+0 sendto(9, ..., 100, MSG_FASTOPEN, ..., ...) = 100
`;

let events: SyscallEvent[] | undefined;

function warmUpEvents(): SyscallEvent[] {
  events ??= parseScript(WARM_UP_SCRIPT, { path: '<syscall warm-up>', validateOptions: false }).events.filter(
    (e): e is SyscallEvent => e.type === 'syscall',
  );
  return events;
}

/**
 * Prepare and complete a set of calls `rounds` times without making them.
 * Nothing of the run is touched: the calls use their own fd table.
 */
export function warmUpSyscalls(config: RunConfig, symbol: (name: string) => bigint | undefined, rounds = 5): void {
  const list = warmUpEvents();
  for (let round = 0; round < rounds; round++) {
    const fds = new FdTable();
    const ctx: SyscallContext = { config, fds, symbol };
    for (const ev of list) {
      const spec = ev.syscall;
      if (spec.name === 'accept') {
        // What the packet side does once a handshake was played.
        fds.add(newSocketEntry({ phase: 'passive_synack_acked', family: 2, type: 1 }));
      }
      try {
        const handler = SYSCALL_HANDLERS.get(spec.name)!;
        const p = handler({ ctx, spec, args: evaluateList(spec.args, symbol) });
        const expected = spec.result.type === 'integer' ? spec.result.value : 0n;
        // fd-creating calls get live fds of their own, far from the script's.
        const ret = ['socket', 'accept', 'epoll_create', 'open'].includes(spec.name) ? expected + 1000n : expected;
        const errno = spec.errno ? Number(symbol(spec.errno.name) ?? 0n) : 0;
        const result: SyscallResult = { ret, errno, startNs: 0n, endNs: 0n };
        p.complete(result);
      } catch {
        // Out-parameters hold zeroes here, so some checks fail; that is fine.
      }
    }
  }
}
