/**
 * Errors found while reading a script.
 *
 * `message` is the line packetdrill itself prints for the same problem, so
 * verdicts and runners that match on it keep working:
 *   syntax:   `<file>:<line>: parse error at '<token>': syntax error`
 *   semantic: `<file>:<line>: semantic error: <reason>`
 *   option:   `<file>: option '<name>' unknown` (and the other option errors)
 * The line is the one packetdrill reports (for syntax errors the line where
 * the offending token ends; for semantic errors the line of the statement).
 *
 * `detail` adds the column and, for syntax errors, what was expected:
 *   `<file>:<line>:<col>: syntax error: unexpected '<token>', expected <what>`
 */

import type { Loc } from './ast.js';

export type ScriptErrorKind = 'syntax' | 'semantic' | 'option';

export interface ScriptErrorInit {
  kind: ScriptErrorKind;
  path: string;
  /**
   * Line packetdrill reports. Option errors carry the option's line here,
   * although packetdrill's message for them has no line.
   */
  line: number;
  /** 1-based column of the offending token or construct (0 when unknown). */
  column: number;
  /** The bare reason, e.g. `bad ICMP code frag_needed` or `syntax error`. */
  reason: string;
  /** Syntax errors: the offending token's text ('' at end of file). */
  token?: string;
  /** Syntax errors: what the parser would have accepted there. */
  expected?: string;
  /** Start of the offending token or construct, when known. */
  at?: Loc;
}

export class ScriptError extends Error {
  readonly kind: ScriptErrorKind;
  readonly path: string;
  readonly line: number;
  readonly column: number;
  readonly reason: string;
  readonly token?: string;
  readonly expected?: string;
  /** Start of the offending token or construct, when known. */
  readonly at?: Loc;

  constructor(init: ScriptErrorInit) {
    super(formatPacketdrill(init));
    this.name = 'ScriptError';
    this.kind = init.kind;
    this.path = init.path;
    this.line = init.line;
    this.column = init.column;
    this.reason = init.reason;
    if (init.token !== undefined) this.token = init.token;
    if (init.expected !== undefined) this.expected = init.expected;
    if (init.at !== undefined) this.at = init.at;
  }

  /** Alias of `path`. */
  get file(): string {
    return this.path;
  }

  /** A more precise message with the column (and expectations for syntax errors). */
  get detail(): string {
    const line = this.at?.line ?? this.line;
    const column = this.at?.column ?? this.column;
    const where = line > 0 ? `${this.path}:${line}${column > 0 ? `:${column}` : ''}` : this.path;
    switch (this.kind) {
      case 'syntax': {
        const tok = this.token === '' || this.token === undefined ? 'end of file' : `'${this.token}'`;
        const exp = this.expected ? `, expected ${this.expected}` : '';
        return `${where}: syntax error: unexpected ${tok}${exp}`;
      }
      case 'semantic':
        return `${where}: semantic error: ${this.reason}`;
      case 'option':
        return `${where}: ${this.reason}`;
    }
  }
}

function formatPacketdrill(e: ScriptErrorInit): string {
  switch (e.kind) {
    case 'syntax':
      return `${e.path}:${e.line}: parse error at '${e.token ?? ''}': ${e.reason}`;
    case 'semantic':
      return `${e.path}:${e.line}: semantic error: ${e.reason}`;
    case 'option':
      return `${e.path}: ${e.reason}`;
  }
}
