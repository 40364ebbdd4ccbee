/**
 * A pool worker: a long-lived process that runs one script after another,
 * each in a network namespace of its own. It starts inside an empty
 * namespace of its own (`unshare --net --mount`), so nothing it does ever
 * reaches the host's network, and for every run its JavaScript thread
 * enters a fresh namespace with unshare(CLONE_NEWNET); the addon's threads
 * follow it for each job and return to the empty namespace afterwards, and
 * the script's descriptors and tun0 are closed at the end, so a finished
 * run's namespace is gone before the next run starts. When the process
 * dies, whatever it had goes with it.
 *
 * With a private mount namespace, /tmp is a private tmpfs, wiped after
 * every run, so scripts that use fixed names in /tmp (the corpus does) can
 * run side by side.
 *
 * Protocol: one JSON request per line on stdin, one JSON result per line
 * on file descriptor 3.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import * as native from '../native/addon.js';
import { EXIT_FAIL } from '../engine/errors.js';
import { executeRequest, type WorkerRequest } from './execute-request.js';

const CLONE_NEWNET = 0x40000000;

export interface PoolRequest extends WorkerRequest {
  id: number;
}

function enterFreshNamespace(): void {
  const r = native.syscall(native.sysNr('unshare'), [CLONE_NEWNET]);
  if (r.ret < 0n) throw new Error(`unshare(CLONE_NEWNET): ${native.strerror(r.errno)}`);
  native.netnsFollow();
}

function privateTmp(): boolean {
  if (process.env.TUNDRILL_PRIVATE_TMP !== '1') return false;
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'mode=1777,size=256m', 'tundrill-tmp', '/tmp'], { encoding: 'utf8' });
  if (r.status !== 0) {
    process.stderr.write(`tundrill pool worker: no private /tmp: ${(r.stderr || '').trim()}\n`);
    return false;
  }
  return true;
}

function wipeTmp(): void {
  for (const name of readdirSync('/tmp')) rmSync(`/tmp/${name}`, { recursive: true, force: true });
}

async function main(): Promise<void> {
  native.netnsFollow(); // the empty namespace the worker started in is the base
  const tmp = privateTmp();
  const startMs = performance.now();
  let current: { flush(): void } | null = null;
  process.on('SIGTERM', () => {
    current?.flush();
    process.exit(EXIT_FAIL);
  });
  const lines = createInterface({ input: process.stdin });
  let first = true;
  for await (const line of lines) {
    if (!line.trim()) continue;
    const req = JSON.parse(line) as PoolRequest;
    enterFreshNamespace();
    const result = await executeRequest(req, (flush) => { current = { flush }; });
    current = null;
    if (result.overhead) result.overhead.startMs = first ? startMs : 0;
    first = false;
    writeSync(3, JSON.stringify({ id: req.id, result }) + '\n');
    if (tmp) wipeTmp();
  }
  process.exit(0);
}

main().catch((e: unknown) => {
  const err = e as Error;
  process.stderr.write(`tundrill pool worker: ${err.stack ?? String(err)}\n`);
  process.exit(3);
});
