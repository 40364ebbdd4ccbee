/**
 * Telling that a blocking system call sleeps in the kernel, as the engine
 * does before it moves on to the next event (packetdrill waits for its
 * syscall thread the same way), inside a PID namespace of its own with the
 * host's /proc, as tundrill's workers run (runner/worker-process.ts): the
 * thread id the native thread reports must be the one /proc lists.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const child = path.join(root, 'test/fixtures/children/blocked-call.mjs');

function skipReason(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (PID namespaces)';
  if (spawnSync('unshare', ['--version']).status !== 0) return 'no unshare(1)';
  if (!existsSync(path.join(root, 'dist/engine/native-executor.js'))) return 'dist/ not built (npm run build)';
  return null;
}

const reason = skipReason();
if (reason) console.warn(`skipping blocked-call test: ${reason}`);

describe.skipIf(reason !== null)('a blocking call, seen from a PID namespace of its own', () => {
  it('is found asleep in /proc, and a long call that never sleeps is waited for to its end', () => {
    const r = spawnSync('unshare', ['--pid', '--fork', '--net', '--kill-child', process.execPath, child, root], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { readState: string; callUs: number; blockedOrDoneBeforeEndUs: number };
    // A read of an empty pipe: its thread, by the id the addon reports, sleeps.
    expect(out.readState).toBe('S');
    // getrandom() of 64 MiB runs for tens of milliseconds without sleeping:
    // the engine must not take it for blocked while it runs.
    expect(out.callUs).toBeGreaterThan(5_000);
    expect(out.blockedOrDoneBeforeEndUs).toBeLessThanOrEqual(0);
  }, 90_000);
});
