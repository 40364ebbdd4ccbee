/**
 * Reports of a set of runs: the terminal lines and summary (like
 * run_all.py's), TAP in run_all.py's form, JUnit XML and JSON.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

import type { RunResult } from '../engine/result.js';
import type { RepeatSummary } from '../runner/repeat.js';
import type { KernelFacts } from '../backend/microvm/kernel.js';

export type { KernelFacts };

function writeReport(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
}

export interface ReportedRun {
  /** Script path as the report shows it. */
  path: string;
  variant: string;
  result: RunResult;
  /** Output of the worker (stdout and stderr) for failures. */
  output: string;
  /** The run's HTML report, when one was written. */
  html?: string;
  /** Position in the run plan before it was split into shards (to merge shards back in order). */
  index?: number;
  /** Rows run several times (--repeat): pass rate, flakiness, timing spread. */
  repeat?: RepeatSummary;
  /** The kernel it ran on, when runs were made on a chosen kernel (--kernel). */
  kernel?: KernelFacts;
}

/** Some runs of a repeated row passed and some did not. */
export function isFlaky(r: ReportedRun): boolean {
  return r.repeat?.flaky === true;
}

/** `passed 7/10, flaky` for repeated rows, '' otherwise. */
export function repeatNote(r: ReportedRun): string {
  if (!r.repeat) return '';
  return `passed ${r.repeat.passed}/${r.repeat.runs}${r.repeat.flaky ? ', flaky' : ''}`;
}


/** The name of a run in reports: path and variant, and the kernel when one was chosen. */
function runName(r: ReportedRun): string {
  return `${r.path} (${r.variant})${r.kernel ? ` [${r.kernel.spec}]` : ''}`;
}

export interface Summary {
  total: number;
  passing: number;
  failing: number;
  timedOut: number;
  errors: number;
  seconds: number;
  /** Repeated rows that flipped (only when rows were repeated). */
  flaky?: number;
}

export function summarize(runs: ReportedRun[], seconds: number): Summary {
  const s: Summary = { total: runs.length, passing: 0, failing: 0, timedOut: 0, errors: 0, seconds };
  for (const r of runs) {
    if (r.result.verdict === 'pass') s.passing++;
    else if (r.result.verdict === 'timeout') s.timedOut++;
    else {
      s.failing++;
      if (r.result.verdict === 'error' || r.result.verdict === 'environment') s.errors++;
    }
  }
  if (runs.some((r) => r.repeat)) s.flaky = runs.filter(isFlaky).length;
  return s;
}

/** run_all.py's closing line. */
export function summaryLine(s: Summary, path: string): string {
  const pad = (n: number) => String(n).padStart(4, ' ');
  return `Ran ${pad(s.total)} tests: ${pad(s.passing)} passing, ${pad(s.failing)} failing, ${pad(s.timedOut)} timed out (${s.seconds.toFixed(2)} sec): ${path}`;
}

export function runLine(r: ReportedRun): string {
  const v = r.result.verdict;
  const tag = v === 'pass' ? 'OK  ' : v === 'timeout' ? 'TIME' : 'FAIL';
  const secs = (r.result.durationMs / 1000).toFixed(2);
  return `${tag} [${runName(r)}] ${secs}s`;
}

export function writeTap(file: string, runs: ReportedRun[]): void {
  const lines = ['TAP version 13', `1..${runs.length}`];
  runs.forEach((r, i) => {
    const n = i + 1;
    const v = r.result.verdict;
    const note = repeatNote(r) ? ` [${repeatNote(r)}]` : '';
    if (v === 'pass') lines.push(`ok ${n} ${runName(r)}${note}`);
    else if (v === 'timeout') lines.push(`not ok ${n} ${runName(r)}${note} # timeout`);
    else lines.push(`not ok ${n} ${runName(r)}${note}`);
    const text = [r.result.firstError?.text ?? '', r.output].filter(Boolean).join('\n');
    if (v !== 'pass') for (const l of text.split('\n')) if (l.trim()) lines.push(`# ${l.trimEnd()}`);
  });
  writeReport(file, lines.join('\n') + '\n');
}

function xml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!)
    // eslint-disable-next-line no-control-regex
    .replace(/[\x00-\x08\x0b\x0c\x0e-\x1f]/g, '');
}

export function writeJunit(file: string, runs: ReportedRun[], s: Summary): void {
  const cases = runs.map((r) => {
    const name = xml(runName(r));
    const t = (r.result.durationMs / 1000).toFixed(3);
    const v = r.result.verdict;
    const cls = r.kernel ? xml(`tundrill.${r.kernel.spec}`) : 'tundrill';
    const props = r.repeat
      ? `\n      <properties><property name="runs" value="${r.repeat.runs}"/><property name="passed" value="${r.repeat.passed}"/><property name="flaky" value="${r.repeat.flaky}"/></properties>`
      : '';
    if (v === 'pass') return props ? `    <testcase classname="${cls}" name="${name}" time="${t}">${props}\n    </testcase>` : `    <testcase classname="${cls}" name="${name}" time="${t}"/>`;
    const msg = xml(`${r.repeat ? `${repeatNote(r)}: ` : ''}${r.result.firstError?.headline ?? v}`);
    const body = xml([r.result.firstError?.text ?? '', r.output].filter(Boolean).join('\n'));
    const tag = v === 'error' || v === 'environment' ? 'error' : 'failure';
    return `    <testcase classname="${cls}" name="${name}" time="${t}">${props}\n      <${tag} message="${msg}" type="${v}">${body}</${tag}>\n    </testcase>`;
  });
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites tests="${s.total}" failures="${s.failing - s.errors}" errors="${s.errors}" time="${s.seconds.toFixed(3)}">`,
    `  <testsuite name="tundrill" tests="${s.total}" failures="${s.failing - s.errors}" errors="${s.errors}" skipped="0" time="${s.seconds.toFixed(3)}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
  ];
  writeReport(file, out.join('\n') + '\n');
}

/** What a JSON report says about the plan it covers: its shard, the rows planned before the split, repeats. */
export interface JsonPlanInfo {
  shard?: { index: number; count: number };
  /** Rows in the whole plan (all shards). */
  planned?: number;
  repeat?: number;
}

export function writeJson(file: string, runs: ReportedRun[], s: Summary, plan: JsonPlanInfo = {}): void {
  const body = {
    summary: s,
    ...(Object.keys(plan).length ? { plan } : {}),
    runs: runs.map((r) => ({
      script: r.path,
      variant: r.variant,
      ...(r.kernel ? { kernel: r.kernel } : {}),
      verdict: r.result.verdict,
      exitCode: r.result.exitCode,
      durationMs: Math.round(r.result.durationMs * 1000) / 1000,
      firstError: r.result.firstError ?? null,
      evidence: r.result.evidence,
      packets: r.result.packets,
      warnings: r.result.warnings,
      ...(r.result.stallAttempts ? { stallAttempts: r.result.stallAttempts } : {}),
      injectionErrorsUsecs: r.result.injectionErrorsUsecs,
      ...(r.result.packetStamps ? { packetStamps: r.result.packetStamps } : {}),
      overhead: r.result.overhead ?? null,
      timing: r.result.timing ?? [],
      output: r.output,
      ...(r.index !== undefined ? { index: r.index } : {}),
      ...(r.repeat ? { repeat: r.repeat, flaky: r.repeat.flaky } : {}),
      device: r.result.device ?? null,
    })),
  };
  writeReport(file, JSON.stringify(body, null, 2) + '\n');
}
