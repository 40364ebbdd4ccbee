/**
 * One guest: qemu started with the kernel and its initramfs, the serial
 * console read line by line, the run channel (a virtio-serial port on a
 * unix socket) carrying one JSON request per line in and one JSON result
 * per line out. The guest runs the host's pool worker, so a run in the VM
 * is the same run as on the host, in the guest kernel.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { MARK_EXIT, MARK_FAIL, MARK_READY } from './initramfs.js';
import { QEMU, qemuArgs, type QemuPlan } from './qemu.js';

export interface VmSpec extends Omit<QemuPlan, 'socket' | 'bootScript'> {
  /** The command the guest runs (in the host's root): its stdin and fd 3 are the run channel. */
  guestCommand: string[];
  /** Environment of the guest command. */
  guestEnv: Record<string, string>;
}

let serial = 0;

function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The script the guest's /init runs from the share: start the worker on the run channel. */
export function bootScript(spec: Pick<VmSpec, 'guestCommand' | 'guestEnv'>): string {
  const env = Object.entries(spec.guestEnv).map(([k, v]) => `${k}=${shQuote(v)}`).join(' ');
  return [
    'port=',
    'for p in /sys/class/virtio-ports/*; do [ "$(cat "$p/name" 2>/dev/null)" = tundrill ] && port=$(basename "$p"); done',
    '[ -n "$port" ] || { echo "tundrill-guest: no virtio port named tundrill"; exit 4; }',
    `exec chroot /host /usr/bin/env -i ${env} ${spec.guestCommand.map(shQuote).join(' ')} 0<>"/dev/$port" 3>&0`,
    '',
  ].join('\n');
}

/**
 * Under TCG with icount, the guest's clock follows instructions while it
 * runs, but while it is idle it follows real time until qemu's main loop
 * wakes it for its next timer, and however late the host schedules that
 * thread is added to guest time: on a loaded host, timers in the guest
 * fire late. The main loop does little work, so it gets SCHED_FIFO (the
 * lowest real-time priority), reset on fork so that the threads it makes
 * later (the vCPU's among them) stay ordinary. Measured on 2 cores at load
 * 7-8: tcp/shutdown in one VM, 8 of 18 rows failing on timing without it,
 * 5 with it (3 of them the same script in every variant, both ways).
 */
export function prioritizeMainLoop(pid: number): string | null {
  const r = spawnSync('chrt', ['--fifo', '--reset-on-fork', '--pid', '1', String(pid)], { encoding: 'utf8' });
  if (r.error) return `chrt: ${r.error.message}`;
  return r.status === 0 ? null : (r.stderr.trim().split('\n')[0] || `chrt exited with status ${r.status}`);
}

export class Vm {
  readonly child: ChildProcess;
  readonly socketPath: string;
  private readonly bootPath: string;
  private channel: Socket | null = null;
  /** Console lines so far (kept for error messages). */
  readonly console: string[] = [];
  readonly started = performance.now();
  /** ms from qemu's start to the guest's first command, once it printed it. */
  readyMs: number | null = null;
  guestRelease: string | null = null;
  guestExit: number | null = null;
  /** Why qemu's main loop could not get real-time priority (null: it has it, or KVM). */
  priorityProblem: string | null = null;
  failure: string | null = null;
  exited = false;
  private readonly readyWaiters: Array<(ok: boolean) => void> = [];
  onLine: ((line: string) => void) | null = null;
  onConsole: ((line: string) => void) | null = null;
  onExit: (() => void) | null = null;

