/**
 * The part of `tundrill doctor` that checks by doing, run as a child process
 * inside a scratch network namespace (`unshare --net`): it opens a TUN device,
 * writes a namespace sysctl, switches to SCHED_RR and unshares a mount
 * namespace with a private /tmp -- what every run does -- and prints one JSON
 * line per step: `{"step", "ok", "code", "message"}`.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

export type ProbeStep = 'tun-open' | 'tun-setiff' | 'sysctl' | 'sched-rr' | 'mount';

export interface ProbeResult {
  step: ProbeStep;
  ok: boolean;
  /** errno name (EPERM, ENOENT, ...) when it failed. */
  code?: string;
  message?: string;
}

function report(r: ProbeResult): void {
  process.stdout.write(`${JSON.stringify(r)}\n`);
}

function errorCode(e: unknown): string {
  const c = (e as { code?: unknown }).code;
  return typeof c === 'string' ? c : 'EUNKNOWN';
}

async function probe(): Promise<void> {
  let native: typeof import('../native/addon.js') | null = null;
  try {
    native = await import('../native/addon.js');
  } catch (e) {
    const message = `native addon: ${(e as Error).message.split('\n')[0]}`;
    report({ step: 'tun-open', ok: false, code: 'ENOADDON', message });
    report({ step: 'sched-rr', ok: false, code: 'ENOADDON', message });
  }

  if (native) {
    try {
      native.tunOpen('tun0');
      report({ step: 'tun-open', ok: true });
      report({ step: 'tun-setiff', ok: true });
    } catch (e) {
      const message = (e as Error).message;
      const step: ProbeStep = message.includes('TUNSETIFF') ? 'tun-setiff' : 'tun-open';
      report({ step, ok: false, code: errorCode(e), message });
    }
  }

  // A sysctl of this namespace, written with its own value.
  const sysctl = '/proc/sys/net/ipv4/tcp_syn_retries';
  try {
    writeFileSync(sysctl, readFileSync(sysctl, 'utf8'));
    report({ step: 'sysctl', ok: true });
  } catch (e) {
    report({ step: 'sysctl', ok: false, code: errorCode(e), message: `write ${sysctl}: ${(e as Error).message}` });
  }

  if (native) {
    const nr = native.SYS['sched_setscheduler'];
    if (nr === undefined) {
      report({ step: 'sched-rr', ok: false, code: 'ENOSYS', message: 'no sched_setscheduler' });
    } else {
      const param = Buffer.alloc(4);
      param.writeInt32LE(1);
      const r = native.syscall(nr, [0, 2 /* SCHED_RR */, param]);
      if (r.ret === 0n) {
        param.writeInt32LE(0);
        native.syscall(nr, [0, 0 /* SCHED_OTHER */, param]);
        report({ step: 'sched-rr', ok: true });
      } else {
        report({ step: 'sched-rr', ok: false, code: native.errnoName(r.errno), message: `sched_setscheduler(SCHED_RR, 1): ${native.strerror(r.errno)}` });
      }
    }
  }

  // The private /tmp every run gets: a mount namespace with a tmpfs on /tmp.
  const m = spawnSync('unshare', ['--mount', '--propagation', 'private', '--', 'mount', '-t', 'tmpfs', 'tundrill-doctor', '/tmp'], { encoding: 'utf8' });
  if (m.status === 0) {
    report({ step: 'mount', ok: true });
  } else {
    const text = (m.stderr || m.error?.message || `exit status ${m.status}`).trim().split('\n')[0]!;
    const code = /Operation not permitted/.test(text) ? 'EPERM' : /Permission denied/.test(text) ? 'EACCES' : 'EUNKNOWN';
    report({ step: 'mount', ok: false, code, message: text });
  }
}

await probe();
