/**
 * The `tundrill` command.
 *
 *   tundrill run [options] <script.pkt | folder | scenario.ts>...
 *   tundrill parse <script.pkt>...
 *   tundrill doctor [--fix]
 *   tundrill conformance [--corpus gtests|selftests|all] [-j N]
 */
import { join, resolve } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { EXIT_ENVIRONMENT, EXIT_PASS, EXIT_USAGE } from '../engine/errors.js';
import { parseScript, ScriptError } from '../script/index.js';
import { parseRunArgs, UsageError, type RunArgs } from './args.js';
import { scenarioComparison, scenarioMatrix, scriptComparison, type ScenarioFigures } from '../report/compare.js';
import { KernelUnusable, openKernel, type KernelTarget } from './kernels.js';
import { formatChecks, runChecks } from '../runner/environment.js';
import { planRuns, PlanError } from '../runner/plan.js';
import { executeRuns, writeReports } from '../runner/execute-runs.js';
import { maybeWriteScenarioReport } from '../report/html/policy.js';
import type { ReportedRun } from '../report/reports.js';
import type { WorkerRequest } from '../runner/execute-request.js';
import { PROJECT_ROOT } from '../runner/project-root.js';
import { executePart, planPart, referenceDurations } from './fleet.js';
import { expectedSeconds } from '../runner/shard.js';
import { cmdReport } from './report-merge.js';
import { holdStop, releaseStop, stopExitCode, stopSignal } from '../runner/stop.js';
import { checkCaptureDir, checkOptionValues, checkReadable, checkReportFile } from './check-inputs.js';
import { describeFileError, InputError } from './failure.js';

export { PROJECT_ROOT } from '../runner/project-root.js';
export { defaultJobs, executeRuns } from '../runner/execute-runs.js';

const USAGE = `usage:
  tundrill run [options] <script.pkt | folder | scenario.ts>...
  tundrill parse <script.pkt>...
  tundrill doctor [--fix]
  tundrill conformance [--corpus gtests|selftests|all] [-j N] [--filter S] [--save [--merge]] [--check] [--no-retry]
                       [--kernel K] [--packetdrill PATH [--reference-runs N] [--save-reference F]] [--reference F]
                       (tundrill conformance --help says more)
  tundrill report merge [--json F] [--junit F] [--tap F] [--ktap F] [--index F] <shard.json>...
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
  --stall-retries N        run again, up to N times, a run that failed only because the machine
                           stalled (a timer of this machine fired late; default 2, 0: never)
  --capture-dir DIR        where evidence goes (default ./captures)
  --pcap                   classic pcap instead of pcapng
  --no-capture             keep no capture
  --sampler sock_diag|ss   socket-state sampler (default sock_diag: netlink, at every packet
                           and every interval; ss: an ss -tinoem process every interval)
  --sample-interval MS     full socket listing interval (default 10 with sock_diag, 100 with ss;
                           0 = no socket-state timeline); --ss-interval is the old name
  --tap FILE --junit FILE --json FILE --ktap FILE   reports
  --shard I/N              run part I of N of the plan (split evenly by expected duration)
  --repeat N               run every row N times: pass rate, flaky rows, timing spread per line
  -q, --quiet              only the summary
  --long                   scenarios: the long version
  --one-cpu                one run at a time, each with all its threads on one CPU, so the other
                           CPUs idle and the kernel's timers fire on the tick they fire on under
                           packetdrill (see README, Timing); injection tails grow
  --device D               the path between kernel and harness: tun (default, drained),
                           tun-lazy (read on demand, observed with AF_PACKET), veth,
                           a comma list, or all (runs each and compares them line by line)
  --report html            an HTML report beside every run's capture, and a suite index
                           (default: for scenarios and for runs that did not pass)
  --no-report              no HTML reports
  --kernel K               run on kernel K in a qemu microVM: host, a bzImage or vmlinux, an unpacked
                           kernel package folder, or debian:<version>; twice or more compares kernels
  --kernel-config FILE     the config of a kernel image that carries none (checked before boot)
  --vm-clock icount|icount-skip|realtime   guest clock under emulation (default icount: time follows
                           instructions, idle time real time; icount-skip skips idle time)

exit status: 0 all passed, 1 a test failed, 2 usage or syntax error, 4 unsuitable environment`;

