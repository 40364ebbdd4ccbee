/**
 * The contract between the engine and the system-call runner.
 *
 * The engine owns timing, blocking-call threads and the packet side; the
 * runner owns everything about a call's arguments and results: it evaluates
 * the script's argument expressions, builds the buffers and structures the
 * kernel reads and writes, and after the call checks the return value, errno
 * and out-parameters exactly as packetdrill does and updates the fd table.
 */
import type { SyscallArg, SyscallResult } from '../../native/addon.js';
import type { RunConfig } from '../config.js';
import type { FdTable } from '../sockets.js';

export type { SyscallArg, SyscallResult };

/** Clocks the engine lends the runner for checks that involve live time. */
export interface SyscallClock {
  /**
   * Live CLOCK_REALTIME microseconds at which a script time (microseconds
   * since the script's start) falls. Used to check SO_TIMESTAMPING
   * cmsgs, whose time stamps are CLOCK_REALTIME.
   */
  scriptToLiveRealtimeUsecs(scriptUsecs: bigint): bigint;
  /** CLOCK_REALTIME microseconds of the script's time 0. */
  liveStartRealtimeUsecs: bigint;
}

export interface SyscallContext {
  config: RunConfig;
  fds: FdTable;
  /** Resolve a symbol word (after -D defines were applied by the parser) to a number, or undefined. */
  symbol(name: string): bigint | undefined;
  /**
   * Needed only by recvmsg() calls that expect SCM_TIMESTAMPING cmsgs;
   * without it such a check fails with a clear message.
   */
  clock?: SyscallClock;
}

export interface PreparedSyscall {
  name: string;
  /** The raw system call to make; null when the call is carried out in JS (see `emulate`). */
  nr: number | null;
  args: SyscallArg[];
  /** Objects that must stay alive until the call completes (buffers pointed to from inside structs). */
  keepAlive: unknown[];
  /** For nr === null: produces the call's result without entering the kernel. */
  emulate?: () => SyscallResult;
  /**
   * After the call: check the return value, errno and out-parameters as
   * packetdrill does, and update the fd table and socket state. Throws
   * SyscallFailure on a mismatch.
   */
  complete(result: SyscallResult): void;
}

/**
 * A system call did not go as the script says, or its arguments are bad.
 * `message` is packetdrill's text after "runtime error in <name> call: ",
 * e.g. "Expected result 0 but got -1 with errno 111 (Connection refused)".
 * When `bare` is true the message is a complete line of its own (packetdrill
 * prints it without the script location and "runtime error" prefix).
 */
export class SyscallFailure extends Error {
  constructor(message: string, readonly bare = false) {
    super(message);
    this.name = 'SyscallFailure';
  }
}
