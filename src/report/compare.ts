/**
 * A comparison across kernels: the same scripts and scenarios run on each,
 * one table per script (each kernel's verdict and first error) and one per
 * scenario (its key numbers side by side), with the rows that differ marked.
 */
import type { ReportedRun } from './reports.js';

export type Figure = number | string | boolean | null | readonly number[];

export interface ScenarioFigures {
  kernel: string;
  /** The device the scenario ran on, when the run compared devices (`--device all`). */
  device?: string;
  scenario: string;
  pass: boolean;
  summary: string;
  numbers: Record<string, Figure>;
}

function cell(v: Figure | undefined): string {
  if (v === undefined) return '-';
  if (v === null) return 'null';
  if (Array.isArray(v)) return v.map((x) => (Number.isInteger(x) ? String(x) : (x as number).toFixed(1))).join(',');
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(3);
  return String(v);
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

function oneLine(s: string | undefined, max = 110): string {
  const first = (s ?? '').split('\n')[0] ?? '';
  return first.length > max ? `${first.slice(0, max - 1)}…` : first;
}

/** One table per (script, variant): a row per kernel. */
export function scriptComparison(runs: ReportedRun[], kernels: string[]): string {
  const groups = new Map<string, Map<string, ReportedRun>>();
  for (const r of runs) {
    const key = `${r.path} (${r.variant})`;
    const g = groups.get(key) ?? new Map<string, ReportedRun>();
    g.set(r.kernel?.spec ?? 'host', r);
    groups.set(key, g);
  }
  const out: string[] = [];
  let differ = 0;
  for (const [key, g] of groups) {
    const verdicts = new Set(kernels.map((k) => g.get(k)?.result.verdict ?? 'not run'));
    const lines = new Set(kernels.map((k) => g.get(k)?.result.firstError?.line ?? 0));
    const same = verdicts.size === 1 && lines.size === 1;
    if (!same) differ++;
    out.push(`${key}${same ? '' : '   <- differs'}`);
    const rows = kernels.map((k) => {
      const r = g.get(k);
      const release = r?.kernel?.release ?? '';
      return [k, release, r?.result.verdict ?? 'not run', oneLine(r?.result.firstError?.headline)];
    });
    out.push(...table(['kernel', 'release', 'verdict', 'first error'], rows).map((l) => `  ${l}`), '');
  }
  out.push(`${groups.size} script runs compared on ${kernels.length} kernels: ${differ} differ`);
  return out.join('\n');
}

/**
 * One list per scenario: a row per kernel and device, with the verdict and
 * the scenario's own one-line summary (its diagnosis and key numbers), so the
 * kernels and devices are told apart by what the scenario concluded.
 */
export function scenarioMatrix(figures: ScenarioFigures[], kernels: string[]): string {
  const byScenario = new Map<string, ScenarioFigures[]>();
  for (const f of figures) byScenario.set(f.scenario, [...(byScenario.get(f.scenario) ?? []), f]);
  const out: string[] = [];
  for (const [name, fs] of byScenario) {
    const devices = [...new Set(fs.map((f) => f.device ?? ''))];
    const hasDevice = devices.some((d) => d !== '');
    out.push(`scenario ${name}: verdict per kernel${hasDevice ? ' and device' : ''}`);
    const rows: string[][] = [];
    for (const k of kernels) {
      for (const d of devices) {
        const f = fs.find((x) => x.kernel === k && (x.device ?? '') === d);
        const head = hasDevice ? [k, d] : [k];
        rows.push([...head, f ? (f.pass ? 'pass' : 'FAIL') : 'not run', f ? f.summary.split('\n')[0]! : '']);
      }
    }
    out.push(...table([...(hasDevice ? ['kernel', 'device'] : ['kernel']), 'verdict', 'summary'], rows).map((l) => `  ${l}`), '');
  }
  return out.join('\n').trimEnd();
}

/** One table per scenario: its numbers, a column per kernel. */
export function scenarioComparison(figures: ScenarioFigures[], kernels: string[]): string {
  const byScenario = new Map<string, Map<string, ScenarioFigures>>();
  for (const f of figures) {
    const m = byScenario.get(f.scenario) ?? new Map<string, ScenarioFigures>();
    m.set(f.kernel, f);
    byScenario.set(f.scenario, m);
  }
  const out: string[] = [];
  for (const [name, m] of byScenario) {
    out.push(`scenario ${name}`);
    const keys: string[] = [];
    for (const k of kernels) for (const n of Object.keys(m.get(k)?.numbers ?? {})) if (!keys.includes(n)) keys.push(n);
    const rows: string[][] = [['verdict', ...kernels.map((k) => (m.get(k) ? (m.get(k)!.pass ? 'pass' : 'FAIL') : 'not run')), '']];
    for (const n of keys) {
      const cells = kernels.map((k) => cell(m.get(k)?.numbers[n]));
      rows.push([n, ...cells, new Set(cells).size > 1 ? '<- differs' : '']);
    }
    out.push(...table(['', ...kernels, ''], rows).map((l) => `  ${l}`));
    for (const k of kernels) {
      const f = m.get(k);
      if (f && !f.pass) out.push(`  ${k}: ${oneLine(f.summary)}`);
    }
    out.push('');
  }
  return out.join('\n').trimEnd();
}
