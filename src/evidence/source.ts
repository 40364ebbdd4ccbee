/**
 * One kind of evidence a run keeps (the capture, socket-state samples, MIB
 * counters, the run's clock marks, ...) behind one small interface. The
 * runner assembles a list of sources for each run and drives them through
 * the run's life:
 *
 *   start          the device is up and configured, the script has not started
 *   onClockStart   the script's time 0 (CLOCK_MONOTONIC ns)
 *   onPacket       every packet injected ('in') or read ('out'), as the capture
 *                  keeps it, with its monotonic stamp; called on the hot path,
 *                  so it must be cheap (note, do not process)
 *   onScriptEnd    the script's last event is done, or it failed; a hold may follow
 *   stop           observation is over (after the hold): stop sampling, write files
 *   finish         the device is closed and its last packets are in (the capture
 *                  is written here)
 *   emergencyFlush the worker is being stopped: write what there is,
 *                  synchronously, and never throw
 *
 * A new sampler is one module implementing this, added to the list in
 * src/runner/evidence.ts.
 */
import type { LinkType, SystemDescription } from '../backend/system-under-test.js';
import type { EvidenceFile } from './files.js';

export type PacketDirection = 'in' | 'out';

/** What a source may want to know about the run when it starts. */
export interface EvidenceRun {
  /** The run's file name stem. */
  stem: string;
  ipVersion: string;
  localIp: string;
  remoteIp: string;
  system: SystemDescription;
  /** What the packets handed to onPacket and kept in the capture begin with. */
  linkType: LinkType;
}

export interface EvidenceSource {
  /** Short name for messages ('capture', 'socket-state', ...). */
  readonly name: string;
  start(run: EvidenceRun): Promise<void> | void;
  onClockStart?(liveStartNs: bigint): void;
  onPacket?(data: Buffer, tsNs: bigint, direction: PacketDirection): void;
  onScriptEnd?(info: { failed: boolean }): void;
  stop(): Promise<void> | void;
  finish?(): Promise<void> | void;
  emergencyFlush(): void;
  /** The files it wrote (or will write by finish). */
  files(): EvidenceFile[];
}
