/**
 * Socket state of the run's namespace as an evidence source: the typed,
 * change-only socket-state timeline (`<stem>.sockets.jsonl`, see
 * socket-timeline.ts), taken by the sock_diag sampler (default: a query of
 * the packet's socket after every packet the TUN reader reads and every
 * packet written to the TUN, both noted in the addon itself, plus a full
 * dump every interval) or by spawning ss every interval.
 *
 * While the run goes on, the records are streamed to the file a few times
 * a second (written from libuv's threads) when the script leaves a gap
 * (stream-gate.ts), so that a worker killed outright (SIGKILL, a container
 * stopped) still leaves the timeline up to the last gap; the rest is
 * written at the script's end, during a hold, at stop and in an emergency
 * flush. The sockets present as of the
 * newest full listing stay available, for a hold that waits until the
 * sockets under test are gone.
 */
import type { EvidenceFile } from './files.js';
import type { SocketState } from './socket-state.js';
import { startSocketSampler, type SocketSampler } from './socket-sampler.js';
import type { SamplerKind } from './socket-timeline.js';
import type { EvidenceRun, EvidenceSource } from './source.js';
import { streamInGaps } from './stream-gate.js';
import { TimelineWriter } from './timeline.js';

export interface SocketStateSource extends EvidenceSource {
  /** The sockets as of the newest full listing taken after `sinceNs` (monotonic), or null if none yet. */
  listingAfter(sinceNs: bigint): SocketState[] | null;
}

export interface SocketStateOptions {
  path: string;
  intervalMs: number;
  sampler: SamplerKind;
  log: (line: string) => void;
  /** How often records are streamed to the file while the run goes on (ms; 0: only at the end). Default 250. */
  streamIntervalMs?: number;
}

/** Bytes in front of the IP header of every frame on the run's device. */
function frameHeaderLength(run: EvidenceRun): number {
  return run.frameOffset + (run.linkType === 'ethernet' ? 14 : 0);
}

export function socketStateSource(opts: SocketStateOptions): SocketStateSource {
  let sampler: SocketSampler | null = null;
  let timeline: TimelineWriter | null = null;
  let marked: { sinceNs: bigint; listings: number } | null = null;
  let timer: NodeJS.Timeout | null = null;
  /** Records taken so far, to the file from libuv's threads (in order: after the writes before). */
  const drain = (): void => {
    if (!sampler || !timeline || timeline.closed) return;
    timeline.writeInBackground(sampler.take());
  };
  const stopStreaming = (): void => {
    if (timer) clearInterval(timer);
    timer = null;
  };
  return {
    name: 'socket-state',
    start(run) {
      timeline = new TimelineWriter(opts.path);
      // Started on the thread that lives in the run's namespace: the
      // sampler's netlink socket belongs to the namespace it is made in.
      sampler = startSocketSampler({
        sampler: opts.sampler,
        intervalMs: opts.intervalMs,
        tunFd: -2, // the packets of the run's TUN (one run per process)
        vnetHdrLen: frameHeaderLength(run),
        onError: (e) => opts.log(`socket sampler: ${e.message}`),
      });
      timeline.write(sampler.start);
      const every = opts.streamIntervalMs ?? 250;
      if (every > 0) {
        timer = streamInGaps(drain, every);
      }
    },
    onScriptEnd() {
      drain();
    },
    listingAfter(sinceNs) {
      if (!sampler) return null;
      drain();
      if (!marked || marked.sinceNs !== sinceNs) marked = { sinceNs, listings: sampler.listings() };
      return sampler.listings() > marked.listings ? sampler.table.list() : null;
    },
    async stop() {
      stopStreaming();
      await timeline?.flushed().catch((e: Error) => opts.log(e.message));
      if (sampler) {
        const last = await sampler.stop();
        for (const r of last.records) timeline?.write(r);
        timeline?.write(last.end);
      }
      sampler = null;
      timeline?.close();
    },
    emergencyFlush() {
      stopStreaming();
      try {
        // Synchronously: the process is about to go.
        if (sampler && timeline && !timeline.closed) for (const r of sampler.take()) timeline.write(r);
      } finally {
        timeline?.close();
      }
    },
    files: (): EvidenceFile[] => [{ kind: 'timeline', path: opts.path }],
  };
}
