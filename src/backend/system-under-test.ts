/**
 * The system under test: the kernel and the device the engine plays the
 * remote peer through. The engine receives one opened system per run and
 * never opens devices or configures namespaces itself, so another backend
 * (a veth pair, a tun left undrained and watched with AF_PACKET, a kernel
 * in a microVM) is one more implementation of this interface.
 *
 * A backend owns the device's link framing: the engine injects and reads
 * bare IP packets (with the GSO marks packetdrill uses for segments larger
 * than the MSS), the backend turns them into what its device carries (a
 * virtio-net header for tun, an Ethernet header for veth). The capture
 * stores packets as the device carries them from `captureOffset` on, with
 * the pcapng link type `linkType`.
 */

import type { StampStats } from '../native/addon.js';

/** What the packets in the capture begin with. */
export type LinkType = 'raw-ip' | 'ethernet';

/** pcapng/pcap link type numbers (tcpdump.org linktypes). */
export const PCAP_LINKTYPE: Readonly<Record<LinkType, number>> = { 'raw-ip': 101, ethernet: 1 };

/** The addresses and MTU a run needs on its device (a subset of the run's configuration). */
export interface NetworkPlan {
  wireFamily: 'inet' | 'inet6';
  localIp: string;
  /** Prefix length of the local address. */
  prefixLen: number;
  gatewayIp: string;
  /** The remote prefix in CIDR notation, routed through the gateway. */
  remotePrefix: string;
  mtu: number;
}

/** What a report says about the system a run ran against. */
export interface SystemDescription {
  /** The backend: 'tun', 'tun-lazy', 'veth', 'microvm', ... */
  backend: string;
  /** The kernel's device the packets pass (e.g. 'tun0'). */
  device: string;
  /** The kernel release under test (uname -r), or what identifies the kernel image. */
  kernel: string;
  /** Anything else a reader of the report needs (queue length, VM image, ...). */
  details?: Record<string, string>;
}

/** A frame as read from the device, with its times (CLOCK_MONOTONIC ns). */
export interface DeviceFrame {
  data: Buffer;
  /** When the kernel sent it (its packet tap's time), or when it was read where the device gives no such time. */
  tsNs: bigint;
}

/** An IP packet taken out of a frame, with its GSO marks (virtio-net gso_type and gso_size; 0 when none). */
export interface DecodedFrame {
  /** The IP packet: a view into the frame, not a copy. */
  ip: Buffer;
  gsoType: number;
  gsoSize: number;
}

/** The device's link framing. */
export interface LinkFraming {
  readonly linkType: LinkType;
  /** Where, in a frame, the bytes the capture keeps begin (the virtio-net header is not kept). */
  readonly captureOffset: number;
  /** The IP packet in a frame read from the device; null drops the frame (not IP, too short). */
  decode(frame: Buffer): DecodedFrame | null;
  /** The frame that carries `ip`; `gsoMss` > 0 asks the kernel to segment it at that size. */
  encode(ip: Buffer, gsoMss: number): Buffer;
  /**
   * What the capture keeps of a frame `encode` made from `ip`, when that is
   * not simply the frame from `captureOffset` on (a GSO frame carries a
   * partial checksum that the capture should not show).
   */
  captured?(frame: Buffer, ip: Buffer): Buffer;
}

/** A running reader of the device's outbound frames. */
export interface DeviceReader {
  /** Stop reading; returns the frames read but not yet delivered. */
  stop(): DeviceFrame[];
  /** Frames read but not yet delivered, taken now. */
  take(): DeviceFrame[];
  /**
   * Block until a frame is queued or the deadline (monotonic ns) passes (or, after 3 ms, the event loop has work); returns the count queued.
   * `spin` false: sleep at once (the wait is taken up again; nothing just happened that the kernel answers).
   */
  waitFor(deadlineNs: bigint, spin?: boolean): number;
  /** Keep the reader thread off the device until `untilNs` (monotonic ns): the engine reads it itself meanwhile. */
  hold?(untilNs: bigint): void;
  /** After stop(), for a reader that stamps with the kernel's times: how many it stamped so, and how late reads came. */
  stampStats?(): StampStats | null;
}

/** Frame-level access to the device. */
export interface DeviceIo {
  readonly framing: LinkFraming;
  /** Start observing what the kernel sends; `onFrames` gets them in batches on the JS thread. */
  readerStart(onFrames: (frames: DeviceFrame[]) => void): DeviceReader;
  /** Write a frame now, on this thread; `tsNs` is stamped right before the write. */
  write(frame: Buffer): { tsNs: bigint; ret: number; errno: number };
  /**
   * Write frames back to back in one call (see native tunWriteBurst): a
   * stamp for each write made; stops after a failed write and after one
   * stamped later than its `stopAfterNs`. Optional: without it, frames are
   * written one `write` at a time.
   */
  writeBurst?(frames: Buffer[], stopAfterNs: bigint[]): { tsNs: bigint[]; ret: number; errno: number };
  /** The engine took a packet the kernel sent (a device read on demand reads its queue only then). */
  consumed?(): void;
}

/** A system opened and configured for one run. */
export interface OpenedSystem {
  readonly description: SystemDescription;
  readonly io: DeviceIo;
  /** What opening cost, ms: creating the device and configuring the namespace. */
  readonly openTimings: { deviceMs: number; namespaceMs: number };
  /** The device's numbers at the end of the run (queues, drops), for reports and comparisons. */
  report?(): Record<string, number | string>;
  /** Close the device; the run's namespace goes with the worker's next run. */
  close(): void;
}

/** A backend: opens the system under test for a run, in the calling thread's network namespace. */
export interface SystemUnderTest {
  /** The backend's name, as `--device` would select it. */
  readonly name: string;
  /** Create the device and give it the run's addresses, MTU and routes. Throws with a one-line reason. */
  open(plan: NetworkPlan): Promise<OpenedSystem>;
}
