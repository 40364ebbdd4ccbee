/**
 * Injection timing error (actual write time minus scheduled time of every
 * injected packet, as the worker reports it) and outbound sniff latency
 * (from the workers' event traces) over a set of scripts.
 */
import { basename } from 'node:path';
import type { RunResult } from '../engine/result.js';
import type { DeviceKind } from '../backend/devices.js';
import { planIpv4, runBatch, runTracedWorker, type TracedRun } from './runs.js';
import { countAtLeast, distribution, type Distribution } from './stats.js';
import { num, renderTable } from './table.js';
import { sniffLatencies } from './trace-lines.js';

export interface InjectionOptions {
  scripts: string[];
  /** Runs of each script (and as many again, traced, for the sniff latency). */
  repeat: number;
  captureDir: string;
  /** The path between kernel and harness (default tun). */
  device?: DeviceKind;
  progress(text: string): void;
}

export interface ScriptTiming {
  script: string;
  runs: number;
  passed: number;
  injection: Distribution;
  /** Injections at least 1 ms late. */
  lateMs: number;
  sniffStamp: Distribution;
  sniffReady: Distribution;
  failures: string[];
}

export interface InjectionReport {
  perScript: ScriptTiming[];
  overall: ScriptTiming;
}

/** How a script is named in the bench's tables. */
export function label(path: string): string {
  const parts = path.split('/');
  const i = parts.lastIndexOf('tcp');
  return i >= 0 && parts.includes('corpus') ? `corpus:${parts.slice(i + 1).join('/')}` : basename(path);
}

/** The runs, interleaved (a, b, c, a, b, c, ...) so that a burst of load spreads over the scripts. */
function plan(scripts: string[], repeat: number, tag: string) {
  const runs = [];
  for (let r = 0; r < repeat; r++) {
    for (const s of scripts) runs.push({ script: s, run: planIpv4(s, `${tag}/${basename(s, '.pkt')}-${r}`) });
  }
  return runs;
}

function summarizeScript(script: string, timed: RunResult[], traced: TracedRun[]): ScriptTiming {
  const errors = timed.flatMap((r) => r.injectionErrorsUsecs);
  const sniffs = traced.flatMap((r) => sniffLatencies(r.trace));
  const results = [...timed, ...traced.map((t) => t.result)];
  const failures = results
    .filter((r) => r?.verdict !== 'pass')
    .map((r) => r?.firstError?.headline ?? (r ? r.verdict : 'the worker gave no result'));
  return {
    script,
    runs: results.length,
    passed: results.filter((r) => r?.verdict === 'pass').length,
    injection: distribution(errors),
    lateMs: countAtLeast(errors, 1000),
    sniffStamp: distribution(sniffs.map((s) => s.stampToEngineUsecs)),
    sniffReady: distribution(sniffs.map((s) => s.readyToEngineUsecs)),
    failures,
  };
}

export async function measureInjection(opts: InjectionOptions): Promise<InjectionReport> {
  const timedPlan = plan(opts.scripts, opts.repeat, 'timed');
  const tracedPlan = plan(opts.scripts, opts.repeat, 'traced');
  opts.progress(`injection timing: ${timedPlan.length} runs, one at a time`);
  const timed = (await runBatch(timedPlan.map((p) => p.run), { jobs: 1, captureDir: opts.captureDir, trace: false, ...(opts.device ? { device: opts.device } : {}) }))
    .reported.map((r) => r.result);
  opts.progress(`sniff latency: ${tracedPlan.length} traced runs, one at a time`);
  const traced: TracedRun[] = [];
  for (const p of tracedPlan) traced.push(await runTracedWorker(p.run, opts.captureDir, opts.device));
  const perScript = opts.scripts.map((s) => summarizeScript(
    label(s),
    timed.filter((_r, i) => timedPlan[i]!.script === s),
    traced.filter((_r, i) => tracedPlan[i]!.script === s),
  ));
  return { perScript, overall: summarizeScript('all', timed, traced) };
}

export function renderInjection(rep: InjectionReport): string {
  const rows = [...rep.perScript, rep.overall];
  const injection = renderTable(
    ['script', 'runs ok', 'injected', 'p50 µs', 'p99 µs', 'max µs', 'mean µs', '>=1ms'],
    rows.map((r) => [
      r.script, `${r.passed}/${r.runs}`, r.injection.count,
      num(r.injection.p50, 1), num(r.injection.p99, 1), num(r.injection.max, 1), num(r.injection.mean, 1), r.lateMs,
    ]),
  );
  const sniff = renderTable(
    ['script', 'sniffed', 'stamp p50', 'p99', 'max', 'ready p50', 'p99', 'max'],
    rows.map((r) => [
      r.script, r.sniffStamp.count,
      num(r.sniffStamp.p50), num(r.sniffStamp.p99), num(r.sniffStamp.max),
      num(r.sniffReady.p50), num(r.sniffReady.p99), num(r.sniffReady.max),
    ]),
  );
  const failures = rep.perScript.flatMap((r) => r.failures.map((f) => `  ${f}`));
  return [
    'Injection timing error (actual write minus scheduled time, µs; untraced runs, `tundrill run -j 1`)',
    injection,
    '',
    'Outbound sniff latency (µs, traced runs): "stamp" = C stamp on the reader thread -> engine holds the',
    'packet; "ready" = same, counted from when the engine asked for it if that was after the stamp',
    sniff,
    ...(failures.length ? ['', 'Runs that did not pass (their injections up to the failure are counted):', ...failures] : []),
  ].join('\n');
}
