/**
 * A worker's threads kept on one CPU (`--one-cpu`). The kernel's jiffies
 * are advanced by one CPU's tick; another CPU whose tick handler runs first
 * in the same tick still sees the old value and leaves the timers due at
 * that tick to its next one, 4 ms later at HZ 250. packetdrill, one thread,
 * keeps one CPU busy: an idle CPU stops its tick and gives up that duty, so
 * the busy CPU has it, and the socket's timers (armed on the CPU that ran
 * the socket's code) fire on their tick. A tundrill run has its engine, the
 * device's reader thread and the socket-state sampler on whichever CPUs are
 * free, which keeps every CPU ticking. A scheduler trace of
 * tcp_fastopen_server_fin-close-socket.pkt showed it: the delayed ACK, due
 * at the first tick, was armed on CPU 1, whose tick handler ran 7 µs before
 * CPU 0's, and the ACK went out a tick late, past the 4 ms tolerance.
 * Threads started later (the reader, the sampler, commands' processes)
 * inherit the CPU of the thread that starts them.
 *
 * Measured one run at a time (fin-close-socket, close-remote-fin-then-
 * close, sack-shift-sacked-7-3-4-8-9-fack, basic_server, 3 variants, 20
 * runs each): 22 of 240 runs late by a tick with the threads free, 1 with
 * them on one CPU (packetdrill itself flips sack-shift-sacked-7-3-4-8-9
 * in about one run in nine). What it costs: the engine shares its CPU with
 * the reader and the sampler, whose kernel work a PREEMPT_NONE kernel does
 * not interrupt; on bench/inbound-absolute-bursts.pkt the injection p99
 * went from 23-46 µs to 83-90 µs. So it is an option, not the default.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as native from '../native/addon.js';

/** Room for 1024 CPUs, as glibc's cpu_set_t. */
const MASK_BYTES = 128;

/** The CPU the calling thread is on now, or null when the kernel does not say. */
export function currentCpu(): number | null {
  const nr = native.SYS['getcpu'];
  if (nr === undefined) return null;
  const cpu = Buffer.alloc(4);
  return native.syscall(nr, [cpu, null, null]).ret === 0n ? cpu.readUInt32LE(0) : null;
}

/** A cpu_set_t with only `cpu` in it. */
export function cpuMask(cpu: number): Buffer {
  if (!Number.isInteger(cpu) || cpu < 0 || cpu >= MASK_BYTES * 8) throw new RangeError(`no such CPU: ${cpu}`);
  const mask = Buffer.alloc(MASK_BYTES);
  mask[cpu >> 3] = 1 << (cpu & 7);
  return mask;
}

/**
 * This process's thread ids as its own PID namespace numbers them: a worker
 * has a PID namespace of its own but the host's /proc, whose names are the
 * host's ids; the last field of a task's NSpid line is the innermost one.
 */
export function threadIds(): number[] {
  const ids: number[] = [];
  for (const name of readdirSync('/proc/self/task')) {
    let status: string;
    try {
      status = readFileSync(`/proc/self/task/${name}/status`, 'utf8');
    } catch {
      continue; // the thread ended
    }
    const ns = /^NSpid:\s*(.+)$/m.exec(status)?.[1]?.trim().split(/\s+/);
    ids.push(Number(ns?.at(-1) ?? name));
  }
  return ids;
}

/**
 * Every thread of this process on `cpu`; returns how many were moved (a
 * thread that ended meanwhile is not counted).
 */
function keepOnCpu(cpu: number): number {
  const nr = native.SYS['sched_setaffinity'];
  if (nr === undefined) return 0;
  const mask = cpuMask(cpu);
  let moved = 0;
  for (const tid of threadIds()) {
    if (native.syscall(nr, [tid, mask.length, mask]).ret === 0n) moved++;
  }
  return moved;
}

let keptOn: number | null = null;

/**
 * This worker's threads on the CPU its JavaScript thread is on now, once
 * per process (a pool worker keeps it for its later runs); the CPU, or null
 * where it could not be done.
 */
export function keepWorkerOnOneCpu(): number | null {
  if (keptOn !== null) return keptOn;
  const cpu = currentCpu();
  if (cpu === null || keepOnCpu(cpu) === 0) return null;
  keptOn = cpu;
  return cpu;
}
