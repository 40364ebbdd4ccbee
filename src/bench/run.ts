/**
 * `npm run bench` — how fast and how precisely tundrill runs scripts on
 * this machine. It prints numbers; it is not a test (exit status 0 unless
 * the machine cannot run scripts at all, then 4 as `tundrill run`).
 *
 *   npm run bench [-- --quick] [--repeat N] [--samples N] [--cli-samples N]
 *                 [--runs N] [--jobs 1,2,4] [--only injection,overhead,throughput]
 *                 [--no-corpus] [--packetdrill PATH] [--json FILE] [extra.pkt ...]
 *
 * How to read the numbers
 *
 * Injection timing error: for every packet a script injects, the time the
 * addon stamped right before write() on tun0 minus the time the script
 * scheduled it (µs, never negative). packetdrill's default tolerance for a
 * line is 4000 µs, and the engine's own lateness eats into it, so p99 and
 * max are what matter: a p99 in the tens of µs leaves the tolerance to the
 * kernel; ">=1ms" counts the injections that took a quarter of it. Scripts:
 * bench/*.pkt (200 data segments 1 ms apart, each ACKed by the kernel;
 * 240 pure ACKs at absolute times with bursts of packets due at the same
 * instant) and a few corpus scripts run in place from ../shared/corpus,
 * all through executeRuns at -j 1 (one pool worker, as `tundrill run -j 1`).
 * "runs ok" below the total means some runs failed (on a loaded machine
 * usually a timing error); their injections up to the failure still count.
 *
 * Side by side with packetdrill (--packetdrill PATH, a packetdrill binary
 * built elsewhere): the injection scripts run alternately under packetdrill
 * and under tundrill's worker, --repeat times each, every run in a network
 * namespace of its own with tcpdump listening on all its devices before
 * the tool starts (packetdrill-side.ts). Neither tool's own report of its
 * lateness is comparable with the other's, so both are measured on the
 * wire: the kernel's stamp of each injected packet as it passes the
 * device, matched to the script's inbound lines by order. A line on the
 * script's clock (absolute, or relative to an inbound line before it) is
 * timed from a zero fitted per run: the zero that puts the run's most
 * punctual such packet exactly on time. The tool's real start is not on
 * the wire, and the first injected packet is a poor zero because it is
 * the one most often late (cold start, first write to a new device). A
 * line relative to an outbound `>` line is timed from that packet's stamp
 * (the harness could not start it earlier), so its error includes the
 * time the harness took to see the packet. tundrill's own in-worker figure
 * for the same runs is printed beside its wire figure. Needs tcpdump.
 * Below the table, the goals (injection-goals.ts): on
 * inbound-absolute-bursts.pkt tundrill's wire p99 at most 50 µs and its
 * max at most 300 µs, and on every script tundrill's p99 below
 * packetdrill's, each marked met or NOT met.
 * Only bench/*.pkt and extra scripts run side by side: the corpus scripts
 * call their `defaults.sh` through a symlink stub that only tundrill
 * resolves, and the wire could time few of their lines anyway (most follow
 * a `%{ }%` line, or a `>` line that stands for several TSO segments).
 *
 * Outbound sniff latency: the engine does not report it in its result, so
 * it is read from the worker's event trace (TUNDRILL_TRACE=1, kept in
 * memory) in a second set of runs, each traced worker a process of its own
 * with its stderr going to a file. "stamp" is from the C stamp the
 * reader thread puts on a packet read from tun0 to when the engine holds
 * that packet for matching; when the kernel answered before the engine
 * asked (it was still finishing the write that provoked the answer), that
 * includes the engine's own busy time, which "ready" leaves out by counting
 * from the later of the stamp and the start of the engine's receive().
 * Only packets of the socket under test are counted.
 *
 * Per-run overhead: one worker at a time runs bench/trivial.pkt (a socket
 * and a close, no packets) with the usual evidence (capture, ss sampler,
 * counters) into a temporary folder under captures/. "wall time" is the parent's spawn to
 * result; the worker reports startMs (Node start-up and its own modules,
 * run with --no-lazy), addonMs (engine modules and the native addon),
 * tunMs (opening tun0) and netMs (`ip -batch` configuring the namespace);
 * "the rest" is the wall time less those, and its parts are the worker's
 * traced phases plus what the worker's clock does not see: unshare and
 * exec before Node starts, evidence set-up, exit and the result's trip
 * back. Each row is a median on its own, so the rows need not add up.
 * "CLI start-up" is `tundrill --help` (Node plus the CLI's modules), the
 * environment checks `tundrill run` makes first, and a whole `tundrill run`
 * of the trivial script, less the worker's median wall time.
 *
 * Throughput: N trivial runs through executeRuns at each -j, on the CLI's
 * pool of long-lived workers (what `tundrill run -j N` uses for several
 * runs: no Node start-up per run) and, without --quick, with one worker
 * process per run (TUNDRILL_ONE_PROCESS_PER_RUN=1; what a single
 * `tundrill run script.pkt` costs, see above). runs/s is N over the wall
 * time. Beyond the number of cores it mostly shows how much a run waits
 * (on the kernel tick, on evidence) rather than computes; timing-sensitive
 * scripts want fewer runs at once.
 *
 * The header shows the machine's load average: compare numbers only
 * between runs on a quiet machine.
 */
