/**
 * `tundrill run <scenario.ts>`: load the scenario, run its script in a
 * fresh namespace with its sysctls, sampling and hold, read the evidence
 * back, call its verify step, write the verdict next to the evidence and
 * print the summary.
 */
import { DEFAULT_STALL_RETRIES, withStallRetries } from '../runner/stall-retry.js';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { RunnerOptions } from '../runner/options.js';
import { evidenceFiles } from '../evidence/files.js';
import { compareScenarioVerdicts, formatCompareTable, type CompareTable } from '../report/device-compare.js';
import { deviceSuffix, type DeviceKind } from '../backend/devices.js';
import { planRuns, toSettings } from '../runner/plan.js';
import { runWorker } from '../runner/spawn.js';
import { stopExitCode, stopSignal } from '../runner/stop.js';
import { EXIT_ENVIRONMENT, EXIT_FAIL, EXIT_PASS, EXIT_USAGE } from '../engine/errors.js';
import type { RunResult } from '../engine/result.js';
import type { ReportedRun } from '../report/reports.js';
import { parseIpVersion, parseScript, settingDefines, type OptionSetting, type Script } from '../script/index.js';
import { toJsonLine } from '../evidence/timeline.js';
import { effectiveSettings, scenarioProblems, type Scenario, type Verdict } from './api.js';
import { loadEvidence, type EvidenceFiles, type ScenarioEvidence } from './evidence.js';
import { loadModule, ScenarioLoadError, tsLocation } from './loader.js';
import { formatSummary } from './summary.js';

/** Script time (µs) of each event line, relative times added up as written. */
export function lineTimes(script: Script): Map<number, number> {
  const out = new Map<number, number>();
  let t = 0;
  for (const ev of script.events) {
    const ts = ev.time;
    if (ts.kind === 'absolute' || ts.kind === 'absolute_range') t = ts.usecs;
    else if (ts.kind === 'relative' || ts.kind === 'relative_range') t += ts.usecs;
    out.set(ev.loc.line, t);
  }
  return out;
}

/** Load a scenario file and check its default export. */
export async function loadScenario(file: string): Promise<Scenario> {
  const { module } = await loadModule(file);
  const s = module.default;
  if (s === undefined) throw new ScenarioLoadError(`${file}: no default export (export default defineScenario({...}))`);
  const problems = scenarioProblems(s);
  if (problems.length > 0) throw new ScenarioLoadError(`${file}: not a scenario: ${problems.join('; ')}`);
  return s as Scenario;
}

export interface ScenarioOutcome {
  scenario: Scenario;
  verdict: Verdict;
  result: RunResult | null;
  evidence: ScenarioEvidence | null;
  exitCode: number;
  summary: string;
  /** The stop signal that ended the run before it finished. */
  interrupted?: NodeJS.Signals;
}

export interface RunScenarioOptions {
  /** Print the summary (default true). */
  print?: boolean;
  /** Where the run happens (default: a worker process on the host). */
  runWorker?: typeof runWorker;
  /** Parent of a temporary evidence folder with --no-capture (default the system's). */
  scratchDir?: string;
}

class VerifyTimeout extends Error {}