function environmentProblem(): string | null {
  const all = runChecks({ fix: false });
  const rt = all.find((c) => c.name === 'real-time priority' && !c.ok);
  if (rt) process.stderr.write(`tundrill: warning: no real-time priority, timing is less precise on a busy machine (${rt.fix ?? rt.detail})\n`);
  const checks = all.filter((c) => c.required && !c.ok);
  if (checks.length === 0) return null;
  return `tundrill: this machine cannot run tests:\n${formatChecks(checks)}`;
}

/** The evidence folder of a kernel's runs: `debian:6.1` → `debian-6.1`, a path → its last parts. */
export function kernelFolder(spec: string): string {
  const base = spec.includes('/') ? spec.replace(/\/+$/, '').split('/').slice(-2).join('-') : spec;
  return base.replace(/[^A-Za-z0-9._+-]+/g, '-').replace(/^[-.]+/, '').slice(-60) || 'kernel';
}

/** Options and paths checked before the first run: a mistake costs no results. */
function checkRunInputs(args: RunArgs): void {
  checkOptionValues(args);
  for (const p of args.paths) checkReadable(p, { folderAllowed: !(p.endsWith('.ts') || p.endsWith('.js')) });
  if (args.tap) checkReportFile('--tap', args.tap);
  if (args.junit) checkReportFile('--junit', args.junit);
  if (args.json) checkReportFile('--json', args.json);
  if (args.ktap) checkReportFile('--ktap', args.ktap);
  if (args.capture) checkCaptureDir(args.captureDir);
}

