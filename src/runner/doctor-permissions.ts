/**
 * Permissions checked by doing what a run does, in a scratch network
 * namespace (see doctor-probe.ts), and for each failure the Docker flag or
 * host setting that fixes it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ProbeResult, ProbeStep } from './doctor-probe.js';

export interface PermissionCheck {
  name: string;
  ok: boolean;
  /** Runs cannot work without it (the real-time priority only costs timing precision). */
  required: boolean;
  detail: string;
  fix?: string;
}

const CAP_NET_ADMIN = 12;
const CAP_SYS_ADMIN = 21;
const CAP_SYS_NICE = 23;

/** Effective capabilities of this process. */
function effectiveCaps(): bigint {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? BigInt(`0x${m[1]}`) : 0n;
  } catch {
    return 0n;
  }
}

/** The probe's message, with its errno name once. */
function said(p: ProbeResult): string {
  return p.code && !(p.message ?? '').includes(p.code) ? `${p.message} (${p.code})` : p.message ?? '';
}

function hasCap(caps: bigint, bit: number): boolean {
  return ((caps >> BigInt(bit)) & 1n) === 1n;
}

/** The AppArmor profile confining this process, or null (unconfined, or no AppArmor). */
function apparmorProfile(): string | null {
  if (!existsSync('/sys/module/apparmor')) return null;
  for (const path of ['/proc/self/attr/apparmor/current', '/proc/self/attr/current']) {
    try {
      const label = readFileSync(path, 'utf8').replace(/\0/g, '').trim();
      return label === '' || label === 'unconfined' ? null : label;
    } catch {
      // try the older interface
    }
  }
  return null;
}

/** Whether a seccomp filter applies to this process (Docker's default profile is one). */
function seccompFiltered(): boolean {
  try {
    return /^Seccomp:\s*2$/m.test(readFileSync('/proc/self/status', 'utf8'));
  } catch {
    return false;
  }
}

/**
 * The fix when root with the right capability is still denied a system call:
 * the security profiles that apply here, by their Docker flag.
 */
function profileFix(what: string): string {
  const apparmor = apparmorProfile();
  const flags = [
    ...(apparmor ? [`--security-opt apparmor=unconfined (AppArmor profile ${apparmor})`] : []),
    ...(seccompFiltered() ? ['--security-opt seccomp=unconfined (a seccomp filter applies)'] : []),
  ];
  return flags.length > 0
    ? `a security profile denies ${what}: in Docker ${flags.join(' and ')}`
    : `a security module denies ${what}: in Docker --security-opt seccomp=unconfined --security-opt apparmor=unconfined`;
}

const RT_FIX = 'in Docker: --cap-add=SYS_NICE plus --cpu-rt-runtime=950000 (the daemon needs --cpu-rt-runtime too: dockerd --cpu-rt-runtime=950000); '
  + 'on a host: give the cgroup a real-time budget (cpu.rt_runtime_us, or kernel.sched_rt_runtime_us)';

