import { describe, expect, it } from 'vitest';
import { mayStream, setNextEventDue, STREAM_GAP_NS } from '../../src/evidence/stream-gate.js';

describe('stream gate', () => {
  it('lets evidence stream when no clock runs, or when the next event is at least the gap away', () => {
    const now = 5_000_000_000n;
    setNextEventDue(null);
    expect(mayStream(now)).toBe(true);
    setNextEventDue(now + STREAM_GAP_NS - 1n);
    expect(mayStream(now)).toBe(false);
    setNextEventDue(now - 1_000_000n); // overdue: the engine is at it now
    expect(mayStream(now)).toBe(false);
    setNextEventDue(now + STREAM_GAP_NS);
    expect(mayStream(now)).toBe(true);
    setNextEventDue(null);
    expect(mayStream(now)).toBe(true);
  });
});
