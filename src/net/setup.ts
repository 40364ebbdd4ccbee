/**
 * Network set-up inside a run's namespace: loopback up, tun0 with the run's
 * MTU, local address and the route to the remote prefix through the
 * gateway, as packetdrill configures its tun device. Runs only in the
 * worker, which lives in a namespace made for the run, so nothing here can
 * touch the host's network.
 */
import { execFileSync } from 'node:child_process';
import type { RunConfig } from '../engine/config.js';

export class NetSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NetSetupError';
  }
}

/** The `ip -batch` lines that configure the namespace for `config`. */
export function setupCommands(config: RunConfig, dev: string): string[] {
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
function onLinkGatewayCommand(config: RunConfig, dev: string): string | null {
  if (config.gatewayIp === config.localIp) return null;
  return `route replace ${config.gatewayIp} dev ${dev}`;
}

export function configureNamespace(config: RunConfig, dev = 'tun0'): void {
  const lines = setupCommands(config, dev);
  const gw = onLinkGatewayCommand(config, dev);
  if (gw) lines.splice(lines.length - 1, 0, gw);
  runIpBatch(lines);
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
