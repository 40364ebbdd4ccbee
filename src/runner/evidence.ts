/**
 * The evidence of a run, assembled as a list of sources kept next to each
 * other under the capture folder (names in src/evidence/files.ts): the
 * capture, the run's clock marks, the MIB counters and the socket-state
 * timeline, plugged into the engine's hooks. Sources start in list order
 * and stop, and flush when the worker is being stopped, in reverse order.
 * A new source is one module implementing EvidenceSource, added in
 * `evidenceSources` below.
 */
import { existsSync } from 'node:fs';
import { CaptureLog } from '../evidence/capture-log.js';
import { captureSource } from '../evidence/capture-source.js';
import { countersSource } from '../evidence/counters-source.js';
import { eventsSource } from '../evidence/events-source.js';
import { EventLog } from '../engine/event-log.js';
import { evidenceFiles } from '../evidence/files.js';
import { monoToRealtimeOffsetNs, type CaptureFormat } from '../evidence/pcapng.js';
import { runMarksSource, type HoldOptions, type RunMarks } from '../evidence/run-marks.js';
import { socketStateSource, type SocketStateSource } from '../evidence/socket-state-source.js';
import type { EvidenceSource } from '../evidence/source.js';
import { parseSs } from '../evidence/ss-parser.js';
import { socketStateFromSs } from '../evidence/socket-state.js';
import type { SamplerKind } from '../evidence/socket-timeline.js';
import { runSsOnce } from '../evidence/ss-sampler.js';
import { writeSysctl } from '../backend/namespace.js';
import type { EvidencePaths } from '../engine/result.js';
import type { RunHooks } from '../engine/run-script.js';
import { holdOn } from './hold.js';

export type { HoldOptions, RunMarks } from '../evidence/run-marks.js';
export { isSocketUnderTest } from './hold.js';

export interface EvidenceOptions {
  /** Folder for the files; '' keeps no evidence. */
  dir: string;
  /** File name stem, e.g. `close-wait_ipv4`. */
  stem: string;
  format: CaptureFormat;
  /** Socket-state sampling interval (full listings), ms; 0 disables sampling. */
  ssIntervalMs: number;
  /** Which socket-state sampler; default sock_diag. */
  sampler?: SamplerKind;
}

export interface AttachedEvidence {
  hooks: RunHooks;
  /** Write what is there, synchronously (the worker is being stopped). */
  emergencyFlush(): void;
  paths(): EvidencePaths;
}

interface Sources {
  all: EvidenceSource[];
  socketState: SocketStateSource | null;
}

/** The run's evidence sources, in start order. */
function evidenceSources(opts: EvidenceOptions, marks: RunMarks, capture: CaptureLog, events: EventLog, log: (line: string) => void): Sources {
  if (opts.dir === '') return { all: [], socketState: null };
  const files = evidenceFiles(opts.dir, opts.stem, opts.format);
  const socketState = opts.ssIntervalMs > 0
    ? socketStateSource({ path: files.timeline, intervalMs: opts.ssIntervalMs, sampler: opts.sampler ?? 'sock_diag', log })
    : null;
  const all: EvidenceSource[] = [
    captureSource({ path: files.capture, format: opts.format, log: capture, monoToRealtimeOffsetNs: marks.monoToRealtimeOffsetNs }),
    runMarksSource(files.marks, marks),
    countersSource(files.counters),
    eventsSource(files.events, events),
  ];
  if (socketState) all.push(socketState);
  return { all, socketState };
}

export function attachEvidence(
  opts: EvidenceOptions,
  log: (line: string) => void,
  sysctls: Record<string, string>,
  hold?: HoldOptions,
): AttachedEvidence {
  const marks: RunMarks = { stem: opts.stem, monoToRealtimeOffsetNs: monoToRealtimeOffsetNs(), holdEnded: 'none', sysctls };
  if (hold) marks.hold = hold;
  const captureLog = new CaptureLog();
  const eventLog = new EventLog();
  const sources = evidenceSources(opts, marks, captureLog, eventLog, log);
  const reversed = [...sources.all].reverse();
  const packetSources = sources.all.filter((s) => s.onPacket);

  /** The newest ss listing taken entirely after `sinceNs`: from the sampler, or by running ss. */
  const listingAfter = async (sinceNs: bigint) => {
    if (sources.socketState) return sources.socketState.listingAfter(sinceNs);
    try {
      return parseSs((await runSsOnce()).text).map(socketStateFromSs);
    } catch (e) {
      log(`hold: ${(e as Error).message}`);
      return null;
    }
  };

  const hooks: RunHooks = {
    captureLog,
    // Recorded only when there is a folder to write it to.
    ...(opts.dir !== '' ? { eventLog } : {}),
    async onNetworkReady(config, opened) {
      for (const [k, v] of Object.entries(sysctls)) await writeSysctl(k, v);
      marks.networkReadyNs = process.hrtime.bigint();
      marks.system = opened.system;
      const run = {
        stem: opts.stem, ipVersion: config.ipVersion, localIp: config.localIp, remoteIp: config.remoteIp,
        system: opened.system, linkType: opened.linkType, frameOffset: opened.frameOffset,
      };
      for (const s of sources.all) await s.start(run);
    },
    onClockStart(liveStartNs) {
      marks.clockStartNs = liveStartNs;
      for (const s of sources.all) s.onClockStart?.(liveStartNs);
    },
    async onRunEnd(info) {
      marks.scriptEndNs = process.hrtime.bigint();
      for (const s of sources.all) s.onScriptEnd?.(info);
      // A failed script leaves nothing worth watching.
      if (hold && hold.maxMs > 0 && !info.failed) {
        await holdOn(hold, marks.scriptEndNs, {
          intervalMs: opts.ssIntervalMs, sampling: sources.socketState !== null, listingAfter, log,
        }, marks);
      }
      marks.holdEndNs = process.hrtime.bigint();
      for (const s of reversed) await s.stop();
    },
    async writeCapture() {
      for (const s of sources.all) await s.finish?.();
    },
  };
  if (packetSources.length === 1) {
    const s = packetSources[0]!;
    hooks.onPacket = (data, tsNs, direction) => s.onPacket!(data, tsNs, direction);
  } else if (packetSources.length > 1) {
    hooks.onPacket = (data, tsNs, direction) => {
      for (const s of packetSources) s.onPacket!(data, tsNs, direction);
    };
  }

  return {
    hooks,
    emergencyFlush() {
      try {
        for (const s of reversed) s.emergencyFlush();
      } catch (e) {
        process.stderr.write(`tundrill: evidence not complete: ${(e as Error).message}\n`);
      }
    },
    paths() {
      // A run that ended before its network came up (a semantic error found
      // at run time) wrote none of its files: name only those that exist.
      const p: EvidencePaths = {};
      for (const s of sources.all) {
        for (const f of s.files()) {
          if (!existsSync(f.path)) continue;
          if (f.kind === 'capture' || f.kind === 'timeline' || f.kind === 'counters' || f.kind === 'events') p[f.kind] = f.path;
        }
      }
      return p;
    },
  };
}
