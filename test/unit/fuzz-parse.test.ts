/**
 * A bounded run of the parser fuzzer (the full run: node
 * dist/checks/fuzz-parse.js --count 100000): every fuzzed script either
 * parses or is a script error; nothing else escapes the parser.
 */
import { describe, expect, it } from 'vitest';
import { classify, seedScripts } from '../../src/checks/fuzz-parse.js';
import { fuzzedScript } from '../../src/checks/fuzz-scripts.js';

describe('parser fuzzing', () => {
  const seeds = seedScripts();

  it('starts from real scripts', () => {
    expect(seeds.length).toBeGreaterThan(10);
  });

  it('makes the same script for the same seed and index, others for others', () => {
    expect(fuzzedScript(seeds, 7, 123)).toBe(fuzzedScript(seeds, 7, 123));
    expect(fuzzedScript(seeds, 7, 123)).not.toBe(fuzzedScript(seeds, 7, 124));
  });

  it('1,500 fuzzed scripts: each parses or is a script error', () => {
    const tally = { 0: 0, 2: 0, 3: 0 };
    const crashes: string[] = [];
    for (let i = 0; i < 1500; i++) {
      const o = classify(fuzzedScript(seeds, 2, i));
      tally[o.exit]++;
      if (o.exit === 3) crashes.push(`${i}: ${o.error}`);
    }
    expect(crashes).toEqual([]);
    // The fuzzer reaches both sides: some scripts still parse.
    expect(tally[0]).toBeGreaterThan(15);
    expect(tally[2]).toBeGreaterThan(500);
  });

  it('classifies an escape from the parser as exit 3', () => {
    // Nesting beyond the bound is caught; a stack overflow anywhere else would be a 3.
    expect(classify('0 x(' + '{'.repeat(50_000) + ')\n').exit).toBe(2);
    expect(classify('0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n').exit).toBe(0);
  });
});
