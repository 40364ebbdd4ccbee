/**
 * The one-shot worker: one process for one run, started by the CLI inside
 * a fresh network namespace (`unshare --net`), so every thread of it, and
 * every packet it sends, lives there, and the namespace dies with it. It
 * runs one script and writes its result as JSON to file descriptor 3.
 * (Suites use pool workers instead: see pool-worker.ts.)
 */
import { writeSync } from 'node:fs';
import type { RunResult } from '../engine/result.js';
import type { WorkerRequest } from './execute-request.js';
import { armTimeLimit, installStopHandlers, mapRequestPaths, privateTmp, setFlush } from './worker-guard.js';

export type { WorkerRequest } from './execute-request.js';

function send(result: RunResult): void {
  const text = JSON.stringify(result);
  try {
    writeSync(3, text);
  } catch {
    process.stdout.write(`\n@@tundrill-result ${text}\n`);
  }
}

async function main(): Promise<void> {
  const raw = process.argv[2];
  if (!raw) {
    process.stderr.write('usage: worker <request-json-base64>\n');
    process.exit(2);
  }
  const req = JSON.parse(Buffer.from(raw, 'base64').toString('utf8')) as WorkerRequest;
  // Time from process start to here: Node's own start-up.
  const startMs = performance.now();
  const t0 = performance.now();
  const { executeRequest } = await import('./execute-request.js');
  const addonMs = performance.now() - t0;
  installStopHandlers();
  armTimeLimit(Number(process.env.TUNDRILL_TIMEOUT_MS ?? 0));
  // The namespace unshare made for this process is the parent of the run's
  // own, which gets a small socket hash of its own (cheap sock_diag dumps).
  (await import('../native/addon.js')).netnsFollow(); // this namespace is the base
  const ns = await import('../backend/private-ehash.js');
  if (ns.privateEhashForChildren()) ns.enterFreshNamespace();
  const tmp = privateTmp();
  const mapped = mapRequestPaths(req, tmp);
  const result = JSON.parse(tmp.unmap(JSON.stringify(await executeRequest(mapped, setFlush)))) as RunResult;
  setFlush(null);
  if (result.overhead) {
    result.overhead.addonMs = addonMs;
    result.overhead.startMs = startMs;
  }
  send(result);
  // Native threads must not keep the process: the run is over.
  process.exit(result.exitCode);
}

main().catch((e: unknown) => {
  const err = e as Error;
  process.stderr.write(`tundrill worker: ${err.stack ?? String(err)}\n`);
  process.exit(3);
});
