/**
 * Bench section "sampler": the socket-state samplers' cost per sample, in
 * a namespace made for it (`unshare --net` running sampler-probe.js):
 * a sock_diag full dump and a per-packet 4-tuple query, as the sampler's
 * thread measures them, and one `ss -tinoemHa` process from spawn to exit.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { SamplerProbeReport } from './sampler-probe.js';
import { num, renderTable } from './table.js';

export async function measureSampler(opts: { distDir: string; rounds: number; progress: (t: string) => void }): Promise<SamplerProbeReport> {
  opts.progress(`sampler: ${opts.rounds} ss samples, sock_diag dumps and queries in a fresh namespace`);
  const child = spawn('unshare', ['--net', process.execPath, join(opts.distDir, 'bench', 'sampler-probe.js'), String(opts.rounds)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const code = await new Promise<number | null>((r) => child.on('close', r));
  if (code !== 0) throw new Error(`sampler probe exited with ${code}: ${err.trim()}`);
  return JSON.parse(out) as SamplerProbeReport;
}

export function renderSampler(r: SamplerProbeReport): string {
  const row = (name: string, c: { samples: number; medianUs: number; p99Us: number }): Array<string | number> =>
    [name, c.samples, num(c.medianUs, 1), num(c.p99Us, 1)];
  const c = r.crossCheck;
  return [
    `Socket-state sampler cost per sample (${r.socketsTimed} sockets in the namespace for sock_diag, ${r.sockets} for ss)`,
    renderTable(['sample', 'n', 'median µs', 'p99 µs'], [
      row('sock_diag full dump (sampler thread)', r.sockDiagDump),
      row('sock_diag 4-tuple query after a packet', r.sockDiagQuery),
      row('  packet stamp -> query start (lag)', r.sockDiagQueryLag),
      row('ss -tinoemHa process (spawn to exit)', r.ss),
    ]),
    `cross-check: ${c.sockets} socket readings, ${c.fields.length} fields, ${c.comparisons} comparisons, ${c.mismatches.length} disagreements`,
  ].join('\n');
}
