/**
 * Every report file a run or a merge asks for, from one list of rows: one
 * place to add a format (each writer takes the rows in plan order and the
 * summary).
 */
import { writeKtap } from './ktap.js';
import { writeJson, writeJunit, writeTap, type JsonPlanInfo, type ReportedRun, type Summary } from './reports.js';

export interface ReportTargets {
  tap?: string;
  junit?: string;
  json?: string;
  ktap?: string;
}

export function writeReportFiles(targets: ReportTargets, runs: ReportedRun[], s: Summary, plan: JsonPlanInfo = {}): void {
  if (targets.tap) writeTap(targets.tap, runs);
  if (targets.junit) writeJunit(targets.junit, runs, s);
  if (targets.json) writeJson(targets.json, runs, s, plan);
  if (targets.ktap) writeKtap(targets.ktap, runs);
}
