/**
 * The worker: one process per run, started by the CLI inside a fresh
 * network namespace (`unshare --net`), so every thread of it, and every
 * packet it sends, lives there, and the namespace dies with it. It runs
 * one script and writes its result as JSON to file descriptor 3.
 */
import { mkdirSync, writeSync } from 'node:fs';
import type { OptionSetting } from '../script/index.js';
import type { RunResult } from '../engine/result.js';
import { EXIT_FAIL } from '../engine/errors.js';
import { attachEvidence, type EvidenceOptions, type HoldOptions } from './evidence.js';

export interface WorkerRequest {
  scriptPath: string;
  displayPath: string;
  options: OptionSetting[];
  variant: string;
  evidence: EvidenceOptions;
  verbose: boolean;
  /** sysctls to set in the namespace before the script starts. */
  sysctls?: Record<string, string>;
  /** Keep the namespace, capture and ss sampling running after the script's last event. */
  hold?: HoldOptions;
}

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
  const { runScript } = await import('../engine/run-script.js');
  const addonMs = performance.now() - t0;
  if (req.evidence.dir) mkdirSync(req.evidence.dir, { recursive: true });
  const log = (line: string): void => {
    if (req.verbose) process.stderr.write(`${line}\n`);
  };
  const evidence = attachEvidence(req.evidence, log, req.sysctls ?? {}, req.hold);
  process.on('SIGTERM', () => {
    evidence.emergencyFlush();
    process.exit(EXIT_FAIL);
  });
  const result = await runScript(
    { scriptPath: req.scriptPath, displayPath: req.displayPath, commandLine: req.options, variant: req.variant, verbose: req.verbose },
    { ...evidence.hooks, log },
  );
  if (result.overhead) {
    result.overhead.addonMs = addonMs;
    result.overhead.startMs = startMs;
  }
  result.evidence = evidence.paths(result);
  send(result);
  // Native threads must not keep the process: the run is over.
  process.exit(result.exitCode);
}

main().catch((e: unknown) => {
  const err = e as Error;
  process.stderr.write(`tundrill worker: ${err.stack ?? String(err)}\n`);
  process.exit(3);
});