import { isDeviceKind, type DeviceKind } from '../backend/devices.js';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { formatChecks, runChecks } from '../runner/environment.js';
import { PROJECT_ROOT } from '../runner/project-root.js';
import { workerNodeFlags } from '../runner/spawn.js';
import { measureInjection, renderInjection, type InjectionReport } from './injection.js';
import { checkInjectionGoals, renderInjectionGoals, type GoalCheck } from './injection-goals.js';
import { measureSideBySide, renderSideBySide, tcpdumpMissing, type SideBySideRow } from './packetdrill-side.js';
import { packetdrillPathProblem } from '../runner/packetdrill-run.js';
import { measureSampler, renderSampler } from './sampler.js';
import type { SamplerProbeReport } from './sampler-probe.js';
import { measureOverhead, renderOverhead, type OverheadReport } from './overhead.js';
import { measureThroughput, renderThroughput, type ThroughputRow } from './throughput.js';

const SECTIONS = ['injection', 'overhead', 'throughput', 'sampler', 'packetdrill'] as const;
type Section = (typeof SECTIONS)[number];

/** Corpus scripts (relative to packetdrill-gtests/tcp) that inject many packets and pass on Linux 6.x. */
const CORPUS_SCRIPTS = [
  'slow_start/slow-start-ack-per-1pkt.pkt',
  'fast_recovery/prr-ss-10pkt-lost-1.pkt',
  'cubic/cubic-rto-ss-ca-cwnd-bump.pkt',
  'fast_retransmit/fr-4pkt-sack.pkt',
];

const USAGE = `usage: npm run bench -- [options] [extra.pkt ...]
  --quick              fewer runs (about a quarter of the time)
  --repeat N           runs of each injection script (default 3, quick 1)
  --samples N          single-worker runs for the overhead (default 15, quick 5)
  --cli-samples N      CLI start-up samples (default 5, quick 2)
  --runs N             trivial runs per -j value for the throughput (default 24, quick 8;
                       without --quick also measured with one process per run)
  --jobs LIST          -j values for the throughput (default 1,2,4)
  --only LIST          sections: injection,overhead,throughput,sampler,packetdrill
  --no-corpus          only the bench/ scripts (and extra ones) for injection timing
  --device D           injection timing over tun (default), tun-lazy or veth
  --packetdrill PATH   also run the injection scripts under this packetdrill binary and
                       print both tools' timing as seen on the wire (needs tcpdump)
  --json FILE          also write every number as JSON
extra .pkt scripts are added to the injection timing set (run as IPv4).`;

interface BenchArgs {
  quick: boolean;
  repeat?: number;
  samples?: number;
  cliSamples?: number;
  runs?: number;
  jobs: number[];
  only: Set<Section>;
  corpus: boolean;
  json?: string;
  extra: string[];
  /** Injection timing over this device (default tun). */
  device?: DeviceKind;
  /** A packetdrill binary to compare with (the packetdrill section runs only with it). */
  packetdrill?: string;
}

