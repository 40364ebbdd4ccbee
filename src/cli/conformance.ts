/**
 * `tundrill conformance`: run the packetdrill corpora in ../shared/corpus
 * and compare every (script, variant) with packetdrill's own verdict in
 * ../shared/reference. A row agrees when the verdict is the same and, where
 * packetdrill fails, tundrill fails at the same script line. The result is
 * saved (conformance/last.json) so a later run can tell a regression from
 * a known disagreement.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EXIT_ENVIRONMENT, EXIT_FAIL, EXIT_PASS } from '../engine/errors.js';
import type { IpVersion } from '../engine/config.js';
import { UsageError } from './args.js';
import { defaultRunnerOptions, SOCK_DIAG_INTERVAL_MS, SS_INTERVAL_MS, type RunnerOptions } from '../runner/options.js';
import type { SamplerKind } from '../evidence/socket-timeline.js';
import { defaultJobs, executeRuns } from '../runner/execute-runs.js';
import { PROJECT_ROOT } from '../runner/project-root.js';
import { toSettings, type PlannedRun } from '../runner/plan.js';
import { isDeviceKind, type DeviceKind } from '../backend/devices.js';
import type { RunTarget } from '../runner/execute-runs.js';
import type { KernelFacts } from '../report/reports.js';
import { hostFacts } from '../backend/microvm/kernel.js';
import { packetdrillPathProblem } from '../runner/packetdrill-run.js';
import type { RunArgs } from './args.js';
import { KernelUnusable, openKernel, type KernelTarget } from './kernels.js';
import { binaryForGuests, linkTree, makeReference, ReferenceInterrupted, saveReference } from './packetdrill-reference.js';
import { stopExitCode } from '../runner/stop.js';

export interface ReferenceRow {
  script: string;
  variant: string;
  verdict: 'pass' | 'fail' | 'flaky';
  seconds: number;
  firstError: string;
}

export type CorpusName = 'gtests' | 'selftests';

interface CorpusInfo {
  name: CorpusName;
  root: string;
  reference: string;
  ksft: boolean;
}

export function sharedDir(): string {
  return resolve(PROJECT_ROOT, '..', 'shared');
}

export function corpora(): CorpusInfo[] {
  const shared = sharedDir();
  return [
    { name: 'gtests', root: join(shared, 'corpus', 'packetdrill-gtests'), reference: join(shared, 'reference', 'packetdrill-gtests-verdicts.tsv'), ksft: false },
    { name: 'selftests', root: join(shared, 'corpus', 'linux-selftests'), reference: join(shared, 'reference', 'linux-selftests-verdicts.tsv'), ksft: true },
  ];
}

export function readReference(file: string): ReferenceRow[] {
  const rows: ReferenceRow[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line || line.startsWith('#') || line.startsWith('script\t')) continue;
    const [script, variant, verdict, seconds, firstError] = line.split('\t');
    if (!script || !variant || !verdict) continue;
    rows.push({ script, variant, verdict: verdict as ReferenceRow['verdict'], seconds: Number(seconds), firstError: firstError ?? '' });
  }
  return rows;
}

/** The script line a packetdrill error names (`name.pkt:27: ...`), or 0. */
export function errorLine(text: string): number {
  const m = /^[^\s:]+\.pkt:(\d+):/.exec(text);
  return m ? Number(m[1]) : 0;
}

const VARIANT_OF: Record<string, IpVersion> = { ipv4: 'ipv4', 'ipv4-mapped-v6': 'ipv4-mapped-ipv6', ipv6: 'ipv6' };

