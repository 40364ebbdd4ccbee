import { describe, expect, it } from 'vitest';
import { fullGrowthBytes, garbageCollector } from '../../src/engine/collect-garbage.js';

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

  it('does nothing without an exposed gc', () => {
    expect(garbageCollector(undefined, () => 0).beforeRun()).toBe('none');
  });
});
