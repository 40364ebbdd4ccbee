/**
 * Command-line parsing for `tundrill run`: packetdrill's own flags (passed
 * to every run and overriding the scripts' option lines) and tundrill's.
 */
import { defaultRunnerOptions, SS_INTERVAL_MS, type RunnerOptions } from '../runner/options.js';
import { DEVICE_KINDS, isDeviceKind, type DeviceKind } from '../backend/devices.js';

/** packetdrill flags that take a value. */
const PD_VALUE_FLAGS = new Set([
  'ip_version', 'bind_port', 'code_command', 'code_format', 'code_sockopt', 'connect_port', 'remote_ip',
  'local_ip', 'gateway_ip', 'netmask_ip', 'speed', 'mss', 'mtu', 'init_scripts', 'tolerance_usecs',
  'tolerance_percent', 'tcp_ts_tick_usecs', 'non_fatal', 'define',
]);
/** packetdrill flags without a value. */
const PD_BARE_FLAGS = new Set(['tcp_ts_ecr_scaled', 'strict_segments', 'dry_run', 'verbose', 'send_omit_free']);

export interface RunArgs extends RunnerOptions {
  paths: string[];
  ksft: boolean;
  /** `--shard i/n`: run only part i of n of the plan. */
  shard?: string;
  /** `--repeat N`: run every row N times. */
  repeat?: number;
  /** Kernels to run on (`host`, an image, a package folder, `debian:<version>`); none means the host's. */
  kernels?: string[];
  /** Guest clock under emulation. */
  vmClock?: 'icount' | 'icount-skip' | 'realtime';
  /** A config file for a kernel image that carries none. */
  kernelConfig?: string;
}

export class UsageError extends Error {}

export function parseRunArgs(argv: string[], defaults: { captureDir: string }): RunArgs {
  const out: RunArgs = { ...defaultRunnerOptions(defaults.captureDir), paths: [], ksft: false, kernels: [], vmClock: 'icount' };
  let intervalGiven = false;
  const num = (name: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < min) throw new UsageError(`${name} needs a number >= ${min}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') { out.paths.push(...argv.slice(i + 1)); break; }
    if (!a.startsWith('-') || a === '-') { out.paths.push(a); continue; }
    let name: string;
    let value: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      value = eq >= 0 ? a.slice(eq + 1) : undefined;
    } else {
      name = a.slice(1, 2);
      value = a.length > 2 ? a.slice(2) : undefined;
    }
    const takeValue = (): string => {
      if (value !== undefined) return value;
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`option ${a} needs a value`);
      i++;
      return next;
    };
    switch (name) {
      case 'D': out.packetdrill.push({ name: 'define', value: takeValue() }); break;
      case 'v': case 'verbose': out.verbose = true; out.packetdrill.push({ name: 'verbose' }); break;
      case 'j': case 'jobs': out.jobs = num('--jobs', takeValue(), 1); break;
      case 'ksft': out.ksft = true; break;
      case 'timeout': out.timeoutSecs = num('--timeout', takeValue(), 1); break;
      case 'stall-retries': out.stallRetries = Math.trunc(num('--stall-retries', takeValue(), 0)); break;
      case 'capture-dir': out.captureDir = takeValue(); break;
      case 'no-capture': out.capture = false; break;
      case 'pcap': out.captureFormat = 'pcap'; break;
      case 'sample-interval': case 'ss-interval': out.ssIntervalMs = num(`--${name}`, takeValue(), 0); intervalGiven = true; break;
      case 'sampler': {
        const v = takeValue();
        if (v !== 'sock_diag' && v !== 'ss') throw new UsageError(`--sampler must be sock_diag or ss, got ${v}`);
        out.sampler = v;
        break;
      }
      case 'tap': out.tap = takeValue(); break;
      case 'junit': out.junit = takeValue(); break;
      case 'json': out.json = takeValue(); break;
      case 'ktap': out.ktap = takeValue(); break;
      case 'shard': out.shard = takeValue(); break;
      case 'repeat': out.repeat = Math.trunc(num('--repeat', takeValue(), 1)); break;
      case 'q': case 'quiet': out.quiet = true; break;
      case 'long': out.long = true; break;
      case 'one-cpu': out.oneCpu = true; break;
      case 'report': {
        const v = takeValue();
        if (v !== 'html') throw new UsageError(`--report: unknown format '${v}' (html)`);
        out.report = 'html';
        break;
      }
      case 'no-report': out.report = 'none'; break;
      case 'kernel': (out.kernels ??= []).push(takeValue()); break;
      case 'kernel-config': out.kernelConfig = takeValue(); break;
      case 'vm-clock': {
        const v = takeValue();
        if (v !== 'icount' && v !== 'icount-skip' && v !== 'realtime') throw new UsageError(`--vm-clock takes icount, icount-skip or realtime, not ${v}`);
        out.vmClock = v;
        break;
      }
      case 'device': {
        const v = takeValue();
        if (v === 'all') out.devices = [...DEVICE_KINDS];
        else {
          const kinds = v.split(',');
          for (const k of kinds) if (!isDeviceKind(k)) throw new UsageError(`--device ${v}: expected tun, tun-lazy, veth, a comma list of them, or all`);
          out.devices = kinds as DeviceKind[];
        }
        break;
      }
      default:
        if (PD_VALUE_FLAGS.has(name)) {
          out.packetdrill.push({ name, value: takeValue() });
        } else if (PD_BARE_FLAGS.has(name)) {
          out.packetdrill.push({ name });
        } else {
          throw new UsageError(`unknown option ${a}`);
        }
    }
  }
  if (out.sampler === 'ss' && !intervalGiven) out.ssIntervalMs = SS_INTERVAL_MS;
  if (out.oneCpu && out.jobs !== undefined && out.jobs > 1) {
    throw new UsageError(`--one-cpu runs one script at a time: drop -j ${out.jobs}`);
  }
  return out;
}
