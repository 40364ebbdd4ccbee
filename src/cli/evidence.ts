/**
 * Evidence of a run, kept next to each other under the capture folder:
 *   <stem>.pcapng          every packet in and out of tun0, annotated
 *   <stem>.ss.jsonl        `ss -tinoe` samples of the namespace, parsed
 *   <stem>.counters.json   kernel MIB counters at start and end, and their difference
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CaptureLog } from '../engine/capture-log.js';
import type { RunConfig } from '../engine/config.js';
import type { EvidencePaths, RunResult } from '../engine/result.js';
import type { RunHooks } from '../engine/run-script.js';
import { PcapngWriter } from '../evidence/pcapng.js';
import { diffCounters, readCounters, type Counters } from '../evidence/counters.js';
import { startSsSampler, type SsSampler } from '../evidence/ss-sampler.js';
import { TimelineWriter } from '../evidence/timeline.js';
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

export interface AttachedEvidence {
  hooks: RunHooks;
  /** Write what is there, synchronously (the worker is being stopped). */
  emergencyFlush(): void;
  paths(result: RunResult): EvidencePaths;
}

export function attachEvidence(opts: EvidenceOptions, log: (line: string) => void, sysctls: Record<string, string>): AttachedEvidence {
  const keep = opts.dir !== '';
  const capturePath = keep ? join(opts.dir, `${opts.stem}.${opts.format}`) : '';
  const timelinePath = keep ? join(opts.dir, `${opts.stem}.ss.jsonl`) : '';
  const countersPath = keep ? join(opts.dir, `${opts.stem}.counters.json`) : '';
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

  const hooks: RunHooks = {
    captureLog,
    async onNetworkReady(config: RunConfig) {
      sectionComment = `tundrill ${opts.stem}: ${config.ipVersion} local ${config.localIp} remote ${config.remoteIp}`;
      for (const [k, v] of Object.entries(sysctls)) await writeSysctl(k, v);
      if (!keep) return;
      before = readCounters();
      if (opts.ssIntervalMs > 0) {
        timeline = new TimelineWriter(timelinePath);
        const tl = timeline;
        sampler = startSsSampler({
          intervalMs: opts.ssIntervalMs,
          onSample: (s) => tl.write(s),
          onError: (e) => log(`ss sampler: ${e.message}`),
        });
      }
    },
    async onRunEnd() {
      if (sampler) await sampler.stop();
      sampler = null;
      timeline?.close();
      writeCounters();
    },
    async writeCapture(capture: CaptureLog) {
      if (!keep) return;
      const w = await PcapngWriter.open(capturePath, { format: opts.format, ifName: 'tun0', sectionComment });
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
        if (keep && !written) {
          const w = PcapngWriter.openSync(capturePath, { format: opts.format, ifName: 'tun0', sectionComment });
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
