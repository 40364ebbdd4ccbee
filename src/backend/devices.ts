/**
 * The path between the kernel under test and the harness, chosen per run
 * (`--device`), each a backend behind the system-under-test interface:
 *
 *   tun       tun0, drained continuously by the reader thread (default)
 *   tun-lazy  tun0 read only when the engine takes a packet; what the kernel
 *             sends is observed with AF_PACKET on tun0
 *   veth      a veth pair, the kernel's end (tun0) in the run's namespace,
 *             the harness's end in a second namespace, driven with AF_PACKET
 *
 * Each opens its device in the calling thread's namespace (the run's) and
 * configures it with the run's addresses and routes; each reports its
 * device's numbers (queues, drops) at the end of the run.
 */
import type { SystemUnderTest } from './system-under-test.js';
import { hostTunBackend } from './tun.js';
import { tunLazyBackend } from './tun-lazy.js';
import { vethBackend } from './veth.js';
import { linkStats, qdiscReport } from './ip-commands.js';

export const DEVICE_KINDS = ['tun', 'tun-lazy', 'veth'] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];

export function isDeviceKind(s: string): s is DeviceKind {
  return (DEVICE_KINDS as readonly string[]).includes(s);
}

/** Evidence of a run on another device than tun goes beside tun's (`x_ipv4_veth.pcapng`), not over it. */
export function deviceSuffix(device: DeviceKind): string {
  return device === 'tun' ? '' : `_${device}`;
}

/** tun, with what tun0 and its qdisc counted by the end of the run. */
function tunWithReport(): SystemUnderTest {
  const base = hostTunBackend();
  return {
    name: base.name,
    async open(plan) {
      const s = await base.open(plan);
      const dev = s.description.device;
      return {
        description: s.description,
        io: s.io,
        openTimings: s.openTimings,
        close: () => s.close(),
        report() {
          const link = linkStats(dev);
          return {
            'tun tx packets (read by the harness)': link.txPackets,
            'tun tx_dropped': link.txDropped,
            ...qdiscReport(dev),
          };
        },
      };
    },
  };
}

export function backendFor(kind: DeviceKind): SystemUnderTest {
  switch (kind) {
    case 'tun': return tunWithReport();
    case 'tun-lazy': return tunLazyBackend();
    case 'veth': return vethBackend();
  }
}
