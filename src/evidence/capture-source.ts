/**
 * The capture as an evidence source: every packet of the run (the engine's
 * CaptureLog, with its notes of script lines).
 *
 * While the run goes on, the packets are streamed to the capture file a
 * few times a second (the writer's background writes, off the JavaScript
 * thread), without notes, when the script leaves a gap (stream-gate.ts):
 * a worker killed outright (SIGKILL, a container stopped) still leaves a
 * readable capture of what happened up to the last gap. Once the device
 * is closed and its last packets are in, the whole capture is written
 * again, in wire order and with every packet's note, to a temporary file
 * that then replaces the streamed one (a reader never sees a half-written
 * file).
 */
import { renameSync, rmSync } from 'node:fs';
import { PCAP_LINKTYPE } from '../backend/system-under-test.js';
import type { CaptureLog } from './capture-log.js';
import type { EvidenceFile } from './files.js';
import { PcapngWriter, type CaptureFormat } from './pcapng.js';
import type { EvidenceRun, EvidenceSource } from './source.js';
import { nowNs } from '../native/addon.js';
import { streamInGaps } from './stream-gate.js';

export interface CaptureSourceOptions {
  path: string;
  format: CaptureFormat;
  /** The run's packet log, filled by the engine. */
  log: CaptureLog;
  /** CLOCK_REALTIME minus CLOCK_MONOTONIC, ns: how the capture's stamps are converted. */
  monoToRealtimeOffsetNs: bigint;
  /** How often packets are streamed to the file while the run goes on (ms; 0: only at the end). Default 250. */
  streamIntervalMs?: number;
}

/** Packets younger than this stay in memory one more round, so that the stream stays in wire order. */
const SETTLE_NS = 100_000_000n;

export function captureSource(opts: CaptureSourceOptions): EvidenceSource {
  let sectionComment = '';
  let ifName = 'tun0';
  let linkType = PCAP_LINKTYPE['raw-ip'];
  let written = false;
  let live: PcapngWriter | null = null;
  let timer: NodeJS.Timeout | null = null;
  let streamed = 0;
  const writerOptions = () => ({
    format: opts.format, ifName, linkType, sectionComment, monoToRealtimeOffsetNs: opts.monoToRealtimeOffsetNs,
  });
  /** Hand the writer the packets logged since the last round that have settled. */
  const stream = (): void => {
    if (!live) return;
    const recs = opts.log.records;
    const cutoff = nowNs() - SETTLE_NS;
    let end = streamed;
    while (end < recs.length && recs[end]!.tsNs < cutoff) end++;
    if (end === streamed) return;
    const batch = recs.slice(streamed, end).sort((a, b) => (a.tsNs < b.tsNs ? -1 : a.tsNs > b.tsNs ? 1 : 0));
    for (const r of batch) live.write({ data: r.data, tsNs: r.tsNs, direction: r.direction });
    streamed = end;
  };
  const stopStreaming = async (): Promise<void> => {
    if (timer) clearInterval(timer);
    timer = null;
    const w = live;
    live = null;
    if (w) await w.close().catch(() => undefined);
  };
  return {
    name: 'capture',
    start(run: EvidenceRun) {
      sectionComment = `tundrill ${run.stem}: ${run.ipVersion} local ${run.localIp} remote ${run.remoteIp}`;
      ifName = run.system.device;
      linkType = PCAP_LINKTYPE[run.linkType];
      const every = opts.streamIntervalMs ?? 250;
      if (every > 0) {
        live = PcapngWriter.openSync(opts.path, { ...writerOptions(), flushIntervalMs: every, closeOnExit: false });
        timer = streamInGaps(stream, every);
      }
    },
    stop() {},
    async finish() {
      await stopStreaming();
      const tmp = `${opts.path}.tmp`;
      try {
        const w = await PcapngWriter.open(tmp, writerOptions());
        await opts.log.writeTo(w);
        renameSync(tmp, opts.path);
      } finally {
        rmSync(tmp, { force: true });
      }
      written = true;
    },
    emergencyFlush() {
      if (timer) clearInterval(timer);
      timer = null;
      if (written) return;
      try {
        live?.closeSync();
      } catch {
        // the complete capture below replaces it
      }
      live = null;
      // A new file renamed over the streamed one: a background write still
      // under way lands in the old file, never in this one.
      const tmp = `${opts.path}.tmp`;
      opts.log.writeToSync(PcapngWriter.openSync(tmp, writerOptions()));
      renameSync(tmp, opts.path);
    },
    files: (): EvidenceFile[] => [{ kind: 'capture', path: opts.path }],
  };
}
