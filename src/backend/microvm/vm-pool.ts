/**
 * Runs on guests: a fixed number of microVMs (one per host core at most),
 * each running the host's pool worker inside the guest kernel. A run is
 * handed over the VM's channel and its result comes back the same way; the
 * evidence lands in the share, at the same paths as on the host. A VM
 * whose run times out or whose guest dies is killed, its run reported, and
 * the next run boots a fresh one.
 */
import { availableParallelism } from 'node:os';
import { resolve, sep } from 'node:path';
import { EXIT_ENVIRONMENT, EXIT_FAIL } from '../../engine/errors.js';
import type { RunResult } from '../../engine/result.js';
import { chooseAccelerator, guestTscKhz, type AccelChoice, type VmClock } from './accel.js';
import { checkConfig, describeMissing } from './kernel-config.js';
import { buildInitramfs, type Initramfs } from './initramfs.js';
import { guestFacts, type GuestKernel, type KernelFacts } from './kernel.js';
import { Vm, type VmSpec } from './vm.js';

export class VmEnvironmentError extends Error {}

/** What a run on a VM returns (the same fields as a host worker's outcome). */
export interface VmOutcome {
  result: RunResult | null;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  wallMs: number;
}

/** The part of a worker request the VM side looks at. */
export interface VmRequest {
  scriptPath: string;
  evidence: { dir: string };
}

export interface PreparedKernel {
  kernel: GuestKernel;
  initramfs: Initramfs;
  accel: AccelChoice;
  clock: VmClock;
  facts: KernelFacts;
  /** Notes for the user (accelerator, config findings). */
  notes: string[];
}

/**
 * Check the kernel's config, build its initramfs, choose the accelerator.
 * Missing required options stop here with one line naming them.
 */
export async function prepareKernel(kernel: GuestKernel, clock: VmClock, probeKvm: (k: GuestKernel, i: Initramfs) => Promise<{ ok: boolean; detail: string }>): Promise<PreparedKernel> {
  const notes: string[] = [];
  if (kernel.config) {
    const { missing, missingOptional } = checkConfig(kernel.config);
    if (missing.length > 0) {
      throw new VmEnvironmentError(`${kernel.spec}: the kernel's config (${kernel.configSource}) lacks ${describeMissing(missing)}; add them (tundrill kernel config prints the fragment) and rebuild`);
    }
    if (missingOptional.length > 0) notes.push(`${kernel.spec}: without ${missingOptional.map((r) => r.anyOf.join('/')).join(', ')} some scenarios cannot run`);
  } else {
    notes.push(`${kernel.spec}: no config found (no IKCONFIG, no .config beside it); not checked before boot (pass one with --kernel-config FILE)`);
  }
  const initramfs = buildInitramfs(kernel);
  const needed = ['9pnet_virtio', '9p', 'tun', 'virtio_mmio', 'virtio_console', 'tcp_diag'];
  const lacking = initramfs.absent.filter((m) => needed.includes(m) && kernel.config?.get(`CONFIG_${m.toUpperCase()}`) !== 'y');
  if (kernel.modulesDir && lacking.length > 0) notes.push(`${kernel.spec}: modules not found: ${lacking.join(', ')}`);
  const accel = await chooseAccelerator(() => probeKvm(kernel, initramfs));
  const facts = guestFacts(kernel, accel.accel, accel.accel === 'kvm' ? 'kvm' : clock);
  return { kernel, initramfs, accel, clock, facts, notes };
}

export function defaultVmSlots(): number {
  return Math.max(1, availableParallelism());
}

export interface VmPoolOptions {
  slots: number;
  /** Host folder for evidence, shared writable at the same path. */
  share: string;
  /** The worker command the guest runs (Node, flags, the pool worker). */
  workerCommand: string[];
  /** The start of the line the guest command writes to its console when it fails and ends (no run gets a result then). */
  workerFatal?: string;
  guestEnv?: Record<string, string>;
  memoryMb?: number;
  bootTimeoutMs?: number;
  /** Print the guests' console lines as they come (verbose). */
  passthrough?: boolean;
}

function vmSpec(k: PreparedKernel, o: VmPoolOptions): VmSpec {
  return {
    vmlinux: k.kernel.vmlinux,
    initramfs: k.initramfs.path,
    accel: k.accel.accel,
    clock: k.clock,
    memoryMb: o.memoryMb ?? 1024,
    share: o.share,
    tscKhz: guestTscKhz(k.accel.accel, k.clock),
    acpi: k.kernel.config ? k.kernel.config.get('CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES') !== 'y' && k.kernel.config.get('CONFIG_ACPI') === 'y' : false,
    guestCommand: o.workerCommand,
    guestEnv: {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: '/root',
      TUNDRILL_PRIVATE_TMP: '1',
      // Evidence is written to the guest's tmpfs during a run and moved to the share afterwards.
      TUNDRILL_STAGE_EVIDENCE: '/run/tundrill-evidence',
      UV_THREADPOOL_SIZE: '8',
      ...(o.guestEnv ?? {}),
    },
  };
}

function within(path: string, dir: string): boolean {
  const p = resolve(path);
  const d = resolve(dir);
  return p === d || p.startsWith(d + sep);
}

class VmSlot {
  private vm: Vm | null = null;
  private pending: { id: number; resolve(o: VmOutcome): void; started: number; timer: NodeJS.Timeout | null; stdout: string; timedOut: boolean } | null = null;

  constructor(private readonly pool: VmPool) {}