const RUN_ALL_ARGS: Record<string, string[]> = {
  ipv4: ['--ip_version=ipv4', '--local_ip=192.168.0.1', '--gateway_ip=192.168.0.1', '--netmask_ip=255.255.0.0', '--remote_ip=192.0.2.1',
    '-D', 'TFO_COOKIE=3021b9d889017eeb', '-D', 'CODE=host_unreachable', '-D', 'CMSG_LEVEL_IP=SOL_IP', '-D', 'CMSG_TYPE_RECVERR=IP_RECVERR'],
  'ipv4-mapped-v6': ['--ip_version=ipv4-mapped-ipv6', '--local_ip=192.168.0.1', '--gateway_ip=192.168.0.1', '--netmask_ip=255.255.0.0',
    '--remote_ip=192.0.2.1', '-D', 'TFO_COOKIE=3021b9d889017eeb', '-D', 'CODE=host_unreachable', '-D', 'CMSG_LEVEL_IP=SOL_IPV6',
    '-D', 'CMSG_TYPE_RECVERR=IPV6_RECVERR'],
  ipv6: ['--ip_version=ipv6', '--mtu=1520', '--local_ip=fd3d:0a0b:17d6::1', '--gateway_ip=fd3d:0a0b:17d6:8888::1',
    '--remote_ip=fd3d:fa7b:d17d::1', '-D', 'TFO_COOKIE=c1d1e9742a47a9bc', '-D', 'CMSG_LEVEL_IP=SOL_IPV6', '-D', 'CMSG_TYPE_RECVERR=IPV6_RECVERR'],
};
const KSFT_ARGS: Record<string, string[]> = {
  ipv4: ['--ip_version=ipv4', '--local_ip=192.168.0.1', '--gateway_ip=192.168.0.1', '--netmask_ip=255.255.0.0', '--remote_ip=192.0.2.1',
    '-D', 'TFO_COOKIE=3021b9d889017eeb', '-D', 'TFO_COOKIE_ZERO=b7c12350a90dc8f5', '-D', 'CMSG_LEVEL_IP=SOL_IP', '-D', 'CMSG_TYPE_RECVERR=IP_RECVERR'],
  ipv6: ['--ip_version=ipv6', '--mtu=1520', '--local_ip=fd3d:0a0b:17d6::1', '--gateway_ip=fd3d:0a0b:17d6:8888::1',
    '--remote_ip=fd3d:fa7b:d17d::1', '-D', 'TFO_COOKIE=c1d1e9742a47a9bc', '-D', 'TFO_COOKIE_ZERO=82af1a8f9a205c34',
    '-D', 'CMSG_LEVEL_IP=SOL_IPV6', '-D', 'CMSG_TYPE_RECVERR=IPV6_RECVERR'],
};

export interface Comparison {
  corpus: CorpusName;
  script: string;
  variant: string;
  reference: ReferenceRow;
  verdict: string;
  firstError: string;
  agree: boolean;
  seconds: number;
  /** Agreed only when run again on its own. */
  retried?: boolean;
  /** The parallel pass's earlier attempts that machine stalls spoiled, and whether the first attempt alone agreed. */
  stallAttempts?: number;
  firstAttemptAgrees?: boolean;
}

export function compare(ref: ReferenceRow, verdict: string, firstError: string): boolean {
  if (ref.verdict === 'flaky') return true;
  const mine = verdict === 'pass' ? 'pass' : 'fail';
  if (mine !== ref.verdict) return false;
  if (ref.verdict === 'pass') return true;
  // A reference error that names no script line (e.g. a command's own
  // message printed first) leaves only the verdict to compare.
  const refLine = errorLine(ref.firstError);
  return refLine === 0 || refLine === errorLine(firstError);
}

interface ConformanceArgs {
  corpora: CorpusName[];
  /** Runs at once; absent: the runner's default (up to defaultJobs(), beyond one per core only while the CPUs have room). */
  jobs?: number;
  filter: string[];
  save: boolean;
  check: boolean;
  retry: boolean;
  merge: boolean;
  out: string;
  device: DeviceKind;
  /** Keep the evidence `tundrill run` keeps by default (capture, sock_diag timeline, reports of failures) under this folder. */
  evidence?: string;
  /** With evidence: the socket-state sampler (default sock_diag). */
  sampler?: SamplerKind;
  /** Run on this kernel (`tundrill run --kernel`'s forms). */
  kernel?: string;
  /** Make the reference first with this packetdrill binary, on the same kernel. */
  packetdrill?: string;
  /** Reference verdicts from this file instead of ../shared/reference. */
  reference?: string;
  /** With --packetdrill: write the verdicts it made here. */
  saveReference?: string;
  /** With --packetdrill: runs per row. */
  referenceRuns: number;
  /** --out was given. */
  outGiven: boolean;
  help?: boolean;
}

