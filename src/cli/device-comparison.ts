/**
 * `tundrill run --device all`: after every script ran on each device, one
 * comparison per script variant, printed.
 */
import { readFileSync } from 'node:fs';
import type { DeviceKind } from '../backend/devices.js';
import type { ReportedRun } from '../report/reports.js';
import { compareScriptRuns, formatCompareTable } from '../report/device-compare.js';
import type { PlannedRun } from '../runner/plan.js';

/** Source text of each line of a script (1-based). */
function scriptLines(path: string): Map<number, string> {
  const m = new Map<number, string>();
  try {
    readFileSync(path, 'utf8').split('\n').forEach((l, i) => m.set(i + 1, l));
  } catch {
    // no source lines in the titles
  }
  return m;
}

export function printScriptComparison(runs: PlannedRun[], devices: readonly DeviceKind[], perDevice: ReportedRun[][]): void {
  runs.forEach((run, i) => {
    const tables = compareScriptRuns(devices.map((d, k) => ({ device: d, result: perDevice[k]![i]!.result })), scriptLines(run.scriptPath));
    const flagged = tables.reduce((n, t) => n + t.rows.filter((r) => r.differs).length, 0);
    process.stdout.write(`\n#### ${run.reportPath} (${run.variantLabel}) on ${devices.join(', ')}: ${flagged} row(s) differ\n`);
    for (const t of tables) if (t.rows.length > 0) process.stdout.write(`${formatCompareTable(t)}\n`);
  });
}
