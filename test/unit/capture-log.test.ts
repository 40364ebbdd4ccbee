/**
 * The capture log: notes accumulate, and a note given as a function is made
 * only when the capture is written, never while the script runs.
 */
import { describe, expect, it } from 'vitest';
import { CaptureLog, captureComment, type CaptureSink } from '../../src/evidence/capture-log.js';

function sink(): CaptureSink & { got: Array<{ tsNs: bigint; comment?: string }> } {
  const got: Array<{ tsNs: bigint; comment?: string }> = [];
  return {
    got,
    write: (r) => got.push({ tsNs: r.tsNs, ...(r.comment === undefined ? {} : { comment: r.comment }) }),
    close: async () => undefined,
    closeSync: () => undefined,
  };
}

describe('capture log', () => {
  it('makes a note only when the capture is written', async () => {
    const log = new CaptureLog();
    let made = 0;
    const a = log.add({ data: Buffer.alloc(20), tsNs: 2n, direction: 'out' });
    log.add({ data: Buffer.alloc(20), tsNs: 1n, direction: 'in', notes: ['script line 3: < S'] });
    log.note(a, 'script line 4');
    log.note(a, () => {
      made++;
      return '> S. 0:0(0) ack 1';
    });
    expect(made).toBe(0);
    const s = sink();
    await log.writeTo(s);
    expect(made).toBe(1);
    // Wire order, every note joined.
    expect(s.got).toEqual([
      { tsNs: 1n, comment: 'script line 3: < S' },
      { tsNs: 2n, comment: 'script line 4; > S. 0:0(0) ack 1' },
    ]);
  });

  it('writes no comment for a record without notes', () => {
    const log = new CaptureLog();
    const r = log.add({ data: Buffer.alloc(20), tsNs: 5n, direction: 'out' });
    expect(captureComment(r)).toBeUndefined();
    const s = sink();
    log.writeToSync(s);
    expect(s.got).toEqual([{ tsNs: 5n }]);
    expect(log.sniffed).toBe(1);
  });
});
