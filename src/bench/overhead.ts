/**
 * Fixed cost of a run: a trivial script run end to end by one worker
 * (spawn to result), split by the worker's own overhead figures and its
 * traced phases; and the CLI's own start-up.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { runChecks } from '../runner/environment.js';
import { planIpv4, runOneWorker } from './runs.js';
import { median } from './stats.js';
import { num, renderTable } from './table.js';
import { phaseTimes } from './trace-lines.js';

export interface OverheadOptions {
  trivialScript: string;
  projectRoot: string;
  samples: number;
  cliSamples: number;
  captureDir: string;
  progress(text: string): void;
}

export interface OverheadRow {
  name: string;
  /** Indented under the row before it (a part of it). */
  part?: boolean;
  medianMs: number;
  minMs: number;
  maxMs: number;
}

export interface OverheadReport {
  samples: number;
  passed: number;
  rows: OverheadRow[];
  cli: OverheadRow[];
}

function row(name: string, values: number[], part = false): OverheadRow {
  const ok = values.filter((v) => Number.isFinite(v));
  return {
    name, part,
    medianMs: median(ok),
    minMs: ok.length ? Math.min(...ok) : NaN,
    maxMs: ok.length ? Math.max(...ok) : NaN,
  };
}

/** The traced phases of a run, as [label, from phase, to phase]. */
const PHASES: Array<[string, string, string]> = [
  ['parse and check the script', 'start', 'parsed'],
  ['evidence start (counters, ss sampler)', 'network configured', 'evidence started'],
  ['init command', 'evidence started', 'init command done'],
  ['garbage collection + warm-up (compile event paths)', 'init command done', 'warmed up'],
  ['wait for a kernel tick to start the clock', 'warmed up', 'clock started'],
  ['the events', 'clock started', 'events done'],
  ['end: cleanup, evidence (hold, capture)', 'events done', 'evidence written'],
  ['tun and namespace closed', 'evidence written', 'system closed'],
];

function timeCommand(cmd: string, args: string[], cwd: string): { ms: number; status: number | null } {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd, stdio: 'ignore' });
  return { ms: performance.now() - t0, status: r.status };
}

export async function measureOverhead(opts: OverheadOptions): Promise<OverheadReport> {
  const run = planIpv4(opts.trivialScript, 'overhead/trivial');
  opts.progress(`per-run overhead: ${opts.samples} single worker runs of ${opts.trivialScript}`);
  const walls: number[] = [];
  const parts: Record<string, number[]> = {};
  const add = (k: string, v: number): void => {
    (parts[k] ??= []).push(v);
  };
  let passed = 0;
  // One unmeasured run first: file system caches, the addon's first load.
  await runOneWorker(run, opts.captureDir, true);
  for (let i = 0; i < opts.samples; i++) {
    const o = await runOneWorker(run, opts.captureDir, true);
    const r = o.result;
    if (!r || r.verdict !== 'pass' || !r.overhead) continue;
    passed++;
    walls.push(o.wallMs);
    const ov = r.overhead;
    add('start', ov.startMs);
    add('addon', ov.addonMs);
    add('startAddon', ov.startMs + ov.addonMs);
    add('tun', ov.tunMs);
    add('net', ov.netMs);
    add('rest', o.wallMs - ov.startMs - ov.addonMs - ov.tunMs - ov.netMs);
    add('outside', o.wallMs - ov.startMs - ov.addonMs - r.durationMs);
    const ph = phaseTimes(o.stderr);
    for (const [name, from, to] of PHASES) add(name, (ph.get(to) ?? NaN) - (ph.get(from) ?? NaN));
  }
  const rows: OverheadRow[] = [
    row('wall time: spawn -> result (unshare + worker)', walls),
    row('process start + module load (startMs + addonMs)', parts.startAddon ?? []),
    row('Node start-up and worker modules (startMs)', parts.start ?? [], true),
    row('engine modules and native addon (addonMs)', parts.addon ?? [], true),
    row('tun open (tunMs)', parts.tun ?? []),
    row('namespace/net set-up: ip -batch (netMs)', parts.net ?? []),
    row('the rest (wall - all of the above)', parts.rest ?? []),
    ...PHASES.map(([name]) => row(name, parts[name] ?? [], true)),
    row('outside the worker\'s clock (unshare+exec, evidence attach, exit, result)', parts.outside ?? [], true),
  ];

  opts.progress(`CLI start-up: ${opts.cliSamples} samples each`);
  const cli = join(opts.projectRoot, 'bin', 'tundrill.js');
  const help: number[] = [];
  const endToEnd: number[] = [];
  const checks: number[] = [];
  for (let i = 0; i < opts.cliSamples; i++) {
    help.push(timeCommand(process.execPath, [cli, '--help'], opts.projectRoot).ms);
    const e = timeCommand(process.execPath, [cli, 'run', '--ip_version=ipv4', '-q', '--capture-dir', join(opts.captureDir, 'cli'), opts.trivialScript], opts.projectRoot);
    if (e.status === 0) endToEnd.push(e.ms);
    const t0 = performance.now();
    runChecks({ fix: false });
    checks.push(performance.now() - t0);
  }
  const cliRows = [
    row('tundrill --help (node start + CLI modules)', help),
    row('environment checks (doctor, run before every `run`)', checks),
    row('tundrill run trivial.pkt, end to end', endToEnd),
    { ...row('of which not the worker (end to end - worker wall median)', []), medianMs: median(endToEnd) - median(walls) },
  ];
  return { samples: opts.samples, passed, rows, cli: cliRows };
}

export function renderOverhead(rep: OverheadReport): string {
  const render = (rows: OverheadRow[]) =>
    renderTable(
      ['', 'median ms', 'min ms', 'max ms'],
      rows.map((r) => [`${r.part ? '  ' : ''}${r.name}`, num(r.medianMs, 1), num(r.minMs, 1), num(r.maxMs, 1)]),
    );
  return [
    `Per-run overhead of a trivial script (${rep.passed}/${rep.samples} runs passed; medians of each row, so parts need not add up)`,
    render(rep.rows),
    '',
    'CLI start-up',
    render(rep.cli),
  ].join('\n');
}