async function cmdRun(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return EXIT_PASS;
  }
  const args = parseRunArgs(argv, { captureDir: join(process.cwd(), 'captures') });
  if (args.paths.length === 0) throw new UsageError('run: no script, folder or scenario given');
  checkRunInputs(args);
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
  for (const script of new Set(runs.map((r) => r.scriptPath))) checkReadable(script, { folderAllowed: false });
  const kernels = args.kernels && args.kernels.length > 0 ? [...new Set(args.kernels)] : [null];
  holdStop();
  let code = EXIT_PASS;
  const reported: ReportedRun[] = [];
  const scriptRows: ReportedRun[] = [];
  const figures: ScenarioFigures[] = [];
  let seconds = 0;
  const compare = args.devices.length > 1;
  const part = planPart(runs, args, PROJECT_ROOT, scenarios.length);
  if (part.note && !args.quiet) process.stdout.write(`${part.note}\n`);
  for (const spec of kernels) {
    if (stopSignal()) break;
    let kernel: KernelTarget | undefined;
    // With --kernel, each kernel's evidence goes to a folder of its own under the capture folder.
    const kargs: RunArgs = spec === null ? args : { ...args, captureDir: join(args.captureDir, kernelFolder(spec)) };
    if (spec !== null) {
      try {
        kernel = await openKernel(spec, kargs, part.runs.length + scenarios.length);
      } catch (e) {
        if (!(e instanceof KernelUnusable)) throw e;
        process.stderr.write(`tundrill: ${e.message}\n`);
        code = Math.max(code, EXIT_ENVIRONMENT);
        continue;
      }
    }
    const target = kernel?.run ? { run: kernel.run, kill: kernel.kill, facts: kernel.facts } : undefined;
    try {
      if (part.runs.length > 0) {
        const perDevice: ReportedRun[][] = [];
        for (const device of args.devices) {
          const label = `${scripts.join(' ')}${compare ? ` (${device})` : ''}`;
          const r = await executePart(part, { ...kargs, devices: [device] }, label,
            (rs, a, l, opts) => executeRuns(rs, a, l, {
              ...opts, ...(target ? { target } : {}),
              // Long runs early where the reference tables know a row (run-order.ts); repeats keep their rounds.
              ...((args.repeat ?? 1) <= 1 ? { expectedSeconds: expectedSeconds(rs, referenceDurations(PROJECT_ROOT)) } : {}),
            }));
          code = Math.max(code, r.exitCode);
          const rows = kernel && !target ? r.reported.map((x) => ({ ...x, kernel: kernel.facts })) : r.reported;
          reported.push(...rows);
          scriptRows.push(...rows);
          perDevice.push(rows);
          seconds += r.seconds;
        }
        if (compare) {
          const { printScriptComparison } = await import('./device-comparison.js');
          printScriptComparison(part.runs, args.devices, perDevice);
        }
      }
      // Scenarios run once, on the first shard.
      if (scenarios.length > 0 && (part.plan.shard?.index ?? 1) === 1) {
        const { runScenarioFileOutcome, scenarioReportRow, compareScenarioOnDevices } = await import('../scenario/runner.js');
        const where = target
          ? { runWorker: (req: WorkerRequest, opts: { timeoutMs: number }) => target.run(req, opts.timeoutMs), ...(kernel?.scratchDir ? { scratchDir: kernel.scratchDir } : {}) }
          : {};
        for (const s of scenarios) {
          if (stopSignal()) break;
          const started = performance.now();
          if (compare) {
            const c = await compareScenarioOnDevices(resolve(s), args.devices, kargs, where);
            seconds += (performance.now() - started) / 1000;
            if (typeof c === 'number') {
              code = Math.max(code, c);
              continue;
            }
            code = Math.max(code, c.exitCode);
            c.outcomes.forEach((o, i) => {
              reported.push({ ...scenarioReportRow(o, s), ...(kernel ? { kernel: kernel.facts } : {}) });
              figures.push({ kernel: spec ?? 'host', device: args.devices[i]!, scenario: o.scenario.name, pass: o.verdict.pass, summary: o.verdict.summary, numbers: o.verdict.numbers ?? {} });
            });
            continue;
          }
          const o = await runScenarioFileOutcome(resolve(s), kargs, where);
          seconds += (performance.now() - started) / 1000;
          if (typeof o === 'number') {
            code = Math.max(code, o);
            continue;
          }
          code = Math.max(code, o.exitCode);
          const row: ReportedRun = { ...scenarioReportRow(o, s), index: runs.length + scenarios.indexOf(s), ...(kernel ? { kernel: kernel.facts } : {}) };
          const html = maybeWriteScenarioReport(args.report ?? 'default', o);
          if (html) {
            row.html = html;
            if (!args.quiet) process.stdout.write(`report: ${html}\n`);
          }
          reported.push(row);
          figures.push({ kernel: spec ?? 'host', scenario: o.scenario.name, pass: o.verdict.pass, summary: o.verdict.summary, numbers: o.verdict.numbers ?? {} });
        }
      }
    } finally {
      await kernel?.close();
    }
  }
  if (kernels.length > 1) {
    const labels = kernels.map((k) => k ?? 'host');
    if (scriptRows.length > 0) process.stdout.write(`\n${scriptComparison(scriptRows, labels)}\n`);
    // Numbers side by side for one device; with several, a kernel's figures differ per device.
    if (figures.length > 0 && !compare) process.stdout.write(`\n${scenarioComparison(figures, labels)}\n`);
    if (figures.length > 0) process.stdout.write(`\n${scenarioMatrix(figures, labels)}\n`);
  }
  writeReports(args, reported, seconds, part.plan, `tundrill run: ${args.paths.join(' ')}`);
  releaseStop();
  return stopSignal() ? stopExitCode() : code;
}

function cmdParse(argv: string[]): number {
  if (argv.length === 0) throw new UsageError('parse: no script given');
  let code = EXIT_PASS;
  for (const p of argv) {
    let text: string;
    try {
      text = readFileSync(p, 'utf8');
    } catch (e) {
      process.stderr.write(`tundrill: ${describeFileError(e, p, 'read') ?? `cannot read ${p}`}\n`);
      code = EXIT_USAGE;
      continue;
    }
    try {
      parseScript(text, { path: p });
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
  return checks.some((c) => (c.required || c.permission) && !c.ok) ? EXIT_ENVIRONMENT : EXIT_PASS;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'run': return await cmdRun(rest);
      case 'parse': return cmdParse(rest);
      case 'doctor': return cmdDoctor(rest);
      case 'report': return cmdReport(rest);
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
      process.stderr.write(`tundrill: ${e.message} (tundrill --help shows the usage)\n`);
      return EXIT_USAGE;
    }
    if (e instanceof InputError) {
      process.stderr.write(`tundrill: ${e.message}\n`);
      return e.exitCode;
    }
    throw e;
  }
}
