/**
 * Run configuration: the options packetdrill accepts on its command line and
 * in a script's option lines, with packetdrill's defaults, resolved into the
 * live addresses a run uses.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { canonicalIpv6 } from '../packet/address.js';
import { parseDefine } from '../script/defines.js';

export type IpVersion = 'ipv4' | 'ipv4-mapped-ipv6' | 'ipv6';
export const IP_VERSIONS: readonly IpVersion[] = ['ipv4', 'ipv4-mapped-ipv6', 'ipv6'];

/** Options as a user writes them (command line or script option lines). */
export interface RunOptions {
  ipVersion?: IpVersion;
  localIp?: string;
  remoteIp?: string;
  gatewayIp?: string;
  netmaskIp?: string;
  mtu?: number;
  mss?: number;
  bindPort?: number;
  connectPort?: number;
  toleranceUsecs?: number;
  tolerancePercent?: number;
  tcpTsTickUsecs?: number;
  tcpTsEcrScaled?: boolean;
  strictSegments?: boolean;
  nonFatal?: string;
  codeCommand?: string;
  codeFormat?: string;
  codeSockopt?: string;
  initScripts?: string;
  speed?: number;
  defines?: Record<string, string>;
  verbose?: boolean;
  dryRun?: boolean;
}

/** The configuration a run really uses. */
export interface RunConfig {
  ipVersion: IpVersion;
  /** Address family of the sockets the script creates. */
  socketFamily: 'inet' | 'inet6';
  /** Address family on the wire (tun0). */
  wireFamily: 'inet' | 'inet6';
  localIp: string;
  remoteIp: string;
  /** Remote prefix routed through tun0, e.g. 192.0.2.1/32. */
  remotePrefix: string;
  gatewayIp: string;
  prefixLen: number;
  /** Addresses as the sockets see them (IPv4-mapped for ipv4-mapped-ipv6). */
  bindIp: string;
  connectIp: string;
  mtu: number;
  mss: number;
  bindPort: number;
  connectPort: number;
  toleranceUsecs: number;
  tolerancePercent: number;
  tcpTsTickUsecs: number;
  tcpTsEcrScaled: boolean;
  strictSegments: boolean;
  nonFatalPacket: boolean;
  nonFatalSyscall: boolean;
  codeCommand: string;
  codeFormat: string;
  codeSockopt: string;
  defines: Record<string, string>;
  verbose: boolean;
  dryRun: boolean;
}

export const TUN_DEFAULT_MTU = 1500;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Parse one `--name=value` option (as on packetdrill's command line). */
export function applyOption(opts: RunOptions, name: string, value: string | undefined, where: string): void {
  const need = (): string => {
    if (value === undefined) throw new ConfigError(`${where}: option --${name} needs a value`);
    return value;
  };
  const int = (min: number, max: number): number => {
    const v = need();
    const n = Number.parseInt(v, 10);
    if (!/^\s*[+-]?\d+\s*$/.test(v) || n < min || n > max) {
      throw new ConfigError(`${where}: bad --${name}: ${v}`);
    }
    return n;
  };
  switch (name) {
    case 'ip_version': {
      const v = need();
      if (!(IP_VERSIONS as readonly string[]).includes(v)) throw new ConfigError(`${where}: bad --ip_version: ${v}`);
      opts.ipVersion = v as IpVersion;
      return;
    }
    case 'local_ip': opts.localIp = need(); return;
    case 'remote_ip': opts.remoteIp = need(); return;
    case 'gateway_ip': opts.gatewayIp = need(); return;
    case 'netmask_ip': opts.netmaskIp = need(); return;
    case 'mtu': opts.mtu = int(68, 65535); return;
    case 'mss': opts.mss = int(1, 65535); return;
    case 'bind_port': opts.bindPort = int(1, 65535); return;
    case 'connect_port': opts.connectPort = int(1, 65535); return;
    case 'tolerance_usecs': opts.toleranceUsecs = int(0, 2 ** 31 - 1); return;
    case 'tolerance_percent': {
      const v = need();
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) throw new ConfigError(`${where}: bad --tolerance_percent: ${v}`);
      opts.tolerancePercent = n;
      return;
    }
    case 'tcp_ts_tick_usecs': opts.tcpTsTickUsecs = int(0, 1_000_000); return;
    case 'tcp_ts_ecr_scaled': opts.tcpTsEcrScaled = true; return;
    case 'strict_segments': opts.strictSegments = true; return;
    case 'non_fatal': opts.nonFatal = need(); return;
    case 'code_command': opts.codeCommand = need(); return;
    case 'code_format': opts.codeFormat = need(); return;
    case 'code_sockopt': opts.codeSockopt = need(); return;
    case 'init_scripts': opts.initScripts = need(); return;
    case 'speed': opts.speed = int(1, 2 ** 31 - 1); return;
    case 'verbose': opts.verbose = true; return;
    case 'dry_run': opts.dryRun = true; return;
    case 'define': case 'D': {
      const v = need();
      let def: [string, string];
      try {
        def = parseDefine(v, where);
      } catch {
        throw new ConfigError(`${where}: bad --define: ${v} (expected NAME=VALUE)`);
      }
      opts.defines = { ...(opts.defines ?? {}), [def[0]]: def[1] };
      return;
    }
    default:
      throw new ConfigError(`${where}: unknown option --${name}`);
  }
}