export const CONFORMANCE_USAGE = `usage: tundrill conformance [options]
  Runs the corpora under ../shared/corpus and compares every row with packetdrill's
  reference verdicts in ../shared/reference.
  --corpus gtests|selftests|all   which corpus (default all)
  -j, --jobs N                    runs at once (default: up to 7 per core, beyond one per core only
                                  while the CPUs are less than 85 % busy)
  --filter S                      only rows whose script contains S (repeatable)
  --device tun|tun-lazy|veth      the device between kernel and harness (default tun)
  --evidence DIR                  keep the evidence \`tundrill run\` keeps by default (capture, socket-state
                                  timeline every packet and 10 ms, reports of failures) under DIR, to
                                  measure the verdicts as users get them (default: no evidence)
  --sampler sock_diag|ss          with --evidence: the socket-state sampler (default sock_diag; ss: an ss
                                  process every 100 ms)
  --kernel K                      run on kernel K in qemu microVMs (the forms \`tundrill run --kernel\` takes);
                                  the shared reference is the host kernel's, so give --packetdrill or --reference
  --packetdrill PATH              make the reference first: the packetdrill binary at PATH runs every row, on
                                  the same kernel, in the same kind of namespace, one at a time per core or VM
  --reference-runs N              with --packetdrill: runs per row; a row whose verdict changes is flaky (default 1)
  --save-reference FILE           with --packetdrill: write the verdicts it made to FILE (the reference format)
  --reference FILE                reference verdicts from FILE (the format of ../shared/reference) instead
  --no-retry                      no second run, alone, of a row that disagreed
  --save [--merge]                save the rows to conformance/last.json (--merge: a row that flipped is unstable)
  --out FILE                      where --save and --check read and write (default conformance/last.json)
  --check                         exit 1 when a row that agrees steadily there disagrees now
`;

function parseArgs(argv: string[]): ConformanceArgs {
  const a: ConformanceArgs = {
    corpora: ['gtests', 'selftests'], filter: [], save: false, check: false, retry: true, merge: false, out: join(PROJECT_ROOT, 'conformance', 'last.json'),
    device: 'tun', referenceRuns: 1, outGiven: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i]!;
    const val = () => { const v = argv[++i]; if (v === undefined) throw new UsageError(`${x} needs a value`); return v; };
    if (x === '--corpus') {
      const v = val();
      a.corpora = v === 'all' ? ['gtests', 'selftests'] : [v as CorpusName];
      if (!['gtests', 'selftests'].includes(a.corpora[0]!)) throw new UsageError(`unknown corpus ${v}`);
    } else if (x === '-j' || x === '--jobs') a.jobs = Number(val());
    else if (x === '--filter') a.filter.push(val());
    else if (x === '--save') a.save = true;
    else if (x === '--check') a.check = true;
    else if (x === '--no-retry') a.retry = false;
    else if (x === '--merge') a.merge = true;
    else if (x === '-h' || x === '--help') a.help = true;
    else if (x === '--out') { a.out = resolve(val()); a.outGiven = true; }
    else if (x === '--kernel') a.kernel = val();
    else if (x === '--packetdrill') a.packetdrill = resolve(val());
    else if (x === '--reference') a.reference = resolve(val());
    else if (x === '--save-reference') a.saveReference = resolve(val());
    else if (x === '--reference-runs') {
      const v = val();
      a.referenceRuns = Number(v);
      if (!Number.isInteger(a.referenceRuns) || a.referenceRuns < 1) throw new UsageError(`--reference-runs ${v}: expected a whole number >= 1`);
    }
    else if (x === '--evidence') a.evidence = resolve(val());
    else if (x === '--sampler') {
      const v = val();
      if (v !== 'sock_diag' && v !== 'ss') throw new UsageError(`--sampler ${v}: expected sock_diag or ss`);
      a.sampler = v;
    }
    else if (x === '--device') {
      const v = val();
      if (!isDeviceKind(v)) throw new UsageError(`--device ${v}: expected tun, tun-lazy or veth`);
      a.device = v;
    }
    else throw new UsageError(`conformance: unknown option ${x}`);
  }
  if (a.sampler && !a.evidence) throw new UsageError('--sampler needs --evidence DIR (without evidence nothing is sampled)');
  if (a.packetdrill && a.reference) throw new UsageError('--packetdrill makes the reference and --reference reads one: give one of them');
  if ((a.saveReference || a.referenceRuns !== 1) && !a.packetdrill) throw new UsageError(`${a.saveReference ? '--save-reference' : '--reference-runs'} needs --packetdrill PATH`);
  if ((a.reference || a.saveReference) && a.corpora.length !== 1) {
    throw new UsageError(`${a.reference ? '--reference' : '--save-reference'} holds one corpus's rows: add --corpus gtests or --corpus selftests`);
  }
  if (a.kernel && a.kernel !== 'host' && !a.packetdrill && !a.reference) {
    throw new UsageError(`--kernel ${a.kernel}: the reference in ../shared/reference was made on this host's kernel; give --packetdrill PATH to make packetdrill's verdicts on ${a.kernel}, or --reference FILE`);
  }
  if (a.kernel && a.kernel !== 'host' && (a.save || a.check) && !a.outGiven) {
    throw new UsageError(`--kernel ${a.kernel} with ${a.save ? '--save' : '--check'}: conformance/last.json holds the host kernel's rows; name another file with --out FILE`);
  }
  if (a.packetdrill) {
    const problem = packetdrillPathProblem(a.packetdrill);
    if (problem) throw new UsageError(`--packetdrill ${problem}`);
  }
  return a;
}

