import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseTimeline, TimelineWriter } from '../../src/evidence/timeline.js';

const dir = mkdtempSync(join(tmpdir(), 'tundrill-timeline-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('TimelineWriter', () => {
  it('streams batches in the background in the order given, then takes synchronous records after them', async () => {
    const path = join(dir, 'order.jsonl');
    const w = new TimelineWriter(path);
    w.write({ n: 0 });
    for (let b = 0; b < 20; b++) w.writeInBackground(Array.from({ length: 50 }, (_, i) => ({ n: 1 + b * 50 + i, tsNs: 10n ** 18n + BigInt(b) })));
    w.writeInBackground([]);
    await w.flushed();
    w.write({ n: 1001 });
    w.close();
    const recs = parseTimeline<{ n: number; tsNs?: bigint }>(readFileSync(path, 'utf8'));
    expect(recs.map((r) => r.n)).toEqual(Array.from({ length: 1002 }, (_, i) => i));
    expect(recs[1]!.tsNs).toBe(10n ** 18n);
    expect(w.records).toBe(1002);
  });

  it('closes only after the background writes in flight, so none is lost', async () => {
    const path = join(dir, 'close.jsonl');
    const w = new TimelineWriter(path);
    w.writeInBackground([{ a: 1 }, { a: 2 }]);
    w.close();
    expect(w.closed).toBe(true);
    expect(() => w.writeInBackground([{ a: 3 }])).toThrow(/closed/);
    await w.flushed();
    await new Promise((r) => setImmediate(r));
    expect(readFileSync(path, 'utf8')).toBe('{"a":1}\n{"a":2}\n');
  });
});
