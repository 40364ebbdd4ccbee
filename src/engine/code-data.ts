/**
 * The socket data a `%{ }%` block sees: TCP_INFO, TCP_CC_INFO and
 * SO_MEMINFO of the socket under test, read when the block's time comes
 * and turned into Python assignments (tcpi_state = 1, ...), as packetdrill
 * feeds them to its code command.
 */
import * as native from '../native/addon.js';
import { codeAssignments } from '../evidence/tcp-info.js';

const SOL_SOCKET = 1;
const SOL_TCP = 6;
const TCP_INFO = 11;
const TCP_CC_INFO = 26;
const SO_MEMINFO = 55;

function getsockopt(fd: number, level: number, name: number, size: number): Buffer | null {
  const buf = Buffer.alloc(size);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(size);
  const r = native.syscall(native.sysNr('getsockopt'), [fd, level, name, buf, len]);
  if (r.ret < 0n) return null;
  return buf.subarray(0, len.readUInt32LE());
}

export function codeDataAssignments(fd: number): { assignments: string; error?: string } {
  const info = getsockopt(fd, SOL_TCP, TCP_INFO, 512);
  if (!info) return { assignments: '', error: "can't find getsockopt to get TCP info" };
  const cc = getsockopt(fd, SOL_TCP, TCP_CC_INFO, 64);
  if (!cc) return { assignments: '', error: "can't find getsockopt to get TCP_CC_INFO" };
  const mem = getsockopt(fd, SOL_SOCKET, SO_MEMINFO, 9 * 4);
  if (!mem) return { assignments: '', error: "can't find getsockopt to get sk_meminfo" };
  return { assignments: codeAssignments(info, cc, mem) };
}
