/**
 * Typed scenarios: a packetdrill script plus what to set up around it (IP
 * variant, sysctls, ss sampling, a hold after the script) and a verify step
 * that turns the run's evidence into a verdict.
 *
 *   import { defineScenario, check, verdict } from 'tundrill/scenario';
 *
 *   export default defineScenario({
 *     name: 'my-case',
 *     description: 'what it shows',
 *     script: `0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3 ...`,
 *     sysctls: { 'net.ipv4.tcp_orphan_retries': '2' },
 *     hold: { maxMs: 10_000, untilSocketGone: true },
 *     verify(ev) {
 *       const fins = ev.finTransmissions();
 *       return verdict('FIN retransmitted', [check('FIN sent 3 times or more', fins.packets.length >= 3, `${fins.packets.length}`)]);
 *     },
 *   });
 *
 * Run it with `tundrill run my-case.ts`.
 */
import type { HoldOptions } from '../runner/hold.js';
import type { IpVersion } from '../engine/config.js';
import type { EvidenceFiles, ScenarioEvidence } from './evidence.js';

export type { HoldOptions };

/** What a run is made of; `long` may replace any of these. */
export interface ScenarioSettings {
  /** The packetdrill script: its text, or a file (relative to the scenario file). */
  script: string | { file: string };
  /** Default 'ipv4'. A --ip_version on the command line wins. */
  ipVersion?: IpVersion;
  /** Written in the run's namespace before the script starts, e.g. { 'net.ipv4.tcp_orphan_retries': '2' }. */
  sysctls?: Record<string, string>;
  /** ss sampling interval, ms; default the command line's --ss-interval (100). */
  ssIntervalMs?: number;
  /** Keep capturing and sampling after the script's last event. */
  hold?: HoldOptions;
  /** packetdrill options for the run, e.g. ['--tolerance_usecs=10000']. */
  options?: string[];
  /** Run time limit, seconds; default: long enough for the script and the hold. */
  timeoutSecs?: number;
}

export interface Scenario extends ScenarioSettings {
  /** Names the evidence files; letters, digits, '-', '_' and '.'. */
  name: string;
  description: string;
  /** Replacements for `tundrill run --long` (each given field replaces the default one). */
  long?: Partial<ScenarioSettings> & { description?: string };
  verify(evidence: ScenarioEvidence): Verdict | Promise<Verdict>;
}

export interface Check {
  name: string;
  ok: boolean;
  /** The measured values behind it. */
  detail: string;
}

export type NumberValue = number | string | boolean | null | readonly number[];

/** A table for the summary, e.g. the retransmissions with their times and intervals. */
export interface Table {
  title: string;
  header: string[];
  rows: string[][];
}

export interface Verdict {
  pass: boolean;
  /** One line. */
  summary: string;
  checks?: Check[];
  /** Key figures, by name (units in the name). */
  numbers?: Record<string, NumberValue>;
  tables?: Table[];
  /** Filled in by the runner: where the evidence is. */
  evidence?: EvidenceFiles;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Check a scenario's shape (it comes from a user's file) and return it, typed. */
export function defineScenario<S extends Scenario>(scenario: S): S {
  const problems = scenarioProblems(scenario);
  if (problems.length > 0) throw new TypeError(`scenario ${String((scenario as { name?: unknown }).name ?? '')}: ${problems.join('; ')}`);
  return scenario;
}

export function scenarioProblems(s: unknown): string[] {
  const out: string[] = [];
  if (typeof s !== 'object' || s === null) return ['not an object'];
  const o = s as Record<string, unknown>;
  if (typeof o.name !== 'string' || !NAME.test(o.name)) out.push('name must be letters, digits, ".", "-" or "_"');
  if (typeof o.description !== 'string') out.push('description must be a string');
  if (typeof o.verify !== 'function') out.push('verify must be a function');
  const settings = (x: Record<string, unknown>, where: string): void => {
    const sc = x.script;
    if (where === '' || sc !== undefined) {
      const okScript = typeof sc === 'string' || (typeof sc === 'object' && sc !== null && typeof (sc as { file?: unknown }).file === 'string');
      if (!okScript) out.push(`${where}script must be the script's text or { file }`);
    }
    if (x.ipVersion !== undefined && !['ipv4', 'ipv4-mapped-ipv6', 'ipv6'].includes(x.ipVersion as string)) out.push(`${where}ipVersion must be ipv4, ipv4-mapped-ipv6 or ipv6`);
    if (x.sysctls !== undefined) {
      if (typeof x.sysctls !== 'object' || x.sysctls === null) out.push(`${where}sysctls must be an object`);
      else for (const [k, v] of Object.entries(x.sysctls)) if (typeof v !== 'string' || !/^[a-z0-9_.\-/]+$/i.test(k)) out.push(`${where}sysctl ${k} must have a string value`);
    }
    if (x.ssIntervalMs !== undefined && !(typeof x.ssIntervalMs === 'number' && x.ssIntervalMs >= 0)) out.push(`${where}ssIntervalMs must be a number >= 0`);
    if (x.hold !== undefined) {
      const h = x.hold as Record<string, unknown>;
      if (typeof h !== 'object' || h === null || typeof h.maxMs !== 'number' || !(h.maxMs >= 0)) out.push(`${where}hold.maxMs must be a number >= 0`);
    }
    if (x.options !== undefined && !(Array.isArray(x.options) && x.options.every((a) => typeof a === 'string'))) out.push(`${where}options must be strings`);
    if (x.timeoutSecs !== undefined && !(typeof x.timeoutSecs === 'number' && x.timeoutSecs > 0)) out.push(`${where}timeoutSecs must be a positive number`);
  };
  settings(o, '');
  if (o.long !== undefined) {
    if (typeof o.long !== 'object' || o.long === null) out.push('long must be an object');
    else settings(o.long as Record<string, unknown>, 'long.');
  }
  return out;
}

/** The settings a run uses: the defaults, or with --long the long version's replacements. */
export function effectiveSettings(s: Scenario, long: boolean): ScenarioSettings & { description: string } {
  const base: ScenarioSettings & { description: string } = {
    script: s.script,
    description: s.description,
  };
  for (const k of ['ipVersion', 'sysctls', 'ssIntervalMs', 'hold', 'options', 'timeoutSecs'] as const) {
    if (s[k] !== undefined) (base as unknown as Record<string, unknown>)[k] = s[k];
  }
  if (!long || !s.long) return base;
  return { ...base, ...s.long };
}

/** A named check. */
export function check(name: string, ok: boolean, detail = ''): Check {
  return { name, ok, detail };
}

/** A verdict that passes when every check passes. */
export function verdict(
  summary: string,
  checks: Check[],
  extra: { numbers?: Record<string, NumberValue>; tables?: Table[]; failSummary?: string } = {},
): Verdict {
  const pass = checks.every((c) => c.ok);
  const failed = checks.filter((c) => !c.ok).map((c) => c.name);
  const v: Verdict = {
    pass,
    summary: pass ? summary : (extra.failSummary ?? `failed: ${failed.join('; ')}`),
    checks,
  };
  if (extra.numbers) v.numbers = extra.numbers;
  if (extra.tables) v.tables = extra.tables;
  return v;
}
