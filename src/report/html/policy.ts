/**
 * When a run gets an HTML report: `--report html` every run, `--no-report`
 * none, by default scenarios and runs that did not pass. A report that
 * cannot be written is a warning, never a change of the run's verdict.
 */
import type { RunResult } from '../../engine/result.js';
import { writeRunReport, writeSuiteIndex } from './index.js';
import type { ScenarioView } from './model.js';
import type { SuiteRow } from './suite.js';

export type ReportMode = 'html' | 'none' | 'default';

export function wantsReport(mode: ReportMode, verdict: RunResult['verdict'], scenario: boolean): boolean {
  if (mode === 'none') return false;
  if (mode === 'html') return true;
  return scenario || verdict !== 'pass';
}

export interface ReportTarget {
  /** Evidence folder ('' when no evidence was kept: then there is nothing to report). */
  dir: string;
  stem: string;
  scriptPath: string;
}

/**
 * A run stopped before its device was up (a stop signal as it was handed to
 * a worker) has no packets and no socket states: its page would be empty,
 * and a file named for it would pass for evidence of a run. The reports
 * (JSON, JUnit, TAP) still list it as interrupted.
 */
export function leftNothing(result: RunResult): boolean {
  return result.firstError?.kind === 'interrupted' && !result.evidence.capture && !result.evidence.timeline;
}

/** Write the run's report if the mode asks for one; its path, or undefined. */
export function maybeWriteRunReport(
  mode: ReportMode, target: ReportTarget, result: RunResult, scenario?: ScenarioView,
): string | undefined {
  if (!target.dir || !wantsReport(mode, result.verdict, scenario !== undefined)) return undefined;
  if (leftNothing(result)) return undefined;
  try {
    return writeRunReport({ ...target, result, ...(scenario ? { scenario } : {}) });
  } catch (e) {
    process.stderr.write(`tundrill: HTML report for ${target.stem} not written: ${(e as Error).message}\n`);
    return undefined;
  }
}

/** The suite index, when reports are on and there is more than one run. */
export function maybeWriteSuiteIndex(mode: ReportMode, file: string, title: string, rows: SuiteRow[], seconds: number): string | undefined {
  if (mode === 'none' || rows.length < 2 || !rows.some((r) => r.report)) return undefined;
  return writeSuiteIndex(file, title, rows, seconds);
}

/** What a scenario run leaves that its report needs (a ScenarioOutcome fits). */
export interface ScenarioRun {
  scenario: { name: string };
  verdict: {
    pass: boolean; summary: string; checks?: ScenarioView['checks']; numbers?: Record<string, unknown>; tables?: ScenarioView['tables'];
    evidence?: { dir: string; marks: string; script: string };
  };
  result: RunResult | null;
}

/** A scenario's report, beside its evidence (none with --no-capture: the evidence is gone). */
export function maybeWriteScenarioReport(mode: ReportMode, o: ScenarioRun): string | undefined {
  const files = o.verdict.evidence;
  if (!files || !o.result) return undefined;
  const stem = files.marks.replace(/^.*\//, '').replace(/\.run\.json$/, '');
  return maybeWriteRunReport(mode, { dir: files.dir, stem, scriptPath: files.script }, o.result, {
    name: o.scenario.name,
    pass: o.verdict.pass,
    summary: o.verdict.summary,
    checks: o.verdict.checks ?? [],
    numbers: o.verdict.numbers ?? {},
    tables: o.verdict.tables ?? [],
  });
}
