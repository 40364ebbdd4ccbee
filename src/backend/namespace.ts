/**
 * Network set-up inside a run's namespace: loopback up, tun0 with the run's
 * MTU, local address and the route to the remote prefix through the
 * gateway, as packetdrill configures its tun device. Runs only in the
 * worker, which lives in a namespace made for the run, so nothing here can
 * touch the host's network.
 */
import { writeFileSync } from 'node:fs';
import { addAddress, hasLocalRoute, replaceRoute, RtnetlinkError, setLink } from './rtnetlink.js';
import type { NetworkPlan } from './system-under-test.js';

export class NetSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NetSetupError';
  }
}

/** One set-up step: what `ip` command it stands for (for errors), and the netlink request that does it. */
export interface SetupStep {
  command: string;
  apply(): void;
}

/**
 * The steps that configure the namespace for `config`, as packetdrill's
 * `ip` commands do: loopback up, the device's MTU and up, the local
 * address (IPv6 without duplicate address detection), an on-link route to
 * the gateway unless it is the local address (packetdrill's IPv4 plan), and
 * the route to the remote prefix through the gateway.
 */
export function setupSteps(config: NetworkPlan, dev: string, net: NetConfigCalls = rtnetlinkCalls): SetupStep[] {
  const family = config.wireFamily;
  const [prefix, len] = config.remotePrefix.split('/') as [string, string | undefined];
  const prefixLen = Number(len ?? (family === 'inet' ? 32 : 128));
  const steps: SetupStep[] = [
    { command: 'link set dev lo up', apply: () => net.setLink('lo', { up: true }) },
    { command: `link set dev ${dev} mtu ${config.mtu}`, apply: () => net.setLink(dev, { mtu: config.mtu }) },
    { command: `link set dev ${dev} up`, apply: () => net.setLink(dev, { up: true }) },
    {
      command: `addr add ${config.localIp}/${config.prefixLen} dev ${dev}${family === 'inet6' ? ' nodad' : ''}`,
      apply: () => net.addAddress({ family, address: config.localIp, prefixLen: config.prefixLen, dev, nodad: family === 'inet6' }),
    },
  ];
  if (config.gatewayIp !== config.localIp) {
    const full = family === 'inet' ? 32 : 128;
    steps.push({
      command: `route replace ${config.gatewayIp} dev ${dev}`,
      apply: () => net.replaceRoute({ family, prefix: config.gatewayIp, prefixLen: full, dev }),
    });
  }
  steps.push({
    command: `route replace ${config.remotePrefix} dev ${dev} via ${config.gatewayIp}`,
    apply: () => net.replaceRoute({ family, prefix, prefixLen, dev, gateway: config.gatewayIp }),
  });
  return steps;
}

/** The netlink calls set-up makes (rtnetlink.ts; tests give their own). */
export interface NetConfigCalls {
  setLink: typeof setLink;
  addAddress: typeof addAddress;
  replaceRoute: typeof replaceRoute;
  hasLocalRoute: typeof hasLocalRoute;
}

const rtnetlinkCalls: NetConfigCalls = { setLink, addAddress, replaceRoute, hasLocalRoute };

export function configureNamespace(config: NetworkPlan, dev = 'tun0', net: NetConfigCalls = rtnetlinkCalls): void {
  for (const step of setupSteps(config, dev, net)) {
    try {
      step.apply();
    } catch (e) {
      throw new NetSetupError(`configuring the namespace failed: ${e instanceof RtnetlinkError ? e.message : `${step.command}: ${(e as Error).message}`}`);
    }
  }
  if (config.wireFamily === 'inet6') waitForLocalRoute(config.localIp, net);
}

/**
 * The kernel installs an IPv6 address's local route from a work queue,
 * even without duplicate address detection; until then packets to the
 * address are dropped (Ip6InAddrErrors). Wait for it, so that the first
 * injected packet is not lost on a busy machine.
 */
function waitForLocalRoute(addr: string, net: NetConfigCalls, timeoutMs = 5000): void {
  const started = performance.now();
  const nap = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    if (net.hasLocalRoute('inet6', addr)) return;
    if (performance.now() - started > timeoutMs) {
      throw new NetSetupError(`the local route of ${addr} did not appear within ${timeoutMs} ms`);
    }
    Atomics.wait(nap, 0, 0, 1);
  }
}

/**
 * Write a sysctl of this namespace directly (no `sysctl` process). On this
 * thread: /proc/sys/net is the namespace of the thread that opens it, and
 * libuv's file threads stay in the namespace the process started in.
 */
export async function writeSysctl(name: string, value: string): Promise<void> {
  const path = '/proc/sys/' + name.replace(/\./g, '/');
  try {
    writeFileSync(path, value);
  } catch (e) {
    throw new NetSetupError(`cannot set ${name}=${value}: ${(e as Error).message}`);
  }
}
