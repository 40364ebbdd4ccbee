/**
 * Evidence written to a local folder during a run and moved to its real
 * folder afterwards. In a guest under icount the real folder is a 9p share:
 * every synchronous write there waits on the host with the vCPU idle, and
 * idle guest time leaps to the next timer, so a run writing its capture to
 * the share would see its own events late. TUNDRILL_STAGE_EVIDENCE names
 * the local folder (a tmpfs in the guest).
 */
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { RunResult } from '../engine/result.js';
import type { WorkerRequest } from './execute-request.js';

export interface Staged {
  req: WorkerRequest;
  /** Move the staged files to the requested folder and point the result at them. */
  finish(result: RunResult): RunResult;
}

export function stageEvidence(req: WorkerRequest, stageRoot: string | undefined, id: number): Staged {
  const dest = req.evidence.dir;
  if (!stageRoot || !dest) return { req, finish: (r) => r };
  const stage = join(stageRoot, String(id));
  mkdirSync(stage, { recursive: true });
  return {
    req: { ...req, evidence: { ...req.evidence, dir: stage } },
    finish(result) {
      mkdirSync(dest, { recursive: true });
      for (const name of readdirSync(stage)) copyFileSync(join(stage, name), join(dest, name));
      rmSync(stage, { recursive: true, force: true });
      const ev = result.evidence as Record<string, unknown>;
      for (const [k, v] of Object.entries(ev)) if (typeof v === 'string' && v.startsWith(`${stage}/`)) ev[k] = join(dest, v.slice(stage.length + 1));
      return result;
    },
  };
}
