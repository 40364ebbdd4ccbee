/**
 * The CLI's orderly stop. SIGINT, SIGTERM and SIGHUP all mean the same: no
 * new runs start, every worker is asked (SIGTERM) to write the evidence it
 * has and end, and the reports are written for what finished, with the
 * interrupted runs marked. A second signal, or a grace period without the
 * workers gone, kills the workers and everything they started (SIGKILL to
 * their process groups; their PID namespaces take the rest).
 */
import { constants } from 'node:os';
import { liveWorkers, signalAllWorkers } from './worker-process.js';

/** How long workers get to write their evidence before they are killed. */
export const STOP_GRACE_MS = 5000;

let received: NodeJS.Signals | null = null;
let installed = 0;
let graceTimer: NodeJS.Timeout | null = null;

function onSignal(sig: NodeJS.Signals): void {
  if (received) {
    process.stderr.write(`tundrill: ${sig} again: killing the workers\n`);
    signalAllWorkers('SIGKILL');
    return;
  }
  received = sig;
  process.stderr.write(`tundrill: ${sig}: stopping; runs in progress write their evidence (${sig === 'SIGINT' ? 'Ctrl-C again' : 'a second signal'} kills them at once)\n`);
  signalAllWorkers('SIGTERM');
  graceTimer = setTimeout(() => {
    if (liveWorkers() > 0) {
      process.stderr.write(`tundrill: workers still running after ${STOP_GRACE_MS / 1000} s: killing them\n`);
      signalAllWorkers('SIGKILL');
    }
  }, STOP_GRACE_MS);
  graceTimer.unref();
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** What bin/tundrill.js keeps of a signal that came while the CLI was loading. */
interface EarlyStop {
  signal: NodeJS.Signals | null;
  handler: ((sig: NodeJS.Signals) => void) | null;
}

/** Take over from the entry point's early handler; a signal it kept counts as received now. */
function takeOverEarlyStop(): void {
  const early = (globalThis as Record<symbol, EarlyStop | undefined>)[Symbol.for('tundrill.earlyStop')];
  if (!early?.handler) return;
  for (const s of SIGNALS) process.off(s, early.handler);
  early.handler = null;
  if (early.signal && !received) onSignal(early.signal);
}

/** Handle the stop signals until the matching `releaseStop`. */
export function holdStop(): void {
  if (installed++ === 0) {
    for (const s of SIGNALS) process.on(s, onSignal);
    takeOverEarlyStop();
  }
}

export function releaseStop(): void {
  if (--installed === 0) for (const s of SIGNALS) process.off(s, onSignal);
}

/** The signal that asked for a stop, or null. */
export function stopSignal(): NodeJS.Signals | null {
  return received;
}

/** Exit status after a stop: 128 + the signal's number, as a shell reports it. */
export function stopExitCode(): number {
  return received ? 128 + (constants.signals[received] ?? 15) : 0;
}
