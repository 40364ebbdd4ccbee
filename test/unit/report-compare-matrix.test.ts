/**
 * The verdict matrix printed after a run on several kernels: a row per
 * kernel (and device, with --device all), each with the scenario's verdict
 * and its own one-line summary, so that kernels are told apart by what the
 * scenario concluded.
 */
import { describe, expect, it } from 'vitest';
import { scenarioMatrix, type ScenarioFigures } from '../../src/report/compare.js';

const fig = (kernel: string, device: string | undefined, pass: boolean, summary: string, scenario = 'tun-skb-orphan'): ScenarioFigures => ({
  kernel, ...(device ? { device } : {}), scenario, pass, summary, numbers: {},
});

describe('scenarioMatrix', () => {
  it('a row per kernel and device, in the order given, with verdict and summary', () => {
    const t = scenarioMatrix([
      fig('stock', 'tun', true, 'masked: a draining reader frees each segment at once: 7 FIN'),
      fig('stock', 'tun-lazy', true, 'tun orphans its skbs (fixed): 7 FIN'),
      fig('broken', 'tun', true, 'masked: a draining reader frees each segment at once: 7 FIN'),
      fig('broken', 'tun-lazy', false, 'tun does not orphan its skbs (the 2.6.32 bug): 2 FIN\nsecond line'),
    ], ['stock', 'broken']);
    const lines = t.split('\n');
    expect(lines[0]).toBe('scenario tun-skb-orphan: verdict per kernel and device');
    expect(lines[1]).toMatch(/^ {2}kernel\s+device\s+verdict\s+summary$/);
    expect(lines[3]).toMatch(/^ {2}stock\s+tun\s+pass\s+masked: a draining reader/);
    expect(lines[4]).toMatch(/^ {2}stock\s+tun-lazy\s+pass\s+tun orphans its skbs \(fixed\): 7 FIN$/);
    expect(lines[6]).toMatch(/^ {2}broken\s+tun-lazy\s+FAIL\s+tun does not orphan its skbs \(the 2\.6\.32 bug\): 2 FIN$/);
    expect(t).not.toContain('second line');
  });

  it('names a combination that did not run, and leaves out the device column when there was one device', () => {
    const t = scenarioMatrix([fig('host', undefined, true, 'ok', 'closing-backoff')], ['host', 'debian:6.1']);
    expect(t).toContain('scenario closing-backoff: verdict per kernel\n');
    expect(t).toMatch(/^ {2}kernel\s+verdict\s+summary$/m);
    expect(t).toMatch(/^ {2}debian:6\.1\s+not run$/m);
  });

  it('one list per scenario', () => {
    const t = scenarioMatrix([
      fig('a', 'tun', true, 'x'), fig('a', 'tun', true, 'held', 'tun-skb-orphan-held'),
    ], ['a']);
    expect(t.match(/^scenario /gm)).toHaveLength(2);
    expect(t).toContain('scenario tun-skb-orphan-held: verdict per kernel and device');
  });
});
