/**
 * Test configuration.
 *
 * - unit: test/**\/*.test.ts outside test/integration; no privileges needed,
 *   files run in parallel.
 * - integration: test/integration/**\/*.test.ts; they open TUN devices in
 *   private network namespaces and judge packet timing, so they run one
 *   file at a time, after the unit tests, with generous time limits.
 *
 * Integration tests that need root read `inject('integrationSkip')`: null
 * when this machine can run them, otherwise the reason they are skipped
 * (e.g. `describe.skipIf(reason !== null)`).
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { defineConfig } from 'vitest/config';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Why root-only integration tests cannot run here, or null. */
    integrationSkip: string | null;
  }
}

function integrationSkipReason(): string | null {
  if (process.platform !== 'linux') return 'needs Linux';
  if (process.getuid?.() !== 0) return 'needs root (TUN devices and network namespaces)';
  if (!existsSync('/dev/net/tun')) return 'no /dev/net/tun';
  try {
    accessSync('/dev/net/tun', constants.R_OK | constants.W_OK);
  } catch {
    return '/dev/net/tun is not readable and writable';
  }
  if (spawnSync('unshare', ['--version']).status !== 0) return 'no unshare(1)';
  if (spawnSync('unshare', ['--net', 'true']).status !== 0) return 'cannot create network namespaces (unshare --net)';
  return null;
}

const integrationSkip = integrationSkipReason();

export default defineConfig({
  test: {
    provide: { integrationSkip },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/integration/**', '**/node_modules/**'],
          testTimeout: 30_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
