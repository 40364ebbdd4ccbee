/**
 * Fuzzing of `tundrill parse`: N fuzzed scripts (see fuzz-scripts.ts), each
 * classified as `parse` classifies it -- parsed (exit 0), a script error
 * (exit 2) or anything else (the CLI would end with an internal error) --
 * in worker processes watched for hangs, plus every Kth script through the
 * real command to confirm its exit status.
 *
 *   node dist/checks/fuzz-parse.js [--count N] [--seed S] [--jobs J] [--cli-every K]
 *
 * Exits 1 when any script ended other than 0 or 2 or hung.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseScript, ScriptError } from '../script/index.js';
import { fuzzedScript } from './fuzz-scripts.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/**
 * No progress for this long (100 scripts, normally well under a second)
 * stops a worker process; its scripts are then parsed one per process.
 */
const STALL_MS = 30_000;
/** A single script that takes longer than this to parse, alone in a process, is a hang. */
const HANG_MS = 60_000;

function collect(dir: string, out: string[]): void {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) collect(p, out);
    else if (e.name.endsWith('.pkt') && statSync(p).size < 200_000) out.push(readFileSync(p, 'utf8'));
  }
}

/** The real scripts the fuzzer starts from: the corpora beside the checkout, the fixtures, the scenarios. */
export function seedScripts(root = ROOT): string[] {
  const out: string[] = [];
  collect(join(root, '..', 'shared', 'corpus'), out);
  collect(join(root, 'test', 'fixtures'), out);
  collect(join(root, 'scenarios'), out);
  collect(join(root, 'bench'), out);
  return out;
}

export type ParseOutcome = { exit: 0 | 2 } | { exit: 3; error: string };

/** What `tundrill parse` makes of `text`: 0 parsed, 2 script error, 3 anything else. */
export function classify(text: string): ParseOutcome {
  try {
    parseScript(text, { path: 'fuzz.pkt' });
    return { exit: 0 };
  } catch (e) {
    if (e instanceof ScriptError) return { exit: 2 };
    return { exit: 3, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
}

async function child(seed: number, start: number, end: number): Promise<void> {
  const seeds = seedScripts();
  let ok = 0;
  let syntax = 0;
  for (let i = start; i < end; i++) {
    const o = classify(fuzzedScript(seeds, seed, i));
    if (o.exit === 0) ok++;
    else if (o.exit === 2) syntax++;
    else if (o.exit === 3) process.stdout.write(`crash ${i} ${JSON.stringify(o.error)}\n`);
    if ((i - start) % 100 === 99 || i === end - 1) process.stdout.write(`done ${i} ${ok} ${syntax}\n`);
  }
}

interface Tally {
  exit0: number;
  exit2: number;
  crashes: { index: number; error: string }[];
  hangs: number[];
}

/** Run scripts [start, end) in one worker process; a stall kills it and the rest of the range is retried after the stuck script. */
function runRange(seed: number, start: number, end: number, tally: Tally): Promise<void> {
  return new Promise((done) => {
    const self = fileURLToPath(import.meta.url);
    const p = spawn(process.execPath, [self, '--child', String(seed), String(start), String(end)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let confirmed = start; // scripts before this one are counted
    let base0 = 0;
    let base2 = 0;
    let buf = '';
    let timer = setTimeout(stalled, STALL_MS);
    function stalled(): void {
      p.kill('SIGKILL');
    }
    p.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const [kind, a, b, c] = line.split(' ');
        if (kind === 'crash') tally.crashes.push({ index: Number(a), error: JSON.parse(line.slice(line.indexOf(' ', 6) + 1)) as string });
        if (kind === 'done') {
          tally.exit0 += Number(b) - base0;
          tally.exit2 += Number(c) - base2;
          base0 = Number(b);
          base2 = Number(c);
          confirmed = Number(a) + 1;
          clearTimeout(timer);
          timer = setTimeout(stalled, STALL_MS);
        }
      }
    });
    p.on('close', async (code, signal) => {
      clearTimeout(timer);
      if (confirmed >= end) return done();
      // Killed for a stall or died: find the script, one at a time, then go on after it.
      for (let i = confirmed; i < Math.min(end, confirmed + 100); i++) {
        const one: Tally = { exit0: 0, exit2: 0, crashes: [], hangs: [] };
        const r = spawnSync(process.execPath, [self, '--child', String(seed), String(i), String(i + 1)], { timeout: HANG_MS, encoding: 'utf8' });
        if (r.error || r.signal) {
          tally.hangs.push(i);
          process.stderr.write(`fuzz: script ${i} hung or died (${signal ?? code}); node dist/checks/fuzz-parse.js --write ${seed}:${i} saves it\n`);
          await runRange(seed, i + 1, end, tally);
          return done();
        }
        for (const l of r.stdout.split('\n')) {
          if (l.startsWith('crash ')) one.crashes.push({ index: i, error: l });
          if (l.startsWith('done ')) {
            const [, , b, c] = l.split(' ');
            tally.exit0 += Number(b);
            tally.exit2 += Number(c);
          }
        }
        tally.crashes.push(...one.crashes);
      }
      await runRange(seed, Math.min(end, confirmed + 100), end, tally);
      done();
    });
  });
}

/** Exit statuses of the real `tundrill parse` for scripts `indexes`. */
function throughCli(seed: number, indexes: number[]): Map<number, number> {
  const seeds = seedScripts();
  const dir = mkdtempSync(join(tmpdir(), 'tundrill-fuzz-'));
  const codes = new Map<number, number>();
  try {
    for (const i of indexes) {
      const file = join(dir, `fuzz-${i}.pkt`);
      writeFileSync(file, fuzzedScript(seeds, seed, i));
      const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'tundrill.js'), 'parse', file], { timeout: HANG_MS, stdio: 'ignore' });
      codes.set(i, r.status ?? -1);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return codes;
}

