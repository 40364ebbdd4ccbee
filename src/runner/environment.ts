/**
 * `tundrill doctor`: is this machine able to run tests, and what to do if
 * not. Every check says how to fix what it finds; `--fix` applies the fixes
 * that are safe to apply (allowing cubic for namespaces).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { permissionChecks } from './doctor-permissions.js';

export interface Check {
  name: string;
  ok: boolean;
  /** Required to run scripts at all (a failure means exit status 4). */
  required: boolean;
  detail: string;
  fix?: string;
  /** A permission a run uses: doctor fails (exit 4) without it, even where runs still work. */
  permission?: boolean;
}

function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

const ALLOWED_CC = '/proc/sys/net/ipv4/tcp_allowed_congestion_control';
const AVAILABLE_CC = '/proc/sys/net/ipv4/tcp_available_congestion_control';

function readProc(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

/** Make `algo` selectable inside namespaces (host sysctl). Returns an error text or null. */
export function allowCongestionControl(algo: string): string | null {
  const allowed = readProc(ALLOWED_CC).split(/\s+/).filter(Boolean);
  if (allowed.includes(algo)) return null;
  try {
    writeFileSync(ALLOWED_CC, [...allowed, algo].join(' '));
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

export function runChecks(opts: { fix: boolean }): Check[] {
  const checks: Check[] = [];
  const root = process.getuid?.() === 0;
  checks.push({
    name: 'root', ok: root, required: true,
    detail: root ? 'running as root' : `running as uid ${process.getuid?.()}`,
    fix: 'run as root (sudo), or in a container started with --privileged or the flags in the README',
  });
  // Root can still lack what a run needs (in a container): check by doing.
  if (root) checks.push(...permissionChecks().map((c) => ({ ...c, permission: true })));
  for (const [cmd, pkg, required, why] of [
    ['ip', 'iproute2', true, 'configures tun0 in each namespace'],
    ['ss', 'iproute2', false, 'socket-state timelines'],
    ['tc', 'iproute2', false, 'qdisc set-up in scripts and scenarios'],
    ['ethtool', 'ethtool', false, 'offload settings some scripts change'],
    ['python3', 'python3', false, '%{ }% code blocks'],
    ['tcpdump', 'tcpdump', false, 'reading captures'],
    ['tshark', 'tshark', false, 'reading captures'],
  ] as const) {
    const ok = which(cmd);
    checks.push({ name: cmd, ok, required, detail: ok ? `found (${why})` : `not found (${why})`, fix: `apt-get install -y ${pkg}` });
  }
  const available = readProc(AVAILABLE_CC).split(/\s+/);
  let allowed = readProc(ALLOWED_CC).split(/\s+/);
  let fixNote = '';
  if (!allowed.includes('cubic') && opts.fix) {
    if (!available.includes('cubic')) spawnSync('modprobe', ['tcp_cubic'], { stdio: 'ignore' });
    const err = allowCongestionControl('cubic');
    fixNote = err ? ` (fix failed: ${err})` : ' (fixed)';
    allowed = readProc(ALLOWED_CC).split(/\s+/);
  }
  const cubicOk = allowed.includes('cubic');
  checks.push({
    name: 'cubic allowed in namespaces', ok: cubicOk, required: false,
    detail: `net.ipv4.tcp_allowed_congestion_control = ${allowed.join(' ')}${fixNote}`,
    fix: 'on the host (one setting for the whole machine, read-only in a container): tundrill doctor --fix, '
      + 'or: sysctl -w net.ipv4.tcp_allowed_congestion_control="$(sysctl -n net.ipv4.tcp_allowed_congestion_control) cubic"',
  });
  let addonOk = true;
  let addonDetail = 'built';
  try {
    const path = new URL('../../build/Release/tundrill.node', import.meta.url);
    addonOk = existsSync(path);
    if (!addonOk) addonDetail = 'missing';
  } catch (e) {
    addonOk = false;
    addonDetail = (e as Error).message;
  }
  checks.push({ name: 'native addon', ok: addonOk, required: true, detail: addonDetail, fix: 'npm ci (builds it with node-gyp)' });
  return checks;
}

export function formatChecks(checks: Check[]): string {
  const lines = checks.map((c) => {
    const mark = c.ok ? 'ok  ' : c.required || c.permission ? 'FAIL' : 'warn';
    const fix = c.ok || !c.fix ? '' : `\n        fix: ${c.fix}`;
    return `  ${mark} ${c.name}: ${c.detail}${fix}`;
  });
  return lines.join('\n');
}
