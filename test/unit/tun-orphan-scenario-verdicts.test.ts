/**
 * The two tun orphan scenarios' own verdicts on the evidence of real runs
 * (test/fixtures/tun-orphan-runs: the stock 6.1.192 test kernel and the
 * one without tun's skb_orphan(), in the microVM): the broken kernel is told
 * apart from the fixed one on tun-lazy, the held-queue control from both,
 * and a draining tun says it cannot tell.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/engine/result.js';
import type { Scenario, Verdict } from '../../src/scenario/api.js';
import { loadEvidence } from '../../src/scenario/evidence.js';
import { loadScenario } from '../../src/scenario/runner.js';
import { ensureBuilt } from '../helpers/cli.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'tun-orphan-runs');
const scratch = mkdtempSync(join(tmpdir(), 'tundrill-orphan-runs-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// The scenario files are compiled on load: seconds on a busy machine, once.
const scenarios = new Map<string, Scenario>();
beforeAll(async () => {
  // The scenarios import the package's compiled API (dist/): keep it current with src/.
  ensureBuilt();
  for (const name of ['tun-skb-orphan', 'tun-skb-orphan-held']) scenarios.set(name, await loadScenario(join(ROOT, 'scenarios', `${name}.ts`)));
}, 120_000);

/** Load a recorded run's evidence and give it to its scenario's verify. */
async function verdictOf(name: string): Promise<Verdict> {
  const src = join(FIXTURES, name);
  const dir = join(scratch, name);
  const { scenario, device } = JSON.parse(readFileSync(join(src, 'run-result.json'), 'utf8')) as { scenario: string; device: { kind: string; numbers: Record<string, number | string> } };
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'x.sockets.jsonl'), gunzipSync(readFileSync(join(src, 'sockets.jsonl.gz'))));
  const s = scenarios.get(scenario);
  if (!s) throw new Error(`${name}: no scenario ${scenario}`);
  const result = {
    script: `${scenario}.pkt`, variant: 'ipv4', verdict: 'pass', exitCode: 0, durationMs: 11_500, warnings: [], evidence: {},
    packets: { injected: 0, sniffed: 0 }, injectionErrorsUsecs: [], device,
  } as RunResult;
  const ev = loadEvidence({
    scenario: s.name, long: false, variant: 'ipv4', result, lineTimesUsecs: new Map(),
    files: {
      dir, capture: join(src, 'capture.pcapng'), timeline: join(dir, 'x.sockets.jsonl'), counters: join(src, 'counters.json'),
      marks: join(src, 'run.json'), verdict: join(dir, 'x.verdict.json'), script: join(dir, 'x.pkt'),
    },
  });
  return s.verify(ev);
}

describe('tun-skb-orphan on the recorded runs', () => {
  it('stock 6.1 on tun-lazy: passes, "tun orphans its skbs (fixed)", every retransmission on the wire and t 0', async () => {
    const v = await verdictOf('stock-tun-lazy');
    expect(v.pass).toBe(true);
    expect(v.summary).toMatch(/^tun orphans its skbs \(fixed\): 7 FIN transmission\(s\) on the wire \(6 of 6 retransmissions\)/);
    expect(v.summary).toContain('TcpRetransSegs 6, TCPRetransFail 0, TCPSpuriousRtxHostQueues 0; skmem t 0 throughout');
  });

  it('6.1 without the orphan on tun-lazy: fails, "tun does not orphan its skbs", the skips counted as host-queue, t charged', async () => {
    const v = await verdictOf('no-orphan-tun-lazy');
    expect(v.pass).toBe(false);
    expect(v.summary).toMatch(/^tun does not orphan its skbs \(the 2\.6\.32 bug\): 2 FIN transmission\(s\) on the wire \(1 of 6 retransmissions\)/);
    expect(v.summary).toContain('ss backoff 5 (rto 9472 ms), retrans 0/1, TcpRetransSegs 1, TCPRetransFail 0, TCPSpuriousRtxHostQueues 5');
    expect(v.summary).toContain('skmem t 0-1280 (last 1280); qdisc pfifo_fast backlog 0p');
    expect(v.summary).toContain('failed: every attempted retransmission reached the TUN reader');
    expect(v.numbers?.diagnosis).toMatch(/^tun does not orphan its skbs/);
  });

  it('a draining tun: both kernels pass and both say "masked", since nothing waits in the queue', async () => {
    for (const name of ['stock-tun', 'no-orphan-tun']) {
      const v = await verdictOf(name);
      expect(v.pass, name).toBe(true);
      expect(v.summary, name).toMatch(/^masked: a draining reader frees each segment at once: 7 FIN transmission\(s\) on the wire \(6 of 6/);
    }
  });
});

describe('tun-skb-orphan-held on a recorded run', () => {
  it('the tbf control on the kernel without the orphan: a host queue, not the driver, though tun does not orphan there', async () => {
    const v = await verdictOf('no-orphan-held-tun-lazy');
    expect(v.pass).toBe(true);
    expect(v.summary).toMatch(/^segments held in a host queue \(not a driver bug\): 1 FIN transmission\(s\) on the wire \(0 of 6 retransmissions\)/);
    expect(v.summary).toContain('TCPRetransFail 0, TCPSpuriousRtxHostQueues 5');
    expect(v.summary).toMatch(/qdisc tbf backlog [1-9]\d*p/);
  });
});