class BenchUsageError extends Error {
  /** Print the usage after the message (not for a path that is merely wrong). */
  constructor(message: string, readonly showUsage = true) {
    super(message);
  }
}

function parseArgs(argv: string[]): BenchArgs | 'help' {
  const out: BenchArgs = { quick: false, jobs: [1, 2, 4], only: new Set(SECTIONS), corpus: true, extra: [] };
  let onlyGiven = false;
  const count = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < 1) throw new BenchUsageError(`${flag} needs a whole number >= 1`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf('=');
    const flag = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    const value = (): string | undefined => (a.startsWith('--') && eq > 0 ? a.slice(eq + 1) : argv[++i]);
    switch (flag) {
      case '-h': case '--help': return 'help';
      case '--quick': out.quick = true; break;
      case '--repeat': out.repeat = count(flag, value()); break;
      case '--samples': out.samples = count(flag, value()); break;
      case '--cli-samples': out.cliSamples = count(flag, value()); break;
      case '--runs': out.runs = count(flag, value()); break;
      case '--jobs': out.jobs = (value() ?? '').split(',').map((j) => count(flag, j)); break;
      case '--only': {
        const names = (value() ?? '').split(',').filter(Boolean);
        const bad = names.filter((n) => !(SECTIONS as readonly string[]).includes(n));
        if (names.length === 0 || bad.length) throw new BenchUsageError(`--only takes ${SECTIONS.join(',')}${bad.length ? `, not ${bad.join(',')}` : ''}`);
        out.only = new Set(names as Section[]);
        onlyGiven = true;
        break;
      }
      case '--no-corpus': out.corpus = false; break;
      case '--device': {
        const v = value() ?? '';
        if (!isDeviceKind(v)) throw new BenchUsageError(`--device takes tun, tun-lazy or veth, not '${v}'`);
        out.device = v;
        break;
      }
      case '--packetdrill': {
        const v = value();
        if (!v) throw new BenchUsageError('--packetdrill needs the path of a packetdrill binary');
        const problem = packetdrillPathProblem(v);
        if (problem) throw new BenchUsageError(`--packetdrill ${problem}`, false);
        out.packetdrill = resolve(v);
        break;
      }
      case '--json': {
        const v = value();
        if (!v) throw new BenchUsageError('--json needs a file name');
        out.json = v;
        break;
      }
      default:
        if (a.startsWith('-')) throw new BenchUsageError(`unknown option ${a}`);
        if (!existsSync(a)) throw new BenchUsageError(`${a}: no such script`);
        out.extra.push(resolve(a));
    }
  }
  if (!out.packetdrill) {
    if (onlyGiven && out.only.has('packetdrill')) throw new BenchUsageError('--only packetdrill needs --packetdrill PATH');
    out.only.delete('packetdrill');
  }
  return out;
}

function benchScripts(): { injection: string[]; trivial: string } {
  const dir = join(PROJECT_ROOT, 'bench');
  const injection = readdirSync(dir)
    .filter((f) => f.endsWith('.pkt') && f !== 'trivial.pkt')
    .sort()
    .map((f) => join(dir, f));
  return { injection, trivial: join(dir, 'trivial.pkt') };
}

function corpusScripts(quick: boolean): { scripts: string[]; note?: string } {
  const root = resolve(PROJECT_ROOT, '../shared/corpus/packetdrill-gtests/tcp');
  const wanted = (quick ? CORPUS_SCRIPTS.slice(0, 2) : CORPUS_SCRIPTS).map((s) => join(root, s));
  const present = wanted.filter((p) => existsSync(p));
  if (present.length < wanted.length) return { scripts: present, note: `corpus scripts not found under ${root}: ${wanted.length - present.length} left out` };
  return { scripts: present };
}

function header(): string {
  const [l1, l5] = loadavg();
  return [
    `tundrill benchmark — ${new Date().toISOString()}`,
    `kernel ${release()}, Node ${process.version}, ${availableParallelism()} CPUs (${cpus()[0]?.model.trim() ?? 'unknown'})`,
    `load average ${l1!.toFixed(2)} (1 min) ${l5!.toFixed(2)} (5 min); worker Node flags: ${workerNodeFlags().join(' ')}`,
  ].join('\n');
}