async function parent(argv: string[]): Promise<number> {
  const opt = (name: string, dflt: number): number => {
    const i = argv.indexOf(name);
    return i >= 0 ? Number(argv[i + 1]) : dflt;
  };
  const w = argv.indexOf('--write');
  if (w >= 0) {
    const [seed, index] = argv[w + 1]!.split(':').map(Number);
    const file = `fuzz-${seed}-${index}.pkt`;
    writeFileSync(file, fuzzedScript(seedScripts(), seed!, index!));
    process.stdout.write(`${file}\n`);
    return 0;
  }
  const count = opt('--count', 100_000);
  const seed = opt('--seed', 1);
  const jobs = opt('--jobs', availableParallelism());
  const cliEvery = opt('--cli-every', 1000);
  const started = performance.now();
  const tally: Tally = { exit0: 0, exit2: 0, crashes: [], hangs: [] };
  const per = Math.ceil(count / jobs);
  await Promise.all(Array.from({ length: jobs }, (_, j) => runRange(seed, j * per, Math.min(count, (j + 1) * per), tally)));
  const inProcess = (performance.now() - started) / 1000;
  const sample = Array.from({ length: Math.floor(count / cliEvery) }, (_, k) => k * cliEvery);
  const cli = throughCli(seed, sample);
  const cliCounts = new Map<number, number>();
  for (const c of cli.values()) cliCounts.set(c, (cliCounts.get(c) ?? 0) + 1);
  const cliBad = [...cli].filter(([, c]) => c !== 0 && c !== 2);
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(
    `fuzzed ${count} scripts (seed ${seed}): ${tally.exit0} exit 0, ${tally.exit2} exit 2, ${tally.crashes.length} other, ${tally.hangs.length} hangs` +
    ` in ${inProcess.toFixed(1)} s; through the CLI ${cli.size}: ${[...cliCounts].map(([c, n]) => `${n} exit ${c}`).join(', ')}; total ${seconds.toFixed(1)} s\n`,
  );
  for (const c of tally.crashes.slice(0, 20)) process.stdout.write(`  script ${c.index}: ${c.error}\n`);
  for (const [i, c] of cliBad.slice(0, 20)) process.stdout.write(`  script ${i} through the CLI: exit ${c}\n`);
  return tally.crashes.length + tally.hangs.length + cliBad.length === 0 ? 0 : 1;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') {
    await child(Number(argv[1]), Number(argv[2]), Number(argv[3]));
  } else {
    process.exitCode = await parent(argv);
  }
}
