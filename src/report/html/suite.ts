/**
 * The index of a suite: one row per run with its verdict, duration, first
 * error and a link to its own report; a text filter and a verdict filter;
 * runs repeated with different verdicts marked flaky.
 */
import { esc, STYLE } from './render.js';

export interface SuiteRow {
  path: string;
  variant: string;
  verdict: string;
  durationMs: number;
  firstError?: string;
  /** Link to the run's report, relative to the index; absent when none was written. */
  report?: string;
  /** The row was repeated and its runs reached different verdicts. */
  flaky?: boolean;
}

/** Keys of (path, variant) pairs whose runs did not all reach the same verdict. */
export function flakyKeys(rows: readonly SuiteRow[]): Set<string> {
  const verdicts = new Map<string, Set<string>>();
  for (const r of rows) {
    const k = `${r.path}\u0000${r.variant}`;
    const s = verdicts.get(k) ?? new Set<string>();
    s.add(r.verdict === 'pass' ? 'pass' : 'fail');
    if (r.flaky) s.add('flaky');
    verdicts.set(k, s);
  }
  return new Set([...verdicts].filter(([, s]) => s.size > 1).map(([k]) => k));
}

function filterScript(): void {
  const q = document.getElementById('q') as HTMLInputElement;
  const v = document.getElementById('v') as HTMLSelectElement;
  const apply = (): void => {
    const text = q.value.toLowerCase();
    let shown = 0;
    for (const tr of Array.from(document.querySelectorAll<HTMLTableRowElement>('#runs tr.run'))) {
      const ok = (!text || (tr.textContent ?? '').toLowerCase().includes(text))
        && (v.value === 'all' || tr.dataset.verdict === v.value || (v.value === 'not-pass' && tr.dataset.verdict !== 'pass')
          || (v.value === 'flaky' && tr.classList.contains('flaky')));
      tr.style.display = ok ? '' : 'none';
      if (ok) shown++;
    }
    document.getElementById('shown')!.textContent = String(shown);
  };
  q.addEventListener('input', apply);
  v.addEventListener('change', apply);
  apply();
}

export function renderSuiteIndex(title: string, rows: readonly SuiteRow[], seconds: number): string {
  const flaky = flakyKeys(rows);
  const pass = rows.filter((r) => r.verdict === 'pass').length;
  const out: string[] = [];
  out.push(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title><style>${STYLE}</style></head><body>`);
  out.push(`<header><h1>${esc(title)}</h1><div>${rows.length} runs: ${pass} passing, ${rows.length - pass} not passing, ${flaky.size} flaky · ${seconds.toFixed(2)} s</div></header><main>`);
  out.push(`<p>Filter <input id="q" placeholder="script, variant, error"> <select id="v"><option value="all">all</option><option value="pass">pass</option><option value="not-pass">not passing</option><option value="fail">fail</option><option value="timeout">timeout</option><option value="error">error</option><option value="flaky">flaky</option></select> <span id="shown"></span> shown</p>`);
  out.push('<table id="runs"><tr><th>script</th><th>variant</th><th>verdict</th><th>duration (s)</th><th>first error</th><th>report</th></tr>');
  for (const r of rows) {
    const isFlaky = flaky.has(`${r.path}\u0000${r.variant}`);
    out.push(`<tr class="run${isFlaky ? ' flaky' : ''}" data-verdict="${esc(r.verdict)}"><td>${esc(r.path)}</td><td>${esc(r.variant)}</td>`
      + `<td><span class="verdict ${esc(r.verdict)}">${esc(r.verdict)}</span>${isFlaky ? ' <b title="repeated runs reached different verdicts">flaky</b>' : ''}</td>`
      + `<td class="num">${(r.durationMs / 1000).toFixed(2)}</td><td class="src">${esc(r.firstError ?? '')}</td>`
      + `<td>${r.report ? `<a href="${esc(encodeURI(r.report))}">report</a>` : ''}</td></tr>`);
  }
  out.push(`</table></main><script>(${filterScript.toString()})();</script></body></html>\n`);
  return out.join('');
}
