/**
 * Reports of a set of runs: the terminal lines and summary (like
 * run_all.py's), TAP in run_all.py's form, JUnit XML and JSON.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

function writeReport(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
}
import type { RunResult } from '../engine/result.js';

export interface ReportedRun {
  /** Script path as the report shows it. */
  path: string;
  variant: string;
  result: RunResult;
  /** Output of the worker (stdout and stderr) for failures. */
  output: string;
}

export interface Summary {
  total: number;
  passing: number;
  failing: number;
  timedOut: number;
  errors: number;
  seconds: number;
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
  return `${tag} [${r.path} (${r.variant})] ${secs}s`;
}

export function writeTap(file: string, runs: ReportedRun[]): void {
  const lines = ['TAP version 13', `1..${runs.length}`];
  runs.forEach((r, i) => {
    const n = i + 1;
    const v = r.result.verdict;
    if (v === 'pass') lines.push(`ok ${n} ${r.path} (${r.variant})`);
    else if (v === 'timeout') lines.push(`not ok ${n} ${r.path} (${r.variant}) # timeout`);
    else lines.push(`not ok ${n} ${r.path} (${r.variant})`);
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
    const name = xml(`${r.path} (${r.variant})`);
    const t = (r.result.durationMs / 1000).toFixed(3);
    const v = r.result.verdict;
    if (v === 'pass') return `    <testcase classname="tundrill" name="${name}" time="${t}"/>`;
    const msg = xml(r.result.firstError?.headline ?? v);
    const body = xml([r.result.firstError?.text ?? '', r.output].filter(Boolean).join('\n'));
    const tag = v === 'error' || v === 'environment' ? 'error' : 'failure';
    return `    <testcase classname="tundrill" name="${name}" time="${t}">\n      <${tag} message="${msg}" type="${v}">${body}</${tag}>\n    </testcase>`;
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

export function writeJson(file: string, runs: ReportedRun[], s: Summary): void {
  const body = {
    summary: s,
    runs: runs.map((r) => ({
      script: r.path,
      variant: r.variant,
      verdict: r.result.verdict,
      exitCode: r.result.exitCode,
      durationMs: Math.round(r.result.durationMs * 1000) / 1000,
      firstError: r.result.firstError ?? null,
      evidence: r.result.evidence,
      packets: r.result.packets,
      warnings: r.result.warnings,
      injectionErrorsUsecs: r.result.injectionErrorsUsecs,
      overhead: r.result.overhead ?? null,
      device: r.result.device ?? null,
    })),
  };
  writeReport(file, JSON.stringify(body, null, 2) + '\n');
}