/** `p`, or a VerifyTimeout after `ms`. */
function withinTime<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new VerifyTimeout(`verify did not settle within ${Math.round(ms / 1000)} s (the run's time limit)`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** Run a loaded scenario. */
export async function runScenario(s: Scenario, file: string, args: RunnerOptions, ro: RunScenarioOptions = {}): Promise<ScenarioOutcome> {
  const started = performance.now();
  const long = args.long && s.long !== undefined;
  const settings = effectiveSettings(s, long);
  const print = ro.print ?? true;
  if (args.long && !s.long && print) process.stderr.write(`tundrill: scenario ${s.name} has no long version; running the default\n`);

  // Evidence folder: the capture folder, or a temporary one with --no-capture.
  const tempDir = args.capture ? null : mkdtempSync(join(ro.scratchDir ?? tmpdir(), 'tundrill-evidence-'));
  try {
    const dir = tempDir ?? resolve(args.captureDir);
    mkdirSync(dir, { recursive: true });

    const ipOption: OptionSetting[] = settings.ipVersion ? [{ name: 'ip_version', value: settings.ipVersion }] : [{ name: 'ip_version', value: 'ipv4' }];
    const user = [...ipOption, ...toSettings(settings.options ?? []), ...args.packetdrill];
    const variant = [...user].reverse().find((o) => o.name === 'ip_version')!.value!;
    const variantLabel = variant === 'ipv4-mapped-ipv6' ? 'ipv4-mapped-v6' : variant;
    const device = args.devices[0] ?? 'tun';
    const stem = `${s.name}${long ? '-long' : ''}_${variantLabel}${deviceSuffix(device)}`;

    let scriptPath: string;
    if (typeof settings.script === 'string') {
      scriptPath = join(dir, `${stem}.pkt`);
      writeFileSync(scriptPath, settings.script.endsWith('\n') ? settings.script : `${settings.script}\n`);
    } else {
      scriptPath = resolve(dirname(file), settings.script.file);
      if (!existsSync(scriptPath)) throw new ScenarioLoadError(`${file}: script file ${scriptPath} does not exist`);
    }
    const [run] = planRuns([scriptPath], { ksft: false, user });
    if (!run) throw new ScenarioLoadError(`${file}: no run planned for ${scriptPath}`);

    const source = readFileSync(scriptPath, 'utf8');
    let times = new Map<number, number>();
    let lastUsecs = 0;
    try {
      const defines = settingDefines(run.options);
      times = lineTimes(parseScript(source, { path: basename(scriptPath), defines, ...(parseIpVersion(variant) ? { ipVersion: parseIpVersion(variant)! } : {}) }));
      lastUsecs = Math.max(0, ...times.values());
    } catch {
      // The worker reports the script's errors.
    }

    const ssIntervalMs = settings.ssIntervalMs ?? args.ssIntervalMs;
    const holdMs = settings.hold?.maxMs ?? 0;
    const timeoutSecs = settings.timeoutSecs ?? Math.max(args.timeoutSecs, Math.ceil(lastUsecs / 1e6 + holdMs / 1000 + 30));
    const names = evidenceFiles(dir, stem, args.captureFormat);
    const files: EvidenceFiles = {
      dir,
      capture: names.capture,
      counters: names.counters,
      marks: names.marks,
      verdict: names.verdict,
      script: scriptPath,
    };
    if (ssIntervalMs > 0) files.timeline = names.timeline;
    // A run of the same stem before this one must not be mistaken for this one's evidence.
    for (const p of [files.capture, files.counters, files.marks, files.verdict, files.timeline]) if (p) rmSync(p, { force: true });

    const outcome = await withStallRetries(() => (ro.runWorker ?? runWorker)(
      {
        scriptPath,
        displayPath: basename(scriptPath),
        options: run.options,
        variant: run.variantLabel,
        verbose: args.verbose,
        device,
        evidence: { dir, stem, format: args.captureFormat, ssIntervalMs, sampler: args.sampler },
        sysctls: settings.sysctls ?? {},
        ...(settings.hold ? { hold: settings.hold } : {}),
        ...(args.oneCpu ? { oneCpu: true } : {}),
      },
      { timeoutMs: timeoutSecs * 1000, passthrough: args.verbose },
    ), args.stallRetries ?? DEFAULT_STALL_RETRIES, ro.runWorker ? null : undefined);

    let verdict: Verdict;
    let evidence: ScenarioEvidence | null = null;
    let scriptError: string | undefined;
    let exitCode = EXIT_PASS;
    const result = outcome.result;
    const stoppedBy = !result && !outcome.timedOut ? stopSignal() : null;
    if (stoppedBy) {
      // Ctrl-C, docker stop, a CI's time limit: the evidence so far is kept, the verdict says why there is none.
      verdict = { pass: false, summary: `interrupted by ${stoppedBy} before the run finished` };
      exitCode = stopExitCode();
    } else if (!result || outcome.timedOut) {
      const why = outcome.timedOut
        ? `timed out after ${timeoutSecs} s`
        : (outcome.stderr.trim() || `worker exited with status ${outcome.exitCode ?? outcome.signal}`);
      verdict = { pass: false, summary: `the run did not finish: ${why.split('\n')[0]}` };
      scriptError = why;
      exitCode = outcome.exitCode === EXIT_ENVIRONMENT ? EXIT_ENVIRONMENT : EXIT_FAIL;
    } else {
      try {
        evidence = loadEvidence({ scenario: s.name, long, variant: run.variantLabel, result, files, lineTimesUsecs: times });
      } catch (e) {
        scriptError = `evidence could not be read: ${(e as Error).message}`;
      }
      if (result.verdict !== 'pass') {
        verdict = { pass: false, summary: `the script failed: ${result.firstError?.headline ?? result.verdict}` };
        scriptError = result.firstError?.text;
        exitCode = result.exitCode === EXIT_USAGE || result.exitCode === EXIT_ENVIRONMENT ? result.exitCode : EXIT_FAIL;
      } else if (!evidence) {
        verdict = { pass: false, summary: 'no evidence to verify' };
        exitCode = EXIT_FAIL;
      } else {
        // verify gets what is left of the run's time limit; a promise that
        // never settles is a failure, not a silent pass.
        const leftMs = Math.max(5_000, timeoutSecs * 1000 - (performance.now() - started));
        try {
          verdict = await withinTime(Promise.resolve().then(() => s.verify(evidence!)), leftMs);
          if (typeof verdict !== 'object' || verdict === null || typeof verdict.pass !== 'boolean') {
            throw new Error('verify must return { pass, summary, ... }');
          }
        } catch (e) {
          const err = e instanceof Error ? e : new Error(String(e));
          const where = tsLocation(err.stack);
          verdict = { pass: false, summary: `verify failed: ${err.message}${where ? ` (${where})` : ''}` };
          // The summary names the .ts line; the whole trace only when debugging.
          if (process.env.TUNDRILL_DEBUG && process.env.TUNDRILL_DEBUG !== '0' && !(err instanceof VerifyTimeout)) scriptError = err.stack;
        }
        exitCode = verdict.pass ? EXIT_PASS : EXIT_FAIL;
      }
      if (result.device) {
        verdict.numbers = { ...verdict.numbers, device: result.device.kind };
        for (const [k, v] of Object.entries(result.device.numbers)) verdict.numbers[`device: ${k}`] = v;
      }
      for (const w of result.warnings) scriptError = scriptError ? `${scriptError}\n${w}` : w;
    }
    if (!tempDir) verdict.evidence = files;

    const seconds = (performance.now() - started) / 1000;
    if (!tempDir) {
      writeFileSync(files.verdict, toJsonLine({
        scenario: s.name,
        long,
        variant: run.variantLabel,
        pass: verdict.pass,
        summary: verdict.summary,
        checks: verdict.checks ?? [],
        numbers: verdict.numbers ?? {},
        tables: verdict.tables ?? [],
        script: { verdict: result?.verdict ?? 'error', error: result?.firstError?.text ?? scriptError ?? null },
        timeOrigin: evidence?.origin.source ?? null,
        seconds,
        // Only files the run wrote (and this one): one that ended early wrote fewer.
        evidence: Object.fromEntries(Object.entries(files).filter(([k, p]) => k === 'dir' || k === 'verdict' || existsSync(p as string))),
      }));
    }
    const summary = formatSummary({
      name: s.name,
      description: settings.description,
      variant: run.variantLabel,
      long,
      verdict,
      evidence,
      ...(scriptError ? { scriptError } : {}),
      seconds,
      quiet: args.quiet,
    });
    if (print) process.stdout.write(`${summary}\n`);
    return { scenario: s, verdict, result, evidence, exitCode, summary, ...(stoppedBy ? { interrupted: stoppedBy } : {}) };
  } finally {
    // --no-capture: the evidence was only needed for the verdict.
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  }
}

/** `tundrill run scenario.ts`: the exit status of the scenario (0 pass, 1 fail, 2 bad scenario, 4 environment). */
/**
 * A scenario run as a row of the run reports (TAP, JUnit, JSON): the
 * scenario's verdict decides, its summary is the message.
 */
export function scenarioReportRow(o: ScenarioOutcome, file: string): ReportedRun {
  const base: RunResult = o.result ?? {
    script: basename(file), variant: 'ipv4', verdict: 'error', exitCode: o.exitCode, durationMs: 0, warnings: [],
    evidence: {}, packets: { injected: 0, sniffed: 0 }, injectionErrorsUsecs: [],
  };
  const pass = o.verdict.pass;
  const result: RunResult = {
    ...base,
    script: basename(file),
    verdict: pass ? 'pass' : base.verdict === 'pass' ? 'fail' : base.verdict,
    exitCode: o.exitCode,
    ...(pass ? {} : {
      firstError: base.verdict === 'pass' || !base.firstError
        ? { line: 0, headline: `${o.scenario.name}: ${o.verdict.summary}`, text: o.summary, kind: o.interrupted ? 'interrupted' : 'scenario' }
        : base.firstError,
    }),
  };
  if (pass) delete result.firstError;
  return { path: basename(file), variant: base.variant, result, output: pass ? '' : o.summary };
}

/** Load and run a scenario file; the outcome, or an exit status when it could not run. */
export async function runScenarioFileOutcome(file: string, args: RunnerOptions, ro: RunScenarioOptions = {}): Promise<ScenarioOutcome | number> {
  let s: Scenario;
  try {
    s = await loadScenario(file);
  } catch (e) {
    if (e instanceof ScenarioLoadError || e instanceof TypeError || e instanceof SyntaxError) {
      process.stderr.write(`tundrill: ${e.message}\n`);
      return EXIT_USAGE;
    }
    throw e;
  }
  try {
    return await runScenario(s, file, args, ro);
  } catch (e) {
    if (e instanceof ScenarioLoadError) {
      process.stderr.write(`tundrill: ${e.message}\n`);
      return EXIT_USAGE;
    }
    throw e;
  }
}

export async function runScenarioFile(file: string, args: RunnerOptions): Promise<number> {
  const o = await runScenarioFileOutcome(file, args);
  return typeof o === 'number' ? o : o.exitCode;
}

/**
 * Run a scenario on each device in turn and compare the verdicts: one
 * table with the verdict, summary and every number per device, rows that
 * differ flagged.
 */
export async function compareScenarioOnDevices(
  file: string, devices: readonly DeviceKind[], args: RunnerOptions, ro: RunScenarioOptions = {},
): Promise<{ outcomes: ScenarioOutcome[]; table: CompareTable; exitCode: number } | number> {
  const outcomes: ScenarioOutcome[] = [];
  for (const d of devices) {
    const o = await runScenarioFileOutcome(file, { ...args, devices: [d] }, ro);
    if (typeof o === 'number') return o;
    outcomes.push(o);
  }
  const table = compareScenarioVerdicts(outcomes[0]!.scenario.name, outcomes.map((o, i) => ({
    device: devices[i]!, pass: o.verdict.pass, summary: o.verdict.summary, numbers: o.verdict.numbers ?? {},
  })));
  process.stdout.write(`\n${formatCompareTable(table)}\n`);
  return { outcomes, table, exitCode: Math.max(...outcomes.map((o) => o.exitCode)) };
}
