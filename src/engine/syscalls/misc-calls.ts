/**
 * cap_set (libcap's cap_get_proc/cap_set_flag/cap_set_proc, done with the
 * raw capget/capset calls) and the PSP association calls, which need a PSP
 * device the runner does not provide.
 */
import { syscall } from '../../native/addon.js';
import { checkArgCount, s32Arg, s32BracketedArg, toLiveFd } from './args.js';
import { checkReturn, nr, prepared, type Handler } from './call.js';
import { CAP_DATA_SIZE, buildCapHeader, updateCapData } from './structs.js';
import { SyscallFailure } from './types.js';

const CAP_SETS = 3; // effective, permitted, inheritable
const CAP_CLEAR = 0;
const CAP_SET = 1;
const CAP_MAXBITS = 64;

/**
 * cap_set(flag, capability, op): set or clear one capability in one set of
 * the calling thread, like cap_set_flag() + cap_set_proc() on the current
 * capabilities. Capabilities are per thread: the change holds for calls run
 * on the same thread.
 */
export const cap_set: Handler = (site) => {
  const { args } = site;
  checkArgCount(args, 3);
  const flag = s32Arg(args, 0);
  const value = s32Arg(args, 1);
  const op = s32Arg(args, 2);
  const header = buildCapHeader();
  const data = Buffer.alloc(CAP_DATA_SIZE);
  const got = syscall(nr('capget'), [header, data]);
  if (got.ret < 0n) throw new SyscallFailure('Error in cap_get_proc()\n', true);
  if (flag < 0 || flag >= CAP_SETS || (op !== CAP_SET && op !== CAP_CLEAR)) {
    throw new SyscallFailure('Error in cap_set_flag()\n', true);
  }
  // libcap ignores a capability number beyond what it knows.
  if (value >>> 0 < CAP_MAXBITS) updateCapData(data, flag, value, op === CAP_SET);
  return prepared(site, nr('capset'), [header, data], [], (r) => checkReturn(site, 'fd', r));
};

function pspCall(bracketed: boolean): Handler {
  return (site) => {
    const { args, ctx } = site;
    checkArgCount(args, 2);
    toLiveFd(ctx.fds, s32Arg(args, 0));
    if (bracketed) s32BracketedArg(args, 1);
    else s32Arg(args, 1);
    throw new SyscallFailure('PSP not initialized');
  };
}

export const psp_rx_assoc = pspCall(true);
export const psp_tx_assoc = pspCall(false);