/** Extra runs a suspected regression gets in --check mode. */
const CHECK_ATTEMPTS = 3;

/** Run rows again, one at a time; a row that agrees now is marked as such. */
async function rerunAlone(rows: Comparison[], device: DeviceKind, evidence: string | undefined, sampler?: SamplerKind, target?: RunTarget): Promise<void> {
  for (const c of corpora()) {
    const mine = rows.filter((r) => r.corpus === c.name);
    if (mine.length === 0) continue;
    const planned = mine.map((m) => planFor(c, m.reference));
    const { reported } = await executeRuns(planned, quietArgs(c, 1, device, evidence && join(evidence, 'reruns'), sampler), `${c.name} reruns`, target ? { target } : {});
    reported.forEach((r, i) => {
      const m = mine[i]!;
      const firstError = r.result.firstError?.headline ?? '';
      if (compare(m.reference, r.result.verdict, firstError)) {
        Object.assign(m, { verdict: r.result.verdict, firstError, agree: true, retried: true });
      }
    });
  }
}

/** The flags packetdrill's runner passes for a row's variant. */
function runnerArgs(c: CorpusInfo, r: ReferenceRow): string[] {
  return (c.ksft ? KSFT_ARGS : RUN_ALL_ARGS)[r.variant] ?? [];
}

function planFor(c: CorpusInfo, r: ReferenceRow): PlannedRun {
  return {
    scriptPath: join(c.root, r.script),
    reportPath: r.script,
    variant: VARIANT_OF[r.variant] ?? 'ipv4',
    variantLabel: r.variant,
    options: toSettings(runnerArgs(c, r)),
    evidenceStem: `${c.name}/${r.script.replace(/\.pkt$/, '')}_${r.variant}`,
  };
}

/** The runner's options: no evidence, or (`evidence` set) what `tundrill run` keeps by default, there. */
export function quietArgs(c: CorpusInfo, jobs: number | undefined, device: DeviceKind, evidence?: string, sampler: SamplerKind = 'sock_diag'): RunnerOptions & { ksft: boolean } {
  const base = { ...defaultRunnerOptions(evidence ?? join('/tmp', `tundrill-conformance-${process.pid}`)), devices: [device], quiet: true, ...(jobs === undefined ? {} : { jobs }) };
  return evidence
    ? { ...base, ksft: c.ksft, sampler, ssIntervalMs: sampler === 'ss' ? SS_INTERVAL_MS : SOCK_DIAG_INTERVAL_MS }
    : { ...base, ksft: c.ksft, capture: false, ssIntervalMs: 0, report: 'none' };
}

export interface SavedResult {
  date: string;
  wallSeconds: number;
  jobs: number;
  /**
   * `agree` is true only for rows that agreed in every saved run; a row
   * that agreed in some and not in others is `unstable` and not counted
   * against a later run.
   */
  rows: Array<{ corpus: CorpusName; script: string; variant: string; agree: boolean; unstable?: boolean; verdict: string; firstError: string }>;
  /** How many runs were merged into this result. */
  runs?: number;
}

