/**
 * `tundrill report merge [--json F] [--junit F] [--tap F] [--ktap F] [--index F] <shard.json>...`:
 * the JSON reports of the shards of one plan merged into every report
 * format, as if one runner had run the whole plan; `--index` writes the
 * HTML suite index linking the shards' run reports.
 */
import { EXIT_FAIL, EXIT_PASS } from '../engine/errors.js';
import { mergeReports, MergeError, readShardReport } from '../report/merge.js';
import { summaryLine } from '../report/reports.js';
import { writeReportFiles, type ReportTargets } from '../report/write-all.js';
import { UsageError } from './args.js';

export function cmdReport(argv: string[]): number {
  const [sub, ...rest] = argv;
  if (sub !== 'merge') throw new UsageError(`report: unknown subcommand '${sub ?? ''}' (report merge <shard.json>...)`);
  const targets: ReportTargets = {};
  const inputs: string[] = [];
  let quiet = false;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    const m = /^--(json|junit|tap|ktap|index)(?:=(.*))?$/.exec(a);
    if (m) {
      const value = m[2] ?? rest[++i];
      if (value === undefined) throw new UsageError(`report merge: ${a} needs a file`);
      const kind = m[1] as 'json' | 'junit' | 'tap' | 'ktap' | 'index';
      if (kind === 'index') targets.index = { file: value, title: 'tundrill report merge', mode: 'html' };
      else targets[kind] = value;
    } else if (a === '-q' || a === '--quiet') {
      quiet = true;
    } else if (a.startsWith('-')) {
      throw new UsageError(`report merge: unknown option ${a}`);
    } else {
      inputs.push(a);
    }
  }
  if (inputs.length === 0) throw new UsageError('report merge: no JSON reports given (the --json files of the shards)');
  let merged;
  try {
    merged = mergeReports(inputs.map(readShardReport));
  } catch (e) {
    if (e instanceof MergeError) throw new UsageError(e.message);
    throw e;
  }
  for (const w of merged.warnings) process.stderr.write(`tundrill: report merge: ${w}\n`);
  writeReportFiles(targets, merged.runs, merged.summary, merged.plan);
  if (!quiet) {
    process.stdout.write(`${summaryLine(merged.summary, `${inputs.length} report${inputs.length > 1 ? 's' : ''} merged`)}\n`);
    if (merged.summary.flaky) process.stdout.write(`${merged.summary.flaky} flaky rows\n`);
  }
  return merged.runs.some((r) => r.result.verdict !== 'pass') || merged.warnings.length > 0 ? EXIT_FAIL : EXIT_PASS;
}
