/**
 * A hold keeps the namespace, the capture and the socket-state sampling
 * running after the script's last event (orphaned sockets live on in the
 * kernel: a FIN still being retransmitted in CLOSING, a LAST-ACK), until
 * the sockets under test have left the ss listing or a time limit passes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { HoldOptions, RunMarks } from '../evidence/run-marks.js';
import type { SsSocket } from '../evidence/ss-parser.js';

export type { HoldOptions } from '../evidence/run-marks.js';

/** A socket the hold waits for: any TCP socket but listeners and closed ones. */
export function isSocketUnderTest(s: SsSocket): boolean {
  return s.state !== 'LISTEN' && s.state !== 'UNCONN';
}

export interface HoldWatch {
  /** Socket-state sampling interval (0: no sampler runs, listings are taken on demand). */
  intervalMs: number;
  /** Whether a sampler runs (its listings are then the ones the hold reads). */
  sampling: boolean;
  /** The newest listing taken entirely after `sinceNs`, or null if there is none yet. */
  listingAfter(sinceNs: bigint): Promise<SsSocket[] | null>;
  log(line: string): void;
}

/** Hold from `startNs` (monotonic) on; sets `marks.holdEnded`. */
export async function holdOn(h: HoldOptions, startNs: bigint, watch: HoldWatch, marks: RunMarks): Promise<void> {
  const interval = watch.intervalMs > 0 ? watch.intervalMs : 100;
  const endNs = startNs + BigInt(Math.round(h.maxMs * 1e6));
  const poll = Math.max(10, Math.min(interval / 2, 50));
  let goneAtNs: bigint | null = null;
  const afterGoneNs = BigInt(Math.round((h.afterGoneMs ?? Math.max(200, 2 * interval)) * 1e6));
  for (;;) {
    const now = process.hrtime.bigint();
    if (now >= endNs) {
      marks.holdEnded = goneAtNs !== null ? 'socket-gone' : 'max';
      return;
    }
    if (h.untilSocketGone) {
      if (goneAtNs === null) {
        const listing = await watch.listingAfter(startNs);
        if (listing && !listing.some(isSocketUnderTest)) {
          goneAtNs = process.hrtime.bigint();
          watch.log(`hold: no socket under test left after ${(Number(goneAtNs - startNs) / 1e6).toFixed(0)} ms`);
        }
      } else if (process.hrtime.bigint() - goneAtNs >= afterGoneNs) {
        marks.holdEnded = 'socket-gone';
        return;
      }
    }
    await sleep(watch.sampling ? poll : Math.max(poll, interval));
  }
}
