/**
 * Socket state of the run's namespace as an evidence source: `ss -tinoe`
 * sampled every `intervalMs` into the `.ss.jsonl` timeline. The newest
 * listing stays available, for a hold that waits until the sockets under
 * test are gone.
 */
import type { EvidenceFile } from './files.js';
import type { SsSocket } from './ss-parser.js';
import { startSsSampler, type SsSample, type SsSampler } from './ss-sampler.js';
import type { EvidenceSource } from './source.js';
import { TimelineWriter } from './timeline.js';

export interface SocketStateSource extends EvidenceSource {
  /** The newest listing taken entirely after `sinceNs` (monotonic), or null if none yet. */
  listingAfter(sinceNs: bigint): SsSocket[] | null;
}

export function socketStateSource(path: string, intervalMs: number, log: (line: string) => void): SocketStateSource {
  let lastSample: SsSample | null = null;
  let sampler: SsSampler | null = null;
  let timeline: TimelineWriter | null = null;
  return {
    name: 'socket-state',
    start() {
      timeline = new TimelineWriter(path);
      const tl = timeline;
      sampler = startSsSampler({
        intervalMs,
        onSample: (s) => {
          lastSample = s;
          tl.write(s);
        },
        onError: (e) => log(`ss sampler: ${e.message}`),
      });
    },
    listingAfter(sinceNs) {
      return lastSample && lastSample.tsNs >= sinceNs ? lastSample.sockets : null;
    },
    async stop() {
      if (sampler) await sampler.stop();
      sampler = null;
      timeline?.close();
    },
    emergencyFlush() {
      timeline?.close();
    },
    files: (): EvidenceFile[] => [{ kind: 'timeline', path }],
  };
}