export async function bench(argv: string[]): Promise<number> {
  let args: BenchArgs | 'help';
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof BenchUsageError)) throw e;
    process.stderr.write(`bench: ${e.message}\n${e.showUsage ? `${USAGE}\n` : ''}`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (args.packetdrill && tcpdumpMissing()) {
    process.stderr.write('bench: --packetdrill needs tcpdump to stamp packets on the wire: install it (apt-get install tcpdump)\n');
    return 4;
  }
  const problems = runChecks({ fix: false }).filter((c) => c.required && !c.ok);
  if (problems.length) {
    process.stderr.write(`bench: this machine cannot run scripts:\n${formatChecks(problems)}\n`);
    return 4;
  }
  const q = args.quick;
  const progress = (text: string): void => {
    process.stderr.write(`bench: ${text}\n`);
  };
  // Not under /tmp: pool workers may see a private /tmp of their own.
  mkdirSync(join(PROJECT_ROOT, 'captures'), { recursive: true });
  const captureDir = mkdtempSync(join(PROJECT_ROOT, 'captures', 'bench-'));
  const scripts = benchScripts();
  const json: { injection?: InjectionReport; overhead?: OverheadReport; throughput?: ThroughputRow[]; sampler?: SamplerProbeReport; sideBySide?: SideBySideRow[]; injectionGoals?: GoalCheck[]; notes: string[] } = { notes: [] };
  process.stdout.write(`${header()}\n\n`);
  try {
    const corpus = args.corpus ? corpusScripts(q) : { scripts: [] };
    const injectionScripts = [...scripts.injection, ...corpus.scripts, ...args.extra];
    if (args.only.has('injection')) {
      if (corpus.note) json.notes.push(corpus.note);
      json.injection = await measureInjection({
        scripts: injectionScripts,
        repeat: args.repeat ?? (q ? 1 : 3),
        captureDir,
        progress,
        ...(args.device ? { device: args.device } : {}),
      });
      const text = renderInjection(json.injection) + (corpus.note ? `\n(${corpus.note})` : '');
      process.stdout.write(`${text}\n\n`);
    }
    if (args.only.has('packetdrill') && args.packetdrill) {
      json.sideBySide = await measureSideBySide({
        packetdrill: args.packetdrill,
        scripts: [...scripts.injection, ...args.extra],
        repeat: args.repeat ?? (q ? 1 : 3),
        captureDir,
        progress,
      });
      json.injectionGoals = checkInjectionGoals(json.sideBySide);
      process.stdout.write(`${renderSideBySide(json.sideBySide)}\n\n${renderInjectionGoals(json.injectionGoals)}\n\n`);
    }
    if (args.only.has('overhead')) {
      json.overhead = await measureOverhead({
        trivialScript: scripts.trivial,
        projectRoot: PROJECT_ROOT,
        samples: args.samples ?? (q ? 5 : 15),
        cliSamples: args.cliSamples ?? (q ? 2 : 5),
        captureDir,
        progress,
        ...(args.device ? { device: args.device } : {}),
      });
      process.stdout.write(`${renderOverhead(json.overhead)}\n\n`);
    }
    if (args.only.has('throughput')) {
      json.throughput = await measureThroughput({
        trivialScript: scripts.trivial,
        runs: args.runs ?? (q ? 8 : 24),
        jobs: args.jobs,
        modes: q ? ['pool'] : ['pool', 'process per run'],
        captureDir,
        progress,
        ...(args.device ? { device: args.device } : {}),
      });
      process.stdout.write(`${renderThroughput(json.throughput)}\n`);
    }
    if (args.only.has('sampler')) {
      json.sampler = await measureSampler({ distDir: join(PROJECT_ROOT, 'dist'), rounds: q ? 10 : 50, progress });
      process.stdout.write(`\n${renderSampler(json.sampler)}\n`);
    }
  } finally {
    rmSync(captureDir, { recursive: true, force: true });
  }
  if (args.json) writeFileSync(args.json, JSON.stringify(json, null, 2) + '\n');
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  bench(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`bench: internal error: ${err instanceof Error && err.stack ? err.stack : String(err)}\n`);
      process.exit(3);
    },
  );
}
