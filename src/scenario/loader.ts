/**
 * Load a scenario module written in TypeScript (or JavaScript) at run time.
 *
 * The file is transpiled with the `typescript` package's transpileModule
 * (types are stripped, not checked) into a private temporary folder, with
 * its import specifiers rewritten to absolute file URLs so that they still
 * point where the author meant:
 *
 *   - `tundrill`: this package's library API; `tundrill/scenario`: its scenario API;
 *   - a relative `.js` path into this package's `src/` (as the scenarios
 *     in `scenarios/` write it, `../src/scenario/index.js`): the compiled
 *     module under `dist/`;
 *   - a relative path to another `.ts` file (written `./x.js` or `./x.ts`):
 *     that file, transpiled the same way;
 *   - other relative paths: the file as it is;
 *   - bare package names: resolved from the scenario's own folder.
 *
 * The module is then imported; its default export is the scenario.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as TS from 'typescript';

/** This package's root folder (dist/scenario/loader.js is two levels below it). */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export class ScenarioLoadError extends Error {}

let tsModule: typeof TS | null = null;
async function typescript(): Promise<typeof TS> {
  if (!tsModule) {
    try {
      tsModule = (await import('typescript')).default as typeof TS;
    } catch (e) {
      throw new ScenarioLoadError(`cannot load the typescript package to run .ts scenarios (npm install typescript): ${(e as Error).message}`);
    }
  }
  return tsModule;
}

/** Where a specifier of `fromFile` should point, as an absolute file URL (or unchanged). */
export function resolveSpecifier(spec: string, fromFile: string, transpile: (tsFile: string) => string): string {
  if (spec.startsWith('node:') || isBuiltin(spec)) return spec;
  if (spec === 'tundrill') return pathToFileURL(join(PACKAGE_ROOT, 'dist', 'index.js')).href;
  if (spec === 'tundrill/scenario') return pathToFileURL(join(PACKAGE_ROOT, 'dist', 'scenario', 'index.js')).href;
  if (spec.startsWith('file:')) return spec;
  if (spec.startsWith('.') || spec.startsWith('/')) {
    const target = resolve(dirname(fromFile), spec);
    const srcRoot = join(PACKAGE_ROOT, 'src') + sep;
    if (target.startsWith(srcRoot) && /\.(js|ts)$/.test(target)) {
      const compiled = join(PACKAGE_ROOT, 'dist', relative(srcRoot, target).replace(/\.ts$/, '.js'));
      if (!existsSync(compiled)) {
        throw new ScenarioLoadError(`${fromFile} imports ${spec}, but ${compiled} does not exist: build tundrill first (npx tsc -p .)`);
      }
      return pathToFileURL(compiled).href;
    }
    if (target.endsWith('.ts') && existsSync(target)) return pathToFileURL(transpile(target)).href;
    if (target.endsWith('.js') && !existsSync(target)) {
      const ts = target.replace(/\.js$/, '.ts');
      if (existsSync(ts)) return pathToFileURL(transpile(ts)).href;
    }
    return pathToFileURL(target).href;
  }
  // A bare package name: resolve it from the scenario's folder, not from the temporary one.
  try {
    return pathToFileURL(createRequire(fromFile).resolve(spec)).href;
  } catch {
    return spec;
  }
}

function rewriter(ts: typeof TS, map: (spec: string) => string): TS.TransformerFactory<TS.SourceFile> {
  return (ctx) => (sf) => {
    const f = ctx.factory;
    const visit = (node: TS.Node): TS.Node => {
      if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
        return f.updateImportDeclaration(node, node.modifiers, node.importClause, f.createStringLiteral(map(node.moduleSpecifier.text)), node.attributes);
      }
      if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
        return f.updateExportDeclaration(node, node.modifiers, node.isTypeOnly, node.exportClause, f.createStringLiteral(map(node.moduleSpecifier.text)), node.attributes);
      }
      if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments.length >= 1 && ts.isStringLiteral(node.arguments[0]!)) {
        const [first, ...rest] = node.arguments;
        return f.updateCallExpression(node, node.expression, node.typeArguments, [f.createStringLiteral(map((first as TS.StringLiteral).text)), ...rest]);
      }
      return ts.visitEachChild(node, visit, ctx);
    };
    return ts.visitNode(sf, visit) as TS.SourceFile;
  };
}

export interface LoadedModule {
  /** The module's namespace object. */
  module: Record<string, unknown>;
  /** The temporary folder the transpiled files were in (removed once the module is loaded). */
  tempDir: string;
}