export async function runConformance(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  if (args.help) {
    process.stdout.write(CONFORMANCE_USAGE);
    return EXIT_PASS;
  }
  const all: Comparison[] = [];
  const firstPass: Comparison[] = [];
  const started = performance.now();
  const scratch = scratchDir(args);
  let sut: Awaited<ReturnType<typeof openConformanceKernel>> | undefined;
  try {
    sut = args.kernel ? await openConformanceKernel(args, scratch.dir) : undefined;
  } catch (e) {
    scratch.remove();
    if (!(e instanceof KernelUnusable)) throw e;
    process.stderr.write(`tundrill: ${e.message}\n`);
    return EXIT_ENVIRONMENT;
  }
  const target = sut?.target;
  const references: string[] = [];
  try {
    for (const c of corpora().filter((x) => args.corpora.includes(x.name))) {
      const refFile = args.reference ?? c.reference;
      if (!existsSync(refFile)) throw new UsageError(`reference verdicts not found: ${refFile}`);
      let rows = readReference(refFile);
      if (args.filter.length) rows = rows.filter((r) => args.filter.some((f) => r.script.includes(f)));
      const runArgs = quietArgs(c, args.jobs, args.device, args.evidence, args.sampler);
      if (args.packetdrill) {
        const where = args.kernel ?? 'host';
        let made;
        try {
          made = await makeReference(rows, {
            tool: sut?.guestBinary ?? args.packetdrill, argsFor: (r) => runnerArgs(c, r), planFor: (r) => planFor(c, r),
            corpusRoot: c.root, linkTree: scratch.tree(c),
            runner: runArgs, ...(target ? { target } : {}), runs: args.referenceRuns, label: `${c.name} packetdrill on ${where}`,
          });
        } catch (e) {
          if (!(e instanceof ReferenceInterrupted)) throw e;
          process.stderr.write(`tundrill: ${e.message}\n`);
          return stopExitCode();
        }
        rows = made.rows;
        const release = sut?.facts.release ?? hostFacts().release;
        const count = (v: string): number => rows.filter((r) => r.verdict === v).length;
        references.push(`${c.name}: packetdrill's verdicts made here on ${where} (${release}): ${count('pass')} pass, ${count('fail')} fail, ${count('flaky')} flaky, ${made.seconds.toFixed(1)} s`);
        if (args.saveReference) {
          saveReference(args.saveReference, rows, [
            `packetdrill's verdicts on ${where} (${release}), made by tundrill conformance --packetdrill ${args.packetdrill}, ${new Date().toISOString()}`,
            `script path is relative to the ${c.name} corpus; ${args.referenceRuns} run(s) per row; flaky = differed between runs.`,
          ]);
          references.push(`saved ${args.saveReference}`);
        }
      } else references.push(`${c.name}: reference ${refFile}`);
      const planned = rows.map((r) => planFor(c, r));
      // The reference's seconds order the starts: long runs early (run-order.ts).
      const { reported } = await executeRuns(planned, runArgs, `${c.name} corpus`, {
        expectedSeconds: rows.map((r) => r.seconds), ...(target ? { target } : {}),
      });
      const mine: Comparison[] = reported.map((r, i) => {
        const ref = rows[i]!;
        const firstError = r.result.firstError?.headline ?? '';
        const spoiled = r.result.stallAttempts ?? [];
        const agree = compare(ref, r.result.verdict, firstError);
        return {
          corpus: c.name, script: ref.script, variant: ref.variant, reference: ref, verdict: r.result.verdict,
          firstError, agree, seconds: r.result.durationMs / 1000,
          ...(spoiled.length ? { stallAttempts: spoiled.length, firstAttemptAgrees: compare(ref, 'fail', spoiled[0]!.headline) } : {}),
        };
      });
      firstPass.push(...mine.map((m) => ({ ...m })));
      // packetdrill's reference verdicts come from serial runs: a row that
      // disagrees in the parallel run is run again on its own.
      const again = mine.filter((m) => !m.agree && m.reference.verdict !== 'flaky');
      if (args.retry && again.length > 0) await rerunAlone(again, args.device, args.evidence, args.sampler, target);
      all.push(...mine);
    }
    const wall = (performance.now() - started) / 1000;
    const jobs = target ? `${sut!.slots} VM${sut!.slots > 1 ? 's' : ''} on ${args.kernel}` : args.jobs === undefined ? `${defaultJobs()} (beyond one per core while the CPUs have room)` : String(args.jobs);
    process.stdout.write(report(all, wall, jobs, firstPass, references));
    const saved: SavedResult = {
      date: new Date().toISOString(), wallSeconds: wall, jobs: args.jobs ?? defaultJobs(),
      rows: all.map((c) => ({ corpus: c.corpus, script: c.script, variant: c.variant, agree: c.agree, verdict: c.verdict, firstError: c.firstError })),
    };
    let code = EXIT_PASS;
    const key = (r: { corpus: string; script: string; variant: string }) => `${r.corpus}|${r.script}|${r.variant}`;
    const prev = existsSync(args.out) ? (JSON.parse(readFileSync(args.out, 'utf8')) as SavedResult) : null;
    if (args.check && prev) {
      const stable = new Set(prev.rows.filter((r) => r.agree && !r.unstable).map(key));
      // A steadily agreeing row that disagrees now gets more runs of its own
      // before it counts as a regression: a timing flake passes on one of
      // them, a broken semantics fails every time.
      for (let attempt = 0; attempt < CHECK_ATTEMPTS; attempt++) {
        const suspects = all.filter((c) => !c.agree && stable.has(key(c)));
        if (suspects.length === 0) break;
        await rerunAlone(suspects, args.device, args.evidence, args.sampler, target);
      }
      const regressions = all.filter((c) => !c.agree && stable.has(key(c)));
      const now = all.filter((c) => c.agree && stable.has(key(c))).length;
      const before = all.filter((c) => stable.has(key(c))).length;
      process.stdout.write(`\nagreement on the rows that agree steadily in ${args.out}: ${now} / ${before}\n`);
      for (const r of regressions) process.stdout.write(`REGRESSION ${r.corpus} ${r.script} (${r.variant}): ${r.firstError || r.verdict}\n`);
      if (now < before) code = EXIT_FAIL;
    }
    if (args.save && args.merge && prev) {
      const old = new Map(prev.rows.map((r) => [key(r), r]));
      saved.rows = saved.rows.map((r) => {
        const o = old.get(key(r));
        if (!o) return r;
        const unstable = Boolean(o.unstable) || o.agree !== r.agree;
        return { ...r, agree: r.agree && o.agree, unstable };
      });
      saved.runs = (prev.runs ?? 1) + 1;
    }
    if (args.save) {
      mkdirSync(join(args.out, '..'), { recursive: true });
      writeFileSync(args.out, JSON.stringify(saved, null, 1) + '\n');
      process.stdout.write(`saved ${args.out}\n`);
    }
    return code;
  } finally {
    await sut?.close();
    scratch.remove();
  }
}

