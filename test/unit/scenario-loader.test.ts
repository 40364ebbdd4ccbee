/**
 * Scenario files: the API's shape checks and settings, loading TypeScript
 * scenarios at run time (imports of the package, of this repository's
 * sources, of other .ts files), error messages for broken files, and a
 * type check of the seed scenarios in scenarios/.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { check, defineScenario, effectiveSettings, scenarioProblems, verdict, type Scenario } from '../../src/scenario/api.js';
import { loadModule, PACKAGE_ROOT, resolveSpecifier, ScenarioLoadError } from '../../src/scenario/loader.js';
import { lineTimes, loadScenario } from '../../src/scenario/runner.js';
import { parseScript } from '../../src/script/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BUILT = existsSync(join(ROOT, 'dist', 'scenario', 'index.js'));
const tmp = mkdtempSync(join(tmpdir(), 'tundrill-scenario-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const minimal = { name: 'x', description: 'd', script: '0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n', verify: () => ({ pass: true, summary: '' }) };

describe('defineScenario', () => {
  it('returns a valid scenario unchanged', () => {
    expect(defineScenario(minimal)).toBe(minimal);
    expect(scenarioProblems({ ...minimal, script: { file: 'a.pkt' }, hold: { maxMs: 10, untilSocketGone: true }, sysctls: { 'net.ipv4.tcp_orphan_retries': '2' } })).toEqual([]);
  });
  it('names every problem', () => {
    expect(() => defineScenario({ ...minimal, name: 'bad name' })).toThrow(/name must be letters/);
    expect(scenarioProblems({ name: 'x' })).toEqual([
      'description must be a string',
      'verify must be a function',
      "script must be the script's text or { file }",
    ]);
    expect(scenarioProblems({ ...minimal, ipVersion: 'ipv5', hold: { maxMs: -1 }, sysctls: { a: 2 } })).toEqual([
      'ipVersion must be ipv4, ipv4-mapped-ipv6 or ipv6',
      'sysctl a must have a string value',
      'hold.maxMs must be a number >= 0',
    ]);
    expect(scenarioProblems({ ...minimal, long: { timeoutSecs: 0 } })).toEqual(['long.timeoutSecs must be a positive number']);
    expect(scenarioProblems(null)).toEqual(['not an object']);
  });
});

describe('effectiveSettings', () => {
  const s: Scenario = {
    ...minimal,
    sysctls: { 'net.ipv4.tcp_orphan_retries': '2' },
    hold: { maxMs: 15_000, untilSocketGone: true },
    long: { description: 'long one', sysctls: {}, hold: { maxMs: 200_000, untilSocketGone: true } },
  };
  it('the defaults without --long', () => {
    expect(effectiveSettings(s, false)).toEqual({ script: minimal.script, description: 'd', sysctls: { 'net.ipv4.tcp_orphan_retries': '2' }, hold: { maxMs: 15_000, untilSocketGone: true } });
  });
  it('the long version replaces what it gives', () => {
    expect(effectiveSettings(s, true)).toEqual({ script: minimal.script, description: 'long one', sysctls: {}, hold: { maxMs: 200_000, untilSocketGone: true } });
    expect(effectiveSettings(minimal, true).description).toBe('d');
  });
});

describe('verdict', () => {
  it('passes when every check passes', () => {
    const v = verdict('all good', [check('a', true, '1'), check('b', true)], { numbers: { n: 1 } });
    expect(v).toEqual({ pass: true, summary: 'all good', checks: [{ name: 'a', ok: true, detail: '1' }, { name: 'b', ok: true, detail: '' }], numbers: { n: 1 } });
  });
  it('names the failed checks, or says what the scenario wants', () => {
    expect(verdict('x', [check('a', false), check('b', true), check('c', false)]).summary).toBe('failed: a; c');
    expect(verdict('x', [check('a', false)], { failSummary: 'nope' })).toMatchObject({ pass: false, summary: 'nope' });
  });
});

describe('script line times', () => {
  it('adds relative times up as written', () => {
    const s = parseScript('0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0.1 close(3) = 0\n0.5 `true`\n+1 `true`\n* > S 0:0(0) <mss 1460>\n+0.2~+0.4 > . 1:1(0) ack 1\n', { path: 'x.pkt' });
    expect([...lineTimes(s)]).toEqual([[1, 0], [2, 100_000], [3, 500_000], [4, 1_500_000], [5, 1_500_000], [6, 1_700_000]]);
  });
});

describe('resolveSpecifier', () => {
  const from = join(tmp, 'a', 'scenario.ts');
  const none = (): string => {
    throw new Error('not expected');
  };
  it('leaves node builtins alone', () => {
    expect(resolveSpecifier('node:fs', from, none)).toBe('node:fs');
    expect(resolveSpecifier('path', from, none)).toBe('path');
  });
  it('maps the package name and this repository\'s sources to dist/', () => {
    const api = pathToFileURL(join(PACKAGE_ROOT, 'dist', 'scenario', 'index.js')).href;
    expect(resolveSpecifier('tundrill/scenario', from, none)).toBe(api);
    expect(resolveSpecifier('tundrill', from, none)).toBe(pathToFileURL(join(PACKAGE_ROOT, 'dist', 'index.js')).href);
    if (BUILT) {
      expect(resolveSpecifier('../src/scenario/index.js', join(ROOT, 'scenarios', 'x.ts'), none)).toBe(api);
    }
  });
  it('says to build when dist/ lacks the module', () => {
    expect(() => resolveSpecifier('../src/nothing-here.js', join(ROOT, 'scenarios', 'x.ts'), none)).toThrow(/does not exist: build tundrill first/);
  });
});

describe.skipIf(!BUILT)('loading a TypeScript scenario', () => {
  it('transpiles it with the .ts files it imports and imports it', async () => {
    const dir = join(tmp, 'user');
    mkdirSync(join(dir, 'lib'), { recursive: true });
    writeFileSync(join(dir, 'lib', 'numbers.ts'), 'export interface N { n: number }\nexport const twice = (x: number): number => x * 2;\n');
    writeFileSync(join(dir, 'mine.ts'), [
      "import { defineScenario, check, verdict, type ScenarioEvidence } from 'tundrill/scenario';",
      "import { twice, type N } from './lib/numbers.js';",
      'const n: N = { n: twice(21) };',
      'export default defineScenario({',
      "  name: 'mine', description: 'a user scenario', script: { file: 'x.pkt' },",
      "  verify: (_ev: ScenarioEvidence) => verdict('ok', [check('n is 42', n.n === 42)]),",
      '});',
      '',
    ].join('\n'));
    const s = await loadScenario(join(dir, 'mine.ts'));
    expect(s.name).toBe('mine');
    const v = await s.verify(undefined as never);
    expect(v.pass).toBe(true);
  });
  it('reports syntax errors with file, line and column', async () => {
    const f = join(tmp, 'broken.ts');
    writeFileSync(f, 'export default {\n  name: "x",,\n};\n');
    await expect(loadModule(f)).rejects.toThrow(ScenarioLoadError);
    await expect(loadModule(f)).rejects.toThrow(/broken\.ts:2:\d+: /);
  });
  it('says when there is no default export or it is not a scenario', async () => {
    const f = join(tmp, 'nodefault.ts');
    writeFileSync(f, 'export const x = 1;\n');
    await expect(loadScenario(f)).rejects.toThrow(/no default export/);
    const g = join(tmp, 'notscenario.ts');
    writeFileSync(g, 'export default { name: "g" };\n');
    await expect(loadScenario(g)).rejects.toThrow(/not a scenario: description must be a string/);
    await expect(loadModule(join(tmp, 'missing.ts'))).rejects.toThrow(/no such file/);
  });
  it('loads every seed scenario', async () => {
    const files = readdirSync(join(ROOT, 'scenarios')).filter((f) => f.endsWith('.ts'));
    expect(files.sort()).toEqual(expect.arrayContaining(['close-wait.ts', 'closing-backoff.ts', 'tun-skb-orphan-held.ts', 'tun-skb-orphan.ts']));
    for (const f of files) {
      const s = await loadScenario(join(ROOT, 'scenarios', f));
      expect(s.name).toBe(f.replace(/\.ts$/, ''));
    }
  });
});

describe('the seed scenarios type-check', () => {
  it('strict TypeScript finds no error in scenarios/*.ts', () => {
    const files = readdirSync(join(ROOT, 'scenarios')).filter((f) => f.endsWith('.ts')).map((f) => join(ROOT, 'scenarios', f));
    const program = ts.createProgram(files, {
      strict: true, noEmit: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022, skipLibCheck: true, types: ['node'], esModuleInterop: true,
    });
    const diags = ts.getPreEmitDiagnostics(program).map((d) => {
      const where = d.file && d.start !== undefined ? `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}` : '';
      return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
    expect(diags).toEqual([]);
  }, 60_000);
});
