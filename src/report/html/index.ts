/**
 * HTML reports: one self-contained file per run, written beside the run's
 * capture as `<stem>.html`, and a suite index linking them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { buildRunModel, type RunReportInput } from './model.js';
import { renderRunReport } from './render.js';
import { renderSuiteIndex, type SuiteRow } from './suite.js';

export { buildRunModel, type RunReportInput, type RunReportModel, type ScenarioView } from './model.js';
export { renderRunReport } from './render.js';
export { renderSuiteIndex, flakyKeys, type SuiteRow } from './suite.js';

/** Write `<dir>/<stem>.html`; returns its path. */
export function writeRunReport(input: RunReportInput): string {
  const file = join(input.dir, `${input.stem}.html`);
  mkdirSync(input.dir, { recursive: true });
  writeFileSync(file, renderRunReport(buildRunModel(input)));
  return file;
}

/** Write the suite index at `file`, rows linking to their reports (absolute paths are made relative). */
export function writeSuiteIndex(file: string, title: string, rows: SuiteRow[], seconds: number): string {
  mkdirSync(dirname(file), { recursive: true });
  const rel = rows.map((r) => (r.report ? { ...r, report: relative(dirname(file), r.report) } : r));
  writeFileSync(file, renderSuiteIndex(title, rel, seconds));
  return file;
}
