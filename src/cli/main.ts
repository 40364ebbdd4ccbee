/**
 * The `tundrill` command.
 *
 *   tundrill run [options] <script.pkt | folder | scenario.ts>...
 *   tundrill parse <script.pkt>...
 *   tundrill doctor [--fix]
 *   tundrill conformance [--corpus gtests|selftests|all] [-j N]
 */
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EXIT_ENVIRONMENT, EXIT_FAIL, EXIT_PASS, EXIT_USAGE } from '../engine/errors.js';
import type { RunResult } from '../engine/result.js';
import { parseScript, ScriptError } from '../script/index.js';
import { parseRunArgs, UsageError, type RunArgs } from './args.js';
import { formatChecks, runChecks } from './doctor.js';
import { planRuns, PlanError, type PlannedRun } from './plan.js';
import { runWorker } from './spawn.js';
import { deviceSuffix } from '../backend/devices.js';
import { WorkerPool } from './pool.js';
import { runLine, summarize, summaryLine, writeJson, writeJunit, writeTap, type ReportedRun } from '../report/reports.js';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const USAGE = `usage:
  tundrill run [options] <script.pkt | folder | scenario.ts>...
  tundrill parse <script.pkt>...
  tundrill doctor [--fix]
  tundrill conformance [--corpus gtests|selftests|all] [-j N] [--filter S] [--save [--merge]] [--check] [--no-retry]

run options (packetdrill's, override the scripts' own option lines):
  --ip_version=ipv4|ipv4-mapped-ipv6|ipv6   run only this variant
  --local_ip= --remote_ip= --gateway_ip= --netmask_ip= --mtu= --mss=
  --bind_port= --connect_port= --tolerance_usecs= --tolerance_percent=
  --tcp_ts_tick_usecs= --tcp_ts_ecr_scaled --strict_segments --non_fatal=
  -D NAME=VALUE, --define=NAME=VALUE        define a symbol
  -v, --verbose                             print commands' output and packets
  --dry_run                                 parse only
run options (tundrill's):
  -j, --jobs N             runs at once (default: chosen for timing fidelity)
  --ksft                   run as the kernel selftests do (ipv4 and ipv6, or the script's --ip_version)
  --timeout SECS           per-run time limit (default 180)
  --capture-dir DIR        where evidence goes (default ./captures)
  --pcap                   classic pcap instead of pcapng
  --no-capture             keep no capture
  --ss-interval MS         ss -tinoe sampling interval (default 100, 0 = off)
  --tap FILE --junit FILE --json FILE   reports
  -q, --quiet              only the summary
  --long                   scenarios: the long version
  --device D               the path between kernel and harness: tun (default, drained),
                           tun-lazy (read on demand, observed with AF_PACKET), veth,
                           a comma list, or all (runs each and compares them line by line)

exit status: 0 all passed, 1 a test failed, 2 usage or syntax error, 4 unsuitable environment`;

/**
 * Runs at once. A run mostly waits for its script's clock, so several per
 * core keep the machine busy; measured on 2 cores over the gtests corpus
 * (480 rows, first pass): -j 4 116.7 s / 469 agree, -j 6 83.4 s / 474,
 * -j 8 63.9 s / 471, -j 10 55.7 s / 471 -- agreement does not drop with
 * -j up to 10, so the default is 5 per core.
 */
export function defaultJobs(): number {
  return Math.max(1, availableParallelism() * 5);
}

function environmentProblem(): string | null {
  const checks = runChecks({ fix: false }).filter((c) => c.required && !c.ok);
  if (checks.length === 0) return null;
  return `tundrill: this machine cannot run tests:\n${formatChecks(checks)}`;
}

async function pool<T, R>(items: T[], n: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(n, items.length) }, async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      out[i] = await fn(items[i]!, i);
    }
  });
  await Promise.all(workers);
  return out;
}

function timeoutResult(run: PlannedRun, ms: number): RunResult {
  return {
    script: run.reportPath, variant: run.variant, verdict: 'timeout', exitCode: EXIT_FAIL, durationMs: ms, warnings: [],
    evidence: {}, packets: { injected: 0, sniffed: 0 }, injectionErrorsUsecs: [],
    firstError: { line: 0, headline: `${run.reportPath}: timed out`, text: `${run.reportPath}: timed out`, kind: 'timeout' },
  };
}