/**
 * Where VMs share files with the host and packetdrill's link trees go:
 * the evidence folder, or a temporary folder (not under /tmp, which
 * guests do not see) removed at the end.
 */
function scratchDir(args: ConformanceArgs): { dir: string; tree(c: CorpusInfo): string; remove(): void } {
  const made = !args.evidence && (args.kernel !== undefined || args.packetdrill !== undefined);
  const dir = args.evidence ?? (made ? mkdtempSync(join('/var/tmp', 'tundrill-conformance-')) : '');
  const trees = new Map<string, string>();
  return {
    dir,
    tree: (c) => {
      let t = trees.get(c.name);
      if (!t) {
        t = join(dir, '.packetdrill-tree', c.name);
        rmSync(t, { recursive: true, force: true });
        linkTree(c.root, t);
        trees.set(c.name, t);
      }
      return t;
    },
    remove: () => {
      if (made) rmSync(dir, { recursive: true, force: true });
      else for (const t of trees.values()) rmSync(t, { recursive: true, force: true });
    },
  };
}

/** The kernel the rows run on, in VMs (`target` absent for the host), and packetdrill as its guests see it. */
async function openConformanceKernel(args: ConformanceArgs, share: string): Promise<{ target?: RunTarget; facts: KernelFacts; slots: number; guestBinary?: string; close(): Promise<void> }> {
  const runArgs: RunArgs = { ...defaultRunnerOptions(share), paths: [], ksft: false, kernels: [args.kernel!], vmClock: 'icount', ...(args.jobs === undefined ? {} : { jobs: args.jobs }) };
  const k: KernelTarget = await openKernel(args.kernel!, runArgs, Number.MAX_SAFE_INTEGER);
  const close = (): Promise<void> => k.close();
  if (!k.run) return { facts: k.facts, slots: 0, close };
  return {
    target: { run: k.run, kill: (sig) => k.kill(sig), facts: k.facts }, facts: k.facts, slots: k.slots ?? 1,
    ...(args.packetdrill ? { guestBinary: binaryForGuests(args.packetdrill, share) } : {}), close,
  };
}