/** Transpile `file` (and the .ts files it imports) and import it. */
export async function loadModule(file: string): Promise<LoadedModule> {
  const ts = await typescript();
  const abs = resolve(file);
  if (!existsSync(abs)) throw new ScenarioLoadError(`${file}: no such file`);
  const tempDir = mkdtempSync(join(tmpdir(), 'tundrill-scenario-'));
  const done = new Map<string, string>();
  let n = 0;
  const transpile = (src: string): string => {
    const known = done.get(src);
    if (known) return known;
    const out = join(tempDir, `${n++}-${basename(src).replace(/\.[cm]?[jt]s$/, '')}.mjs`);
    done.set(src, out);
    const text = readFileSync(src, 'utf8');
    const r = ts.transpileModule(text, {
      fileName: src,
      reportDiagnostics: true,
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        inlineSourceMap: true,
        inlineSources: true,
        // Traces name the .ts file where it is, not the temporary copy.
        sourceRoot: `${pathToFileURL(dirname(src)).href}/`,
        allowJs: true,
      },
      transformers: { after: [rewriter(ts, (spec) => resolveSpecifier(spec, src, transpile))] },
    });
    const errors = (r.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error);
    if (errors.length > 0) {
      const msgs = errors.map((d) => {
        const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : null;
        const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
        return `${src}${where ? `:${where.line + 1}:${where.character + 1}` : ''}: ${text}`;
      });
      throw new ScenarioLoadError(msgs.join('\n'));
    }
    writeFileSync(out, r.outputText);
    return out;
  };
  // Stack traces of the module (at load time and in verify) name the .ts
  // file, line and column: Node reads the inline source maps as it loads.
  process.setSourceMapsEnabled(true);
  try {
    const entry = transpile(abs);
    const module = (await import(pathToFileURL(entry).href)) as Record<string, unknown>;
    return { module, tempDir };
  } catch (e) {
    if (e instanceof ScenarioLoadError) throw e;
    throw new ScenarioLoadError(moduleErrorLine(e, done));
  } finally {
    // Loaded (or failed): the transpiled files are no longer needed.
    rmSync(tempDir, { recursive: true, force: true });
  }
}

/** Where in the user's .ts files a stack trace first points: `file:line:col`. */
export function tsLocation(stack: string | undefined): string | null {
  for (const line of (stack ?? '').split('\n')) {
    const m = /\(?((?:file:\/\/)?\/[^():]+\.[cm]?[jt]s):(\d+):(\d+)\)?\s*$/.exec(line.trim());
    if (!m) continue;
    const file = m[1]!.startsWith('file:') ? fileURLToPath(m[1]!) : m[1]!;
    if (file.startsWith(join(PACKAGE_ROOT, 'dist') + sep) || file.includes(`${sep}node_modules${sep}`) || file.endsWith('.mjs')) continue;
    return `${file}:${m[2]}:${m[3]}`;
  }
  return null;
}

/** One line for an error thrown while a scenario module loads. */
function moduleErrorLine(e: unknown, transpiled: Map<string, string>): string {
  const err = e instanceof Error ? e : new Error(String(e));
  const code = (err as { code?: string }).code;
  const message = err.message.split('\n')[0]!;
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'ERR_UNSUPPORTED_DIR_IMPORT' || /does not provide an export named/.test(message)) {
    // The importing file is a transpiled one: name its source, and the import's line.
    const from = /imported from (\S+)/.exec(message)?.[1];
    for (const [src, out] of transpiled) {
      if (!message.includes(out) && from !== out && !(err.stack ?? '').includes(out)) continue;
      const missing = /(?:Cannot find (?:module|package) |named )'([^']+)'/.exec(message)?.[1];
      const spec = missing ? (/[\\/]/.test(missing) ? basename(missing).replace(/\.[cm]?js$/, '') : missing) : '';
      const text = readFileSync(src, 'utf8').split('\n');
      const lineNo = spec ? text.findIndex((l) => /\bimport\b|\bfrom\b/.test(l) && l.includes(spec)) : -1;
      const where = lineNo >= 0 ? `${src}:${lineNo + 1}:${text[lineNo]!.indexOf(spec) + 1}` : src;
      return `${where}: ${message.replace(/ imported from \S+/, '').replace(out, src)} (check the import)`;
    }
  }
  const where = tsLocation(err.stack);
  return `${where ?? [...transpiled.keys()][0] ?? 'scenario'}: ${err.name === 'Error' ? '' : `${err.name}: `}${message}`;
}
