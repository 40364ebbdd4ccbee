/**
 * tundrill as a dependency: `npm pack` the package, install the tarball
 * (which builds the native addon) and vitest into a scratch project, check
 * that project's TypeScript against the package's `exports` types, and run
 * a vitest file there that imports `tundrill` and `tundrill/vitest`, runs
 * a script and a scenario and asserts on the typed evidence.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureBuilt, ROOT } from '../helpers/cli.js';

const skip = inject('integrationSkip');
if (skip) console.warn(`skipping the packed-package test: ${skip}`);

function sh(cmd: string, args: string[], cwd: string, timeoutMs: number): { status: number | null; out: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' } });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

let work = '';

describe.skipIf(skip !== null)('the packed package in a project of its own', () => {
  beforeAll(() => {
    ensureBuilt();
    work = mkdtempSync(join(tmpdir(), 'tundrill-package-'));
    // dist/ is up to date (ensureBuilt), so packing needs no scripts.
    const pack = sh('npm', ['pack', '--ignore-scripts', '--pack-destination', work, '--json'], ROOT, 120_000);
    if (pack.status !== 0) throw new Error(`npm pack failed:\n${pack.out}`);
    const tarball = join(work, (JSON.parse(pack.out.slice(pack.out.indexOf('['))) as Array<{ filename: string }>)[0]!.filename);
    const project = join(work, 'project');
    sh('mkdir', ['-p', project], work, 5_000);
    const vitestVersion = (JSON.parse(readFileSync(join(ROOT, 'node_modules', 'vitest', 'package.json'), 'utf8')) as { version: string }).version;
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'uses-tundrill', private: true, type: 'module' }, null, 2));
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: ['node'] },
      include: ['*.ts'],
    }, null, 2));
    // The registry's vitest (from npm's cache when it is there) and the tarball, whose install script builds the addon.
    const install = sh('npm', ['install', '--prefer-offline', '--no-save', tarball, `vitest@${vitestVersion}`, '@types/node@20'], project, 240_000);
    if (install.status !== 0) throw new Error(`npm install of the tarball failed:\n${install.out}`);
    copyFileSync(join(ROOT, 'test', 'fixtures', 'package', 'usage.vitest.ts'), join(project, 'usage.test.ts'));
  }, 420_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('installs with its types: the project type-checks against tundrill and tundrill/vitest', () => {
    const tsc = sh(process.execPath, [join(work, 'project', 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], join(work, 'project'), 120_000);
    expect(tsc.out).toBe('');
    expect(tsc.status).toBe(0);
  }, 150_000);

  it('runs a script and a scenario from the project\'s own vitest file', () => {
    const r = sh(process.execPath, [join(work, 'project', 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--reporter=verbose'], join(work, 'project'), 170_000);
    expect(r.out).toMatch(/3 passed/);
    expect(r.status, r.out).toBe(0);
  }, 180_000);
});