function report(all: Comparison[], wall: number, jobs: string, firstPass: Comparison[], references: string[] = []): string {
  const lines: string[] = references.length ? ['', ...references] : [];
  const groups = new Map<string, Comparison[]>();
  for (const c of all) {
    const k = `${c.corpus} ${c.variant}`;
    groups.set(k, [...(groups.get(k) ?? []), c]);
  }
  lines.push('', 'corpus     variant          agree / rows   (flaky rows apart)');
  for (const [k, cs] of groups) {
    const flaky = cs.filter((c) => c.reference.verdict === 'flaky').length;
    const solid = cs.filter((c) => c.reference.verdict !== 'flaky');
    const agree = solid.filter((c) => c.agree).length;
    const [corpus, variant] = k.split(' ');
    lines.push(`${corpus!.padEnd(10)} ${variant!.padEnd(16)} ${String(agree).padStart(5)} / ${String(solid.length).padEnd(5)}  ${flaky ? `(${flaky} flaky)` : ''}`);
  }
  const solid = all.filter((c) => c.reference.verdict !== 'flaky');
  lines.push(`${'all'.padEnd(27)} ${String(solid.filter((c) => c.agree).length).padStart(5)} / ${solid.length}`);
  const firstSolid = firstPass.filter((c) => c.reference.verdict !== 'flaky');
  lines.push(`parallel pass alone (-j ${jobs}): ${firstSolid.filter((c) => c.agree).length} / ${firstSolid.length}; agreed only when run again alone: ${all.filter((c) => c.retried).length}`);
  for (const c of all.filter((x) => x.retried)) lines.push(`  retried: ${c.corpus} ${c.script} (${c.variant})`);
  const stalled = firstSolid.filter((c) => c.stallAttempts);
  if (stalled.length) {
    const firstAttempts = firstSolid.filter((c) => (c.stallAttempts ? c.firstAttemptAgrees : c.agree)).length;
    lines.push(`first attempts only (no run made again after a machine stall): ${firstAttempts} / ${firstSolid.length}; runs made again after a machine stall: ${stalled.length}`);
    for (const c of stalled) lines.push(`  machine stall: ${c.corpus} ${c.script} (${c.variant}), ${c.stallAttempts} spoiled attempt${c.stallAttempts! > 1 ? 's' : ''}, then ${c.agree ? 'agreed' : 'disagreed'}`);
  }
  lines.push(`wall time ${wall.toFixed(1)} s with -j ${jobs}`, '');
  const bad = solid.filter((c) => !c.agree);
  if (bad.length) {
    lines.push('disagreements (packetdrill | tundrill):');
    for (const c of bad) {
      lines.push(`  ${c.corpus} ${c.script} (${c.variant})`);
      lines.push(`    packetdrill: ${c.reference.verdict}${c.reference.firstError ? ` ${c.reference.firstError}` : ''}`);
      lines.push(`    tundrill:    ${c.verdict}${c.firstError ? ` ${c.firstError}` : ''}`);
    }
  }
  for (const c of all.filter((x) => x.reference.verdict === 'flaky')) {
    lines.push(`flaky in the reference: ${c.corpus} ${c.script} (${c.variant}): tundrill ${c.verdict} ${c.firstError}`);
  }
  return lines.join('\n') + '\n';
}
