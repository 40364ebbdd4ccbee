/**
 * Network namespaces with an established-socket hash table of their own.
 *
 * By default every namespace shares the host's TCP established hash (here
 * 262144 buckets), and a sock_diag dump of a namespace walks all of it:
 * about a millisecond per dump even with two sockets in it. A namespace
 * created while net.ipv4.tcp_child_ehash_entries is set in its parent gets
 * a table of that size instead (Linux 6.1+), and a dump of it costs
 * microseconds. TCP behaves the same; only the hash table differs.
 *
 * Both kinds of worker live in a namespace made for them (never the
 * host's), so the sysctl is written there, for the namespaces they make.
 */
import { writeFileSync } from 'node:fs';
import * as native from '../native/addon.js';

const CLONE_NEWNET = 0x40000000;
const CHILD_EHASH = '/proc/sys/net/ipv4/tcp_child_ehash_entries';

/** Buckets of a run namespace's own established hash. */
export const RUN_EHASH_ENTRIES = 1024;

/** Namespaces made from the calling thread's one from now on get their own hash; false where the kernel has no such setting. */
export function privateEhashForChildren(entries = RUN_EHASH_ENTRIES): boolean {
  try {
    writeFileSync(CHILD_EHASH, String(entries));
    return true;
  } catch {
    return false;
  }
}

/** Move the calling thread into a fresh namespace made from this one (the addon's threads follow it). */
export function enterFreshNamespace(): void {
  const r = native.syscall(native.sysNr('unshare'), [CLONE_NEWNET]);
  if (r.ret < 0n) throw new Error(`unshare(CLONE_NEWNET): ${native.strerror(r.errno)}`);
  native.netnsFollow();
}
