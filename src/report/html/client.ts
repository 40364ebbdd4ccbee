/**
 * The code that runs in the report page. `clientMain` is serialized with
 * Function.prototype.toString and inlined into the page, so it must not
 * refer to anything outside itself (types are fine: they are erased).
 * It draws the ladder and the sequence graph as SVG, the socket-state
 * panels with uPlot, and keeps one time window and one cursor for all.
 */
import type { RunReportModel, PacketView } from './model.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
export function clientMain(model: RunReportModel, uPlot: any): void {
  const NS = 'http://www.w3.org/2000/svg';
  const $ = (id: string): HTMLElement => document.getElementById(id)!;
  const el = (tag: string, attrs: Record<string, string | number> = {}, text?: string): SVGElement => {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const fmt = (ms: number): string => (Math.abs(ms) >= 1000 ? `${(ms / 1000).toFixed(3)} s` : `${ms.toFixed(3)} ms`);
  const full = { t0: Math.min(0, ...model.packets.map((p) => p.tMs)) - 1, t1: model.endMs * 1.01 + 1 };
  // The script's own span first; packets before time 0 (set-up) are in "all".
  const scriptT0 = Math.min(0, ...model.lines.flatMap((l) => (l.event?.actualMs !== undefined ? [l.event.actualMs] : [])));
  const scriptView = { t0: scriptT0 - Math.min((model.endMs - scriptT0) * 0.02, 50) - 1, t1: full.t1 };
  let view = { t0: scriptView.t0, t1: scriptView.t1 };
  let cursorMs: number | null = null;
  const charts: any[] = [];
  let syncing = false;

  // ---- ladder -------------------------------------------------------------
  const ladder = $('ladder');
  const LW = 1000;
  const XH = 230;
  const XK = 700;
  let ladderY: (t: number) => number = () => 0;
  /** Redraws the arrows near the scroll position (large runs only). */
  let ladderArrows: (() => void) | null = null;
  let scrollQueued = false;
  ladder.addEventListener('scroll', () => {
    if (!ladderArrows || scrollQueued) return;
    scrollQueued = true;
    requestAnimationFrame(() => { scrollQueued = false; ladderArrows?.(); });
  });
  const drawLadder = (): void => {
    ladder.textContent = '';
    const inView = model.packets.filter((p) => p.tMs >= view.t0 && p.tMs <= view.t1);
    const calls = model.syscalls.filter((c) => c.endMs >= view.t0 && c.startMs <= view.t1);
    const H = Math.min(40000, Math.max(500, (inView.length + calls.length) * 24));
    const top = 40;
    const span = view.t1 - view.t0;
    ladderY = (t: number): number => top + ((t - view.t0) / span) * H;
    const svg = el('svg', { width: LW, height: H + top + 30, class: 'ladder', viewBox: `0 0 ${LW} ${H + top + 30}` }) as SVGSVGElement;
    const defs = el('defs');
    for (const [id, color] of [['ah', '#1f5fa8'], ['ahk', '#2b7a2b'], ['ahr', '#c0392b']] as const) {
      const m = el('marker', { id, viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 10, markerHeight: 10, markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse' });
      m.appendChild(el('path', { d: 'M0,0 L10,5 L0,10 z', fill: color }));
      defs.appendChild(m);
    }
    svg.appendChild(defs);
    svg.appendChild(el('text', { x: XH, y: 16, 'text-anchor': 'middle', class: 'lane' }, 'harness (remote peer)'));
    svg.appendChild(el('text', { x: XK, y: 16, 'text-anchor': 'middle', class: 'lane' }, 'kernel under test'));
    svg.appendChild(el('line', { x1: XH, y1: top - 10, x2: XH, y2: top + H, class: 'lifeline' }));
    svg.appendChild(el('line', { x1: XK, y1: top - 10, x2: XK, y2: top + H, class: 'lifeline' }));
    // Time ticks.
    const step = niceStep(span / 12);
    for (let t = Math.ceil(view.t0 / step) * step; t <= view.t1; t += step) {
      const y = ladderY(t);
      svg.appendChild(el('line', { x1: 0, y1: y, x2: 60, y2: y, class: 'tick' }));
      svg.appendChild(el('text', { x: 2, y: y - 2, class: 'ticklabel' }, fmt(t)));
    }
    let lastCallY = -100;
    for (const c of calls) {
      const y0 = ladderY(Math.max(c.startMs, view.t0));
      const y1 = Math.max(y0 + 2, ladderY(Math.min(c.endMs, view.t1)));
      const g = el('a', { href: `#L${c.line}`, class: `call${c.blocking ? ' blocking' : ''}` });
      g.appendChild(el('rect', { x: XK + 4, y: y0, width: c.blocking ? 14 : 6, height: y1 - y0 }));
      if (y0 - lastCallY >= 11) {
        g.appendChild(el('text', { x: XK + 24, y: y0 + 4, class: 'calltext' }, `${c.text}  [${fmt(c.endMs - c.startMs)}${c.blocking ? ', blocking' : ''}]`));
        lastCallY = y0;
      }
      const title = el('title', {}, `line ${c.line}: ${c.text}\nstart ${fmt(c.startMs)}, return ${fmt(c.endMs)}`);
      g.appendChild(title);
      svg.appendChild(g);
    }
    // Large runs: only the arrows near the scrolled part of the ladder are in the page, redrawn on scroll.
    const LARGE = 2000;
    const arrows = el('g', { class: 'arrows' });
    svg.appendChild(arrows);
    const drawArrows = (): void => {
      arrows.textContent = '';
      let from = -Infinity;
      let to = Infinity;
      if (inView.length > LARGE) {
        const h = ladder.clientHeight || 720;
        from = ladder.scrollTop - h;
        to = ladder.scrollTop + 2 * h;
      }
      let lastLabelY = -100;
      for (const p of inView) {
        const y = ladderY(p.tMs);
        if (y < from || y > to) continue;
        const out = p.dir === 'out';
        const cls = `pkt ${out ? 'out' : 'in'}${p.retransmission ? ' rtx' : ''}${p.line === undefined ? ' unmatched' : ''}`;
        const g = el('a', { href: p.line !== undefined ? `#L${p.line}` : '#', class: cls, 'data-frame': p.frame, 'data-t': p.tMs });
        const x1 = out ? XK : XH;
        const x2 = out ? XH : XK;
        g.appendChild(el('line', { x1, y1: y, x2, y2: y + 6, 'marker-end': `url(#${p.retransmission ? 'ahr' : out ? 'ahk' : 'ah'})` }));
        if (y - lastLabelY >= 11) {
          const label = `${out ? '>' : '<'} ${p.text}${p.retransmission ? `  [${p.retransmission === 'timeout' ? 'RTO retransmission' : 'loss probe'}]` : ''}`;
          g.appendChild(el('text', { x: (XH + XK) / 2, y: y - 3, 'text-anchor': 'middle', class: 'pkttext' }, label));
          g.appendChild(el('text', { x: 66, y: y + 4, class: 'frame' }, `#${p.frame} ${fmt(p.tMs)}`));
          lastLabelY = y;
        }
        g.appendChild(el('title', {}, `frame ${p.frame} at ${fmt(p.tMs)}${p.line !== undefined ? `, script line ${p.line}` : ''}\n${p.text}\n${p.note}`));
        arrows.appendChild(g);
      }
    };
    drawArrows();
    ladderArrows = inView.length > LARGE ? drawArrows : null;
    if (cursorMs !== null && cursorMs >= view.t0 && cursorMs <= view.t1) {
      svg.appendChild(el('line', { x1: 0, y1: ladderY(cursorMs), x2: LW, y2: ladderY(cursorMs), class: 'cursor', id: 'ladder-cursor' }));
    }
    ladder.appendChild(svg);
    $('view').textContent = `${fmt(view.t0)} – ${fmt(view.t1)} (${inView.length} of ${model.packets.length} packets)`;
  };

  function axisLabel(v: number): string {
    return Math.abs(v) >= 1000 ? `${+(v / 1000).toFixed(3)} s` : `${+v.toFixed(3)} ms`;
  }

  function niceStep(x: number): number {
    const p = 10 ** Math.floor(Math.log10(Math.max(x, 1e-6)));
    for (const m of [1, 2, 5, 10]) if (m * p >= x) return m * p;
    return 10 * p;
  }

  // ---- sequence graph -----------------------------------------------------
  const seqBox = $('seqgraph');
  const SW = 1000;
  const SH = 340;
  const SL = 70;
  const SR = 20;
  let seqX: (t: number) => number = () => 0;
  let seqT: (x: number) => number = () => 0;
  const drawSeq = (): void => {
    seqBox.textContent = '';
    const svg = el('svg', { width: SW, height: SH, class: 'seq', viewBox: `0 0 ${SW} ${SH}` });
    const span = view.t1 - view.t0;
    seqX = (t) => SL + ((t - view.t0) / span) * (SW - SL - SR);
    seqT = (x) => view.t0 + ((x - SL) / (SW - SL - SR)) * span;
    // tcptrace's view of one direction: the side that sent more data, and the other side's ACKs.
    const bytes = (d: string): number => model.packets.filter((p) => p.dir === d).reduce((a, p) => a + p.len, 0);
    const dataDir = bytes('out') >= bytes('in') ? 'out' : 'in';
    const kernel = model.packets.filter((p) => p.isTcp && p.dir === dataDir);
    const peer = model.packets.filter((p) => p.isTcp && p.dir !== dataDir && p.hasAck);
    const peerWscale = model.packets.find((p) => p.dir !== dataDir && p.syn)?.wscale;
    const kernelWscale = model.packets.find((p) => p.dir === dataDir && p.syn)?.wscale;
    const scale = peerWscale !== undefined && kernelWscale !== undefined ? 2 ** peerWscale : 1;
    const vis = (t: number): boolean => t >= view.t0 && t <= view.t1;
    const ys: number[] = [];
    for (const p of kernel) if (vis(p.tMs)) ys.push(p.seq, p.seq + p.len + (p.syn || p.fin ? 1 : 0));
    for (const p of peer) if (vis(p.tMs)) ys.push(p.ack);
    if (ys.length === 0) ys.push(0, 1);
    let lo = Math.min(...ys);
    let hi = Math.max(...ys);
    if (hi - lo < 10) { hi += 5; lo = Math.max(0, lo - 5); }
    const pad = (hi - lo) * 0.08;
    lo -= pad;
    hi += pad;
    const y = (s: number): number => SH - 30 - ((s - lo) / (hi - lo)) * (SH - 50);
    svg.appendChild(el('rect', { x: SL, y: 20, width: SW - SL - SR, height: SH - 50, class: 'plotbg' }));
    const tstep = niceStep(span / 10);
    for (let t = Math.ceil(view.t0 / tstep) * tstep; t <= view.t1; t += tstep) {
      svg.appendChild(el('line', { x1: seqX(t), y1: 20, x2: seqX(t), y2: SH - 30, class: 'grid' }));
      svg.appendChild(el('text', { x: seqX(t), y: SH - 14, 'text-anchor': 'middle', class: 'ticklabel' }, fmt(t)));
    }
    const sstep = niceStep((hi - lo) / 6);
    for (let s = Math.ceil(lo / sstep) * sstep; s <= hi; s += sstep) {
      svg.appendChild(el('line', { x1: SL, y1: y(s), x2: SW - SR, y2: y(s), class: 'grid' }));
      svg.appendChild(el('text', { x: SL - 4, y: y(s) + 4, 'text-anchor': 'end', class: 'ticklabel' }, String(Math.round(s))));
    }
    // ACK line and receive window of the peer (step lines).
    let ackPath = '';
    let winPath = '';
    for (const p of peer) {
      const x = Math.max(SL, Math.min(SW - SR, seqX(p.tMs)));
      const yAck = y(p.ack);
      const yWin = y(p.ack + p.win * (p.syn ? 1 : scale));
      ackPath += ackPath ? ` H${x} V${yAck}` : `M${x},${yAck}`;
      winPath += winPath ? ` H${x} V${yWin}` : `M${x},${yWin}`;
    }
    if (ackPath) {
      ackPath += ` H${SW - SR}`;
      winPath += ` H${SW - SR}`;
      svg.appendChild(el('path', { d: winPath, class: 'winline' }));
      svg.appendChild(el('path', { d: ackPath, class: 'ackline' }));
    }
    for (const p of peer) {
      if (!vis(p.tMs)) continue;
      for (const [l, r] of p.sack) svg.appendChild(el('line', { x1: seqX(p.tMs), y1: y(l), x2: seqX(p.tMs), y2: y(r), class: 'sack' }));
    }
    // Expectations of the script: ghost marks over the tolerance band.
    for (const l of model.lines) {
      const e = l.event;
      if (!e || e.kind !== 'packet' || e.direction !== 'out' || !vis(e.expectedMs)) continue;
      const f = model.packets.find((p) => p.frame === e.frames[0]);
      const s = f ? (f.dir === dataDir ? f.seq : f.ack) : lo + (hi - lo) / 2;
      const x0 = seqX(e.expectedMs - e.toleranceMs);
      const x1 = seqX((e.expectedEndMs ?? e.expectedMs) + e.toleranceMs);
      const g = el('a', { href: `#L${l.n}`, class: `ghost${l.failed ? ' failed' : ''}` });
      g.appendChild(el('rect', { x: x0, y: y(s) - 6, width: Math.max(2, x1 - x0), height: 12 }));
      g.appendChild(el('title', {}, `line ${l.n} expected at ${fmt(e.expectedMs)} ± ${fmt(e.toleranceMs)}: ${l.text.trim()}`));
      svg.appendChild(g);
    }
    const visible = kernel.filter((p) => vis(p.tMs));
    if (visible.length > 2000) {
      // Large runs: one path for the segments and one for the retransmissions, no per-segment links.
      let d = '';
      let dr = '';
      for (const p of visible) {
        const x = seqX(p.tMs);
        const s1 = p.seq + p.len + (p.syn || p.fin ? 1 : 0);
        const seg = `M${x},${y(p.seq)}V${Math.min(y(p.seq) - 3, y(s1))}`;
        if (p.retransmission) dr += seg; else d += seg;
      }
      svg.appendChild(el('path', { d, class: 'segs' }));
      svg.appendChild(el('path', { d: dr, class: 'segs rtx' }));
    } else {
      for (const p of kernel) {
        if (!vis(p.tMs)) continue;
        const x = seqX(p.tMs);
        const s0 = p.seq;
        const s1 = p.seq + p.len + (p.syn || p.fin ? 1 : 0);
        const g = el('a', { href: p.line !== undefined ? `#L${p.line}` : '#', class: `seg${p.retransmission ? ' rtx' : ''}` });
        g.appendChild(el('line', { x1: x, y1: y(s0), x2: x, y2: Math.min(y(s0) - 3, y(s1)) }));
        g.appendChild(el('line', { x1: x - 3, y1: y(s1), x2: x + 3, y2: y(s1) }));
        if (p.fin || p.syn || p.rst) g.appendChild(el('text', { x: x + 4, y: y(s1) - 2, class: 'seglabel' }, p.syn ? 'S' : p.fin ? 'F' : 'R'));
        g.appendChild(el('title', {}, `frame ${p.frame} at ${fmt(p.tMs)}: ${p.text}${p.retransmission ? ` (${p.retransmission})` : ''}`));
        svg.appendChild(g);
      }
    }
    const who = dataDir === 'out' ? ['kernel', 'peer'] : ['peer', 'kernel'];
    svg.appendChild(el('text', { x: SL, y: 14, class: 'lane' }, `sequence (relative) — ${who[0]}'s segments, ${who[1]}'s ACK (blue), window (grey), SACK (green), script expectations (dashed)`));
    if (cursorMs !== null && vis(cursorMs)) svg.appendChild(el('line', { x1: seqX(cursorMs), y1: 20, x2: seqX(cursorMs), y2: SH - 30, class: 'cursor' }));
    // Drag to zoom, double-click to show everything.
    let dragFrom: number | null = null;
    const sel = el('rect', { class: 'selection', y: 20, height: SH - 50, width: 0 });
    svg.appendChild(sel);
    const xOf = (ev: MouseEvent): number => {
      const r = (svg as SVGSVGElement).getBoundingClientRect();
      return ((ev.clientX - r.left) / r.width) * SW;
    };
    svg.addEventListener('mousedown', (ev) => { dragFrom = xOf(ev as MouseEvent); });
    svg.addEventListener('mousemove', (ev) => {
      const x = xOf(ev as MouseEvent);
      if (dragFrom !== null) {
        sel.setAttribute('x', String(Math.min(dragFrom, x)));
        sel.setAttribute('width', String(Math.abs(x - dragFrom)));
      }
      setCursor(seqT(x), 'seq');
    });
    svg.addEventListener('mouseup', (ev) => {
      const x = xOf(ev as MouseEvent);
      if (dragFrom !== null && Math.abs(x - dragFrom) > 5) setView(seqT(Math.min(x, dragFrom)), seqT(Math.max(x, dragFrom)));
      dragFrom = null;
    });
    svg.addEventListener('dblclick', () => setView(scriptView.t0, scriptView.t1));
    seqBox.appendChild(svg);
  };

  // ---- socket-state panels (uPlot) ---------------------------------------
  const st = model.states;
  const xs = st.map((s) => s.tMs);
  const col = (k: keyof (typeof st)[number]): Array<number | null> => st.map((s) => (typeof s[k] === 'number' ? (s[k] as number) : null));
  const has = (k: keyof (typeof st)[number]): boolean => st.some((s) => typeof s[k] === 'number');
  const stateColors: Record<string, string> = {
    ESTAB: '#b7e1b7', 'SYN-SENT': '#f9e79f', 'SYN-RECV': '#f9e79f', 'FIN-WAIT-1': '#f5cba7', 'FIN-WAIT-2': '#f0b27a',
    CLOSING: '#f1948a', 'TIME-WAIT': '#d7bde2', 'CLOSE-WAIT': '#aed6f1', 'LAST-ACK': '#85c1e9', LISTEN: '#e5e7e9',
  };
  const panelsBox = $('panels');
  const width = Math.min(1000, Math.max(600, panelsBox.clientWidth || 1000));
  const cursorOpts = {
    sync: { key: 'tundrill' },
    drag: { x: true, y: false, setScale: false },
  };
  const hooks = {
    setSelect: [(u: any) => {
      if (u.select.width > 5) setView(u.posToVal(u.select.left, 'x'), u.posToVal(u.select.left + u.select.width, 'x'));
      u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
    }],
    setCursor: [(u: any) => {
      if (syncing || u.cursor.left == null || u.cursor.left < 0) return;
      setCursor(u.posToVal(u.cursor.left, 'x'), 'panel');
    }],
  };
  const panel = (title: string, series: Array<{ label: string; key: keyof (typeof st)[number]; color: string; scale?: string; step?: boolean }>, extra: any = {}): void => {
    const present = series.filter((s) => has(s.key));
    if (present.length === 0 && !extra.always) return;
    const box = document.createElement('div');
    box.className = 'panel';
    const h = document.createElement('h4');
    h.textContent = title;
    box.appendChild(h);
    panelsBox.appendChild(box);
    const scales: Record<string, any> = { x: { time: false, min: view.t0, max: view.t1 } };
    const axes: any[] = [{ space: 90, values: (_u: any, vals: number[]) => vals.map((v) => axisLabel(v)) }, { size: 60 }];
    if (present.some((s) => s.scale === 'r')) {
      scales.r = {};
      axes.push({ scale: 'r', side: 1, grid: { show: false }, size: 50 });
    }
    const opts = {
      width, height: extra.height ?? 150,
      scales, axes,
      cursor: cursorOpts,
      legend: { show: true },
      hooks: { ...hooks, ...(extra.hooks ?? {}) },
      series: [{ label: 'time', value: (_u: any, v: number | null) => (v == null ? '' : axisLabel(v)) }, ...present.map((s) => ({
        label: s.label, stroke: s.color, width: 1.5, scale: s.scale ?? 'y', spanGaps: false,
        ...(s.step !== false ? { paths: uPlot.paths.stepped({ align: 1 }) } : {}),
      }))],
    };
    const data = [xs, ...present.map((s) => col(s.key))];
    const u = new uPlot(opts, data, box);
    charts.push(u);
  };
  if (st.length > 0) {
    // State bands: one coloured span per run of samples in one state.
    const spans: Array<{ from: number; to: number; state: string }> = [];
    for (let i = 0; i < st.length; i++) {
      const s = st[i]!.state ?? '(gone)';
      const last = spans[spans.length - 1];
      if (last && last.state === s) last.to = st[i + 1]?.tMs ?? st[i]!.tMs;
      else spans.push({ from: st[i]!.tMs, to: st[i + 1]?.tMs ?? st[i]!.tMs, state: s });
    }
    panel('socket state', [{ label: 'timer retransmits', key: 'timerRetransmits', color: '#444' }], {
      always: true,
      height: 110,
      hooks: {
        drawClear: [(u: any) => {
          const c = u.ctx as CanvasRenderingContext2D;
          c.save();
          for (const sp of spans) {
            const x0 = u.valToPos(sp.from, 'x', true);
            const x1 = u.valToPos(sp.to, 'x', true);
            c.fillStyle = stateColors[sp.state] ?? (sp.state === '(gone)' ? '#ffffff' : '#ddd');
            c.fillRect(x0, u.bbox.top, Math.max(1, x1 - x0), u.bbox.height);
            if (x1 - x0 > 40) {
              c.fillStyle = '#222';
              c.font = `${12 * devicePixelRatio}px sans-serif`;
              c.fillText(sp.state, x0 + 4, u.bbox.top + 16 * devicePixelRatio);
            }
          }
          c.restore();
        }],
      },
    });
    panelsBox.lastElementChild?.setAttribute('id', 'state-panel');
    panel('timer', [
      { label: 'expires in (ms)', key: 'timerExpiresMs', color: '#8e44ad' },
      { label: 'retransmits', key: 'timerRetransmits', color: '#c0392b', scale: 'r' },
    ]);
    panel('rto and backoff', [
      { label: 'rto (ms)', key: 'rtoMs', color: '#d35400' },
      { label: 'backoff', key: 'backoff', color: '#2c3e50', scale: 'r' },
    ]);
    panel('cwnd and ssthresh (segments)', [
      { label: 'cwnd', key: 'cwnd', color: '#27ae60' },
      { label: 'ssthresh', key: 'ssthresh', color: '#7f8c8d' },
    ]);
    panel('srtt (ms)', [{ label: 'srtt', key: 'srttMs', color: '#2980b9' }]);
    panel('unacked, sacked, lost (segments)', [
      { label: 'unacked', key: 'unacked', color: '#e67e22' },
      { label: 'sacked', key: 'sacked', color: '#16a085' },
      { label: 'lost', key: 'lost', color: '#c0392b' },
    ]);
    panel('socket memory (bytes)', [
      { label: 'wmem_alloc', key: 'wmemAlloc', color: '#9b59b6' },
      { label: 'wmem_queued', key: 'wmemQueued', color: '#34495e' },
    ]);
  } else {
    panelsBox.textContent = 'No socket-state samples in this run.';
  }

  // ---- shared window and cursor -------------------------------------------
  function setView(t0: number, t1: number): void {
    if (!(t1 > t0)) return;
    view = { t0, t1 };
    drawLadder();
    drawSeq();
    syncing = true;
    for (const u of charts) u.setScale('x', { min: t0, max: t1 });
    syncing = false;
  }
  function setCursor(t: number, from: 'seq' | 'panel' | 'ladder'): void {
    cursorMs = t;
    const lc = document.getElementById('ladder-cursor');
    if (lc) lc.remove();
    const svg = ladder.querySelector('svg');
    if (svg && t >= view.t0 && t <= view.t1) {
      svg.appendChild(el('line', { x1: 0, y1: ladderY(t), x2: LW, y2: ladderY(t), class: 'cursor', id: 'ladder-cursor' }));
    }
    const sc = seqBox.querySelector('line.cursor');
    if (sc) sc.remove();
    const ssvg = seqBox.querySelector('svg');
    if (ssvg && t >= view.t0 && t <= view.t1) ssvg.appendChild(el('line', { x1: seqX(t), y1: 20, x2: seqX(t), y2: SH - 30, class: 'cursor' }));
    $('cursor').textContent = `cursor ${fmt(t)}`;
    if (from !== 'panel') {
      syncing = true;
      for (const u of charts) u.setCursor({ left: u.valToPos(t, 'x'), top: 5 });
      syncing = false;
    }
  }
  ladder.addEventListener('mousemove', (ev) => {
    const svg = ladder.querySelector('svg');
    if (!svg) return;
    const r = svg.getBoundingClientRect();
    const yy = ev.clientY - r.top;
    const span = view.t1 - view.t0;
    const H = Number(svg.getAttribute('height')) - 70;
    setCursor(view.t0 + ((yy - 40) / H) * span, 'ladder');
  });
  ladder.addEventListener('wheel', (ev) => {
    if (!ev.ctrlKey && !ev.shiftKey) return;
    ev.preventDefault();
    const c = cursorMs ?? (view.t0 + view.t1) / 2;
    const k = ev.deltaY < 0 ? 0.5 : 2;
    setView(Math.max(full.t0, c - (c - view.t0) * k), Math.min(full.t1, c + (view.t1 - c) * k));
  }, { passive: false });
  $('zoom-in').addEventListener('click', () => {
    const c = cursorMs ?? (view.t0 + view.t1) / 2;
    setView(c - (c - view.t0) / 2, c + (view.t1 - c) / 2);
  });
  $('zoom-out').addEventListener('click', () => {
    const c = (view.t0 + view.t1) / 2;
    const h = view.t1 - view.t0;
    setView(Math.max(full.t0, c - h), Math.min(full.t1, c + h));
  });
  $('zoom-all').addEventListener('click', () => setView(full.t0, full.t1));
  $('zoom-script').addEventListener('click', () => {
    const ends = model.lines.flatMap((l) => (l.event ? [l.event.actualMs ?? l.event.expectedMs, l.event.callEndMs ?? 0] : []));
    const end = Math.max(...ends, 1);
    setView(scriptT0 - end * 0.02 - 1, end * 1.05 + 1);
  });
  for (const a of Array.from(document.querySelectorAll('a.frame-link'))) {
    a.addEventListener('click', () => {
      const t = Number((a as HTMLElement).dataset.t);
      const h = Math.max(2, (view.t1 - view.t0) / 20);
      setView(t - h, t + h);
    });
  }
  drawLadder();
  drawSeq();
  // Time from navigation start until everything is drawn, for measurements.
  document.body.dataset.readyMs = performance.now().toFixed(0);
  document.body.dataset.ready = '1';
}

export type { PacketView };
