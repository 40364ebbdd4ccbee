/**
 * Failures of a run, with the exit statuses tundrill shares with packetdrill
 * runners: 0 pass, 1 test failure, 2 usage or syntax error, 4 unsuitable
 * environment.
 */

export const EXIT_PASS = 0;
export const EXIT_FAIL = 1;
export const EXIT_USAGE = 2;
export const EXIT_ENVIRONMENT = 4;

export type FailureKind =
  | 'packet' // an outbound packet was wrong, late, early or missing
  | 'syscall' // a system call returned something else
  | 'command' // a backtick command failed
  | 'code' // a %{ }% block failed
  | 'semantic' // the script asks for something impossible at run time
  | 'timing' // an event happened outside its tolerance
  | 'internal';

/**
 * A test failure at a script line. `message` is the whole text as
 * packetdrill would print it without the `path:line: ` prefix, e.g.
 * `error handling packet: live packet field tcp_syn: expected: 1 (0x1) vs actual: 0 (0x0)`
 * followed by `script packet:` / `actual packet:` lines.
 */
export class TestFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    readonly line: number,
    message: string,
    /** Extra lines shown after the message (packet dumps). */
    readonly details: string[] = [],
    readonly column?: number,
  ) {
    super(message);
    this.name = 'TestFailure';
  }

  /** `path:line: message` and its detail lines, as packetdrill prints it. */
  format(scriptPath: string): string {
    const head = this.line > 0 ? `${scriptPath}:${this.line}: ${this.message}` : `${scriptPath}: ${this.message}`;
    return [head, ...this.details].join('\n');
  }
}

/** The machine cannot run tests (not root, no TUN, no namespaces, ...). */
export class EnvironmentError extends Error {
  constructor(message: string, readonly hint: string) {
    super(message);
    this.name = 'EnvironmentError';
  }
}
