/**
 * Stopping a folder run at random moments: each trial starts
 * `tundrill run -j 4` on test/fixtures/scripts/stop (runs that block in
 * accept(), sleep in a command, send data for seconds, or finish at once),
 * sends SIGINT, SIGTERM or SIGKILL to the CLI after a random delay, and
 * then checks:
 *
 * - 5 s after the CLI is gone, no worker of this checkout and no process
 *   it started is left (and so none of their network namespaces);
 * - every run that started (its evidence files exist) has a capture tshark
 *   reads;
 * - after SIGINT and SIGTERM the JSON report exists and lists those runs.
 *
 *   node dist/checks/stop-trials.js [--trials N] [--seed S]
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prng } from './fuzz-scripts.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FOLDER = join(ROOT, 'test', 'fixtures', 'scripts', 'stop');
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGKILL'] as const;
/** The files a run's evidence is made of, after its stem. */
const EVIDENCE_SUFFIX = /\.(pcapng|pcap|sockets\.jsonl|events\.jsonl|counters\.json|run\.json|verdict\.json|html|pkt)$/;

/** Processes whose command line names this checkout's workers, or a command a stop fixture runs. */
function leftovers(): string[] {
  const r = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => l.includes(join(ROOT, 'dist', 'runner')) && /worker\.js/.test(l) || /\bsleep 25\b/.test(l)).map((l) => l.trim());
}

interface Trial {
  signal: string;
  delayMs: number;
  exit: string;
  started: number;
  unreadable: string[];
  reportOk: boolean | null;
  left: string[];
}

async function trial(n: number, signal: (typeof SIGNALS)[number], delayMs: number): Promise<Trial> {
  const dir = mkdtempSync(join(tmpdir(), `tundrill-stop-${n}-`));
  const cap = join(dir, 'cap');
  const report = join(dir, 'report.json');
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'tundrill.js'), 'run', '-j', '4', '-q', '--ip_version=ipv4', '--capture-dir', cap, '--json', report, FOLDER], {
    stdio: 'ignore', detached: true,
  });
  const exited = new Promise<string>((done) => child.on('close', (code, sig) => done(sig ?? String(code))));
  await new Promise((r) => setTimeout(r, delayMs));
  child.kill(signal);
  const exit = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running after 60 s'), 60_000))]);
  await new Promise((r) => setTimeout(r, 5000));
  const left = leftovers();
  const files = existsSync(cap) ? readdirSync(cap) : [];
  // A run that started left at least one evidence file named for it (the
  // suite's index.html is not a run's).
  const stems = new Set(files.filter((f) => f !== 'index.html' && EVIDENCE_SUFFIX.test(f)).map((f) => f.replace(EVIDENCE_SUFFIX, '')));
  const unreadable: string[] = [];
  for (const stem of stems) {
    const pcap = join(cap, `${stem}.pcapng`);
    if (!existsSync(pcap) || spawnSync('tshark', ['-r', pcap], { stdio: 'ignore' }).status !== 0) unreadable.push(stem);
  }
  let reportOk: boolean | null = null;
  if (signal !== 'SIGKILL') {
    try {
      const r = JSON.parse(readFileSync(report, 'utf8')) as { runs: Array<{ evidence?: { capture?: string } }> };
      const listed = new Set(r.runs.map((x) => x.evidence?.capture).filter(Boolean));
      reportOk = [...stems].every((s) => listed.has(join(cap, `${s}.pcapng`)) || unreadable.includes(s));
      // A run the report does not list at all counts as missing from it.
      if (r.runs.length < stems.size) reportOk = false;
    } catch {
      reportOk = false;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  return { signal, delayMs, exit, started: stems.size, unreadable, reportOk, left };
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const opt = (name: string, d: number): number => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : d);
  const trials = opt('--trials', 50);
  const r = prng(opt('--seed', 1));
  const started = performance.now();
  const results: Trial[] = [];
  for (let i = 0; i < trials; i++) {
    const sig = SIGNALS[Math.floor(r() * SIGNALS.length)]!;
    const delay = 500 + Math.floor(r() * 7500);
    const t = await trial(i, sig, delay);
    results.push(t);
    process.stdout.write(`${String(i + 1).padStart(3)} ${t.signal.padEnd(7)} after ${(t.delayMs / 1000).toFixed(1)} s: exit ${t.exit}, ${t.started} runs started, `
      + `${t.unreadable.length} without a readable capture${t.unreadable.length ? ` (${t.unreadable.join(', ')})` : ''}, `
      + `report ${t.reportOk === null ? 'n/a' : t.reportOk ? 'ok' : 'MISSING'}, ${t.left.length} processes left\n`);
    for (const l of t.left) process.stdout.write(`      left: ${l}\n`);
    // Kill what a failed trial left, so the next one starts clean.
    for (const l of t.left) {
      const pid = Number(l.split(' ')[0]);
      if (pid > 1) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
  }
  const sum = (f: (t: Trial) => number): number => results.reduce((a, t) => a + f(t), 0);
  const bySig = (s: string): Trial[] => results.filter((t) => t.signal === s);
  process.stdout.write(`\n${trials} trials in ${((performance.now() - started) / 1000).toFixed(0)} s: `
    + `${sum((t) => (t.left.length > 0 ? 1 : 0))} with processes left; ${sum((t) => t.started)} runs started, ${sum((t) => t.unreadable.length)} without a readable capture `
    + `(${SIGNALS.map((s) => `${s} ${bySig(s).reduce((a, t) => a + t.unreadable.length, 0)}/${bySig(s).reduce((a, t) => a + t.started, 0)}`).join(', ')}); `
    + `reports missing or incomplete: ${results.filter((t) => t.reportOk === false).length} of ${results.filter((t) => t.reportOk !== null).length}\n`);
  return results.some((t) => t.left.length > 0 || t.unreadable.length > 0 || t.reportOk === false) ? 1 : 0;
}

process.exitCode = await main();
