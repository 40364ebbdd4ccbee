/**
 * Parses every script of the conformance corpus (../shared/corpus) in every
 * variant packetdrill ran it in (../shared/reference/*.tsv), with the `-D`
 * definitions of that variant. A script must parse unless packetdrill itself
 * stopped it with a parse-time error; then the same message is expected.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { IpVersion } from '../../src/script/ast.js';
import { ScriptError } from '../../src/script/errors.js';
import { parseScript } from '../../src/script/parser.js';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const shared = path.resolve(projectRoot, '../shared');
const corpus = path.join(shared, 'corpus');

/** -D definitions per variant, as packetdrill's run_all.py passes them. */
const GTESTS_DEFINES: Record<IpVersion, Record<string, string>> = {
  ipv4: {
    TFO_COOKIE: '3021b9d889017eeb',
    CODE: 'host_unreachable',
    CMSG_LEVEL_IP: 'SOL_IP',
    CMSG_TYPE_RECVERR: 'IP_RECVERR',
  },
  'ipv4-mapped-ipv6': {
    TFO_COOKIE: '3021b9d889017eeb',
    CODE: 'host_unreachable',
    CMSG_LEVEL_IP: 'SOL_IPV6',
    CMSG_TYPE_RECVERR: 'IPV6_RECVERR',
  },
  ipv6: { TFO_COOKIE: 'c1d1e9742a47a9bc', CMSG_LEVEL_IP: 'SOL_IPV6', CMSG_TYPE_RECVERR: 'IPV6_RECVERR' },
};

/** -D definitions per variant, as the kernel selftests' ksft_runner.sh passes them. */
const KSFT_DEFINES: Partial<Record<IpVersion, Record<string, string>>> = {
  ipv4: {
    TFO_COOKIE: '3021b9d889017eeb',
    TFO_COOKIE_ZERO: 'b7c12350a90dc8f5',
    CMSG_LEVEL_IP: 'SOL_IP',
    CMSG_TYPE_RECVERR: 'IP_RECVERR',
  },
  ipv6: {
    TFO_COOKIE: 'c1d1e9742a47a9bc',
    TFO_COOKIE_ZERO: '82af1a8f9a205c34',
    CMSG_LEVEL_IP: 'SOL_IPV6',
    CMSG_TYPE_RECVERR: 'IPV6_RECVERR',
  },
};

function variantOf(name: string): IpVersion {
  if (name === 'ipv4-mapped-v6' || name === 'ipv4-mapped-ipv6') return 'ipv4-mapped-ipv6';
  if (name === 'ipv4' || name === 'ipv6') return name;
  throw new Error(`unknown variant ${name}`);
}

interface Run {
  suite: 'packetdrill-gtests' | 'linux-selftests';
  script: string; // relative to the suite
  variant: IpVersion;
  /** packetdrill's first error when it is a parse-time error. */
  parseError?: string;
}

const PARSE_TIME_ERROR = /^[^:\s]+:\d+: (semantic error|parse error at '.*'): /;

function readReference(suite: Run['suite']): Run[] {
  const file = path.join(shared, 'reference', `${suite}-verdicts.tsv`);
  const runs: Run[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line || line.startsWith('#') || line.startsWith('script\t')) continue;
    const [script, variant, , , firstError = ''] = line.split('\t');
    const run: Run = { suite, script: script!, variant: variantOf(variant!) };
    if (PARSE_TIME_ERROR.test(firstError)) run.parseError = firstError;
    runs.push(run);
  }
  return runs;
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const f of readdirSync(dir)) {
    const p = path.join(dir, f);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (f.endsWith('.pkt')) out.push(p);
  }
  return out;
}

/** Variants for a script the reference does not list (the README's rules). */
function defaultVariants(suite: Run['suite'], file: string): IpVersion[] {
  const base = path.basename(file);
  if (suite === 'linux-selftests') {
    const named = [...readFileSync(file, 'utf8').matchAll(/^--ip_version=(\S+)/gm)].map((m) => variantOf(m[1]!));
    return named.length ? named : ['ipv4', 'ipv6'];
  }
  if (base.endsWith('v4.pkt')) return ['ipv4'];
  if (base.endsWith('v6.pkt')) return ['ipv6'];
  return ['ipv4', 'ipv4-mapped-ipv6', 'ipv6'];
}

function allRuns(): Run[] {
  const runs: Run[] = [];
  for (const suite of ['packetdrill-gtests', 'linux-selftests'] as const) {
    const listed = readReference(suite);
    runs.push(...listed);
    const known = new Set(listed.map((r) => r.script));
    const dir = path.join(corpus, suite);
    for (const file of walk(dir)) {
      const rel = path.relative(dir, file);
      if (known.has(rel)) continue;
      for (const variant of defaultVariants(suite, file)) runs.push({ suite, script: rel, variant });
    }
  }
  return runs;
}

const available = existsSync(corpus) && existsSync(path.join(shared, 'reference'));

describe.skipIf(!available)('corpus scripts parse as packetdrill parses them', () => {
  it('parses every script in every variant', () => {
    const runs = allRuns();
    const scripts = new Set(runs.map((r) => `${r.suite}/${r.script}`));
    const failures: string[] = [];
    let parsed = 0;
    let expectedErrors = 0;
    for (const run of runs) {
      const file = path.join(corpus, run.suite, run.script);
      const source = readFileSync(file, 'utf8');
      const defines = (run.suite === 'linux-selftests' ? KSFT_DEFINES : GTESTS_DEFINES)[run.variant] ?? {};
      const where = `${run.suite}/${run.script} [${run.variant}]`;
      try {
        const script = parseScript(source, { path: path.basename(file), defines, ipVersion: run.variant });
        if (script.events.length === 0) failures.push(`${where}: no events`);
        if (run.parseError) failures.push(`${where}: parsed, but packetdrill reported: ${run.parseError}`);
        else parsed++;
      } catch (e) {
        if (!(e instanceof ScriptError)) throw e;
        if (run.parseError === e.message) expectedErrors++;
        else failures.push(`${where}: ${e.message}${run.parseError ? ` (packetdrill: ${run.parseError})` : ''}`);
      }
    }
    console.log(
      `corpus: ${scripts.size} scripts, ${runs.length} runs: ${parsed} parsed, ` +
        `${expectedErrors} rejected exactly as packetdrill rejects them, ${failures.length} failures`,
    );
    expect(failures).toEqual([]);
    expect(scripts.size).toBeGreaterThanOrEqual(250);
    expect(expectedErrors).toBeGreaterThanOrEqual(5);
  });
});
