/**
 * One run's report as a single HTML file: tables written here, the ladder,
 * the sequence graph and the panels drawn in the page from the embedded
 * model. uPlot's script and styles are inlined; nothing is fetched when
 * the page opens.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { clientMain } from './client.js';
import type { LineView, RunReportModel } from './model.js';

const require = createRequire(import.meta.url);

export interface Assets {
  uplotJs: string;
  uplotCss: string;
}

let cached: Assets | null = null;

/** uPlot from the installed package (a dependency of tundrill). */
export function loadAssets(): Assets {
  if (cached) return cached;
  const js = require.resolve('uplot/dist/uPlot.iife.min.js');
  const css = require.resolve('uplot/dist/uPlot.min.css');
  cached = { uplotJs: readFileSync(js, 'utf8'), uplotCss: readFileSync(css, 'utf8') };
  return cached;
}

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON safe inside a <script> element. */
export function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** Inline a script's text: `</script` must not appear in it. */
function inlineScript(js: string): string {
  return js.replace(/<\/script/gi, '<\\/script');
}

const ms = (v: number | undefined, digits = 3): string => (v === undefined ? '' : v.toFixed(digits));

export const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{padding:12px 20px;background:#fff;border-bottom:1px solid #ddd}
h1{font-size:18px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}h4{margin:6px 0 2px;font-size:13px}
main{padding:0 20px 40px}
.verdict{display:inline-block;padding:2px 10px;border-radius:4px;font-weight:600;color:#fff}
.verdict.pass{background:#2e7d32}.verdict.fail,.verdict.error,.verdict.timeout,.verdict.environment{background:#c62828}
table{border-collapse:collapse;background:#fff}td,th{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}
th{background:#f0f0f0}.num{text-align:right;font-variant-numeric:tabular-nums}
pre,code,.src{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
pre{background:#fff;border:1px solid #ddd;padding:8px;overflow:auto}
table.script td.src{white-space:pre}
table.script tr.failed{background:#ffd6d6;outline:2px solid #c62828}
table.script tr.event td.src{font-weight:500}
table.script tr:target{background:#fff3b0}
.band{position:relative;width:140px;height:12px;background:#eef}
.band .tol{position:absolute;top:0;height:12px;background:#cde}
.band .mid{position:absolute;top:0;height:12px;width:1px;background:#557}
.band .act{position:absolute;top:1px;width:6px;height:10px;margin-left:-3px;border-radius:3px;background:#2e7d32}
.band .act.out{background:#c62828}
tr.differs td{background:#ffe0e0;font-weight:600}tr.unchecked td{color:#999}
.summary{font-weight:600;color:#b71c1c}
.toolbar button{margin-right:4px}
#ladder{max-height:720px;overflow:auto;border:1px solid #ccc;background:#fff}
svg text{font-family:ui-monospace,Menlo,monospace;font-size:11px}
.lane{font-weight:600;font-family:system-ui,sans-serif!important;font-size:12px!important}
.lifeline{stroke:#888;stroke-width:2}.tick{stroke:#ccc}.ticklabel{fill:#777;font-size:10px!important}
.pkt line{stroke-width:1.5}.pkt.in line{stroke:#1f5fa8}.pkt.out line{stroke:#2b7a2b}
.pkt.rtx line{stroke:#c0392b;stroke-width:2.5}.pkt.rtx text.pkttext{fill:#c0392b;font-weight:600}
.pkt.unmatched line{stroke-dasharray:4 3}
.frame{fill:#999;font-size:10px!important}
.call rect{fill:#8e44ad;opacity:.7}.call.blocking rect{fill:#e67e22}
.calltext{fill:#5b2c6f}
.cursor{stroke:#e91e63;stroke-width:1;stroke-dasharray:3 2;pointer-events:none}
.seq .plotbg{fill:#fff;stroke:#ccc}.seq .grid{stroke:#eee}
.seg line{stroke:#2b7a2b;stroke-width:2}.seg.rtx line{stroke:#c0392b;stroke-width:3}
.seglabel{fill:#444}.segs{fill:none;stroke:#2b7a2b;stroke-width:1.5}.segs.rtx{stroke:#c0392b;stroke-width:2.5}
.ackline{fill:none;stroke:#1f5fa8;stroke-width:1.5}.winline{fill:none;stroke:#aaa;stroke-width:1.2}
.sack{stroke:#16a085;stroke-width:4;opacity:.7}
.ghost rect{fill:none;stroke:#666;stroke-dasharray:3 2}.ghost.failed rect{stroke:#c62828;stroke-width:2}
.selection{fill:rgba(33,150,243,.15)}
.panel{background:#fff;border:1px solid #ddd;margin-bottom:6px;padding:2px 6px}
.ok{color:#2e7d32;font-weight:600}.bad{color:#c62828;font-weight:600}
nav a{margin-right:12px}
`;

function lineRow(l: LineView): string {
  const e = l.event;
  const cls = [l.failed ? 'failed' : '', e ? 'event' : ''].filter(Boolean).join(' ');
  let cells = '<td></td><td></td><td></td><td></td><td></td>';
  if (e) {
    const lo = e.expectedMs - e.toleranceMs;
    const hi = (e.expectedEndMs !== undefined && e.kind === 'packet' ? e.expectedEndMs : e.expectedMs) + e.toleranceMs;
    const span = Math.max(hi - lo, 1e-6);
    const range = span * 2;
    const start = lo - span / 2;
    const pct = (t: number): number => Math.max(0, Math.min(100, ((t - start) / range) * 100));
    const within = e.actualMs === undefined || (e.actualMs >= lo && e.actualMs <= hi) || e.timeType === 'any';
    const band = `<div class="band" title="expected ${ms(lo)}..${ms(hi)} ms"><div class="tol" style="left:${pct(lo)}%;width:${pct(hi) - pct(lo)}%"></div>`
      + `<div class="mid" style="left:${pct(e.expectedMs)}%"></div>`
      + (e.actualMs !== undefined ? `<div class="act${within ? '' : ' out'}" style="left:${pct(e.actualMs)}%"></div>` : '') + '</div>';
    const call = e.callStartMs !== undefined ? ` <span title="call start..return">[${ms(e.callStartMs)}..${ms(e.callEndMs)}]</span>` : '';
    const frames = e.frames.map((f) => `#${f}`).join(' ');
    cells = `<td class="num">${ms(e.expectedMs)}${e.expectedEndMs !== undefined ? `~${ms(e.expectedEndMs)}` : ''}</td>`
      + `<td class="num">${ms(e.actualMs)}${call}</td><td class="num">±${ms(e.toleranceMs)}</td><td>${band}</td><td>${esc(frames)}</td>`;
  }
  return `<tr id="L${l.n}" class="${cls}"><td class="num">${l.n}</td><td class="src">${esc(l.text)}</td>${cells}</tr>`;
}

/** A scenario number as people read it: at most three decimals. */
function num(v: unknown): string {
  return typeof v === 'number' && !Number.isInteger(v) ? String(+v.toFixed(3)) : String(v);
}

function table(header: string[], rows: string[][], cls = ''): string {
  return `<table class="${cls}"><tr>${header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>`
    + rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('') + '</table>';
}

export function renderRunReport(m: RunReportModel, assets: Assets = loadAssets()): string {
  const parts: string[] = [];
  const p = (s: string): void => { parts.push(s); };
  p(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(m.title)}: ${esc(m.verdict)}</title>`);
  p(`<meta name="viewport" content="width=device-width,initial-scale=1">`);
  p(`<style>${assets.uplotCss}</style><style>${STYLE}</style></head><body>`);
  const first = m.firstError;
  p(`<header><h1>${esc(m.title)} <span class="verdict ${esc(m.verdict)}" id="verdict">${esc(m.verdict.toUpperCase())}</span></h1>`);
  p(`<div>${(m.durationMs / 1000).toFixed(2)} s · ${m.packets.filter((x) => x.dir === 'in').length} injected, ${m.packets.filter((x) => x.dir === 'out').length} sniffed · ${m.states.length} socket-state samples`);
  if (first) p(` · <a href="#L${first.line}">${esc(first.headline)}</a>`);
  p(`</div><nav>${first ? '<a href="#failure">failure</a>' : ''}${m.scenario ? '<a href="#scenario">scenario</a>' : ''}<a href="#script">script</a><a href="#time">ladder, sequence, socket state</a><a href="#counters">counters</a><a href="#env">environment</a><a href="#files">files</a></nav></header><main>`);

  if (first) {
    p(`<h2 id="failure">Failure at line ${first.line}</h2><pre>${esc(first.text)}</pre>`);
    if (first.diff) {
      p(`<p class="summary" id="diff-summary">What differs: ${esc(first.diff.summary)}</p>`);
      p(`<table id="diff"><tr><th>field</th><th>script expects</th><th>kernel sent</th></tr>`);
      for (const r of first.diff.rows) p(`<tr class="${r.differs ? 'differs' : r.unchecked ? 'unchecked' : ''}"><td>${esc(r.field)}</td><td>${esc(r.expected)}</td><td>${esc(r.actual)}</td></tr>`);
      p('</table>');
    }
  }
  if (m.scenario) {
    const s = m.scenario;
    p(`<h2 id="scenario">Scenario ${esc(s.name)}: <span class="${s.pass ? 'ok' : 'bad'}">${s.pass ? 'PASS' : 'FAIL'}</span></h2><p>${esc(s.summary)}</p>`);
    if (s.checks.length) {
      p('<table id="checks"><tr><th>check</th><th></th><th>detail</th></tr>');
      for (const c of s.checks) p(`<tr><td>${esc(c.name)}</td><td class="${c.ok ? 'ok' : 'bad'}">${c.ok ? 'ok' : 'FAILED'}</td><td>${esc(c.detail)}</td></tr>`);
      p('</table>');
    }
    const nums = Object.entries(s.numbers);
    if (nums.length) p(`<h4>numbers</h4>${table(['name', 'value'], nums.map(([k, v]) => [k, Array.isArray(v) ? v.map(num).join(', ') : num(v)]))}`);
    for (const t of s.tables) p(`<h4>${esc(t.title)}</h4>${table(t.header, t.rows)}`);
  }
  if (m.warnings.length) p(`<h2>Warnings</h2><pre>${esc(m.warnings.join('\n'))}</pre>`);

  p(`<h2 id="script">Script <small>(${esc(m.script)}; times in ms of script time; band: tolerance, mark: when it happened)</small></h2>`);
  p('<table class="script"><tr><th>line</th><th>script</th><th>expected</th><th>actual</th><th>tolerance</th><th>band</th><th>frames</th></tr>');
  for (const l of m.lines) p(lineRow(l));
  p('</table>');

  p(`<h2 id="time">Ladder, sequence graph and socket state</h2>`);
  p(`<div class="toolbar"><button id="zoom-all">all</button><button id="zoom-script">script only</button><button id="zoom-in">zoom in</button><button id="zoom-out">zoom out</button> <span id="view"></span> · <span id="cursor"></span> <small>(drag on the sequence graph or a panel to zoom, double-click the graph for all, ctrl+wheel on the ladder)</small></div>`);
  p(`<h4>Sequence graph</h4><div id="seqgraph"></div>`);
  p(`<h4>Socket state</h4><div id="panels"></div>`);
  if (m.rto.length) {
    p(`<h4>Retransmissions of the most retransmitted segment: observed intervals against rto × 2^n</h4>`);
    p(table(['n', 'kind', 'time (ms)', 'interval (ms)', 'ss rto before (ms)', 'ss backoff before', 'rto₀ × 2^k (ms), k-th timeout'],
      m.rto.map((r) => [String(r.n), r.kind, r.tMs.toFixed(1), r.intervalMs?.toFixed(1) ?? '', r.ssRtoMs?.toFixed(0) ?? '', r.ssBackoff?.toString() ?? '', r.expectedMs?.toFixed(0) ?? '']), 'rto'));
  }
  p(`<h4>Ladder <small>(harness left, kernel right; arrows link to their script line; #frame is the capture's frame number)</small></h4><div id="ladder"></div>`);

  p(`<h2 id="counters">MIB counter differences</h2>`);
  p(m.counters.length ? table(['counter', 'difference'], m.counters.map((c) => [c.name, String(c.value)])) : '<p>No counter changed (or no counters recorded).</p>');
  p(`<h2 id="env">Environment</h2>${table(['', ''], m.env)}`);
  p(`<h2 id="files">Evidence files</h2><ul>${m.files.map((f) => `<li>${esc(f.label)}: <a href="${esc(f.href)}">${esc(decodeURI(f.href))}</a></li>`).join('')}</ul>`);
  p(`<p><small>Report written ${esc(m.generated)}; time 0: ${esc(m.origin)}.</small></p></main>`);
  p(`<script type="application/json" id="model">${scriptJson(m)}</script>`);
  p(`<script>${inlineScript(assets.uplotJs)}</script>`);
  p(`<script>(${inlineScript(clientMain.toString())})(JSON.parse(document.getElementById('model').textContent), uPlot);</script>`);
  p('</body></html>\n');
  return parts.join('');
}
