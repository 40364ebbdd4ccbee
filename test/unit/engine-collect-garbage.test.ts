import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { workerNodeFlags } from '../../src/runner/spawn.js';
import { fullGrowthBytes, garbageCollector, type MarkingWatch } from '../../src/engine/collect-garbage.js';

const FULL_GROWTH_BYTES = 4 * 1024 * 1024;

type GcOpts = { type?: 'major' | 'minor' } | undefined;

/** A fake heap: a full collection brings it back to `live`; a young one leaves what survives. */
function fakeHeap(live: number) {
  const calls: string[] = [];
  let used = live;
  return {
    calls,
    grow(bytes: number) { used += bytes; },
    gc: (o?: GcOpts) => {
      calls.push(o?.type === 'minor' ? 'minor' : 'major');
      if (o?.type !== 'minor') used = live;
    },
    used: () => used,
  };
}

describe('garbage collection before a run', () => {
  it('collects everything before the first run', () => {
    const h = fakeHeap(8e6);
    const c = garbageCollector(h.gc, h.used, 2, FULL_GROWTH_BYTES);
    expect(c.beforeRun()).toBe('full');
    expect(h.calls).toEqual(['major']);
  });

  it('collects only the young generation while the heap grew less than the limit', () => {
    const h = fakeHeap(8e6);
    const c = garbageCollector(h.gc, h.used, 2, FULL_GROWTH_BYTES);
    c.beforeRun();
    h.grow(FULL_GROWTH_BYTES / 2);
    expect(c.beforeRun()).toBe('young');
    h.grow(FULL_GROWTH_BYTES / 4);
    expect(c.beforeRun()).toBe('young');
    expect(h.calls).toEqual(['major', 'minor', 'minor']);
  });

  it('collects everything once the heap grew past the limit since the last full collection', () => {
    const h = fakeHeap(8e6);
    const c = garbageCollector(h.gc, h.used, 2, FULL_GROWTH_BYTES);
    c.beforeRun();
    h.grow(FULL_GROWTH_BYTES / 2);
    c.beforeRun();
    h.grow(FULL_GROWTH_BYTES / 2 + 1);
    expect(c.beforeRun()).toBe('full');
    // counted from the new full collection
    h.grow(FULL_GROWTH_BYTES / 2);
    expect(c.beforeRun()).toBe('young');
    expect(h.calls).toEqual(['major', 'minor', 'minor', 'major', 'minor']);
  });

  it('collects everything before every run on a machine with one CPU', () => {
    const h = fakeHeap(8e6);
    const c = garbageCollector(h.gc, h.used, 1, FULL_GROWTH_BYTES);
    c.beforeRun();
    h.grow(FULL_GROWTH_BYTES / 4);
    expect(c.beforeRun()).toBe('full');
    expect(h.calls).toEqual(['major', 'major']);
  });

  it('allows 4 MB of growth, 1 MB on a machine with less than 2 GiB', () => {
    expect(fullGrowthBytes(24 * 2 ** 30)).toBe(4 * 2 ** 20);
    expect(fullGrowthBytes(2 * 2 ** 30)).toBe(4 * 2 ** 20);
    expect(fullGrowthBytes(512 * 2 ** 20)).toBe(2 ** 20);
  });

  it('does nothing without an exposed gc', async () => {
    expect(garbageCollector(undefined, () => 0).beforeRun()).toBe('none');
    await expect(garbageCollector(undefined, () => 0).beforeClock()).resolves.toBe('none');
  });
});

/** A fake watch: `marking` as the test sets it, reported only once settle() was awaited. */
function fakeWatch() {
  let reported = false;
  let pending = false;
  const w = {
    settles: 0,
    begin() { pending = true; reported = false; },
    settle: async () => { w.settles++; reported = true; },
    marking: () => reported && pending,
    end() { pending = false; },
  };
  return w satisfies MarkingWatch & Record<string, unknown>;
}

describe('a marking V8 began before the clock start', () => {
  it('is finished with a full collection just before the clock', async () => {
    const h = fakeHeap(8e6);
    const w = fakeWatch();
    const c = garbageCollector(h.gc, h.used, 2, FULL_GROWTH_BYTES, w);
    c.beforeRun();
    h.grow(FULL_GROWTH_BYTES / 2);
    expect(c.beforeRun()).toBe('young');
    w.begin();
    expect(await c.beforeClock()).toBe('full');
    expect(w.settles).toBe(1);
    expect(h.calls).toEqual(['major', 'minor', 'major']);
  });

  it('is looked for only after what ended before the call is reported', async () => {
    const h = fakeHeap(8e6);
    const w = fakeWatch();
    const c = garbageCollector(h.gc, h.used, 2, FULL_GROWTH_BYTES, w);
    c.beforeRun();
    w.begin();
    // not reported yet: marking() is false until settle() ran
    expect(w.marking()).toBe(false);
    expect(await c.beforeClock()).toBe('full');
  });

  it('costs nothing when no marking is under way, or V8 finished it', async () => {
    const h = fakeHeap(8e6);
    const w = fakeWatch();
    const c = garbageCollector(h.gc, h.used, 2, FULL_GROWTH_BYTES, w);
    c.beforeRun();
    expect(await c.beforeClock()).toBe('none');
    w.begin();
    w.end();
    expect(await c.beforeClock()).toBe('none');
    expect(h.calls).toEqual(['major']);
  });

  it('counts the growth allowance from that collection', async () => {
    const h = fakeHeap(8e6);
    const w = fakeWatch();
    const c = garbageCollector(h.gc, h.used, 2, FULL_GROWTH_BYTES, w);
    c.beforeRun();
    h.grow(FULL_GROWTH_BYTES - 1);
    w.begin();
    await c.beforeClock();
    w.end();
    h.grow(FULL_GROWTH_BYTES / 2);
    expect(c.beforeRun()).toBe('young');
  });
});

describe('the marking watch on a real V8', () => {
  it('sees V8 begin marking on its own, and the collection before the clock end it', () => {
    // In a process of its own, with the worker's heap flags: old-generation
    // garbage that stays reachable until V8 begins to mark.
    const code = `
      const { garbageCollector, performanceMarkingWatch } = await import(${JSON.stringify(join(ROOT, 'dist', 'engine', 'collect-garbage.js'))});
      const watch = performanceMarkingWatch();
      const c = garbageCollector(globalThis.gc, () => process.memoryUsage().heapUsed, 2, 4 << 20, watch);
      c.beforeRun();
      await watch.settle();
      const before = watch.marking();
      const keep = [];
      let turns = 0;
      for (; turns < 20000; turns++) {
        for (let j = 0; j < 100; j++) keep.push({ turns, j, s: 'x' + turns + ':' + j });
        await watch.settle();
        if (watch.marking()) break;
      }
      const seen = watch.marking();
      const collected = await c.beforeClock();
      await watch.settle();
      console.log(JSON.stringify({ before, seen, turns, collected, after: watch.marking(), again: await c.beforeClock() }));`;
    const r = spawnSync(process.execPath, [...workerNodeFlags(), '--input-type=module', '-e', code], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(out).toMatchObject({ before: false, seen: true, collected: 'full', after: false, again: 'none' });
  });
});