  private async boot(): Promise<Vm | string> {
    const vm = new Vm(this.pool.spec);
    this.vm = vm;
    vm.onConsole = (line) => {
      if (this.pending) this.pending.stdout += `${line}\n`;
      if (this.pool.opts.passthrough) process.stderr.write(`${line}\n`);
      // The guest's worker failed outside any run's handling and is ending:
      // the run will get no result, so say why now rather than at its time
      // limit, and start the next run in a fresh VM.
      if (this.pool.opts.workerFatal && line.startsWith(this.pool.opts.workerFatal) && this.pending) {
        this.finish(null, false, line);
        if (this.vm === vm) this.vm = null;
        vm.kill();
      }
    };
    vm.onLine = (line) => this.resultLine(line);
    vm.onExit = () => {
      if (this.vm === vm) this.vm = null;
      if (this.pending) this.finish(null, this.pending.timedOut);
    };
    const ok = await vm.ready(this.pool.opts.bootTimeoutMs ?? 180_000);
    if (!ok) {
      const why = vm.whyNot();
      vm.kill();
      return why;
    }
    if (vm.readyMs !== null) this.pool.bootTimesMs.push(vm.readyMs);
    if (vm.priorityProblem && !this.pool.priorityWarned) {
      this.pool.priorityWarned = true;
      process.stderr.write(`tundrill: qemu's main loop runs without real-time priority (${vm.priorityProblem}); on a loaded host, guest timers may fire late\n`);
    }
    return vm;
  }

  private resultLine(line: string): void {
    const p = this.pending;
    if (!p) return;
    let msg: { id: number; result: RunResult };
    try {
      msg = JSON.parse(line) as { id: number; result: RunResult };
    } catch {
      return;
    }
    if (msg.id !== p.id) return;
    this.finish(msg.result, false);
  }

  private finish(result: RunResult | null, timedOut: boolean, why = ''): void {
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    if (p.timer) clearTimeout(p.timer);
    const vmNote = result ? '' : why || (this.vm ? '' : 'the VM ended during the run');
    p.resolve({
      result, exitCode: result ? result.exitCode : EXIT_FAIL, signal: null, timedOut,
      stdout: p.stdout, stderr: vmNote, wallMs: performance.now() - p.started,
    });
  }

  async run(id: number, req: VmRequest, timeoutMs: number): Promise<VmOutcome> {
    const started = performance.now();
    const refuse = (why: string, code = EXIT_ENVIRONMENT): VmOutcome => ({
      result: null, exitCode: code, signal: null, timedOut: false, stdout: '', stderr: why, wallMs: performance.now() - started,
    });
    if (!within(req.scriptPath, this.pool.opts.share) && req.scriptPath.startsWith('/tmp/')) {
      return refuse(`${req.scriptPath}: the guest has a /tmp of its own and cannot see scripts in the host's /tmp; keep the script elsewhere`);
    }
    if (req.evidence.dir && !within(req.evidence.dir, this.pool.opts.share)) {
      return refuse(`${req.evidence.dir}: evidence must go under the VM's share ${this.pool.opts.share}`);
    }
    let vm = this.vm;
    if (!vm || vm.exited) {
      const booted = await this.boot();
      if (typeof booted === 'string') return refuse(`the VM did not boot: ${booted}`);
      vm = booted;
    }
    return new Promise((resolvePromise) => {
      this.pending = { id, resolve: resolvePromise, started, timer: null, stdout: '', timedOut: false };
      this.pending.timer = setTimeout(() => {
        if (!this.pending) return;
        this.pending.timedOut = true;
        vm.kill();
      }, timeoutMs);
      vm.send(JSON.stringify({ ...req, id }));
    });
  }

  stop(): Promise<void> {
    const vm = this.vm;
    this.vm = null;
    return vm ? vm.stop() : Promise.resolve();
  }

  kill(): void {
    this.vm?.kill();
  }
}

export class VmPool {
  readonly spec: VmSpec;
  readonly bootTimesMs: number[] = [];
  /** The note about qemu's main loop priority was printed. */
  priorityWarned = false;
  private readonly free: VmSlot[] = [];
  private readonly all: VmSlot[] = [];
  private readonly waiters: Array<(s: VmSlot) => void> = [];
  private nextId = 1;

  constructor(readonly kernel: PreparedKernel, readonly opts: VmPoolOptions) {
    this.spec = vmSpec(kernel, opts);
    const n = Math.max(1, Math.min(opts.slots, defaultVmSlots()));
    for (let i = 0; i < n; i++) this.all.push(new VmSlot(this));
    this.free.push(...this.all);
  }

  get size(): number {
    return this.all.length;
  }

  private acquire(): Promise<VmSlot> {
    const s = this.free.pop();
    if (s) return Promise.resolve(s);
    return new Promise((r) => this.waiters.push(r));
  }

  private release(s: VmSlot): void {
    const w = this.waiters.shift();
    if (w) w(s);
    else this.free.push(s);
  }

  async run(req: VmRequest, timeoutMs: number): Promise<VmOutcome> {
    const slot = await this.acquire();
    try {
      return await slot.run(this.nextId++, req, timeoutMs);
    } finally {
      this.release(slot);
    }
  }

  /** Power every guest off (and kill what lingers). */
  async close(): Promise<void> {
    await Promise.all(this.all.map((s) => s.stop()));
  }

  kill(): void {
    for (const s of this.all) s.kill();
  }
}
