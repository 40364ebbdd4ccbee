/**
 * The capture as an evidence source: every packet of the run (the engine's
 * CaptureLog, with its notes of script lines) written as pcapng or pcap
 * once the device is closed and its last packets are in.
 */
import { PCAP_LINKTYPE } from '../backend/system-under-test.js';
import type { CaptureLog } from './capture-log.js';
import type { EvidenceFile } from './files.js';
import { PcapngWriter, type CaptureFormat } from './pcapng.js';
import type { EvidenceRun, EvidenceSource } from './source.js';

export interface CaptureSourceOptions {
  path: string;
  format: CaptureFormat;
  /** The run's packet log, filled by the engine. */
  log: CaptureLog;
  /** CLOCK_REALTIME minus CLOCK_MONOTONIC, ns: how the capture's stamps are converted. */
  monoToRealtimeOffsetNs: bigint;
}

export function captureSource(opts: CaptureSourceOptions): EvidenceSource {
  let sectionComment = '';
  let ifName = 'tun0';
  let linkType = PCAP_LINKTYPE['raw-ip'];
  let written = false;
  const writerOptions = () => ({
    format: opts.format, ifName, linkType, sectionComment, monoToRealtimeOffsetNs: opts.monoToRealtimeOffsetNs,
  });
  return {
    name: 'capture',
    start(run: EvidenceRun) {
      sectionComment = `tundrill ${run.stem}: ${run.ipVersion} local ${run.localIp} remote ${run.remoteIp}`;
      ifName = run.system.device;
      linkType = PCAP_LINKTYPE[run.linkType];
    },
    stop() {},
    async finish() {
      const w = await PcapngWriter.open(opts.path, writerOptions());
      await opts.log.writeTo(w);
      written = true;
    },
    emergencyFlush() {
      if (written) return;
      opts.log.writeToSync(PcapngWriter.openSync(opts.path, writerOptions()));
    },
    files: (): EvidenceFile[] => [{ kind: 'capture', path: opts.path }],
  };
}