/** The checks, in the order a run needs them. */
export function permissionChecks(): PermissionCheck[] {
  const caps = effectiveCaps();
  const probe = fileURLToPath(new URL('./doctor-probe.js', import.meta.url));
  const r = spawnSync('unshare', ['--net', '--', process.execPath, probe], { encoding: 'utf8', timeout: 20_000 });
  const checks: PermissionCheck[] = [];
  if (r.status !== 0 || r.error) {
    const why = (r.stderr || r.error?.message || `exit status ${r.status}`).trim().split('\n')[0]!;
    const nsFailed = r.stdout.trim() === '';
    if (nsFailed) {
      checks.push({
        name: 'network namespace', ok: false, required: true, detail: `unshare --net failed: ${why}`,
        fix: hasCap(caps, CAP_SYS_ADMIN)
          ? 'the seccomp profile forbids unshare: in Docker --security-opt seccomp=unconfined'
          : 'needs CAP_SYS_ADMIN: in Docker --cap-add=SYS_ADMIN (older Docker also --security-opt seccomp=unconfined), or run as root',
      });
      return checks;
    }
  }
  checks.push({ name: 'network namespace', ok: true, required: true, detail: 'unshare --net works' });
  const results = new Map<ProbeStep, ProbeResult>();
  for (const line of r.stdout.split('\n')) {
    if (!line.trim()) continue;
    try {
      const p = JSON.parse(line) as ProbeResult;
      results.set(p.step, p);
    } catch {
      // not a probe line
    }
  }
  const failed = (step: ProbeStep): ProbeResult | undefined => {
    const p = results.get(step);
    return p && !p.ok ? p : undefined;
  };

  const open = failed('tun-open');
  const setiff = failed('tun-setiff');
  if (open) {
    const missing = open.code === 'ENOENT';
    checks.push({
      name: 'TUN device', ok: false, required: true, detail: said(open),
      fix: open.code === 'ENOADDON' ? 'npm ci (builds the native addon)'
        : missing ? 'on the host: modprobe tun; in Docker: --device /dev/net/tun'
        : 'in Docker: --device /dev/net/tun (the device cgroup denies it otherwise)',
    });
  } else if (setiff) {
    checks.push({
      name: 'TUN device', ok: false, required: true, detail: said(setiff),
      fix: setiff.code === 'EPERM' || setiff.code === 'EACCES' ? 'creating tun0 needs CAP_NET_ADMIN: in Docker --cap-add=NET_ADMIN' : 'on the host: modprobe tun',
    });
  } else if (results.has('tun-open')) {
    checks.push({ name: 'TUN device', ok: true, required: true, detail: 'tun0 opened in a scratch namespace' });
  }

  const sysctl = failed('sysctl');
  if (sysctl) {
    const fix = sysctl.code === 'EROFS'
      ? '/proc/sys is mounted read-only: in Docker --security-opt systempaths=unconfined'
      : !hasCap(caps, CAP_NET_ADMIN)
        ? 'writing a namespace\'s sysctls needs CAP_NET_ADMIN: in Docker --cap-add=NET_ADMIN'
        : 'a security profile denies it: in Docker --security-opt apparmor=unconfined';
    checks.push({ name: 'namespace sysctls', ok: false, required: true, detail: said(sysctl), fix });
  } else if (results.has('sysctl')) {
    checks.push({ name: 'namespace sysctls', ok: true, required: true, detail: 'written in a scratch namespace' });
  }

  const rr = failed('sched-rr');
  if (rr) {
    checks.push({
      name: 'real-time priority', ok: false, required: false,
      detail: `${said(rr)}: runs work, with less precise timing on a busy machine`,
      fix: rr.code === 'ENOADDON' ? 'npm ci (builds the native addon)'
        : hasCap(caps, CAP_SYS_NICE) ? `the cgroup has no real-time budget: ${RT_FIX}` : `needs CAP_SYS_NICE and a real-time budget: ${RT_FIX}`,
    });
  } else if (results.has('sched-rr')) {
    checks.push({ name: 'real-time priority', ok: true, required: false, detail: 'SCHED_RR 1 set and reset' });
  }

  const mount = failed('mount');
  if (mount) {
    checks.push({
      name: 'private /tmp', ok: false, required: true, detail: `unshare --mount and a tmpfs on /tmp: ${mount.message}`,
      fix: hasCap(caps, CAP_SYS_ADMIN)
        ? profileFix('mount')
        : 'needs CAP_SYS_ADMIN: in Docker --cap-add=SYS_ADMIN',
    });
  } else if (results.has('mount')) {
    checks.push({ name: 'private /tmp', ok: true, required: true, detail: 'mount namespace with a tmpfs on /tmp' });
  }
  if (results.size === 0) {
    checks.push({ name: 'permission probe', ok: false, required: true, detail: `the probe printed nothing: ${(r.stderr || '').trim().split('\n')[0]}`, fix: 'TUNDRILL_DEBUG=1 tundrill doctor shows more' });
  }
  return checks;
}
