/**
 * Which accelerator a guest runs under. KVM only when /dev/kvm really
 * boots a stock kernel: checked by booting one (the answer is cached per
 * host kernel); a PVM /dev/kvm (kvm_pvm) cannot, and is refused at once.
 * Otherwise TCG, by default with icount so guest time follows
 * instructions executed rather than emulation speed and host load.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { cacheRoot } from './cache.js';

/**
 * The guest clock under TCG. `icount`: guest time follows instructions
 * executed (1 ns each) while the guest runs, and real time while it is idle
 * (sleep=on), up to its next timer; `icount-skip`: idle time is skipped, the
 * clock leaps to the next timer (sleep=off): faster, but a wait on the host
 * (a 9p read, an exec from the host's root) then becomes a leap of guest
 * time; `realtime`: plain TCG, guest time is host time.
 */
export type VmClock = 'icount' | 'icount-skip' | 'realtime';

export interface AccelChoice {
  accel: 'kvm' | 'tcg';
  /** One line: why this accelerator. */
  note: string;
}

/** A reason KVM is out without trying, or null when a boot must decide. */
export function kvmRefusal(): string | null {
  if (!existsSync('/dev/kvm')) return 'no /dev/kvm';
  if (existsSync('/sys/module/kvm_pvm')) return '/dev/kvm is PVM (kvm_pvm), which does not boot stock kernels';
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  if (!/^flags\s*:.*\b(vmx|svm)\b/m.test(cpuinfo)) return 'the CPU shows no vmx/svm';
  return null;
}

interface ProbeCache {
  hostRelease: string;
  kvmBoots: boolean;
  detail: string;
}

function probeFile(): string {
  return join(cacheRoot(), 'kvm-probe.json');
}

/**
 * Choose the accelerator. `tryKvm` boots a kernel under KVM and says
 * whether it reached user space; it runs only when nothing rules KVM out
 * and no cached answer exists for this host kernel.
 */
export async function chooseAccelerator(tryKvm: () => Promise<{ ok: boolean; detail: string }>): Promise<AccelChoice> {
  const forced = process.env.TUNDRILL_VM_ACCEL;
  if (forced === 'tcg') return { accel: 'tcg', note: 'TCG: TUNDRILL_VM_ACCEL=tcg' };
  const refusal = kvmRefusal();
  if (refusal) return { accel: 'tcg', note: `TCG: ${refusal}` };
  let cached: ProbeCache | null = null;
  try {
    cached = JSON.parse(readFileSync(probeFile(), 'utf8')) as ProbeCache;
    if (cached.hostRelease !== release()) cached = null;
  } catch {
    cached = null;
  }
  if (!cached) {
    const r = await tryKvm();
    cached = { hostRelease: release(), kvmBoots: r.ok, detail: r.detail };
    mkdirSync(cacheRoot(), { recursive: true });
    writeFileSync(probeFile(), JSON.stringify(cached) + '\n');
  }
  return cached.kvmBoots
    ? { accel: 'kvm', note: 'KVM: a stock kernel boots under /dev/kvm' }
    : { accel: 'tcg', note: `TCG: /dev/kvm did not boot a stock kernel (${cached.detail})` };
}

/** The host TSC rate in kHz (what the guest's TSC runs at under TCG without icount). */
export function hostTscKhz(): number {
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const m = /^cpu MHz\s*:\s*([\d.]+)/m.exec(cpuinfo);
  return m ? Math.round(Number(m[1]) * 1000) : 2_000_000;
}

/**
 * The guest's TSC rate: under icount with shift=0 one instruction is one
 * nanosecond of virtual time, so the TSC runs at 1 GHz. Passing it as
 * tsc_early_khz avoids the calibration that can hang on microvm under TCG.
 */
export function guestTscKhz(accel: AccelChoice['accel'], clock: VmClock): number | null {
  if (accel === 'kvm') return null;
  return clock === 'realtime' ? hostTscKhz() : 1_000_000;
}
