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
 * /tmp is a private tmpfs, wiped after every run, so scripts that use fixed
 * names in /tmp (the corpus does) can run side by side (see worker-guard.ts).
 *
 * Protocol: one JSON request per line on stdin, one JSON result per line
 * on file descriptor 3.
 */
import { writeSync } from 'node:fs';
import { WORKER_FATAL } from './worker-fatal.js';
import { createInterface } from 'node:readline';
import * as native from '../native/addon.js';
import { executeRequest, type WorkerRequest } from './execute-request.js';
import { enterFreshNamespace, privateEhashForChildren } from '../backend/private-ehash.js';
import { stageEvidence } from './evidence-stage.js';
import { armTimeLimit, disarmTimeLimit, installStopHandlers, mapRequestPaths, privateTmp, setFlush } from './worker-guard.js';

export interface PoolRequest extends WorkerRequest {
  id: number;
  /** The run's time limit, which the worker enforces too. */
  timeoutMs?: number;
}

async function main(): Promise<void> {
  native.netnsFollow(); // the empty namespace the worker started in is the base
  installStopHandlers();
  const tmp = privateTmp();
  const startMs = performance.now();
  const lines = createInterface({ input: process.stdin });
  let first = true;
  for await (const line of lines) {
    if (!line.trim()) continue;
    const req = JSON.parse(line) as PoolRequest;
    armTimeLimit(req.timeoutMs ?? 0);
    // Each run's namespace is made from the previous run's, and the setting
    // is per namespace (a new one starts at 0, sharing the host's 262144
    // buckets): set it every time, so every run gets a small socket hash and
    // sock_diag dumps cost microseconds, not a millisecond.
    privateEhashForChildren();
    enterFreshNamespace();
    const mapped = mapRequestPaths(req, tmp);
    const staged = stageEvidence(mapped, process.env.TUNDRILL_STAGE_EVIDENCE, req.id);
    const result = staged.finish(await executeRequest(staged.req, setFlush));
    setFlush(null);
    disarmTimeLimit();
    if (result.overhead) result.overhead.startMs = first ? startMs : 0;
    first = false;
    writeSync(3, tmp.unmap(JSON.stringify({ id: req.id, result })) + '\n');
    if (tmp.active) tmp.wipe();
  }
  process.exit(0);
}

main().catch((e: unknown) => {
  const err = e as Error;
  process.stderr.write(`${WORKER_FATAL}${err.stack ?? String(err)}\n`);
  process.exit(3);
});
