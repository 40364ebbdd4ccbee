/**
 * getsockopt and setsockopt. Option values are written `[int]`, a string
 * (bytes, with escapes), `{onoff=N, linger=M}`, a GRE header, an MPLS label
 * stack or `inet6_addr("...")`; getsockopt checks the returned length and
 * value the same ways packetdrill does.
 */
import { formatIpv6 } from '../../packet/address.js';
import { checkArgCount, getArg, s32Arg, s32BracketedArg, toLiveFd } from './args.js';
import { checkReturn, int, nr, prepared, simpleCall, type Handler } from './call.js';
import { GRE_STRUCT_SIZE, buildGre, buildLinger, buildMplsStack, greFieldsEqual } from './structs.js';
import { SyscallFailure } from './types.js';

/** Largest option buffer the runner pads to (an absurd optlen is left to the kernel to refuse). */
const MAX_OPTVAL_PAD = 1 << 16;

/** packetdrill's to_printable_string: printable ASCII as is, other bytes as \xNN; a final NUL ends the text. */
export function printable(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (c >= 0x20 && c < 0x7f) out += String.fromCharCode(c);
    else if (i === bytes.length - 1 && c === 0) break;
    else out += '\\x' + c.toString(16).padStart(2, '0');
  }
  return out;
}

export const getsockopt: Handler = (site) => {
  const { args, ctx } = site;
  checkArgCount(args, 5);
  const liveFd = toLiveFd(ctx.fds, s32Arg(args, 0));
  const level = s32Arg(args, 1);
  const optname = s32Arg(args, 2);
  const val = getArg(args, 3);
  const scriptOptlen = s32BracketedArg(args, 4);
  const optval = Buffer.alloc(Math.max(0, Math.min(scriptOptlen, MAX_OPTVAL_PAD)) + 1);
  const optlen = Buffer.alloc(4);
  optlen.writeInt32LE(scriptOptlen, 0);
  const callArgs = [int(liveFd), int(level), int(optname), optval, optlen];
  return prepared(site, nr('getsockopt'), callArgs, [], (r) => {
    checkReturn(site, 'exact', r);
    const liveOptlen = optlen.readInt32LE(0);
    if (liveOptlen !== scriptOptlen) {
      throw new SyscallFailure(`Bad getsockopt optlen: expected: ${scriptOptlen} actual: ${liveOptlen}`);
    }
    const live = optval.subarray(0, Math.max(0, liveOptlen));
    switch (val.type) {
      case 'string': {
        const want = val.bytes;
        if (scriptOptlen !== want.length) {
          throw new SyscallFailure(
            'Bad getsockopt optval: ' +
              `expected optlen (${scriptOptlen} bytes) does not match length of expected optval string ` +
              `'${printable(want)}' (${want.length} bytes)`,
          );
        }
        if (!live.equals(want)) {
          throw new SyscallFailure(`Bad getsockopt optval: expected: '${printable(want)}' actual: '${printable(live)}'`);
        }
        return;
      }
      case 'list': {
        if (scriptOptlen !== 4) throw new SyscallFailure(`Unsupported getsockopt optlen: ${scriptOptlen}`);
        const want = s32BracketedArg(args, 3);
        const got = optval.readInt32LE(0);
        if (got !== want) throw new SyscallFailure(`Bad getsockopt optval: expected: ${want} actual: ${got}`);
        return;
      }
      case 'gre': {
        if (scriptOptlen !== GRE_STRUCT_SIZE) throw new SyscallFailure(`Unsupported getsockopt optlen: ${scriptOptlen}`);
        if (!greFieldsEqual(optval, buildGre(val.gre))) throw new SyscallFailure('Bad getsockopt optval.');
        return;
      }
      case 'in6_addr': {
        if (scriptOptlen !== 16) throw new SyscallFailure(`Unsupported getsockopt optlen: ${scriptOptlen}`);
        const got = optval.subarray(0, 16);
        if (!got.equals(Buffer.from(val.bytes))) {
          throw new SyscallFailure(
            `Bad getsockopt optval: expected: ${formatIpv6(val.bytes)} actual: ${formatIpv6(got)} `,
          );
        }
        return;
      }
      default:
        throw new SyscallFailure(`unsupported getsockopt value type: ${val.type}`);
    }
  });
};

export const setsockopt: Handler = (site) => {
  const { args, ctx } = site;
  checkArgCount(args, 5);
  const liveFd = toLiveFd(ctx.fds, s32Arg(args, 0));
  const level = s32Arg(args, 1);
  const optname = s32Arg(args, 2);
  const optlen = s32Arg(args, 4);
  const val = getArg(args, 3);
  let optval: Buffer;
  switch (val.type) {
    case 'linger':
      optval = buildLinger(val.onoff, val.linger);
      break;
    case 'gre':
      optval = buildGre(val.gre);
      break;
    case 'in6_addr':
      optval = Buffer.from(val.bytes);
      break;
    case 'mpls_stack':
      optval = buildMplsStack(val.entries);
      break;
    case 'string':
      optval = Buffer.concat([val.bytes, Buffer.alloc(1)]);
      break;
    case 'list': {
      optval = Buffer.alloc(4);
      optval.writeInt32LE(s32BracketedArg(args, 3), 0);
      break;
    }
    default:
      throw new SyscallFailure(`unsupported setsockopt value type: ${val.type}`);
  }
  // The kernel reads optlen bytes: pad with zeroes rather than let it read past the value.
  const want = Math.min(optlen, MAX_OPTVAL_PAD);
  if (want > optval.length) optval = Buffer.concat([optval, Buffer.alloc(want - optval.length)]);
  return simpleCall(site, nr('setsockopt'), [int(liveFd), int(level), int(optname), optval, int(optlen)]);
};

