/**
 * Evidence of a run, kept next to each other under the capture folder:
 *   <stem>.pcapng          every packet in and out of tun0, annotated
 *   <stem>.sockets.jsonl   socket-state timeline of the namespace (sock_diag or ss), changes only
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
import { runSsOnce } from '../evidence/ss-sampler.js';
import { parseSs } from '../evidence/ss-parser.js';
import { TimelineWriter, toJsonLine } from '../evidence/timeline.js';
import { startSocketSampler, type SocketSampler } from '../evidence/socket-sampler.js';
import type { SamplerKind } from '../evidence/socket-timeline.js';
import { socketStateFromSs, type SocketState } from '../evidence/socket-state.js';
import { writeSysctl } from '../net/setup.js';

export interface EvidenceOptions {
  /** Folder for the files; '' keeps no evidence. */
  dir: string;
  /** File name stem, e.g. `close-wait_ipv4`. */
  stem: string;
  format: 'pcapng' | 'pcap';
  /** Socket-state sampling interval (full listings), ms; 0 disables sampling. */
  ssIntervalMs: number;
  /** Which sampler; default sock_diag. */
  sampler?: SamplerKind;
}

/** Frame header in front of every packet on tun0 (virtio-net header). */
const TUN_VNET_HDR_LEN = 10;

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
export function isSocketUnderTest(s: SsSocket | SocketState): boolean {
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
  const timelinePath = keep ? join(opts.dir, `${opts.stem}.sockets.jsonl`) : '';
  const countersPath = keep ? join(opts.dir, `${opts.stem}.counters.json`) : '';
  const marksPath = keep ? runMarksPath(opts.dir, opts.stem) : '';
  const marks: RunMarks = { stem: opts.stem, monoToRealtimeOffsetNs: monoToRealtimeOffsetNs(), holdEnded: 'none', sysctls };
  if (hold) marks.hold = hold;
  let sampler: SocketSampler | null = null;
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

  /** Write the records the sampler kept since last time (off the engine's hot path). */
  const drain = (): void => {
    if (!sampler || !timeline) return;
    for (const r of sampler.take()) timeline.write(r);
  };

  /** A full listing taken after `listingsBefore` listings: from the sampler, or by running ss. */
  let listingsAtHold = 0;
  const listingAfter = async (): Promise<Array<SsSocket | SocketState> | null> => {
    if (sampler) {
      drain();
      return sampler.listings() > listingsAtHold ? sampler.table.list() : null;
    }
    try {
      return parseSs((await runSsOnce()).text).map(socketStateFromSs);
    } catch (e) {
      log(`hold: ${(e as Error).message}`);
      return null;
    }
  };

  const holdOn = async (h: HoldOptions, startNs: bigint): Promise<void> => {
    const interval = opts.ssIntervalMs > 0 ? opts.ssIntervalMs : 100;
    const endNs = startNs + BigInt(Math.round(h.maxMs * 1e6));
    drain();
    listingsAtHold = sampler ? sampler.listings() : 0;
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
          const listing = await listingAfter();
          if (listing && !listing.some(isSocketUnderTest)) {
            goneAtNs = process.hrtime.bigint();
            log(`hold: no socket under test left after ${(Number(goneAtNs - startNs) / 1e6).toFixed(0)} ms`);
          }
        } else if (process.hrtime.bigint() - goneAtNs >= afterGoneNs) {
          drain();
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
        // Started here, on the thread that lives in the run's namespace:
        // the sampler's netlink socket belongs to this namespace.
        sampler = startSocketSampler({
          sampler: opts.sampler ?? 'sock_diag',
          intervalMs: opts.ssIntervalMs,
          tunFd: -2,
          vnetHdrLen: TUN_VNET_HDR_LEN,
          onError: (e) => log(`socket sampler: ${e.message}`),
        });
        timeline.write(sampler.start);
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
      if (sampler) {
        const last = await sampler.stop();
        for (const r of last.records) timeline?.write(r);
        timeline?.write(last.end);
      }
      sampler = null;
      timeline?.close();
      writeCounters();
      writeMarks();
    },
    async writeCapture(capture: CaptureLog) {
      if (!keep) return;
      const w = await PcapngWriter.open(capturePath, {
        format: opts.format, ifName: 'tun0', sectionComment, monoToRealtimeOffsetNs: marks.monoToRealtimeOffsetNs,
      });
      await capture.writeTo(w);
      written = true;
    },
  };

  return {
    hooks,
    emergencyFlush() {
      try {
        drain();
        timeline?.close();
        writeCounters();
        if (marks.scriptEndNs === undefined) marks.scriptEndNs = process.hrtime.bigint();
        if (marks.holdEndNs === undefined) marks.holdEndNs = process.hrtime.bigint();
        writeMarks();
        if (keep && !written) {
          const w = PcapngWriter.openSync(capturePath, {
            format: opts.format, ifName: 'tun0', sectionComment, monoToRealtimeOffsetNs: marks.monoToRealtimeOffsetNs,
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
