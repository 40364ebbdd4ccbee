/**
 * Entry point of the system-call runner: turn a script's system call into
 * a raw call ready to make (number, arguments, buffers to keep alive) and a
 * `complete` step that checks its outcome as packetdrill does.
 *
 * The engine decides when and on which thread the call runs; it formats a
 * SyscallFailure as `<script>:<line>: runtime error in <name> call: <message>`
 * (or prints the message alone when `bare` is set).
 */
import * as native from '../native/addon.js';
import type { SyscallSpec } from '../script/ast.js';
import type { RunConfig } from './config.js';
import { SYSCALL_HANDLERS } from './syscalls/table.js';
import { SyscallFailure, type PreparedSyscall, type SyscallContext } from './syscalls/types.js';
import { evaluateList } from './syscalls/values.js';

export { SyscallFailure };
export { SUPPORTED_SYSCALLS } from './syscalls/table.js';
export { syscallClockFromMonotonic } from './syscalls/clock.js';
export { warmUpSyscalls } from './syscalls/warm-up.js';
export type { PreparedSyscall, SyscallArg, SyscallClock, SyscallContext, SyscallResult } from './syscalls/types.js';

/**
 * Evaluate the call's arguments and build its buffers. Throws SyscallFailure
 * for an unknown call or bad arguments ("Unknown system call: 'foo'",
 * "Expected ... or NULL for buffer", "unable to find fd with script fd 5", ...).
 * Calls that start a connection (connect, sendto, sendmsg) update the
 * socket's state here, before the call, as packetdrill does.
 */
export function prepareSyscall(ctx: SyscallContext, spec: SyscallSpec): PreparedSyscall {
  const handler = SYSCALL_HANDLERS.get(spec.name);
  if (!handler) throw new SyscallFailure(`Unknown system call: '${spec.name}'`);
  const args = evaluateList(spec.args, (name) => ctx.symbol(name));
  return handler({ ctx, spec, args });
}

/** Values of the names a call's arguments use: the system headers' symbols, then numeric definitions. */
export function symbolResolver(config: RunConfig): (name: string) => bigint | undefined {
  return (name) => {
    const v = native.SYMBOLS[name];
    if (v !== undefined) return v;
    const d = config.defines[name];
    if (d !== undefined && /^-?(0x[0-9a-f]+|\d+)$/i.test(d)) return BigInt(d);
    return undefined;
  };
}
