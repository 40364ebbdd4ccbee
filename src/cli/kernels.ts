/**
 * `--kernel`: open the kernel a set of runs goes to. `host` runs on this
 * machine's kernel as always; any other kernel is resolved (fetched when
 * `debian:<version>`), checked, and gets a pool of microVMs running the
 * same pool worker the host uses.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KernelError, hostFacts, resolveKernel } from '../backend/microvm/kernel.js';
import { KernelFetchError } from '../backend/microvm/debian-fetch.js';
import { InitramfsError } from '../backend/microvm/initramfs.js';
import { probeKvm } from '../backend/microvm/kvm-probe.js';
import { defaultVmSlots, prepareKernel, VmEnvironmentError, VmPool } from '../backend/microvm/vm-pool.js';
import type { KernelFacts } from '../report/reports.js';
import type { RunArgs } from './args.js';
import type { WorkerRequest } from '../runner/execute-request.js';
import { workerNodeFlags, type WorkerOutcome } from '../runner/spawn.js';
import { median } from '../runner/repeat.js';
import { WORKER_FATAL } from '../runner/worker-fatal.js';

const POOL_WORKER = fileURLToPath(new URL('../runner/pool-worker.js', import.meta.url));

/** Where runs go: the host (no `run`), or a VM pool. */
export interface KernelTarget {
  spec: string;
  facts: KernelFacts;
  /** Runs a request on this kernel; absent for the host (the usual workers). */
  run?: (req: WorkerRequest, timeoutMs: number) => Promise<WorkerOutcome>;
  /** Parent folder the guests can write to (for temporary evidence). */
  scratchDir?: string;
  /** VMs that run at once (absent for the host). */
  slots?: number;
  close(): Promise<void>;
  kill(sig: NodeJS.Signals): void;
}

/** A kernel that cannot be used: exit status 4 with this one-line reason. */
export class KernelUnusable extends Error {}

export async function openKernel(spec: string, args: RunArgs, runsWanted: number): Promise<KernelTarget> {
  if (spec === 'host') {
    return { spec, facts: hostFacts(), close: () => Promise.resolve(), kill: () => undefined };
  }
  let prepared;
  try {
    const k = resolveKernel(spec, { ...(args.kernelConfig ? { configFile: args.kernelConfig } : {}) });
    if (k.kind === 'host') return openKernel('host', args, runsWanted);
    prepared = await prepareKernel(k, args.vmClock ?? 'icount', probeKvm);
  } catch (e) {
    if (e instanceof KernelError || e instanceof KernelFetchError || e instanceof InitramfsError || e instanceof VmEnvironmentError) {
      throw new KernelUnusable(e.message);
    }
    throw e;
  }
  if (!args.quiet) {
    process.stderr.write(`tundrill: ${spec}: ${prepared.kernel.release}, ${prepared.accel.note}${prepared.accel.accel === 'tcg' ? `, clock ${prepared.clock}` : ''}\n`);
    for (const n of prepared.notes) process.stderr.write(`tundrill: ${n}\n`);
  }
  const share = resolve(args.captureDir);
  mkdirSync(share, { recursive: true });
  const env: Record<string, string> = {};
  for (const name of ['TUNDRILL_TRACE']) if (process.env[name]) env[name] = process.env[name]!;
  const pool = new VmPool(prepared, {
    slots: Math.min(args.jobs ?? defaultVmSlots(), Math.max(1, runsWanted)),
    share,
    workerCommand: ['/usr/bin/unshare', '--net', '--mount', '--propagation', 'private', '--', process.execPath, ...workerNodeFlags(), POOL_WORKER],
    workerFatal: WORKER_FATAL,
    guestEnv: env,
    passthrough: args.verbose,
  });
  return {
    spec,
    facts: prepared.facts,
    run: (req, timeoutMs) => pool.run(req, timeoutMs),
    scratchDir: share,
    slots: pool.size,
    close: async () => {
      await pool.close();
      if (!args.quiet && pool.bootTimesMs.length > 0) process.stderr.write(`tundrill: ${spec}: ${bootSummary(pool.bootTimesMs)}\n`);
    },
    kill: () => pool.kill(),
  };
}

/** How long the VMs took from qemu's start to the guest's ready line: one figure, or the median and range. */
export function bootSummary(ms: readonly number[]): string {
  const a = [...ms].sort((x, y) => x - y);
  const s = (x: number): string => (x / 1000).toFixed(2);
  if (a.length === 1) return `booted in ${s(a[0]!)} s`;
  return `${a.length} boots, median ${s(median(a))} s (${s(a[0]!)}-${s(a[a.length - 1]!)} s)`;
}
