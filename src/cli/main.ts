/**
 * The `tundrill` command.
 *
 *   tundrill run [options] <script.pkt | folder | scenario.ts>...
 *   tundrill parse <script.pkt>...
 *   tundrill doctor [--fix]
 *   tundrill conformance [--corpus gtests|selftests|all] [-j N]
 */
import { availableParallelism } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EXIT_ENVIRONMENT, EXIT_FAIL, EXIT_PASS, EXIT_USAGE } from '../engine/errors.js';
import type { RunResult } from '../engine/result.js';
import { parseScript, ScriptError } from '../script/index.js';
import { parseRunArgs, UsageError, type RunArgs } from './args.js';
import { formatChecks, runChecks } from './doctor.js';
import { planRuns, PlanError, type PlannedRun } from './plan.js';
import { runWorker } from './spawn.js';
import { WorkerPool } from './pool.js';
import { runLine, summarize, summaryLine, writeJson, writeJunit, writeTap, type ReportedRun } from '../report/reports.js';
import { scenarioComparison, scriptComparison, type ScenarioFigures } from '../report/compare.js';
import { KernelUnusable, openKernel, type KernelTarget } from './kernels.js';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const USAGE = `usage:
  tundrill run [options] <script.pkt | folder | scenario.ts>...
  tundrill parse <script.pkt>...
  tundrill doctor [--fix]
  tundrill conformance [--corpus gtests|selftests|all] [-j N] [--filter S] [--save [--merge]] [--check] [--no-retry]
  tundrill kernel list | config | fetch debian:<version> | check <kernel>

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
  --kernel K               run on kernel K in a qemu microVM: host, a bzImage or vmlinux, an unpacked
                           kernel package folder, or debian:<version>; twice or more compares kernels
  --kernel-config FILE     the config of a kernel image that carries none (checked before boot)
  --vm-clock icount|icount-skip|realtime   guest clock under emulation (default icount: time follows
                           instructions, idle time real time; icount-skip skips idle time)

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
  runs: PlannedRun[], args: RunArgs, label: string, opts: { writeReports?: boolean; kernel?: KernelTarget } = {},
): Promise<{ reported: ReportedRun[]; exitCode: number; seconds: number }> {
  const guest = opts.kernel?.run ? opts.kernel : null;
  const jobs = args.jobs ?? (guest ? runs.length : defaultJobs());
  const started = performance.now();
  const single = runs.length === 1;
  // Several runs share long-lived workers (one fresh namespace per run);
  // a single run gets a process of its own. On another kernel, the VMs are the workers.
  const workers = guest
    ? { run: guest.run!, kill: (sig: NodeJS.Signals) => guest.kill(sig), close: () => undefined }
    : single || process.env.TUNDRILL_ONE_PROCESS_PER_RUN === '1'
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
        evidence: {
          dir: args.capture ? join(resolve(args.captureDir), dirname(run.evidenceStem)) : '',
          stem: run.evidenceStem.split('/').pop()!,
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
    const r: ReportedRun = {
      path: run.reportPath, variant: run.variantLabel, result, output: `${outcome.stdout}${outcome.stderr}`.trim(),
      ...(opts.kernel ? { kernel: opts.kernel.facts } : {}),
    };
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

/** The evidence folder of a kernel's runs: `debian:6.1` → `debian-6.1`, a path → its last part. */
export function kernelFolder(spec: string): string {
  const base = spec.includes('/') ? spec.replace(/\/+$/, '').split('/').slice(-2).join('-') : spec;
  return base.replace(/[^A-Za-z0-9._+-]+/g, '-').replace(/^[-.]+/, '').slice(-60) || 'kernel';
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
  const runs = scripts.length > 0 ? planRuns(scripts, { ksft: args.ksft, user: args.packetdrill }) : [];
  if (scripts.length > 0 && runs.length === 0) throw new UsageError('run: no .pkt scripts found');
  const kernels = args.kernels && args.kernels.length > 0 ? [...new Set(args.kernels)] : [null];
  let code = EXIT_PASS;
  const reported: ReportedRun[] = [];
  const figures: ScenarioFigures[] = [];
  let seconds = 0;
  for (const spec of kernels) {
    let kernel: KernelTarget | undefined;
    // With --kernel, each kernel's evidence goes to a folder of its own under the capture folder.
    const kargs: RunArgs = spec === null ? args : { ...args, captureDir: join(args.captureDir, kernelFolder(spec)) };
    if (spec !== null) {
      try {
        kernel = await openKernel(spec, kargs, runs.length + scenarios.length);
      } catch (e) {
        if (!(e instanceof KernelUnusable)) throw e;
        process.stderr.write(`tundrill: ${e.message}\n`);
        code = Math.max(code, EXIT_ENVIRONMENT);
        continue;
      }
    }
    try {
      if (runs.length > 0) {
        const r = await executeRuns(runs, kargs, scripts.join(' '), { writeReports: false, ...(kernel ? { kernel } : {}) });
        code = Math.max(code, r.exitCode);
        reported.push(...r.reported);
        seconds += r.seconds;
      }
      if (scenarios.length > 0) {
        const { runScenarioFileOutcome, scenarioReportRow } = await import('../scenario/runner.js');
        for (const s of scenarios) {
          const started = performance.now();
          const o = await runScenarioFileOutcome(resolve(s), kargs, kernel?.run
            ? { runWorker: (req, opts) => kernel.run!(req, opts.timeoutMs), ...(kernel.scratchDir ? { scratchDir: kernel.scratchDir } : {}) }
            : {});
          seconds += (performance.now() - started) / 1000;
          if (typeof o === 'number') {
            code = Math.max(code, o);
            continue;
          }
          code = Math.max(code, o.exitCode);
          reported.push({ ...scenarioReportRow(o, s), ...(kernel ? { kernel: kernel.facts } : {}) });
          figures.push({ kernel: spec ?? 'host', scenario: o.scenario.name, pass: o.verdict.pass, summary: o.verdict.summary, numbers: o.verdict.numbers ?? {} });
        }
      }
    } finally {
      await kernel?.close();
    }
  }
  if (kernels.length > 1) {
    const labels = kernels.map((k) => k ?? 'host');
    if (runs.length > 0) process.stdout.write(`\n${scriptComparison(reported.filter((r) => !scenarios.some((s) => basename(s) === r.path)), labels)}\n`);
    if (figures.length > 0) process.stdout.write(`\n${scenarioComparison(figures, labels)}\n`);
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
      case 'kernel': {
        const { runKernelCommand } = await import('./kernel-command.js');
        return await runKernelCommand(rest);
      }
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
