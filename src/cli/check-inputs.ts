/**
 * Everything `tundrill run` is given is checked before the first run starts:
 * option values, the scripts and scenarios, the report files and the
 * capture folder. A mistake ends the command at once with one line (exit
 * status 2) instead of costing the results of runs that already happened.
 */
import { accessSync, closeSync, constants, mkdirSync, openSync, readSync, rmSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describeFileError, InputError } from './failure.js';

/** Longest time a Node timer can wait (2^31 - 1 ms), in whole seconds. */
export const MAX_TIMEOUT_SECS = 2_147_483;
/** Longest sensible ss sampling interval: a minute (0 turns sampling off). */
export const MAX_SS_INTERVAL_MS = 60_000;
/** Most runs at once: each worker is a Node process of about 50 MB. */
export const MAX_JOBS = 64;

export interface CheckedOptions {
  jobs?: number;
  timeoutSecs: number;
  ssIntervalMs: number;
}

/** Option values in range; throws an InputError naming the option. */
export function checkOptionValues(o: CheckedOptions): void {
  if (o.jobs !== undefined && (!Number.isInteger(o.jobs) || o.jobs < 1 || o.jobs > MAX_JOBS)) {
    throw new InputError(`-j/--jobs must be a whole number from 1 to ${MAX_JOBS}, not ${o.jobs}`);
  }
  if (!(o.timeoutSecs > 0) || o.timeoutSecs > MAX_TIMEOUT_SECS) {
    throw new InputError(`--timeout must be more than 0 and at most ${MAX_TIMEOUT_SECS} seconds, not ${o.timeoutSecs}`);
  }
  if (!(o.ssIntervalMs === 0 || (o.ssIntervalMs >= 1 && o.ssIntervalMs <= MAX_SS_INTERVAL_MS))) {
    throw new InputError(`--sample-interval must be 0 (off) or from 1 to ${MAX_SS_INTERVAL_MS} ms, not ${o.ssIntervalMs}`);
  }
}

/** A script or scenario that exists and can be read: a file (or, where folders are allowed, a folder). */
export function checkReadable(path: string, opts: { folderAllowed: boolean }): void {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw new InputError(describeFileError(e, path, 'read') ?? `cannot read ${path}`);
  }
  if (st.isDirectory()) {
    if (!opts.folderAllowed) throw new InputError(`cannot read ${path}: it is a folder (name a script file)`);
    try {
      accessSync(path, constants.R_OK | constants.X_OK);
    } catch (e) {
      throw new InputError(describeFileError(e, path, 'read the folder') ?? `cannot read the folder ${path}`);
    }
    return;
  }
  if (!st.isFile()) throw new InputError(`cannot read ${path}: not a regular file (name a script file)`);
  // Open and read a byte: access() says yes to root even where reading fails.
  let fd = -1;
  try {
    fd = openSync(path, 'r');
    readSync(fd, Buffer.alloc(1), 0, 1, 0);
  } catch (e) {
    throw new InputError(describeFileError(e, path, 'read') ?? `cannot read ${path}`);
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/** The file's status, or null when it cannot be had (missing, or not reachable). */
function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

/**
 * A report file that can be written: not a folder, in a folder that exists,
 * and writable. Nothing is left behind by the check.
 */
export function checkReportFile(option: string, path: string): void {
  const abs = resolve(path);
  const st = statOrNull(abs);
  if (st?.isDirectory()) throw new InputError(`${option} ${path}: is a folder (name a file to write the report to)`);
  const dir = dirname(abs);
  let dst;
  try {
    dst = statSync(dir);
  } catch {
    // Reports create their folder, as the capture folder is created.
    try {
      mkdirSync(dir, { recursive: true });
      dst = statSync(dir);
    } catch (e) {
      throw new InputError(`${option} ${path}: ${describeFileError(e, dir, 'create the folder') ?? `cannot create the folder ${dir}`}`);
    }
  }
  if (!dst.isDirectory()) throw new InputError(`${option} ${path}: ${dir} is not a folder (check the path)`);
  probeWrite(option, path, st ? abs : join(dir, `.tundrill-probe-${process.pid}`), st !== null);
}

/**
 * The capture folder: not a file, created when missing, writable (a file
 * is created and removed there).
 */
export function checkCaptureDir(path: string): void {
  const abs = resolve(path);
  const st = statOrNull(abs);
  if (st && !st.isDirectory()) throw new InputError(`--capture-dir ${path}: is a file, not a folder (name a folder, or --no-capture)`);
  if (!st) {
    try {
      mkdirSync(abs, { recursive: true });
    } catch (e) {
      throw new InputError(`--capture-dir ${path}: ${describeFileError(e, abs, 'create') ?? `cannot create ${abs}`}`);
    }
  }
  probeWrite('--capture-dir', path, join(abs, `.tundrill-probe-${process.pid}`), false);
}

function probeWrite(option: string, shown: string, file: string, exists: boolean): void {
  try {
    if (exists) {
      closeSync(openSync(file, 'r+'));
    } else {
      writeFileSync(file, 'x', { flag: 'wx' });
      rmSync(file, { force: true });
    }
  } catch (e) {
    rmSync(file, { force: true });
    const place = exists ? file : dirname(file);
    const why = describeFileError(e, place, exists ? 'write' : 'write in') ?? `cannot write ${file}`;
    throw new InputError(`${option} ${shown}: ${why}`);
  }
}