/** Options that the script itself gives are overridden by the command line. */
export function mergeOptions(fromScript: RunOptions, fromCommandLine: RunOptions): RunOptions {
  const merged: RunOptions = { ...fromScript };
  for (const [k, v] of Object.entries(fromCommandLine) as Array<[keyof RunOptions, unknown]>) {
    if (v === undefined) continue;
    if (k === 'defines') continue;
    (merged as Record<string, unknown>)[k] = v;
  }
  merged.defines = { ...(fromScript.defines ?? {}), ...(fromCommandLine.defines ?? {}) };
  return merged;
}

function netmaskToPrefix(mask: string): number {
  if (!isIPv4(mask)) throw new ConfigError(`bad --netmask_ip: ${mask}`);
  const n = mask.split('.').reduce((acc, p) => (acc << 8n) | BigInt(Number(p)), 0n);
  let bits = 0;
  for (let i = 31; i >= 0; i--) {
    if ((n >> BigInt(i)) & 1n) bits++;
    else break;
  }
  return bits;
}

function splitPrefix(s: string): { ip: string; len?: number } {
  const slash = s.indexOf('/');
  if (slash < 0) return { ip: s };
  return { ip: s.slice(0, slash), len: Number(s.slice(slash + 1)) };
}

/**
 * Resolve options into a configuration, as packetdrill's finalize_config
 * does. Unlike packetdrill, addresses never default to random ones: the
 * defaults are the addresses packetdrill's run_all.py passes, so that
 * captures of two runs compare.
 */
