/**
 * Every report file a run or a merge asks for, from one list of rows: one
 * place to add a format (each writer takes the rows in plan order and the
 * summary).
 */
import type { ReportMode } from './html/policy.js';
import { maybeWriteSuiteIndex } from './html/policy.js';
import type { SuiteRow } from './html/suite.js';
import { writeKtap } from './ktap.js';
import { isFlaky, writeJson, writeJunit, writeTap, type JsonPlanInfo, type ReportedRun, type Summary } from './reports.js';

export interface ReportTargets {
  tap?: string;
  junit?: string;
  json?: string;
  ktap?: string;
  /** The HTML suite index (written when some run has an HTML report). */
  index?: { file: string; title: string; mode: ReportMode };
}

export interface WrittenReports {
  index?: string;
}

/** A row of the HTML suite index. */
export function suiteRow(r: ReportedRun): SuiteRow {
  return {
    path: r.path, variant: r.variant, verdict: r.result.verdict, durationMs: r.result.durationMs,
    ...(r.result.firstError ? { firstError: r.result.firstError.headline } : {}),
    ...(r.html ? { report: r.html } : {}),
    ...(isFlaky(r) ? { flaky: true } : {}),
  };
}

export function writeReportFiles(targets: ReportTargets, runs: ReportedRun[], s: Summary, plan: JsonPlanInfo = {}): WrittenReports {
  if (targets.tap) writeTap(targets.tap, runs);
  if (targets.junit) writeJunit(targets.junit, runs, s);
  if (targets.json) writeJson(targets.json, runs, s, plan);
  if (targets.ktap) writeKtap(targets.ktap, runs);
  const out: WrittenReports = {};
  if (targets.index) {
    const index = maybeWriteSuiteIndex(targets.index.mode, targets.index.file, targets.index.title, runs.map(suiteRow), s.seconds);
    if (index) out.index = index;
  }
  return out;
}
