/**
 * Network set-up inside a run's namespace: loopback up, tun0 with the run's
 * MTU, local address and the route to the remote prefix through the
 * gateway, as packetdrill configures its tun device. Runs only in the
 * worker, which lives in a namespace made for the run, so nothing here can
 * touch the host's network.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import type { NetworkPlan } from './system-under-test.js';

export class NetSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NetSetupError';
  }
}

/** The `ip -batch` lines that configure the namespace for `config`. */
export function setupCommands(config: NetworkPlan, dev: string): string[] {
  const lines = [
    'link set dev lo up',
    `link set dev ${dev} mtu ${config.mtu}`,
    `link set dev ${dev} up`,
  ];
  if (config.wireFamily === 'inet') {
    lines.push(`addr add ${config.localIp}/${config.prefixLen} dev ${dev}`);
  } else {
    lines.push(`addr add ${config.localIp}/${config.prefixLen} dev ${dev} nodad`);
  }
  lines.push(`route replace ${config.remotePrefix} dev ${dev} via ${config.gatewayIp}`);
  return lines;
}

function runIpBatch(lines: string[]): void {
  try {
    execFileSync('ip', ['-batch', '-'], { input: lines.join('\n') + '\n', stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new NetSetupError(`configuring the namespace failed: ${err.stderr?.toString().trim() || err.message}\ncommands:\n  ${lines.join('\n  ')}`);
  }
}

/**
 * The route to a remote in the gateway's subnet needs the gateway reachable:
 * the gateway may equal the local address (packetdrill's IPv4 plan) or sit
 * in the local prefix; otherwise route it on-link first.
 */
function onLinkGatewayCommand(config: NetworkPlan, dev: string): string | null {
  if (config.gatewayIp === config.localIp) return null;
  return `route replace ${config.gatewayIp} dev ${dev}`;
}

export function configureNamespace(config: NetworkPlan, dev = 'tun0'): void {
  const lines = setupCommands(config, dev);
  const gw = onLinkGatewayCommand(config, dev);
  if (gw) lines.splice(lines.length - 1, 0, gw);
  runIpBatch(lines);
  if (config.wireFamily === 'inet6') waitForLocalRoute(config.localIp);
}

/**
 * The kernel installs an IPv6 address's local route from a work queue,
 * even without duplicate address detection; until then packets to the
 * address are dropped (Ip6InAddrErrors). Wait for it, so that the first
 * injected packet is not lost on a busy machine.
 */
function waitForLocalRoute(addr: string, timeoutMs = 5000): void {
  const started = performance.now();
  const nap = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    const r = spawnSync('ip', ['-6', 'route', 'show', 'table', 'local', addr], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.includes(addr)) return;
    if (performance.now() - started > timeoutMs) {
      throw new NetSetupError(`the local route of ${addr} did not appear within ${timeoutMs} ms`);
    }
    Atomics.wait(nap, 0, 0, 2);
  }
}

/** Write a sysctl of this namespace directly (no `sysctl` process). */
export async function writeSysctl(name: string, value: string): Promise<void> {
  const { writeFile } = await import('node:fs/promises');
  const path = '/proc/sys/' + name.replace(/\./g, '/');
  try {
    await writeFile(path, value);
  } catch (e) {
    throw new NetSetupError(`cannot set ${name}=${value}: ${(e as Error).message}`);
  }
}
