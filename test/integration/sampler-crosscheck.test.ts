/**
 * The two socket-state samplers on the same sockets, in a namespace made
 * for the test: sock_diag read right before and right after ss must agree
 * with ss on every field ss prints (src/bench/sampler-probe.ts, built into
 * dist/ by npm ci).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { SamplerProbeReport } from '../../src/bench/sampler-probe.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const probe = path.join(root, 'dist/bench/sampler-probe.js');

function skipReason(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, TUN)';
  if (!existsSync('/dev/net/tun')) return 'no /dev/net/tun';
  if (spawnSync('ss', ['-V']).status !== 0) return 'no ss(8)';
  if (!existsSync(probe)) return 'dist/ not built (npm run build)';
  return null;
}

const reason = skipReason();
if (reason) console.warn(`skipping sampler cross-check: ${reason}`);

describe.skipIf(reason !== null)('sock_diag and ss agree', () => {
  it('on every field ss prints, for listeners, IPv4, IPv6, v4-mapped, half-closed and TIME-WAIT sockets', () => {
    const r = spawnSync('unshare', ['--net', process.execPath, probe, '3'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as SamplerProbeReport;
    const c = report.crossCheck;
    expect(c.unmatched).toEqual([]);
    expect(c.mismatches).toEqual([]);
    // 3 rounds of 10 sockets (2 listeners, 3 connections both sides, half-closed pair, TIME-WAIT).
    expect(c.sockets).toBe(30);
    for (const f of ['state', 'recvQ', 'sendQ', 'inode', 'cookie', 'skmem', 'shutdown', 'v6only', 'cong', 'timer.kind', 'timer.expiresMs',
      'tcp_info.tcpi_rto', 'tcp_info.tcpi_rtt', 'tcp_info.tcpi_snd_cwnd', 'tcp_info.tcpi_bytes_acked', 'tcp_info.tcpi_last_data_sent']) {
      expect(c.fields).toContain(f);
    }
    expect(c.fields.length).toBeGreaterThanOrEqual(60);
    // The per-packet path ran: a query after each SYN the kernel sent to tun0.
    expect(report.sockDiagQuery.samples).toBeGreaterThanOrEqual(200);
    expect(report.sockDiagDump.samples).toBeGreaterThan(10);
  }, 90_000);
});
