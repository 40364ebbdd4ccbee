/**
 * The engine's real-time levels: SCHED_RR 3 while the clock runs, the
 * clock start's spin for a tick at SCHED_RR 2, below every run's engine,
 * and the commands it starts meanwhile inherit SCHED_RR 1.
 */
import { availableParallelism } from 'node:os';
import { beforeAll, describe, expect, it } from 'vitest';
import { useNativeBinding } from '../../src/native/addon.js';
import {
  atCommandPriority, belowEngines, CLOCK_START_RT_PRIORITY, COMMAND_RT_PRIORITY, ENGINE_RT_PRIORITY, enterRealtime, leaveRealtime,
  threadpoolRealtime, threadpoolSize,
} from '../../src/engine/priority.js';
import { fakeNativeBinding, type FakeBinding } from '../fakes/native-binding.js';

const SCHED_OTHER = 0;
const SCHED_RR = 2;

describe('real-time levels', () => {
  let binding: FakeBinding;
  const levels = (): Array<[number, number]> =>
    binding.calls.filter((c) => c.name === 'sched_setscheduler').map((c) => [Number(c.args[1]), (c.args[2] as Buffer).readInt32LE(0)]);

  beforeAll(() => {
    binding = fakeNativeBinding({ syscall: (name) => (name === 'sched_setscheduler' ? { ret: 0n } : undefined) });
    useNativeBinding(binding);
  });

  it.skipIf(availableParallelism() <= 1)('a command started while the clock runs is started one level below the engine, which is back at its level after', () => {
    expect(ENGINE_RT_PRIORITY).toBeGreaterThan(COMMAND_RT_PRIORITY);
    expect(enterRealtime()).toBe(true);
    let during: Array<[number, number]> = [];
    const out = atCommandPriority(() => { during = levels(); return 'done'; });
    expect(out).toBe('done');
    leaveRealtime();
    expect(during).toEqual([[SCHED_RR, ENGINE_RT_PRIORITY], [SCHED_RR, COMMAND_RT_PRIORITY]]);
    expect(levels()).toEqual([
      [SCHED_RR, ENGINE_RT_PRIORITY], [SCHED_RR, COMMAND_RT_PRIORITY], [SCHED_RR, ENGINE_RT_PRIORITY], [SCHED_OTHER, 0],
    ]);
  });

  it.skipIf(availableParallelism() <= 1)('the clock start spins below every engine, above the commands, and the engine is back at its level after', () => {
    binding.calls.length = 0;
    expect(ENGINE_RT_PRIORITY).toBeGreaterThan(CLOCK_START_RT_PRIORITY);
    expect(CLOCK_START_RT_PRIORITY).toBeGreaterThan(COMMAND_RT_PRIORITY);
    expect(enterRealtime()).toBe(true);
    let during: Array<[number, number]> = [];
    expect(belowEngines(() => { during = levels(); return 5n; })).toBe(5n);
    leaveRealtime();
    expect(during.at(-1)).toEqual([SCHED_RR, CLOCK_START_RT_PRIORITY]);
    expect(levels().slice(-2)).toEqual([[SCHED_RR, ENGINE_RT_PRIORITY], [SCHED_OTHER, 0]]);
  });

  it('outside the clock a command is started as the thread is', () => {
    binding.calls.length = 0;
    expect(atCommandPriority(() => 7)).toBe(7);
    expect(levels()).toEqual([]);
  });
});

describe('libuv pool level', () => {
  it('the pool size is read as libuv reads UV_THREADPOOL_SIZE', () => {
    expect(threadpoolSize({})).toBe(4);
    expect(threadpoolSize({ UV_THREADPOOL_SIZE: '8' })).toBe(8);
    expect(threadpoolSize({ UV_THREADPOOL_SIZE: '0' })).toBe(4);
    expect(threadpoolSize({ UV_THREADPOOL_SIZE: 'x' })).toBe(4);
    expect(threadpoolSize({ UV_THREADPOOL_SIZE: '5000' })).toBe(1024);
  });

  it.skipIf(availableParallelism() <= 1)('every pool thread goes to the commands\' level, once per process', async () => {
    const asked: Array<[number, number]> = [];
    useNativeBinding({ ...fakeNativeBinding(), threadpoolRealtime: (n, p) => { asked.push([n, p]); return Promise.resolve(n); } });
    const first = await threadpoolRealtime();
    await threadpoolRealtime();
    expect(asked).toEqual([[threadpoolSize(), COMMAND_RT_PRIORITY]]);
    expect(first).toBe(threadpoolSize());
  });
});
