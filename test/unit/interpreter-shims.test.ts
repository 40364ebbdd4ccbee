/**
 * pyenv shims resolved once: a fake pyenv (shim, pyenv program, versions)
 * in a scratch folder, and real sh running the wrappers.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findOnPath, pyenvSelection, readPyenvShim, shimResolver, type ShimResolver } from '../../src/engine/interpreter-shims.js';

function exe(path: string, text: string): void {
  writeFileSync(path, text);
  chmodSync(path, 0o755);
}

describe('interpreter shims', () => {
  let base: string;
  let root: string;
  let work: string;
  let resolver: ShimResolver;
  let env: NodeJS.ProcessEnv;

  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'shims-test-'));
    root = join(base, 'pyenv');
    work = join(base, 'work');
    for (const d of ['shims', 'libexec', 'versions/9.9/bin', 'versions/8.8/bin']) mkdirSync(join(root, d), { recursive: true });
    mkdirSync(join(work, 'sub'), { recursive: true });
    // pyenv's shim, as `pyenv rehash` writes it.
    exe(join(root, 'shims', 'python3'), [
      '#!/usr/bin/env bash', 'set -e', '[ -n "$PYENV_DEBUG" ] && set -x', '', 'program="${0##*/}"', '',
      `export PYENV_ROOT="${root}"`, `exec "${root}/libexec/pyenv" exec "$program" "$@"`, '',
    ].join('\n'));
    // A pyenv that says which version, counts its `which` calls, and marks what it execs.
    exe(join(root, 'libexec', 'pyenv'), [
      '#!/bin/sh',
      'v=$(cat "$PYENV_ROOT/version"); d=$PWD',
      'while :; do if [ -f "$d/.python-version" ]; then v=$(cat "$d/.python-version"); break; fi; [ "$d" = / ] && break; d=$(dirname "$d"); done',
      'v=${PYENV_VERSION:-$v}',
      `if [ "$1" = which ]; then echo x >> "${base}/which-calls"; echo "$PYENV_ROOT/versions/$v/bin/$2"; exit 0; fi`,
      'if [ "$1" = exec ]; then shift; p=$1; shift; echo "shim $p $v $*"; exit 0; fi',
      'exit 1', '',
    ].join('\n'));
    for (const v of ['9.9', '8.8']) exe(join(root, 'versions', v, 'bin', 'python3'), `#!/bin/sh\necho "real ${v} $*"\n`);
    writeFileSync(join(root, 'version'), '9.9\n');
    env = { PATH: `${join(root, 'shims')}:/usr/bin:/bin`, PYENV_ROOT: root };
    resolver = shimResolver({ tmp: base });
  });

  afterEach(() => {
    resolver.close();
    rmSync(base, { recursive: true, force: true });
  });

  const run = (cwd: string, cmd: string, extra: NodeJS.ProcessEnv = {}): string =>
    execFileSync('/bin/sh', ['-c', cmd], { cwd, env: { ...env, PATH: resolver.pathFor(cwd, env), ...extra }, encoding: 'utf8' }).trim();

  it('reads a pyenv shim, and nothing else, as one', () => {
    expect(readPyenvShim(join(root, 'shims', 'python3'))).toEqual({ path: join(root, 'shims', 'python3'), pyenv: join(root, 'libexec', 'pyenv'), root });
    expect(readPyenvShim(join(root, 'versions', '9.9', 'bin', 'python3'))).toBeNull();
    expect(readPyenvShim(join(base, 'missing'))).toBeNull();
    expect(findOnPath('python3', env.PATH)).toBe(join(root, 'shims', 'python3'));
  });

  it('runs the interpreter pyenv names, asking pyenv once', () => {
    expect(run(work, 'python3 a b')).toBe('real 9.9 a b');
    expect(run(work, 'python3 c')).toBe('real 9.9 c');
    // Another folder with the same selection: a wrapper of its own, no new question.
    expect(run(join(work, 'sub'), 'python3')).toBe('real 9.9');
    expect(resolver.lookups).toBe(1);
    expect(readFileSync(join(base, 'which-calls'), 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('follows a .python-version file as pyenv does', () => {
    writeFileSync(join(work, '.python-version'), '8.8\n');
    expect(pyenvSelection(join(work, 'sub'), root, env)).toBe(`file:${join(work, '.python-version')}:8.8\n`);
    expect(run(join(work, 'sub'), 'python3')).toBe('real 8.8');
    expect(pyenvSelection(base, root, env)).toBe(`file:${join(root, 'version')}:9.9\n`);
    expect(run(base, 'python3')).toBe('real 9.9');
    expect(resolver.lookups).toBe(2);
  });

  it('leaves the decision to the shim when the selection changed after it was resolved', () => {
    // A command that sets PYENV_VERSION, or that moves to another folder.
    expect(run(work, 'PYENV_VERSION=8.8 python3 x')).toBe('shim python3 8.8 x');
    expect(run(work, 'cd / && python3 y')).toBe('shim python3 9.9 y');
    // Through a script's `#!/usr/bin/env python3` line as well.
    exe(join(work, 'tool.py'), '#!/usr/bin/env python3\n');
    expect(run(work, './tool.py z')).toBe(`real 9.9 ./tool.py z`);
  });

  it('resolves per PYENV_VERSION given to the run', () => {
    const pinned = { ...env, PYENV_VERSION: '8.8' };
    const path = resolver.pathFor(work, pinned);
    expect(execFileSync('/bin/sh', ['-c', 'python3'], { cwd: work, env: { ...pinned, PATH: path }, encoding: 'utf8' }).trim()).toBe('real 8.8');
    expect(run(work, 'python3')).toBe('real 9.9');
    expect(resolver.lookups).toBe(2);
  });

  it('makes the wrappers again when their folder was wiped', () => {
    const first = resolver.pathFor(work, env)!.split(':')[0]!;
    rmSync(first, { recursive: true });
    expect(run(work, 'python3')).toBe('real 9.9');
    expect(resolver.lookups).toBe(1);
  });

  it('changes nothing without a shim, when pyenv names nothing, or when told to keep the shims', () => {
    const plain = join(base, 'plain');
    mkdirSync(plain);
    exe(join(plain, 'python3'), '#!/bin/sh\necho plain\n');
    expect(resolver.pathFor(work, { PATH: `${plain}:/bin` })).toBe(`${plain}:/bin`);
    expect(resolver.pathFor(work, { ...env, TUNDRILL_KEEP_SHIMS: '1' })).toBe(env.PATH);
    const none = shimResolver({ tmp: base, which: () => null });
    expect(none.pathFor(work, env)).toBe(env.PATH);
    none.close();
    expect(resolver.lookups).toBe(0);
  });

  it('names the program a name comes to: the selected interpreter for a shim, the first on PATH otherwise', () => {
    expect(resolver.programFor('python3', work, env)).toBe(join(root, 'versions', '9.9', 'bin', 'python3'));
    writeFileSync(join(work, 'sub', '.python-version'), '8.8\n');
    expect(resolver.programFor('python3', join(work, 'sub'), env)).toBe(join(root, 'versions', '8.8', 'bin', 'python3'));
    expect(resolver.programFor('python3', work, { ...env, PYENV_VERSION: '8.8' })).toBe(join(root, 'versions', '8.8', 'bin', 'python3'));
    const plain = join(base, 'plain');
    mkdirSync(plain);
    exe(join(plain, 'python3'), '#!/bin/sh\necho plain\n');
    expect(resolver.programFor('python3', work, { PATH: `${plain}:/bin` })).toBe(join(plain, 'python3'));
    // Only the shim can tell: when told to keep the shims, when pyenv names none, when there is no such name.
    expect(resolver.programFor('python3', work, { ...env, TUNDRILL_KEEP_SHIMS: '1' })).toBeNull();
    const none = shimResolver({ tmp: base, which: () => null });
    expect(none.programFor('python3', work, env)).toBeNull();
    none.close();
    expect(resolver.programFor('python3', work, { PATH: plain.replace('plain', 'nowhere') })).toBeNull();
  });
});
