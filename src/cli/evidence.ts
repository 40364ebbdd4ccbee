/**
 * Evidence of a run, kept next to each other under the capture folder:
 *   <stem>.pcapng          every packet in and out of tun0, annotated
 *   <stem>.ss.jsonl        `ss -tinoe` samples of the namespace, parsed
 *   <stem>.counters.json   kernel MIB counters at start and end, and their difference
 *   <stem>.run.json        the run's clock marks (monotonic ns): network ready, script
 *                          end, hold end; the monotonic-to-realtime offset the capture
 *                          was written with; sysctls; why the hold ended
 *
 * A hold keeps the namespace, the capture and the ss sampling running after
 * the script's last event (orphaned sockets live on in the kernel: a FIN
 * still being retransmitted in CLOSING, a LAST-ACK), until the sockets
 * under test have left the ss listing or a time limit passes.
 */
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { CaptureLog } from '../engine/capture-log.js';
import type { RunConfig } from '../engine/config.js';
import type { EvidencePaths, RunResult } from '../engine/result.js';
import type { RunHooks } from '../engine/run-script.js';
import { monoToRealtimeOffsetNs, PcapngWriter } from '../evidence/pcapng.js';
import { diffCounters, readCounters, type Counters } from '../evidence/counters.js';
import type { SsSocket } from '../evidence/ss-parser.js';
import { runSsOnce, startSsSampler, type SsSample, type SsSampler } from '../evidence/ss-sampler.js';
import { parseSs } from '../evidence/ss-parser.js';
import { TimelineWriter, toJsonLine } from '../evidence/timeline.js';
import { writeSysctl } from '../net/setup.js';

export interface EvidenceOptions {
  /** Folder for the files; '' keeps no evidence. */
  dir: string;
  /** File name stem, e.g. `close-wait_ipv4`. */
  stem: string;
  format: 'pcapng' | 'pcap';
  /** ss sampling interval; 0 disables sampling. */
  ssIntervalMs: number;
}

/** Keep the run going after the script's last event. */
export interface HoldOptions {
  /** Longest hold, ms after the script's last event. */
  maxMs: number;
  /**
   * End the hold once no socket under test is left in the ss listing
   * (every TCP socket except LISTEN and UNCONN ones counts as under test).
   */
  untilSocketGone?: boolean;
  /** After the sockets are gone, keep sampling this long (default: two sampling intervals, at least 200 ms). */
  afterGoneMs?: number;
}

/** `<stem>.run.json`: when things happened, on the monotonic clock of the capture and the ss timeline. */
export interface RunMarks {
  stem: string;
  /** CLOCK_REALTIME minus CLOCK_MONOTONIC, ns, as the capture's timestamps were converted. */
  monoToRealtimeOffsetNs: bigint;
  /** tun0 configured, sysctls written, counters read (just before the script's clock starts). */
  networkReadyNs?: bigint;
  /** The script's time 0, when the engine reports it. */
  clockStartNs?: bigint;
  /** The script's last event done (or the failure). */
  scriptEndNs?: bigint;
  /** The hold over (equal to scriptEndNs without a hold). */
  holdEndNs?: bigint;
  hold?: HoldOptions;
  /** 'socket-gone', 'max' (time limit), or 'none'. */
  holdEnded: 'socket-gone' | 'max' | 'none';
  sysctls: Record<string, string>;
}

/** A socket the hold waits for: any TCP socket but listeners and closed ones. */
export function isSocketUnderTest(s: SsSocket): boolean {
  return s.state !== 'LISTEN' && s.state !== 'UNCONN';
}

export interface AttachedEvidence {
  hooks: RunHooks;
  /** Write what is there, synchronously (the worker is being stopped). */
  emergencyFlush(): void;
  paths(result: RunResult): EvidencePaths;
}

/** Path of the run marks file next to the other evidence. */
export function runMarksPath(dir: string, stem: string): string {
  return join(dir, `${stem}.run.json`);
}