export async function executeRuns(
  runs: PlannedRun[], args: RunArgs, label: string, opts: { writeReports?: boolean } = {},
): Promise<{ reported: ReportedRun[]; exitCode: number; seconds: number }> {
  const jobs = args.jobs ?? defaultJobs();
  const started = performance.now();
  const single = runs.length === 1;
  // Several runs share long-lived workers (one fresh namespace per run);
  // a single run gets a process of its own.
  const workers = single || process.env.TUNDRILL_ONE_PROCESS_PER_RUN === '1'
    ? null
    : new WorkerPool(Math.min(jobs, runs.length), {
      // A private /tmp would hide scripts or captures that live under /tmp.
      privateTmp: !runs.some((r) => r.scriptPath.startsWith('/tmp/')) && !(args.capture && resolve(args.captureDir).startsWith('/tmp/')),
      passthrough: false,
    });
  // Stopping the CLI stops its workers, which write what evidence they have.
  const stopWorkers = (sig: NodeJS.Signals): void => {
    workers?.kill(sig);
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGTERM', stopWorkers);
  process.once('SIGINT', stopWorkers);
  const reported = await pool(runs, jobs, async (run) => {
    const request = {
        scriptPath: run.scriptPath,
        displayPath: run.scriptPath.split('/').pop()!,
        options: run.options,
        variant: run.variantLabel,
        verbose: args.verbose,
        device: args.devices[0] ?? 'tun',
        evidence: {
          dir: args.capture ? join(resolve(args.captureDir), dirname(run.evidenceStem)) : '',
          stem: run.evidenceStem.split('/').pop()! + deviceSuffix(args.devices[0] ?? 'tun'),
          format: args.captureFormat,
          ssIntervalMs: args.ssIntervalMs,
        },
      };
    const outcome = workers
      ? await workers.run(request, args.timeoutSecs * 1000)
      : await runWorker(request, { timeoutMs: args.timeoutSecs * 1000, passthrough: single && args.verbose });
    let result = outcome.result;
    if (outcome.timedOut) result = timeoutResult(run, outcome.wallMs);
    if (!result) {
      result = timeoutResult(run, outcome.wallMs);
      result.verdict = 'error';
      const why = outcome.stderr.trim() || `worker exited with status ${outcome.exitCode ?? outcome.signal}`;
      result.firstError = { line: 0, headline: `${run.reportPath}: ${why.split('\n')[0]}`, text: why, kind: 'internal' };
      result.exitCode = outcome.exitCode === EXIT_ENVIRONMENT ? EXIT_ENVIRONMENT : EXIT_FAIL;
    }
    const r: ReportedRun = { path: run.reportPath, variant: run.variantLabel, result, output: `${outcome.stdout}${outcome.stderr}`.trim() };
    if (!args.quiet) {
      process.stdout.write(`${runLine(r)}\n`);
      if (single && result.evidence.capture) {
        const ev = result.evidence;
        process.stdout.write(`     evidence: ${[ev.capture, ev.timeline, ev.counters].filter(Boolean).join(', ')}\n`);
      }
      if (result.verdict !== 'pass' && result.firstError) process.stderr.write(`${result.firstError.text}\n`);
      for (const w of result.warnings) process.stderr.write(`${w}\n`);
    }
    return r;
  });
  process.off('SIGTERM', stopWorkers);
  process.off('SIGINT', stopWorkers);
  workers?.close();
  const s = summarize(reported, (performance.now() - started) / 1000);
  if (!single || args.quiet) process.stdout.write(`${summaryLine(s, label)}\n`);
  if (opts.writeReports !== false) writeReports(args, reported, s.seconds);
  let exitCode = EXIT_PASS;
  for (const r of reported) exitCode = Math.max(exitCode, r.result.exitCode === EXIT_ENVIRONMENT ? 4 : r.result.exitCode);
  return { reported, exitCode, seconds: s.seconds };
}

function writeReports(args: RunArgs, reported: ReportedRun[], seconds: number): void {
  const s = summarize(reported, seconds);
  if (args.tap) writeTap(args.tap, reported);
  if (args.junit) writeJunit(args.junit, reported, s);
  if (args.json) writeJson(args.json, reported, s);
}

async function cmdRun(argv: string[]): Promise<number> {
  const args = parseRunArgs(argv, { captureDir: join(process.cwd(), 'captures') });
  if (args.paths.length === 0) throw new UsageError('run: no script, folder or scenario given');
  const scenarios = args.paths.filter((p) => p.endsWith('.ts') || p.endsWith('.js'));
  const scripts = args.paths.filter((p) => !scenarios.includes(p));
  const env = environmentProblem();
  if (env) {
    process.stderr.write(`${env}\n`);
    return EXIT_ENVIRONMENT;
  }
  for (const p of args.paths) {
    if (!existsSync(p)) throw new UsageError(`run: no such file or folder: ${p}`);
  }
  let code = EXIT_PASS;
  const reported: ReportedRun[] = [];
  let seconds = 0;
  const compare = args.devices.length > 1;
  if (scripts.length > 0) {
    const runs = planRuns(scripts, { ksft: args.ksft, user: args.packetdrill });
    if (runs.length === 0) throw new UsageError('run: no .pkt scripts found');
    const perDevice: ReportedRun[][] = [];
    for (const device of args.devices) {
      const r = await executeRuns(runs, { ...args, devices: [device] }, `${scripts.join(' ')}${compare ? ` (${device})` : ''}`, { writeReports: false });
      code = Math.max(code, r.exitCode);
      reported.push(...r.reported);
      perDevice.push(r.reported);
      seconds += r.seconds;
    }
    if (compare) {
      const { printScriptComparison } = await import('./device-comparison.js');
      printScriptComparison(runs, args.devices, perDevice);
    }
  }
  if (scenarios.length > 0) {
    const { runScenarioFileOutcome, scenarioReportRow, compareScenarioOnDevices } = await import('../scenario/runner.js');
    for (const s of scenarios) {
      const started = performance.now();
      if (compare) {
        const c = await compareScenarioOnDevices(resolve(s), args.devices, args);
        seconds += (performance.now() - started) / 1000;
        if (typeof c === 'number') {
          code = Math.max(code, c);
          continue;
        }
        code = Math.max(code, c.exitCode);
        for (const o of c.outcomes) reported.push(scenarioReportRow(o, s));
        continue;
      }
      const o = await runScenarioFileOutcome(resolve(s), args);
      seconds += (performance.now() - started) / 1000;
      if (typeof o === 'number') {
        code = Math.max(code, o);
        continue;
      }
      code = Math.max(code, o.exitCode);
      reported.push(scenarioReportRow(o, s));
    }
  }
  writeReports(args, reported, seconds);
  return code;
}

function cmdParse(argv: string[]): number {
  let code = EXIT_PASS;
  for (const p of argv) {
    try {
      parseScript(readFileSync(p, 'utf8'), { path: p });
      process.stdout.write(`${p}: ok\n`);
    } catch (e) {
      if (!(e instanceof ScriptError)) throw e;
      process.stderr.write(`${e.message}\n${e.detail}\n`);
      code = EXIT_USAGE;
    }
  }
  return code;
}

function cmdDoctor(argv: string[]): number {
  const checks = runChecks({ fix: argv.includes('--fix') });
  process.stdout.write(`tundrill doctor\n${formatChecks(checks)}\n`);
  return checks.some((c) => c.required && !c.ok) ? EXIT_ENVIRONMENT : EXIT_PASS;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'run': return await cmdRun(rest);
      case 'parse': return cmdParse(rest);
      case 'doctor': return cmdDoctor(rest);
      case 'conformance': {
        const { runConformance } = await import('./conformance.js');
        return await runConformance(rest);
      }
      case undefined: case '-h': case '--help': case 'help':
        process.stdout.write(`${USAGE}\n`);
        return cmd === undefined ? EXIT_USAGE : EXIT_PASS;
      default:
        throw new UsageError(`unknown command '${cmd}'`);
    }
  } catch (e) {
    if (e instanceof UsageError || e instanceof PlanError) {
      process.stderr.write(`tundrill: ${e.message}\n(tundrill --help shows the usage)\n`);
      return EXIT_USAGE;
    }
    throw e;
  }
}
