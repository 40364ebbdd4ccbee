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
import { parseRunArgs, UsageError } from './args.js';
import { formatChecks, runChecks } from '../runner/environment.js';
import { planRuns, PlanError } from '../runner/plan.js';
import { executeRuns, writeReports } from '../runner/execute-runs.js';
import type { ReportedRun } from '../report/reports.js';

export { PROJECT_ROOT } from '../runner/project-root.js';
export { defaultJobs, executeRuns } from '../runner/execute-runs.js';

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

exit status: 0 all passed, 1 a test failed, 2 usage or syntax error, 4 unsuitable environment`;

function environmentProblem(): string | null {
  const checks = runChecks({ fix: false }).filter((c) => c.required && !c.ok);
  if (checks.length === 0) return null;
  return `tundrill: this machine cannot run tests:\n${formatChecks(checks)}`;
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
  if (scripts.length > 0) {
    const runs = planRuns(scripts, { ksft: args.ksft, user: args.packetdrill });
    if (runs.length === 0) throw new UsageError('run: no .pkt scripts found');
    const r = await executeRuns(runs, args, scripts.join(' '), { writeReports: false });
    code = Math.max(code, r.exitCode);
    reported.push(...r.reported);
    seconds += r.seconds;
  }
  if (scenarios.length > 0) {
    const { runScenarioFileOutcome, scenarioReportRow } = await import('../scenario/runner.js');
    for (const s of scenarios) {
      const started = performance.now();
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
