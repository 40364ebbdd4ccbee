/**
 * The `tun` backend, the host's own kernel through tun0 drained
 * continuously, as packetdrill runs: the device is created in the calling
 * thread's network namespace (the worker's fresh namespace of the run) and
 * configured with the run's addresses, MTU and routes.
 */
import { release } from 'node:os';
import { configureNamespace } from './namespace.js';
import type { NetworkPlan, OpenedSystem, SystemUnderTest } from './system-under-test.js';
import { openTunDevice } from './tun-device.js';

export const TUN_DEVICE_NAME = 'tun0';

export function hostTunBackend(): SystemUnderTest {
  return {
    name: 'tun',
    open(plan: NetworkPlan): Promise<OpenedSystem> {
      const t0 = performance.now();
      const tun = openTunDevice(TUN_DEVICE_NAME);
      const t1 = performance.now();
      try {
        configureNamespace(plan, tun.name);
      } catch (e) {
        tun.close();
        throw e;
      }
      const t2 = performance.now();
      return Promise.resolve({
        description: { backend: 'tun', device: tun.name, kernel: release() },
        io: tun.io,
        openTimings: { deviceMs: t1 - t0, namespaceMs: t2 - t1 },
        close: () => tun.close(),
      });
    },
  };
}
