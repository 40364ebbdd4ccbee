/**
 * How the command ends when something goes wrong: one line saying what
 * happened and what to do, the right exit status, and all output written
 * before the process exits (a pipe may hold less than the output).
 *
 * A stack trace is printed only with TUNDRILL_DEBUG=1.
 */
import { EXIT_USAGE } from '../engine/errors.js';

/** A problem with what the user asked for: one line, exit status 2 unless told. */
export class InputError extends Error {
  constructor(message: string, readonly exitCode: number = EXIT_USAGE) {
    super(message);
    this.name = 'InputError';
  }
}

export function debugEnabled(): boolean {
  const v = process.env.TUNDRILL_DEBUG;
  return v !== undefined && v !== '' && v !== '0';
}

interface SystemError {
  code?: string;
  path?: string;
  syscall?: string;
  message?: string;
}

function asSystemError(e: unknown): SystemError | null {
  if (typeof e !== 'object' || e === null) return null;
  const s = e as SystemError;
  return typeof s.code === 'string' ? s : null;
}

/** What a file system error means for `path`, and what to do about it. */
export function describeFileError(e: unknown, path: string, doing: string): string | null {
  const s = asSystemError(e);
  if (!s) return null;
  switch (s.code) {
    case 'ENOENT': return `cannot ${doing} ${path}: no such file or folder (check the path)`;
    case 'EISDIR': return `cannot ${doing} ${path}: it is a folder (name a file)`;
    case 'ENOTDIR': return `cannot ${doing} ${path}: a part of the path is a file, not a folder (check the path)`;
    case 'EACCES': case 'EPERM': return `cannot ${doing} ${path}: permission denied (check its permissions and owner)`;
    case 'EROFS': return `cannot ${doing} ${path}: read-only file system (choose a writable place)`;
    case 'ENOSPC': return `cannot ${doing} ${path}: no space left on the device (free some space or choose another place)`;
    case 'EDQUOT': return `cannot ${doing} ${path}: disk quota exceeded (free some space or choose another place)`;
    case 'ENAMETOOLONG': return `cannot ${doing} ${path}: the name is too long`;
    case 'ELOOP': return `cannot ${doing} ${path}: too many symbolic links (check the path)`;
    case 'EMFILE': case 'ENFILE': return `cannot ${doing} ${path}: too many open files (raise ulimit -n)`;
    case 'EIO': return `cannot ${doing} ${path}: input/output error (check the device)`;
    default: return null;
  }
}

/** One line for any error, without a stack trace. */
export function oneLine(e: unknown): string {
  const s = asSystemError(e);
  if (s?.path) {
    const known = describeFileError(e, s.path, s.syscall ? `${s.syscall}` : 'use');
    if (known) return known;
  }
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n').find((l) => l.trim() !== '')?.trim() ?? String(e);
}

/** Set by a signal handler: the status the process ends with. */
let exiting = false;

/**
 * Exit with `code` once everything written to stdout and stderr has been
 * handed to the operating system. `process.exit` alone drops what a pipe has
 * not yet taken.
 */
export async function exitAfterDrain(code: number): Promise<never> {
  if (!exiting) {
    exiting = true;
    process.exitCode = code;
    await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  }
  process.exit(code);
}

function flushed(stream: NodeJS.WriteStream): Promise<void> {
  if (stream.destroyed || stream.writableLength === 0) return Promise.resolve();
  return new Promise((done) => {
    // An empty write's callback runs after everything queued before it.
    stream.write('', () => done());
    stream.once('error', () => done());
  });
}

/** The last words of the command for an error nobody caught. */
export function reportUnexpected(e: unknown): string {
  if (debugEnabled()) return `tundrill: internal error: ${e instanceof Error && e.stack ? e.stack : String(e)}`;
  return `tundrill: ${oneLine(e)} (TUNDRILL_DEBUG=1 shows where it happened)`;
}
