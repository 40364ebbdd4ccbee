/**
 * Command-line parsing for `tundrill run`: packetdrill's own flags (passed
 * to every run and overriding the scripts' option lines) and tundrill's.
 */
import { defaultRunnerOptions, type RunnerOptions } from '../runner/options.js';

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
}

export class UsageError extends Error {}

export function parseRunArgs(argv: string[], defaults: { captureDir: string }): RunArgs {
  const out: RunArgs = { ...defaultRunnerOptions(defaults.captureDir), paths: [], ksft: false };
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
      case 'capture-dir': out.captureDir = takeValue(); break;
      case 'no-capture': out.capture = false; break;
      case 'pcap': out.captureFormat = 'pcap'; break;
      case 'ss-interval': out.ssIntervalMs = num('--ss-interval', takeValue(), 0); break;
      case 'tap': out.tap = takeValue(); break;
      case 'junit': out.junit = takeValue(); break;
      case 'json': out.json = takeValue(); break;
      case 'q': case 'quiet': out.quiet = true; break;
      case 'long': out.long = true; break;
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
  return out;
}
