import { describe, expect, it } from 'vitest';
import { mayStream, setNextEventDue, STREAM_GAP_NS, streamInGaps } from '../../src/evidence/stream-gate.js';

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

describe('streamInGaps', () => {
  it('runs a round only when the gate allows it', async () => {
    let rounds = 0;
    setNextEventDue(1n); // overdue: an event is due now
    const timer = streamInGaps(() => { rounds++; }, 2);
    await new Promise((r) => setTimeout(r, 20));
    expect(rounds).toBe(0);
    setNextEventDue(null);
    await new Promise((r) => setTimeout(r, 20));
    clearInterval(timer);
    expect(rounds).toBeGreaterThan(0);
  });
});
