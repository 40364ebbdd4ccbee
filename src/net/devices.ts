/**
 * The path between the kernel under test and the harness, chosen per run:
 *
 *   tun       tun0, drained continuously by the reader thread (default)
 *   tun-lazy  tun0 read only when the engine takes a packet; what the kernel
 *             sends is observed with AF_PACKET on tun0
 *   veth      a veth pair, the kernel's end (tun0) in the run's namespace,
 *             the harness's end in a second namespace, driven with AF_PACKET
 *
 * Each opens its device in the calling thread's namespace and configures it
 * with the run's addresses and routes.
 */
import type { RunConfig } from '../engine/config.js';
import type { TunIo } from '../engine/netdev.js';
import { configureNamespace } from './setup.js';
import { openTunDevice } from './tun.js';
import { openLazyTunDevice } from './tun-lazy.js';
import { openVethDevice } from './veth.js';
import { linkStats, rootQdisc } from './ip-commands.js';

export const DEVICE_KINDS = ['tun', 'tun-lazy', 'veth'] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];

export function isDeviceKind(s: string): s is DeviceKind {
  return (DEVICE_KINDS as readonly string[]).includes(s);
}

/** Evidence of a run on another device than tun goes beside tun's (`x_ipv4_veth.pcapng`), not over it. */
export function deviceSuffix(device: DeviceKind): string {
  return device === 'tun' ? '' : `_${device}`;
}

/** pcapng link types of the devices' captures. */
export const LINKTYPE_RAW = 101;
export const LINKTYPE_ETHERNET = 1;

export interface OpenedDevice {
  kind: DeviceKind;
  /** The interface the kernel sends on, as scripts name it. */
  name: string;
  io: TunIo;
  /** How the capture describes the interface the harness sees. */
  capture: { ifName: string; linkType: number };
  /** Set-up time, ms: making the device, and configuring the namespace (addresses, routes, neighbours). */
  setupMs: { device: number; net: number };
  /** The device's numbers at the end of the run (queues, drops). */
  report(): Record<string, number | string>;
  close(): void;
}

/** Open and configure the device for a run, in the calling thread's namespace. */
export function openDevice(kind: DeviceKind, config: RunConfig): OpenedDevice {
  const t0 = performance.now();
  switch (kind) {
    case 'tun': {
      const tun = openTunDevice('tun0');
      const t1 = performance.now();
      try {
        configureNamespace(config, tun.name);
      } catch (e) {
        tun.close();
        throw e;
      }
      return {
        kind, name: tun.name, setupMs: { device: t1 - t0, net: performance.now() - t1 }, io: tun.io, capture: { ifName: tun.name, linkType: LINKTYPE_RAW },
        report() {
          const link = linkStats(tun.name);
          const q = rootQdisc(tun.name);
          return {
            'tun tx packets (read by the harness)': link.txPackets,
            'tun tx_dropped': link.txDropped,
            'qdisc backlog (packets)': q?.backlogPackets ?? 0,
            'qdisc drops': q?.drops ?? 0,
          };
        },
        close: () => tun.close(),
      };
    }
    case 'tun-lazy': {
      const dev = openLazyTunDevice('tun0');
      const t1 = performance.now();
      try {
        configureNamespace(config, dev.name);
      } catch (e) {
        dev.close();
        throw e;
      }
      return {
        kind, name: dev.name, setupMs: { device: t1 - t0, net: performance.now() - t1 }, io: dev.io, capture: { ifName: `${dev.name} (AF_PACKET)`, linkType: LINKTYPE_RAW },
        report: () => dev.report(), close: () => dev.close(),
      };
    }
    case 'veth': {
      // Pair, second namespace and configuration are one step.
      const dev = openVethDevice(config);
      return {
        kind, name: dev.name, setupMs: { device: 0, net: performance.now() - t0 }, io: dev.io, capture: { ifName: 'tdh0 (veth peer of tun0)', linkType: LINKTYPE_ETHERNET },
        report: () => dev.report(), close: () => dev.close(),
      };
    }
  }
}