export function finalizeConfig(opts: RunOptions): RunConfig {
  const ipVersion = opts.ipVersion ?? 'ipv4';
  const v4 = ipVersion !== 'ipv6';
  let localIp = opts.localIp ?? (v4 ? '192.168.0.1' : 'fd3d:a0b:17d6::1');
  const remote = splitPrefix(opts.remoteIp ?? (v4 ? '192.0.2.1' : 'fd3d:fa7b:d17d::1'));
  let gatewayIp = opts.gatewayIp ?? (v4 ? '192.168.0.1' : 'fd3d:a0b:17d6:8888::1');
  const check = (addr: string, what: string) => {
    if (v4 ? !isIPv4(addr) : !isIPv6(addr)) {
      throw new ConfigError(`bad ${what} for ${ipVersion}: ${addr}`);
    }
  };
  check(localIp, '--local_ip');
  check(remote.ip, '--remote_ip');
  check(gatewayIp, '--gateway_ip');
  // Addresses are compared as text with what packets carry: use one spelling.
  if (!v4) {
    localIp = canonicalIpv6(localIp);
    remote.ip = canonicalIpv6(remote.ip);
    gatewayIp = canonicalIpv6(gatewayIp);
  }
  const remoteLen = remote.len ?? (v4 ? 32 : 128);
  const prefixLen = v4 ? netmaskToPrefix(opts.netmaskIp ?? '255.255.0.0') : 48;
  const nonFatal = (opts.nonFatal ?? '').split(/[ ,]+/).filter(Boolean);
  return {
    ipVersion,
    socketFamily: ipVersion === 'ipv4' ? 'inet' : 'inet6',
    wireFamily: v4 ? 'inet' : 'inet6',
    localIp,
    remoteIp: remote.ip,
    remotePrefix: `${remote.ip}/${remoteLen}`,
    gatewayIp,
    prefixLen,
    bindIp: ipVersion === 'ipv4-mapped-ipv6' ? `::ffff:${localIp}` : localIp,
    connectIp: ipVersion === 'ipv4-mapped-ipv6' ? `::ffff:${remote.ip}` : remote.ip,
    mtu: opts.mtu ?? TUN_DEFAULT_MTU,
    mss: opts.mss ?? 0,
    bindPort: opts.bindPort ?? 8080,
    connectPort: opts.connectPort ?? 8080,
    toleranceUsecs: opts.toleranceUsecs ?? 4000,
    tolerancePercent: opts.tolerancePercent ?? 12.5,
    tcpTsTickUsecs: opts.tcpTsTickUsecs ?? 0,
    tcpTsEcrScaled: opts.tcpTsEcrScaled ?? false,
    strictSegments: opts.strictSegments ?? false,
    nonFatalPacket: nonFatal.includes('packet'),
    nonFatalSyscall: nonFatal.includes('syscall'),
    codeCommand: opts.codeCommand ?? 'python3',
    codeFormat: opts.codeFormat ?? 'python',
    codeSockopt: opts.codeSockopt ?? '',
    defines: opts.defines ?? {},
    verbose: opts.verbose ?? false,
    dryRun: opts.dryRun ?? false,
  };
}

/** The arguments packetdrill's run_all.py passes for each variant (see ../shared/README.md). */
export function runAllVariantOptions(v: IpVersion): RunOptions {
  if (v === 'ipv6') {
    return {
      ipVersion: 'ipv6', mtu: 1520, localIp: 'fd3d:0a0b:17d6::1', gatewayIp: 'fd3d:0a0b:17d6:8888::1',
      remoteIp: 'fd3d:fa7b:d17d::1',
      defines: { TFO_COOKIE: 'c1d1e9742a47a9bc', CMSG_LEVEL_IP: 'SOL_IPV6', CMSG_TYPE_RECVERR: 'IPV6_RECVERR' },
    };
  }
  return {
    ipVersion: v, localIp: '192.168.0.1', gatewayIp: '192.168.0.1', netmaskIp: '255.255.0.0', remoteIp: '192.0.2.1',
    defines: {
      TFO_COOKIE: '3021b9d889017eeb', CODE: 'host_unreachable',
      CMSG_LEVEL_IP: v === 'ipv4' ? 'SOL_IP' : 'SOL_IPV6',
      CMSG_TYPE_RECVERR: v === 'ipv4' ? 'IP_RECVERR' : 'IPV6_RECVERR',
    },
  };
}

/** The arguments the kernel selftests' ksft_runner.sh passes. */
export function ksftVariantOptions(v: 'ipv4' | 'ipv6'): RunOptions {
  if (v === 'ipv6') {
    return {
      ipVersion: 'ipv6', mtu: 1520, localIp: 'fd3d:0a0b:17d6::1', gatewayIp: 'fd3d:0a0b:17d6:8888::1',
      remoteIp: 'fd3d:fa7b:d17d::1',
      defines: {
        TFO_COOKIE: 'c1d1e9742a47a9bc', TFO_COOKIE_ZERO: '82af1a8f9a205c34',
        CMSG_LEVEL_IP: 'SOL_IPV6', CMSG_TYPE_RECVERR: 'IPV6_RECVERR',
      },
    };
  }
  return {
    ipVersion: 'ipv4', localIp: '192.168.0.1', gatewayIp: '192.168.0.1', netmaskIp: '255.255.0.0', remoteIp: '192.0.2.1',
    defines: {
      TFO_COOKIE: '3021b9d889017eeb', TFO_COOKIE_ZERO: 'b7c12350a90dc8f5',
      CMSG_LEVEL_IP: 'SOL_IP', CMSG_TYPE_RECVERR: 'IP_RECVERR',
    },
  };
}
