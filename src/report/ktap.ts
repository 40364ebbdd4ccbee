/**
 * KTAP (the kernel's TAP dialect, Documentation/dev-tools/ktap.rst), as the
 * kernel selftests' harness reads it: `KTAP version 1`, a plan line, one
 * result line per run, diagnostics as `# ` lines before the result they
 * belong to, and a closing `# Totals:` line as kselftest prints it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { repeatNote, type ReportedRun } from './reports.js';

/** A KTAP test name: no `#` (it starts a directive) and no line breaks. */
function ktapName(r: ReportedRun): string {
  return `${r.path} (${r.variant})`.replace(/#/g, '_').replace(/\s+/g, ' ');
}

export function ktapText(runs: readonly ReportedRun[]): string {
  const lines = ['KTAP version 1', `1..${runs.length}`];
  let pass = 0, fail = 0, error = 0;
  runs.forEach((r, i) => {
    const v = r.result.verdict;
    if (v !== 'pass') {
      const text = [r.result.firstError?.text ?? '', r.output].filter(Boolean).join('\n');
      for (const l of text.split('\n')) if (l.trim()) lines.push(`# ${l.trimEnd()}`);
    }
    if (r.repeat && r.repeat.passed < r.repeat.runs) lines.push(`# ${ktapName(r)}: ${repeatNote(r)}`);
    const n = i + 1;
    if (v === 'pass') {
      pass++;
      lines.push(`ok ${n} ${ktapName(r)}`);
    } else if (v === 'timeout') {
      fail++;
      lines.push(`not ok ${n} ${ktapName(r)} # TIMEOUT`);
    } else if (v === 'error' || v === 'environment') {
      error++;
      lines.push(`not ok ${n} ${ktapName(r)} # ERROR`);
    } else {
      fail++;
      lines.push(`not ok ${n} ${ktapName(r)}`);
    }
  });
  lines.push(`# Totals: pass:${pass} fail:${fail} xfail:0 xpass:0 skip:0 error:${error}`);
  return lines.join('\n') + '\n';
}

export function writeKtap(file: string, runs: readonly ReportedRun[]): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, ktapText(runs));
}
