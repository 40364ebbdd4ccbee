/**
 * Version-manager shims, resolved once instead of at every call.
 *
 * With pyenv, `python3` on PATH is a shim: a bash script that runs pyenv to
 * find which interpreter the directory selects, then execs it. Here that
 * costs about 0.4 s of CPU a call, ten times the interpreter's own start. A
 * packetdrill corpus calls `python3` once a script for its `%{ }%` blocks
 * and again in its commands (`set_sysctls.py`): packetdrill, one script at
 * a time, only waits longer, but runs side by side share the CPUs, and the
 * shims alone took half of the gtests corpus's CPU time, so that the
 * scripts' timed events waited for a CPU.
 *
 * So commands and code run with a directory of our own first on PATH. It
 * holds, for each shimmed name (`python3`, `python`), a two-line sh script:
 * when the selection pyenv made for this run still holds (same
 * PYENV_VERSION, same working directory), it execs the interpreter pyenv
 * named; otherwise it execs the shim itself, which decides as always. The
 * interpreter is asked of pyenv once (`pyenv which`) per selection: the
 * PYENV_VERSION variable, else the nearest `.python-version` file above the
 * directory, else pyenv's global version file, as pyenv itself looks them
 * up. TUNDRILL_KEEP_SHIMS=1 turns this off.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** The names a script may call that pyenv shims (the code command is `python3`). */
const SHIMMED_NAMES = ['python3', 'python'];

/** What a pyenv shim script says about its pyenv. */
export interface PyenvShim {
  /** The shim's path. */
  path: string;
  /** The pyenv program it execs. */
  pyenv: string;
  /** PYENV_ROOT it exports. */
  root: string;
}

/** The first executable `name` on `pathVar`. */
export function findOnPath(name: string, pathVar: string | undefined): string | null {
  for (const dir of (pathVar ?? '').split(':')) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return null;
}

/** A pyenv shim's pyenv and root, or null when `path` is not one. */
export function readPyenvShim(path: string): PyenvShim | null {
  let text: string;
  try {
    text = readFileSync(path, { encoding: 'latin1' }).slice(0, 2048);
  } catch {
    return null;
  }
  if (!text.startsWith('#!')) return null;
  const exec = /^exec "([^"]+)" exec "\$program" "\$@"$/m.exec(text);
  const root = /^export PYENV_ROOT="([^"]+)"$/m.exec(text);
  if (!exec || !root) return null;
  return { path, pyenv: exec[1]!, root: root[1]! };
}

/**
 * What selects the version for `cwd`, as pyenv looks it up: PYENV_VERSION,
 * else the nearest `.python-version` above `cwd`, else `<root>/version`
 * (its contents, so that an edit between runs is seen).
 */
export function pyenvSelection(cwd: string, root: string, env: NodeJS.ProcessEnv): string {
  if (env.PYENV_VERSION) return `env:${env.PYENV_VERSION}`;
  for (let dir = cwd; ; dir = dirname(dir)) {
    const file = join(dir, '.python-version');
    const text = readOrNull(file);
    if (text !== null) return `file:${file}:${text}`;
    if (dirname(dir) === dir) break;
  }
  const global = join(root, 'version');
  return `file:${global}:${readOrNull(global) ?? ''}`;
}

