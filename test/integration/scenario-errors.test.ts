/**
 * Scenario modules that do not load exit 2 with the .ts file, line and
 * column; a verify() that never settles fails at the run's time limit; a
 * throw in verify() names its .ts line.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureBuilt, tundrill } from '../helpers/cli.js';

const skip = inject('integrationSkip');
let dir: string;
let SCRIPT: string;

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'tundrill-scenario-errors-'));
  // No packets and no timing: the script passes on any machine, so verify() always runs.
  SCRIPT = join(dir, 'command-only.pkt');
  writeFileSync(SCRIPT, '0 `true`\n');
  const head = `import { defineScenario } from 'tundrill/scenario';\n`;
  const scenario = (name: string, verify: string, extra = ''): string =>
    `export default defineScenario({ name: '${name}', description: 'x', script: { file: ${JSON.stringify(SCRIPT)} }, ${extra}\n  ${verify} });\n`;
  writeFileSync(join(dir, 'top-throw.ts'), `${head}const n: number = 1;\nif (n === 1) {\n  throw new Error('broken at load');\n}\n${scenario('t', 'verify() { return { pass: true, summary: "" }; }')}`);
  writeFileSync(join(dir, 'missing-import.ts'), `${head}import { helper } from './no-such-helper.js';\n${scenario('m', 'verify() { return helper(); }')}`);
  writeFileSync(join(dir, 'never.ts'), `${head}${scenario('never', 'verify() { return new Promise(() => {}); }', 'timeoutSecs: 10,')}`);
  writeFileSync(join(dir, 'throws.ts'), `${head}type T = { a: number };\n${scenario('throws', `verify() {
    const t: T = { a: 1 };
    if (t.a === 1) throw new Error('verify broke');
    return { pass: true, summary: '' };
  },`)}`);
}, 180_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(skip !== null)('scenario errors', () => {
  it('a throw at module top level: exit 2 at the .ts line and column', async () => {
    const r = await tundrill(['run', '--no-capture', join(dir, 'top-throw.ts')]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`tundrill: ${join(dir, 'top-throw.ts')}:4:9: broken at load`);
  });

  it('a missing import: exit 2 at the import', async () => {
    const r = await tundrill(['run', '--no-capture', join(dir, 'missing-import.ts')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^tundrill: ${join(dir, 'missing-import.ts')}:2:\\d+: Cannot find module .*no-such-helper\\.js.*\\(check the import\\)\\n$`));
  });

  it('a verify() that never settles fails at the time limit', async () => {
    const r = await tundrill(['run', '-q', '--no-capture', join(dir, 'never.ts')]);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/verify did not settle within \d+ s/);
  });

  it("a throw in verify() names the .ts line, and no temporary files stay", async () => {
    const before = readdirSync(tmpdir()).filter((f) => f.startsWith('tundrill-scenario-')).length;
    const r = await tundrill(['run', '-q', '--no-capture', join(dir, 'throws.ts')]);
    const out = r.stdout + r.stderr;
    expect(out).toMatch(new RegExp(`verify failed: verify broke \\(${join(dir, 'throws.ts')}:6:\\d+\\)`));
    expect(out).not.toMatch(/\n\s+at /);
    expect(r.code).toBe(1);
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith('tundrill-scenario-')).length).toBeLessThanOrEqual(before);
  });
});
