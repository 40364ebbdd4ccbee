/**
 * Runs scripts on a fixed set of long-lived pool workers (see
 * pool-worker.ts), so that a suite does not pay Node's start-up and code
 * compilation for every run: on two cores that cost alone bounds a corpus
 * run. A worker that times out or dies is killed and replaced; its run is
 * reported as timed out or failed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { RunResult } from '../engine/result.js';
import type { WorkerRequest } from './execute-request.js';
import { workerNodeFlags, type WorkerOutcome } from './spawn.js';

const POOL_WORKER = fileURLToPath(new URL('./pool-worker.js', import.meta.url));

interface Pending {
  id: number;
  resolve(o: WorkerOutcome): void;
  started: number;
  timer: NodeJS.Timeout;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

class Slot {
  private child: ChildProcess | null = null;
  private pending: Pending | null = null;

  constructor(private readonly opts: { privateTmp: boolean; passthrough: boolean }) {}

  private start(): ChildProcess {
    const args = ['--net', ...(this.opts.privateTmp ? ['--mount', '--propagation', 'private'] : []), '--',
      process.execPath, ...workerNodeFlags(), POOL_WORKER];
    const child = spawn('unshare', args, {
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      env: { ...process.env, TUNDRILL_PRIVATE_TMP: this.opts.privateTmp ? '1' : '0' },
    });
    child.stdout!.on('data', (d: Buffer) => {
      if (this.pending) this.pending.stdout += d.toString();
      if (this.opts.passthrough) process.stdout.write(d);
    });
    child.stderr!.on('data', (d: Buffer) => {
      if (this.pending) this.pending.stderr += d.toString();
      if (this.opts.passthrough) process.stderr.write(d);
    });
    const results = createInterface({ input: child.stdio[3] as NodeJS.ReadableStream });
    results.on('line', (line) => {
      const p = this.pending;
      if (!p) return;
      let msg: { id: number; result: RunResult };
      try {
        msg = JSON.parse(line) as { id: number; result: RunResult };
      } catch {
        return;
      }
      if (msg.id !== p.id) return;
      this.finish({ result: msg.result, exitCode: msg.result.exitCode, signal: null, timedOut: false });
    });
    child.on('close', (code, signal) => {
      if (this.child === child) this.child = null;
      if (this.pending) this.finish({ result: null, exitCode: code, signal, timedOut: this.pending.timedOut });
    });
    this.child = child;
    return child;
  }

  private finish(o: Omit<WorkerOutcome, 'stdout' | 'stderr' | 'wallMs'>): void {
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    clearTimeout(p.timer);
    p.resolve({ ...o, stdout: p.stdout, stderr: p.stderr, wallMs: performance.now() - p.started });
  }

  run(id: number, req: WorkerRequest, timeoutMs: number): Promise<WorkerOutcome> {
    const child = this.child ?? this.start();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        if (!this.pending) return;
        this.pending.timedOut = true;
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 2000).unref();
      }, timeoutMs);
      this.pending = { id, resolve, started: performance.now(), timer, stdout: '', stderr: '', timedOut: false };
      child.stdin!.write(JSON.stringify({ ...req, id }) + '\n');
    });
  }

  close(): void {
    this.child?.stdin?.end();
    this.child = null;
  }

  kill(sig: NodeJS.Signals): void {
    this.child?.kill(sig);
  }
}

export class WorkerPool {
  private readonly free: Slot[] = [];
  private readonly waiters: Array<(s: Slot) => void> = [];
  private nextId = 1;

  private readonly all: Slot[] = [];

  constructor(size: number, opts: { privateTmp: boolean; passthrough: boolean }) {
    for (let i = 0; i < size; i++) this.free.push(new Slot(opts));
    this.all.push(...this.free);
  }

  /** Signal every worker (the CLI is being stopped). */
  kill(sig: NodeJS.Signals): void {
    for (const s of this.all) s.kill(sig);
  }

  private acquire(): Promise<Slot> {
    const s = this.free.pop();
    if (s) return Promise.resolve(s);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private release(s: Slot): void {
    const w = this.waiters.shift();
    if (w) w(s);
    else this.free.push(s);
  }

  async run(req: WorkerRequest, timeoutMs: number): Promise<WorkerOutcome> {
    const slot = await this.acquire();
    try {
      return await slot.run(this.nextId++, req, timeoutMs);
    } finally {
      this.release(slot);
    }
  }

  close(): void {
    for (const s of this.free) s.close();
  }
}
