/**
 * One run as a worker carries it out: evidence attached to the engine's
 * hooks, the script run, the evidence paths filled in.
 */
import { mkdirSync } from 'node:fs';
import type { OptionSetting } from '../script/index.js';
import type { RunResult } from '../engine/result.js';
import { runScript } from '../engine/run-script.js';
import { threadpoolRealtime } from '../engine/priority.js';
import { keepWorkerOnOneCpu } from '../engine/cpu-affinity.js';
import { setSpinAhead } from '../engine/clock-wait.js';
import { backendFor, type DeviceKind } from '../backend/devices.js';
import { attachEvidence, type EvidenceOptions, type HoldOptions } from './evidence.js';
import { runPacketdrill, type PacketdrillTool } from './packetdrill-run.js';

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
  /** The path between kernel and harness (default tun). */
  device?: DeviceKind;
  /** Keep the worker's threads on one CPU (engine/cpu-affinity.ts). */
  oneCpu?: boolean;
  /** No other run goes on meanwhile (runsAlone): the engine spins longer before each timed event (engine/clock-wait.ts). */
  alone?: boolean;
  /** Carry the run out with this packetdrill binary instead of tundrill's engine (no evidence). */
  packetdrill?: PacketdrillTool;
}

/**
 * Run `req`. `onFlush` receives a function that writes whatever evidence
 * exists synchronously, for a worker that is being stopped mid-run.
 */
export async function executeRequest(req: WorkerRequest, onFlush: (flush: () => void) => void): Promise<RunResult> {
  if (req.packetdrill) return runPacketdrill(req.packetdrill, req.scriptPath, req.displayPath, req.variant, onFlush);
  await threadpoolRealtime();
  const cpu = req.oneCpu ? keepWorkerOnOneCpu() : undefined;
  setSpinAhead(req.alone === true);
  if (req.evidence.dir) mkdirSync(req.evidence.dir, { recursive: true });
  const log = (line: string): void => {
    if (req.verbose) process.stderr.write(`${line}\n`);
  };
  const evidence = attachEvidence(req.evidence, log, req.sysctls ?? {}, req.hold);
  onFlush(() => evidence.emergencyFlush());
  const result = await runScript(
    { scriptPath: req.scriptPath, displayPath: req.displayPath, commandLine: req.options, variant: req.variant, verbose: req.verbose },
    backendFor(req.device ?? 'tun'),
    { ...evidence.hooks, log },
  );
  result.evidence = evidence.paths();
  if (cpu === null) result.warnings.push(`${req.displayPath}: --one-cpu: the worker's threads could not be kept on one CPU (sched_setaffinity refused); they ran on any CPU`);
  return result;
}
