/**
 * vitest matchers for tundrill results (`tundrill/vitest`):
 *
 *   import { expect } from 'vitest';
 *   import { tundrillMatchers } from 'tundrill/vitest';
 *   expect.extend(tundrillMatchers);
 *
 *   expect(run).toPass();                           // the script (or scenario) passed
 *   expect(run).toFailAtLine(17);                   // failed at that script line
 *   expect(run).toRetransmitFinWithBackoff({ atLeast: 3 }); // FIN sent again, intervals doubling
 *
 * Each failure message says what happened (the first error, the intervals).
 */
import type {} from 'vitest';
import type { ScriptRun } from '../api/index.js';
import type { BackoffOptions } from '../scenario/backoff.js';
import type { ScenarioEvidence } from '../scenario/evidence.js';

export interface FinBackoffOptions extends BackoffOptions {
  /** Fewest transmissions of the FIN (the first one included); default 3. */
  atLeast?: number;
}

interface MatcherResult {
  pass: boolean;
  message: () => string;
}

function isRun(x: unknown): x is ScriptRun {
  return typeof x === 'object' && x !== null && 'verdict' in x && 'timing' in x && 'evidence' in x;
}

function evidenceOf(x: unknown): ScenarioEvidence | null {
  if (isRun(x)) return x.evidence;
  if (typeof x === 'object' && x !== null && 'finTransmissions' in x) return x as ScenarioEvidence;
  return null;
}

function describeRun(r: ScriptRun): string {
  const s = (r as { scenario?: { summary?: string } }).scenario?.summary;
  if (r.firstError) return `${r.verdict}: ${r.firstError.headline}`;
  return s ? `${r.verdict}: ${s}` : r.verdict;
}

export const tundrillMatchers = {
  toPass(received: unknown): MatcherResult {
    if (!isRun(received)) return { pass: false, message: () => 'expected a result of runScript() or runScenario()' };
    return {
      pass: received.pass,
      message: () => (received.pass ? 'expected the run not to pass, but it passed' : `expected the run to pass, but: ${describeRun(received)}`),
    };
  },

  toFailAtLine(received: unknown, line: number): MatcherResult {
    if (!isRun(received)) return { pass: false, message: () => 'expected a result of runScript() or runScenario()' };
    const at = received.firstError?.line;
    return {
      pass: !received.pass && at === line,
      message: () => (received.pass
        ? `expected the run to fail at line ${line}, but it passed`
        : `expected the run to fail at line ${line}, it failed at line ${at ?? 0}: ${describeRun(received)}`),
    };
  },

  toRetransmitFinWithBackoff(received: unknown, opts: FinBackoffOptions = {}): MatcherResult {
    const ev = evidenceOf(received);
    if (!ev) return { pass: false, message: () => 'expected a run with evidence, or its evidence' };
    const fins = ev.finTransmissions();
    const atLeast = opts.atLeast ?? 3;
    const times = fins.timesMs;
    // The retransmission timer's series: from the last transmission before its first timeout (the original or a loss probe).
    const kinds = ev.retransmissionKinds(fins);
    const firstTimeout = kinds.indexOf('timeout');
    const series = firstTimeout > 0 ? times.slice(firstTimeout - 1).filter((_, i) => i === 0 || kinds[firstTimeout - 1 + i] === 'timeout') : [];
    const backoff = ev.checkBackoff(series, opts);
    const ok = times.length >= atLeast && backoff.ok;
    const seen = `FIN sent ${times.length} times at ${times.map((t) => t.toFixed(1)).join(', ')} ms; intervals ${backoff.intervalsMs.map((t) => t.toFixed(1)).join(', ')} ms`;
    return {
      pass: ok,
      message: () => (ok
        ? `expected no FIN retransmissions with ${backoff.description}, but ${seen}`
        : `expected the FIN sent at least ${atLeast} times with ${backoff.description}; ${seen}${backoff.problems.length ? `: ${backoff.problems.join('; ')}` : ''}`),
    };
  },
};

export interface TundrillMatchers<R = unknown> {
  toPass(): R;
  toFailAtLine(line: number): R;
  toRetransmitFinWithBackoff(opts?: FinBackoffOptions): R;
}

declare module 'vitest' {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any, @typescript-eslint/no-empty-object-type
  interface Matchers<T = any> extends TundrillMatchers<T> {}
}
