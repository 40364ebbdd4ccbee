/**
 * A script the worker cannot read is a one-line error result, not an
 * exception that ends the worker (in a microVM guest, the host would then
 * wait for the run's time limit).
 */
import { describe, expect, it } from 'vitest';
import { runScript } from '../../src/engine/run-script.js';
import type { SystemUnderTest } from '../../src/backend/system-under-test.js';

const untouched = new Proxy({}, {
  get: (_t, name) => { throw new Error(`the system under test was used (${String(name)})`); },
}) as SystemUnderTest;

describe('runScript with a script it cannot read', () => {
  it('returns an error whose headline names the script and the reason, without opening the system under test', async () => {
    const r = await runScript({ scriptPath: '/nonexistent/tundrill/gone.pkt', displayPath: 'gone.pkt', commandLine: [], variant: 'ipv4' }, untouched);
    expect(r.verdict).toBe('error');
    expect(r.exitCode).toBe(2);
    expect(r.firstError?.headline).toMatch(/^gone\.pkt: cannot read the script: ENOENT/);
    expect(r.firstError?.headline).not.toContain('\n');
  });
});