  constructor(spec: VmSpec) {
    const n = ++serial;
    const dir = join(spec.share, '.tundrill-vm');
    mkdirSync(dir, { recursive: true });
    const bootName = `boot-${process.pid}-${n}.sh`;
    this.bootPath = join(dir, bootName);
    writeFileSync(this.bootPath, bootScript(spec));
    this.socketPath = `/tmp/tundrill-vm-${process.pid}-${n}.sock`;
    rmSync(this.socketPath, { force: true });
    const args = qemuArgs({ ...spec, socket: this.socketPath, bootScript: `.tundrill-vm/${bootName}` });
    this.child = spawn(QEMU, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    if (spec.accel !== 'kvm' && this.child.pid !== undefined) this.priorityProblem = prioritizeMainLoop(this.child.pid);
    this.child.on('error', (e) => {
      this.failure = `${QEMU} could not start: ${e.message} (apt-get install -y --no-install-recommends qemu-system-x86)`;
    });
    const out = createInterface({ input: this.child.stdout! });
    out.on('line', (raw) => this.consoleLine(raw.replace(/\r$/, '')));
    this.child.stderr!.on('data', (d: Buffer) => {
      for (const l of d.toString().split('\n')) if (l.trim()) this.console.push(`qemu: ${l.trim()}`);
    });
    this.openChannel();
    this.child.on('close', () => {
      this.exited = true;
      this.settleReady(false);
      this.cleanup();
      this.onExit?.();
    });
  }

  private consoleLine(line: string): void {
    this.console.push(line);
    if (this.console.length > 400) this.console.splice(0, this.console.length - 400);
    if (line.startsWith(MARK_READY)) {
      this.readyMs = performance.now() - this.started;
      this.guestRelease = line.split(' ')[1] ?? null;
      if (this.channel) this.settleReady(true);
      return;
    }
    if (line.startsWith(MARK_EXIT)) {
      this.guestExit = Number(line.split(' ')[1]);
      return;
    }
    if (line.startsWith(MARK_FAIL)) {
      this.failure = line.slice(MARK_FAIL.length).trim();
      this.settleReady(false);
      return;
    }
    if (this.readyMs !== null) this.onConsole?.(line);
  }

  /**
   * Connect to the run channel as soon as qemu listens, before the guest
   * opens its end: a guest reading an unconnected port would see end of file.
   */
  private openChannel(attempt = 0): void {
    if (this.exited) return;
    const sock = connect(this.socketPath);
    sock.once('connect', () => {
      this.channel = sock;
      sock.on('error', (e) => {
        this.failure ??= `run channel: ${e.message}`;
      });
      createInterface({ input: sock }).on('line', (l) => this.onLine?.(l));
      if (this.readyMs !== null) this.settleReady(true);
    });
    sock.once('error', (e) => {
      if (this.channel === sock) return;
      sock.destroy();
      if (attempt < 400) setTimeout(() => this.openChannel(attempt + 1), 25);
      else {
        this.failure = `run channel: ${e.message}`;
        this.settleReady(false);
      }
    });
  }

  private settleReady(ok: boolean): void {
    for (const w of this.readyWaiters.splice(0)) w(ok);
  }

  /** Resolves true once the guest runs its first command and the channel is open. */
  ready(timeoutMs: number): Promise<boolean> {
    if (this.channel && this.readyMs !== null) return Promise.resolve(true);
    if (this.exited || this.failure) return Promise.resolve(false);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.failure ??= `no sign of life from the guest within ${Math.round(timeoutMs / 1000)} s`;
        resolve(false);
      }, timeoutMs);
      this.readyWaiters.push((ok) => {
        clearTimeout(t);
        resolve(ok);
      });
    });
  }

  send(line: string): void {
    if (!this.channel) throw new Error('the VM is not ready');
    this.channel.write(`${line}\n`);
  }

  /** Why the VM is not usable, with the console's last lines. */
  whyNot(): string {
    const tail = this.console.filter((l) => l.trim()).slice(-8).join('\n');
    return `${this.failure ?? (this.exited ? 'qemu exited' : 'the VM is not ready')}${tail ? `\n--- guest console (last lines) ---\n${tail}` : ''}`;
  }

  /** End the guest: closing the channel lets the worker end and the guest power off; kill if it lingers. */
  stop(graceMs = 3000): Promise<void> {
    if (this.exited) return Promise.resolve();
    this.channel?.end();
    return new Promise((resolve) => {
      const t = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      this.child.once('close', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }

  private cleanup(): void {
    this.channel?.destroy();
    rmSync(this.socketPath, { force: true });
    if (existsSync(this.bootPath)) rmSync(this.bootPath, { force: true });
  }
}
