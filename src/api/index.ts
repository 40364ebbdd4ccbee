/**
 * tundrill as a library: run a packetdrill script or a scenario from a
 * program or a test and get typed results back.
 *
 *   import { runScript, runScenario, defineScenario } from 'tundrill';
 *   const run = await runScript('closing.pkt', { ipVersion: 'ipv4' });
 *   run.pass; run.firstError?.line; run.timing; run.evidence?.finTransmissions();
 *
 * Each run happens as with `tundrill run`: in a worker process inside a
 * fresh network namespace (root, /dev/net/tun and unshare are needed;
 * `tundrill doctor` says what is missing). The evidence (decoded capture,
 * ss timeline, counter differences) is read back into memory; with
 * `captureDir` the files stay there as well.
 */
import { basename, resolve } from 'node:path';
import { formatChecks, runChecks } from '../runner/environment.js';
import { defaultRunnerOptions, type RunnerOptions } from '../runner/options.js';
import type { HoldOptions } from '../scenario/api.js';
import type { IpVersion } from '../engine/config.js';
import type { EventTiming, FirstError, RunResult, Verdict as RunVerdict } from '../engine/result.js';
import { check, verdict as scenarioVerdict, type Scenario, type Verdict } from '../scenario/api.js';
import type { ScenarioEvidence } from '../scenario/evidence.js';
import { loadScenario, runScenario as runLoadedScenario } from '../scenario/runner.js';

export interface RunOptions {
  /** Default 'ipv4' (a scenario's own ipVersion otherwise). */
  ipVersion?: IpVersion;
  /** packetdrill command-line options, e.g. ['--tolerance_usecs=10000', '-D', 'X=1']. */
  options?: string[];
  /** Keep the evidence files here (default: read into memory, files removed). */
  captureDir?: string;
  /** ss sampling interval, ms (default 100, 0 = off). */
  ssIntervalMs?: number;
  /** Per-run time limit, seconds (default 180). */
  timeoutSecs?: number;
  /** Print packets and the worker's output. */
  verbose?: boolean;
}

export interface ScriptOptions extends RunOptions {
  /** sysctls written in the run's namespace before the script starts. */
  sysctls?: Record<string, string>;
  /** Keep capturing and sampling after the last event. */
  hold?: HoldOptions;
}

export interface ScenarioOptions extends RunOptions {
  /** The long version of the scenario. */
  long?: boolean;
  /** Folder a scenario object's `script: { file }` is relative to (default: the working directory). */
  baseDir?: string;
  /** Print the scenario's summary as `tundrill run` does (default false). */
  print?: boolean;
}

/** The outcome of a script run. */
export interface ScriptRun {
  /** The script passed (packetdrill's verdict). */
  pass: boolean;
  verdict: RunVerdict;
  /** packetdrill's exit status: 0 pass, 1 fail, 2 usage or syntax, 4 unsuitable environment. */
  exitCode: number;
  /** The first error: script line, packetdrill's message. */
  firstError?: FirstError;
  durationMs: number;
  /** Every event whose time was checked: expected and actual script time, tolerance. */
  timing: EventTiming[];
  /** The decoded evidence (packets, ss series, counters), or null when the run left none. */
  evidence: ScenarioEvidence | null;
  /** Everything the worker reported. */
  result: RunResult | null;
}

/** The outcome of a scenario run: its verdict and the script run under it. */
export interface ScenarioRun extends ScriptRun {
  name: string;
  /** The scenario's own verdict: summary, checks, numbers, tables. */
  scenario: Verdict;
  /** The summary `tundrill run` prints. */
  summary: string;
}

/** The machine cannot run tests (not root, no /dev/net/tun, no namespaces). */
export class EnvironmentError extends Error {}

let environmentChecked = false;
function checkEnvironment(): void {
  if (environmentChecked) return;
  const missing = runChecks({ fix: false }).filter((c) => c.required && !c.ok);
  if (missing.length > 0) throw new EnvironmentError(`tundrill: this machine cannot run tests:\n${formatChecks(missing)}`);
  environmentChecked = true;
}

function runArgs(o: RunOptions, long: boolean): RunnerOptions {
  const defaults = defaultRunnerOptions('');
  return {
    ...defaults, timeoutSecs: o.timeoutSecs ?? 180,
    captureDir: o.captureDir ? resolve(o.captureDir) : '', capture: o.captureDir !== undefined,
    ssIntervalMs: o.ssIntervalMs ?? defaults.ssIntervalMs, verbose: o.verbose ?? false, quiet: true, long,
  };
}

async function run(s: Scenario, file: string, o: ScenarioOptions): Promise<ScenarioRun> {
  checkEnvironment();
  const withOptions: Scenario = {
    ...s,
    ...(o.ipVersion ? { ipVersion: o.ipVersion } : {}),
    ...(o.options ? { options: [...(s.options ?? []), ...o.options] } : {}),
    ...(o.ssIntervalMs !== undefined ? { ssIntervalMs: o.ssIntervalMs } : {}),
  };
  const out = await runLoadedScenario(withOptions, file, runArgs(o, o.long ?? false), { print: o.print ?? false });
  const r = out.result;
  const timing = r?.timing ?? [];
  const scriptRun: ScriptRun = {
    pass: out.verdict.pass,
    verdict: r?.verdict ?? 'error',
    exitCode: out.exitCode,
    durationMs: r?.durationMs ?? 0,
    timing,
    evidence: out.evidence,
    result: r,
  };
  if (r?.firstError) scriptRun.firstError = r.firstError;
  return { ...scriptRun, name: s.name, scenario: out.verdict, summary: out.summary };
}

/** Run one packetdrill script once, in one IP variant. */
export async function runScript(path: string, o: ScriptOptions = {}): Promise<ScriptRun> {
  const file = resolve(path);
  const name = basename(file).replace(/\.pkt$/, '').replace(/[^A-Za-z0-9._-]/g, '_');
  const s: Scenario = {
    name,
    description: `packetdrill script ${basename(file)}`,
    script: { file },
    ...(o.sysctls ? { sysctls: o.sysctls } : {}),
    ...(o.hold ? { hold: o.hold } : {}),
    ...(o.timeoutSecs !== undefined ? { timeoutSecs: o.timeoutSecs } : {}),
    verify: () => scenarioVerdict('the script ran', [check('script verdict', true)]),
  };
  const out = await run(s, file, o);
  const { name: _n, scenario: _s, summary: _m, ...scriptRun } = out;
  // A script run's verdict is the script's own.
  scriptRun.pass = scriptRun.verdict === 'pass';
  return scriptRun;
}

/** Run a scenario: a defineScenario() object, or the path of a scenario file (.ts or .js). */
export async function runScenario(scenario: Scenario | string, o: ScenarioOptions = {}): Promise<ScenarioRun> {
  if (typeof scenario === 'string') {
    const file = resolve(scenario);
    return run(await loadScenario(file), file, o);
  }
  // A scenario object: its script file is relative to baseDir.
  return run(scenario, resolve(o.baseDir ?? process.cwd(), `${scenario.name}.scenario`), o);
}