export function attachEvidence(
  opts: EvidenceOptions,
  log: (line: string) => void,
  sysctls: Record<string, string>,
  hold?: HoldOptions,
): AttachedEvidence {
  const keep = opts.dir !== '';
  const capturePath = keep ? join(opts.dir, `${opts.stem}.${opts.format}`) : '';
  const timelinePath = keep ? join(opts.dir, `${opts.stem}.ss.jsonl`) : '';
  const countersPath = keep ? join(opts.dir, `${opts.stem}.counters.json`) : '';
  const marksPath = keep ? runMarksPath(opts.dir, opts.stem) : '';
  const marks: RunMarks = { stem: opts.stem, monoToRealtimeOffsetNs: monoToRealtimeOffsetNs(), holdEnded: 'none', sysctls };
  if (hold) marks.hold = hold;
  let lastSample: SsSample | null = null;
  let sampler: SsSampler | null = null;
  let timeline: TimelineWriter | null = null;
  let before: Counters | null = null;
  const captureLog = new CaptureLog();
  let written = false;
  let sectionComment = '';

  const writeCounters = (): void => {
    if (!keep || !before) return;
    const after = readCounters();
    writeFileSync(countersPath, JSON.stringify({ start: before, end: after, diff: diffCounters(before, after) }, (_k, v) =>
      (typeof v === 'bigint' ? Number(v) : v), 2) + '\n');
  };

  const writeMarks = (): void => {
    if (keep) writeFileSync(marksPath, toJsonLine(marks));
  };

  /** The newest ss listing taken entirely after `sinceNs`: from the sampler, or by running ss. */
  const listingAfter = async (sinceNs: bigint): Promise<SsSocket[] | null> => {
    if (sampler) return lastSample && lastSample.tsNs >= sinceNs ? lastSample.sockets : null;
    try {
      return parseSs((await runSsOnce()).text);
    } catch (e) {
      log(`hold: ${(e as Error).message}`);
      return null;
    }
  };

  const holdOn = async (h: HoldOptions, startNs: bigint): Promise<void> => {
    const interval = opts.ssIntervalMs > 0 ? opts.ssIntervalMs : 100;
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
          const listing = await listingAfter(startNs);
          if (listing && !listing.some(isSocketUnderTest)) {
            goneAtNs = process.hrtime.bigint();
            log(`hold: no socket under test left after ${(Number(goneAtNs - startNs) / 1e6).toFixed(0)} ms`);
          }
        } else if (process.hrtime.bigint() - goneAtNs >= afterGoneNs) {
          marks.holdEnded = 'socket-gone';
          return;
        }
      }
      await sleep(sampler ? poll : Math.max(poll, interval));
    }
  };

  const hooks: RunHooks = {
    captureLog,
    async onNetworkReady(config: RunConfig) {
      sectionComment = `tundrill ${opts.stem}: ${config.ipVersion} local ${config.localIp} remote ${config.remoteIp}`;
      for (const [k, v] of Object.entries(sysctls)) await writeSysctl(k, v);
      marks.networkReadyNs = process.hrtime.bigint();
      if (!keep) return;
      before = readCounters();
      if (opts.ssIntervalMs > 0) {
        timeline = new TimelineWriter(timelinePath);
        const tl = timeline;
        sampler = startSsSampler({
          intervalMs: opts.ssIntervalMs,
          onSample: (s) => {
            lastSample = s;
            tl.write(s);
          },
          onError: (e) => log(`ss sampler: ${e.message}`),
        });
      }
    },
    /** The script's time 0 on the monotonic clock, for engines that report it. */
    onClockStart(liveStartNs: bigint) {
      marks.clockStartNs = liveStartNs;
    },
    async onRunEnd(info) {
      marks.scriptEndNs = process.hrtime.bigint();
      // A failed script leaves nothing worth watching.
      if (hold && hold.maxMs > 0 && !info.failed) await holdOn(hold, marks.scriptEndNs);
      marks.holdEndNs = process.hrtime.bigint();
      if (sampler) await sampler.stop();
      sampler = null;
      timeline?.close();
      writeCounters();
      writeMarks();
    },
    async writeCapture(capture: CaptureLog) {
      if (!keep) return;
      const w = await PcapngWriter.open(capturePath, {
        format: opts.format, ...capture.iface, sectionComment, monoToRealtimeOffsetNs: marks.monoToRealtimeOffsetNs,
      });
      await capture.writeTo(w);
      written = true;
    },
  };

  return {
    hooks,
    emergencyFlush() {
      try {
        timeline?.close();
        writeCounters();
        if (marks.scriptEndNs === undefined) marks.scriptEndNs = process.hrtime.bigint();
        if (marks.holdEndNs === undefined) marks.holdEndNs = process.hrtime.bigint();
        writeMarks();
        if (keep && !written) {
          const w = PcapngWriter.openSync(capturePath, {
            format: opts.format, ...captureLog.iface, sectionComment, monoToRealtimeOffsetNs: marks.monoToRealtimeOffsetNs,
          });
          captureLog.writeToSync(w);
        }
      } catch (e) {
        process.stderr.write(`tundrill: evidence not complete: ${(e as Error).message}\n`);
      }
    },
    paths(result) {
      if (!keep) return {};
      const p: EvidencePaths = { capture: capturePath, counters: countersPath };
      if (opts.ssIntervalMs > 0) p.timeline = timelinePath;
      void result;
      return p;
    },
  };
}
