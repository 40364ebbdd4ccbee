/**
 * packetdrill's verdicts made here, on the kernel under test: `conformance
 * --packetdrill PATH` runs the user's packetdrill binary over the rows
 * first, in the same place tundrill's runs go (a fresh namespace per run on
 * the host, or a guest of the kernel under test), one run at a time per
 * core or VM as packetdrill's reference verdicts are made, and compares
 * tundrill's verdicts with those. The rows are written in the reference
 * files' own format, so a later run can read them back with --reference.
 */
import { copyFileSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { resolveSymlinkStub } from '../engine/run-command.js';
import type { PacketdrillTool } from '../runner/packetdrill-run.js';
import type { PlannedRun } from '../runner/plan.js';
import type { RunnerOptions } from '../runner/options.js';
import { executeRuns, type RunTarget } from '../runner/execute-runs.js';
import { errorLine, type ReferenceRow } from './conformance.js';

/**
 * The binary as a guest sees it: guests mount the host's root read-only
 * but have a /tmp and /run of their own, so the binary is copied into the
 * share (which guests see at the same path).
 */
export function binaryForGuests(binary: string, share: string): string {
  const dir = join(share, '.tundrill-vm');
  mkdirSync(dir, { recursive: true });
  const copy = join(dir, `packetdrill-${process.pid}`);
  copyFileSync(binary, copy);
  return copy;
}

/**
 * A tree of symbolic links to every file under `root`, at `into`. The
 * corpora hold their shared `defaults.sh` as symlink stubs (a checkout
 * without symlinks stores a link as a text file naming its target), which
 * tundrill resolves when it runs a command and packetdrill does not; in
 * this tree the stubs are real links to their targets, so packetdrill runs
 * the scripts as it would in a checkout with links. Nothing is copied.
 */
export function linkTree(root: string, into: string): void {
  mkdirSync(into, { recursive: true });
  for (const ent of readdirSync(root, { withFileTypes: true })) {
    const from = join(root, ent.name);
    const to = join(into, ent.name);
    if (ent.isDirectory()) linkTree(from, to);
    else symlinkSync(resolveSymlinkStub(from, root) ?? from, to);
  }
}

/** `scriptPath` under `root`, in the link tree at `tree`. */
export function inLinkTree(scriptPath: string, root: string, tree: string): string {
  return join(tree, relative(root, scriptPath));
}

/** A row's verdicts over several packetdrill runs: the same each time, or flaky. */
export function referenceRow(script: string, variant: string, runs: Array<{ pass: boolean; firstError: string; seconds: number }>): ReferenceRow {
  const first = runs[0]!;
  // Failures compare as conformance compares them: by the script line they name.
  const same = runs.every((r) => r.pass === first.pass && (r.pass || errorLine(r.firstError) === errorLine(first.firstError)));
  return {
    script, variant, verdict: !same ? 'flaky' : first.pass ? 'pass' : 'fail',
    seconds: runs.reduce((s, r) => s + r.seconds, 0) / runs.length, firstError: first.firstError,
  };
}

/** Rows in the reference files' format (readReference reads them back). */
export function formatReference(rows: ReferenceRow[], heading: string[]): string {
  const clean = (s: string): string => s.replace(/[\t\n]/g, ' ');
  return [
    ...heading.map((h) => `# ${h}`),
    'script\tvariant\tverdict\tseconds\tfirst_error',
    ...rows.map((r) => [r.script, r.variant, r.verdict, r.seconds.toFixed(2), clean(r.firstError)].join('\t')),
    '',
  ].join('\n');
}

/** A stop signal ended the reference runs before every row had its verdict. */
export class ReferenceInterrupted extends Error {}

export interface ReferenceRunOptions {
  tool: PacketdrillTool['binary'];
  /** packetdrill's flags for a row's variant. */
  argsFor(row: ReferenceRow): string[];
  planFor(row: ReferenceRow): PlannedRun;
  /** The corpus's root, and a link tree of it (linkTree) the scripts run from. */
  corpusRoot: string;
  linkTree: string;
  runner: RunnerOptions;
  /** A kernel in VMs; absent: the host. */
  target?: RunTarget;
  /** Runs per row (more than one marks rows whose verdict changes as flaky). */
  runs: number;
  label: string;
}

/** Run packetdrill over `rows` and return its verdicts, in the same order. */
export async function makeReference(rows: ReferenceRow[], o: ReferenceRunOptions): Promise<{ rows: ReferenceRow[]; seconds: number }> {
  const planned = rows.map((r) => {
    const plan = o.planFor(r);
    return { ...plan, scriptPath: inLinkTree(plan.scriptPath, o.corpusRoot, o.linkTree), packetdrill: { binary: o.tool, args: o.argsFor(r) } };
  });
  const per: Array<Array<{ pass: boolean; firstError: string; seconds: number }>> = rows.map(() => []);
  let seconds = 0;
  for (let i = 0; i < o.runs; i++) {
    // One at a time on the host, as packetdrill's own reference runs are
    // made; on a kernel in VMs, one at a time per VM.
    const runner: RunnerOptions = { ...o.runner, capture: false, ssIntervalMs: 0, report: 'none', ...(o.target ? {} : { jobs: 1 }) };
    const { reported, seconds: s } = await executeRuns(planned, runner, `${o.label}${o.runs > 1 ? ` (${i + 1}/${o.runs})` : ''}`, { writeReports: false, ...(o.target ? { target: o.target } : {}) });
    seconds += s;
    reported.forEach((r, j) => per[j]!.push({ pass: r.result.verdict === 'pass', firstError: r.result.firstError?.headline ?? '', seconds: r.result.durationMs / 1000 }));
    if (reported.length < rows.length) throw new ReferenceInterrupted(`${o.label}: stopped after ${reported.length} of ${rows.length} rows`);
  }
  return { rows: rows.map((r, j) => referenceRow(r.script, r.variant, per[j]!)), seconds };
}

export function saveReference(file: string, rows: ReferenceRow[], heading: string[]): void {
  writeFileSync(file, formatReference(rows, heading));
}