function readOrNull(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** The sh script that stands in for a shim while pyenv's choice holds. */
export function wrapperScript(shim: string, interpreter: string, cwd: string, pyenvVersion: string): string {
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  let real = cwd;
  try {
    real = realpathSync(cwd);
  } catch {
    /* the logical path alone */
  }
  // sh takes $PWD from the environment when it names the working directory, else from getcwd().
  const here = real === cwd ? `[ "$PWD" = ${q(cwd)} ]` : `{ [ "$PWD" = ${q(cwd)} ] || [ "$PWD" = ${q(real)} ]; }`;
  return [
    '#!/bin/sh',
    `if [ "\${PYENV_VERSION-}" = ${q(pyenvVersion)} ] && ${here}; then exec ${q(interpreter)} "$@"; fi`,
    `exec ${q(shim)} "$@"`,
    '',
  ].join('\n');
}

export interface ShimResolver {
  /** The PATH for commands and code run in `cwd`: `env.PATH` with a wrapper directory first, or unchanged. */
  pathFor(cwd: string, env?: NodeJS.ProcessEnv): string | undefined;
  /**
   * The program `name` run in `cwd` comes to: the interpreter pyenv selects
   * there when `name` is a shim, else the first `name` on PATH; null when
   * that cannot be told without running the shim (or there is none).
   */
  programFor(name: string, cwd: string, env?: NodeJS.ProcessEnv): string | null;
  /** Remove the wrapper directories. */
  close(): void;
  /** How many times pyenv was asked (for tests). */
  readonly lookups: number;
}

export interface ShimResolverOptions {
  /** Where wrapper directories go (default: the OS's temporary directory). */
  tmp?: string;
  /** Ask pyenv which interpreter `name` is (default: `<pyenv> which <name>` in `cwd`). */
  which?: (shim: PyenvShim, name: string, cwd: string, env: NodeJS.ProcessEnv) => string | null;
}

function pyenvWhich(shim: PyenvShim, name: string, cwd: string, env: NodeJS.ProcessEnv): string | null {
  const r = spawnSync(shim.pyenv, ['which', name], { cwd, env: { ...env, PYENV_ROOT: shim.root }, encoding: 'utf8', timeout: 30_000 });
  const out = (r.stdout ?? '').trim();
  if (r.status !== 0 || !out.startsWith('/') || out.includes('\n')) return null;
  try {
    accessSync(out, constants.X_OK);
    return out;
  } catch {
    return null;
  }
}

export function shimResolver(opts: ShimResolverOptions = {}): ShimResolver {
  const which = opts.which ?? pyenvWhich;
  /** selection key -> name -> interpreter (null: pyenv named none) */
  const interpreters = new Map<string, Map<string, string | null>>();
  /** cwd + selection -> the wrapper scripts (name, text, interpreter), and the directory last made for them */
  const wrappers = new Map<string, { scripts: Array<[string, string, string]>; dir: string | null }>();
  const made: string[] = [];
  let lookups = 0;

  const scriptsFor = (cwd: string, env: NodeJS.ProcessEnv, shims: Array<{ name: string; shim: PyenvShim }>): Array<[string, string, string]> => {
    const scripts: Array<[string, string, string]> = [];
    for (const { name, shim } of shims) {
      const key = `${shim.root}\0${pyenvSelection(cwd, shim.root, env)}`;
      let byName = interpreters.get(key);
      if (!byName) interpreters.set(key, (byName = new Map()));
      let interpreter = byName.get(name);
      if (interpreter === undefined) {
        lookups++;
        interpreter = which(shim, name, cwd, env);
        byName.set(name, interpreter);
      }
      if (interpreter) scripts.push([name, wrapperScript(shim.path, interpreter, cwd, env.PYENV_VERSION ?? ''), interpreter]);
    }
    return scripts;
  };

  /** The wrapper scripts for `cwd`, or null when no name there is a pyenv shim. */
  const wrapperFor = (cwd: string, env: NodeJS.ProcessEnv): { scripts: Array<[string, string, string]>; dir: string | null } | null => {
    const shims = SHIMMED_NAMES
      .map((name) => ({ name, path: findOnPath(name, env.PATH) }))
      .map(({ name, path }) => ({ name, shim: path ? readPyenvShim(path) : null }))
      .filter((x): x is { name: string; shim: PyenvShim } => x.shim !== null);
    if (shims.length === 0) return null;
    const key = `${cwd}\0${env.PYENV_VERSION ?? ''}\0${shims.map(({ shim }) => pyenvSelection(cwd, shim.root, env)).join('\0')}`;
    let w = wrappers.get(key);
    if (!w) wrappers.set(key, (w = { scripts: scriptsFor(cwd, env, shims), dir: null }));
    return w;
  };

  const wrapperDir = (cwd: string, env: NodeJS.ProcessEnv): string | null => {
    const w = wrapperFor(cwd, env);
    if (!w || w.scripts.length === 0) return null;
    // A worker wipes its private /tmp after every run: make the directory again when it went.
    if (w.dir === null || !existsSync(join(w.dir, w.scripts[0]![0]))) {
      w.dir = mkdtempSync(join(opts.tmp ?? tmpdir(), 'tundrill-shims-'));
      made.push(w.dir);
      for (const [name, text] of w.scripts) writeFileSync(join(w.dir, name), text, { mode: 0o755 });
    }
    return w.dir;
  };

  return {
    pathFor(cwd, env = process.env) {
      if (env.TUNDRILL_KEEP_SHIMS === '1') return env.PATH;
      let dir: string | null = null;
      try {
        dir = wrapperDir(cwd, env);
      } catch {
        dir = null; // the shims then decide, as always
      }
      return dir ? `${dir}:${env.PATH ?? ''}` : env.PATH;
    },
    programFor(name, cwd, env = process.env) {
      const found = findOnPath(name, env.PATH);
      if (!found) return null;
      if (!readPyenvShim(found)) return found;
      if (env.TUNDRILL_KEEP_SHIMS === '1') return null;
      try {
        return wrapperFor(cwd, env)?.scripts.find(([n]) => n === name)?.[2] ?? null;
      } catch {
        return null;
      }
    },
    close() {
      for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
      for (const w of wrappers.values()) w.dir = null;
    },
    get lookups() {
      return lookups;
    },
  };
}

let shared: ShimResolver | null = null;

/** The process's resolver, whose wrapper directories go when the process exits. */
export function processShims(): ShimResolver {
  if (!shared) {
    shared = shimResolver();
    const r = shared;
    process.once('exit', () => r.close());
  }
  return shared;
}
