/**
 * The runner's stop handling takes over a stop signal that the entry point
 * kept while the CLI was loading: it counts as received (no new runs, the
 * stop's exit status), and the entry point's handler is removed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { holdStop, releaseStop, stopExitCode, stopSignal } from '../../src/runner/stop.js';

const KEY = Symbol.for('tundrill.earlyStop');
const g = globalThis as Record<symbol, unknown>;

afterEach(() => {
  delete g[KEY];
});

describe('a signal kept by the entry point', () => {
  it('is taken over by the first holdStop, and its handler removed', () => {
    const handler = (): void => undefined;
    process.on('SIGHUP', handler);
    g[KEY] = { signal: 'SIGHUP', handler };
    expect(stopSignal()).toBeNull();
    const stderr = process.stderr.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      holdStop();
    } finally {
      process.stderr.write = stderr;
    }
    expect(process.listeners('SIGHUP')).not.toContain(handler);
    expect(stopSignal()).toBe('SIGHUP');
    expect(stopExitCode()).toBe(129);
    expect((g[KEY] as { handler: unknown }).handler).toBeNull();
    releaseStop();
  });
});
