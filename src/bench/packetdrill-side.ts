/**
 * Injection timing of tundrill and of a packetdrill binary, side by side
 * on the same scripts, measured the same way for both: on the wire.
 *
 * Each run gets a network namespace of its own (`unshare --net`, with a
 * pid namespace so nothing outlives it). In it, tcpdump listens on "any"
 * before the tool starts (so it sees the tool's tun0 from the first
 * packet on, without touching how the tool makes its device), stamping
 * every packet in the kernel as it passes the device (nanosecond pcap);
 * then the tool runs the script: packetdrill with the addresses and
 * defines `tundrill run --ip_version=ipv4` uses, in the script's folder;
 * tundrill's worker with the request and evidence the rest of the bench
 * uses, which also reports tundrill's own injection figure for the same
 * run. The capture is matched to the script by wire-timing.ts.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunResult } from '../engine/result.js';
import { workerNodeFlags } from '../runner/spawn.js';
import type { PlannedRun } from '../runner/plan.js';
import { inetPton4, inetPton6, parseDefines, parseScript } from '../script/index.js';
import { label } from './injection.js';
import { planIpv4, requestFor } from './runs.js';
import { distribution, type Distribution } from './stats.js';
import { num, renderTable } from './table.js';
import { inboundSchedule, readCookedPcap, wireErrors, type Schedule } from './wire-timing.js';

const WORKER = fileURLToPath(new URL('../runner/worker.js', import.meta.url));

/**
 * Run "$@" with tcpdump capturing on every device of the tool's namespace
 * (sh script; arguments: pcap file, tcpdump's log, follow, the command).
 * follow=0: tcpdump listens in this namespace before the tool starts.
 * follow=1 (tundrill's worker, which moves into a namespace made from this
 * one before it opens tun0): start the tool, wait until its network
 * namespace is no longer this one, start tcpdump there; whether it
 * listened in time shows in the packet count (see packetsComplete).
 * At the end tcpdump gets a moment to take the last ring block (it hands
 * blocks over when full or after its timeout). Exit status: the tool's,
 * or 125 if tcpdump would not start.
 */
const CAPTURE_AROUND = `pcap=$1; log=$2; follow=$3; shift 3
listen() {
  i=0
  until grep -q 'listening on' "$log"; do
    i=$((i+1))
    if [ $i -gt 1000 ] || ! kill -0 $t 2>/dev/null; then kill $t 2>/dev/null; echo "tcpdump did not start: $(head -c 300 "$log")" >&2; exit 125; fi
    sleep 0.002
  done
}
TCPDUMP="tcpdump -i any -n -Z root -s 128 -B 8192 --time-stamp-precision=nano -w $pcap"
if [ "$follow" = 1 ]; then
  "$@" &
  w=$!
  base=$(readlink /proc/self/ns/net)
  while [ "$(readlink /proc/$w/ns/net 2>/dev/null)" = "$base" ]; do sleep 0.001; done
  if ! kill -0 $w 2>/dev/null; then wait $w; exit $?; fi
  nsenter --net=/proc/$w/ns/net $TCPDUMP 2>"$log" 3>&- </dev/null &
  t=$!
  listen
  wait $w; rc=$?
else
  $TCPDUMP 2>"$log" 3>&- </dev/null &
  t=$!
  listen
  "$@"; rc=$?
fi
sleep 1.2
kill -INT $t; wait $t
exit $rc`;

/** Whether tcpdump can be started (the side-by-side needs it). */
export function tcpdumpMissing(): boolean {
  return spawnSync('tcpdump', ['--version'], { stdio: 'ignore' }).status !== 0;
}

export interface ToolTiming {
  runs: number;
  passed: number;
  /** Lines on the script's clock (zero fitted per run). */
  clock: Distribution;
  /** Lines due right after an outbound packet (from that packet's stamp). */
  afterOutbound: Distribution;
  /** Bursts of lines due at the same instant: first to last packet on the wire. */
  burstSpread: Distribution;
  /** Inbound lines the wire cannot time, over all runs. */
  unknown: number;
  /** tundrill only: its own figure (write stamp minus due time) for the same runs. */
  own?: Distribution;
  problems: string[];
}

export interface SideBySideRow {
  script: string;
  /** Inbound lines the wire cannot time (relative to a system call, command or code line). */
  untimedLines: number;
  packetdrill: ToolTiming;
  tundrill: ToolTiming;
}

export interface SideBySideOptions {
  packetdrill: string;
  scripts: string[];
  repeat: number;
  captureDir: string;
  progress(text: string): void;
}

interface ToolRun {
  passed: boolean;
  packetsPcap: string;
  problem?: string;
  own?: number[];
}

function spawnCaptured(capture: { pcap: string; log: string; follow: boolean }, command: string[], cwd: string): Promise<{ code: number | null; stderr: string; result: string }> {
  const child = spawn('unshare', ['--net', '--pid', '--fork', '--mount-proc', '--kill-child=KILL', '--', 'sh', '-c', CAPTURE_AROUND, 'sh', capture.pcap, capture.log, capture.follow ? '1' : '0', ...command], {
    cwd,
    stdio: ['ignore', 'ignore', 'pipe', capture.follow ? 'pipe' : 'ignore'],
    env: { ...process.env, TUNDRILL_TRACE: '0', UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? '8' },
  });
  let stderr = '';
  let result = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  if (capture.follow) (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => { result += d.toString(); });
  const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
  return new Promise((resolve) => {
    child.on('error', (e) => { stderr += `cannot start unshare: ${e.message}\n`; });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, result });
    });
  });
}

function firstLine(text: string): string {
  return text.split('\n').map((l) => l.trim()).find(Boolean) ?? '';
}

/** The packetdrill command-line flags for a planned run (`--name=value`, defines as -D). */
export function packetdrillFlags(run: Pick<PlannedRun, 'options'>): string[] {
  return run.options.map((o) => (o.name === 'define' ? `-D${o.value ?? ''}` : o.value === undefined ? `--${o.name}` : `--${o.name}=${o.value}`));
}

async function runPacketdrill(binary: string, run: PlannedRun, pcap: string, log: string): Promise<ToolRun> {
  const r = await spawnCaptured({ pcap, log, follow: false }, [binary, ...packetdrillFlags(run), run.scriptPath], dirname(run.scriptPath));
  const out: ToolRun = { passed: r.code === 0, packetsPcap: pcap };
  if (r.code !== 0) out.problem = `exit ${r.code}: ${firstLine(r.stderr)}`;
  return out;
}

async function runTundrill(run: PlannedRun, captureDir: string, pcap: string, log: string): Promise<ToolRun> {
  const arg = Buffer.from(JSON.stringify(requestFor(run, captureDir))).toString('base64');
  const r = await spawnCaptured({ pcap, log, follow: true }, [process.execPath, ...workerNodeFlags(), WORKER, arg], dirname(run.scriptPath));
  let result: RunResult | null = null;
  try {
    result = r.result ? (JSON.parse(r.result) as RunResult) : null;
  } catch {
    result = null;
  }
  const out: ToolRun = { passed: result?.verdict === 'pass', packetsPcap: pcap, own: result?.injectionErrorsUsecs ?? [] };
  if (!out.passed) out.problem = result?.firstError?.headline ?? (r.code === 125 ? firstLine(r.stderr) : `exit ${r.code}, no result: ${firstLine(r.stderr)}`);
  return out;
}

function scheduleOf(run: PlannedRun): { schedule: Schedule; remote: Uint8Array } {
  const defines = parseDefines(run.options.filter((o) => o.name === 'define').map((o) => o.value ?? ''));
  const script = parseScript(readFileSync(run.scriptPath, 'utf8'), { path: run.scriptPath, defines, ipVersion: 'ipv4', validateOptions: false });
  const remoteText = [...run.options].reverse().find((o) => o.name === 'remote_ip')?.value ?? '192.0.2.1';
  const remote = inetPton4(remoteText) ?? inetPton6(remoteText);
  if (!remote) throw new Error(`${run.scriptPath}: remote address '${remoteText}' is not an IP address`);
  return { schedule: inboundSchedule(script), remote };
}

function summarize(runs: ToolRun[], schedule: Schedule, remote: Uint8Array, tool: string): ToolTiming {
  const clock: number[] = [];
  const after: number[] = [];
  const spread: number[] = [];
  let unknown = 0;
  const problems: string[] = [];
  for (const [i, r] of runs.entries()) {
    if (r.problem) problems.push(`${tool} run ${i + 1}: ${r.problem}`);
    let packets;
    try {
      packets = readCookedPcap(readFileSync(r.packetsPcap), remote);
    } catch (e) {
      problems.push(`${tool} run ${i + 1}: capture unreadable: ${(e as Error).message}`);
      continue;
    } finally {
      rmSync(r.packetsPcap, { force: true });
    }
    const w = wireErrors(schedule, packets, { passed: r.passed, ...(r.own ? { injected: r.own.length } : {}) });
    clock.push(...w.clock);
    after.push(...w.afterOutbound);
    spread.push(...w.burstSpread);
    unknown += w.unknown;
    if (w.note) problems.push(`${tool} run ${i + 1}: ${w.note}`);
  }
  const t: ToolTiming = {
    runs: runs.length,
    passed: runs.filter((r) => r.passed).length,
    clock: distribution(clock),
    afterOutbound: distribution(after),
    burstSpread: distribution(spread),
    unknown,
    problems,
  };
  if (runs.some((r) => r.own)) t.own = distribution(runs.flatMap((r) => r.own ?? []));
  return t;
}

export async function measureSideBySide(opts: SideBySideOptions): Promise<SideBySideRow[]> {
  const rows: SideBySideRow[] = [];
  const plans = opts.scripts.map((s) => {
    const run = planIpv4(s, `side/${basename(s, '.pkt')}`);
    return { script: s, run, ...scheduleOf(run) };
  });
  const runs = new Map(plans.map((p) => [p.script, { packetdrill: [] as ToolRun[], tundrill: [] as ToolRun[] }]));
  opts.progress(`side by side with ${opts.packetdrill}: ${plans.length * opts.repeat * 2} runs, one at a time, each with a capture`);
  let n = 0;
  for (let r = 0; r < opts.repeat; r++) {
    for (const p of plans) {
      const got = runs.get(p.script)!;
      const file = (tool: string, ext: string): string => join(opts.captureDir, `side-${tool}-${n}.${ext}`);
      const pd = async (): Promise<void> => { got.packetdrill.push(await runPacketdrill(opts.packetdrill, p.run, file('pd', 'pcap'), file('pd', 'log'))); };
      const td = async (): Promise<void> => { got.tundrill.push(await runTundrill(p.run, opts.captureDir, file('td', 'pcap'), file('td', 'log'))); };
      // Alternate which tool goes first, so that neither always follows the other.
      if (r % 2 === 0) { await pd(); await td(); } else { await td(); await pd(); }
      n++;
    }
  }
  for (const p of plans) {
    const got = runs.get(p.script)!;
    rows.push({
      script: label(p.script),
      untimedLines: p.schedule.inbound.filter((l) => l.anchor.kind === 'unknown').length,
      packetdrill: summarize(got.packetdrill, p.schedule, p.remote, 'packetdrill'),
      tundrill: summarize(got.tundrill, p.schedule, p.remote, 'tundrill'),
    });
  }
  return rows;
}

export function renderSideBySide(rows: SideBySideRow[]): string {
  const table: Array<Array<string | number>> = [];
  const add = (script: string, tool: string, t: ToolTiming, what: string, d: Distribution): void => {
    if (d.count === 0) return;
    table.push([script, tool, what, `${t.passed}/${t.runs}`, d.count, num(d.p50, 1), num(d.p99, 1), num(d.max, 1)]);
  };
  for (const r of rows) {
    const first = table.length;
    add(r.script, 'packetdrill', r.packetdrill, 'wire, script clock', r.packetdrill.clock);
    add('', 'tundrill', r.tundrill, 'wire, script clock', r.tundrill.clock);
    add('', 'packetdrill', r.packetdrill, 'wire, after >', r.packetdrill.afterOutbound);
    add('', 'tundrill', r.tundrill, 'wire, after >', r.tundrill.afterOutbound);
    if (r.tundrill.own) add('', 'tundrill', r.tundrill, 'own stamps', r.tundrill.own);
    add('', 'packetdrill', r.packetdrill, 'wire, burst spread', r.packetdrill.burstSpread);
    add('', 'tundrill', r.tundrill, 'wire, burst spread', r.tundrill.burstSpread);
    if (table.length === first) table.push([r.script, '', 'nothing timed', '', 0, '-', '-', '-']);
    else table[first]![0] = r.script;
  }
  const unknown = rows.filter((r) => r.untimedLines > 0)
    .map((r) => `${r.script}: ${r.untimedLines} inbound line(s) not timed (relative to a system call, command or code line)`);
  const problems = rows.flatMap((r) => [...r.packetdrill.problems, ...r.tundrill.problems].map((p) => `  ${r.script}: ${p}`));
  return [
    'Injection timing on the wire, side by side with packetdrill (µs; kernel stamps of a capture in each run\'s',
    'own namespace; "script clock": from the tool\'s most punctual packet of the run; "after >": from the stamp',
    'of the outbound packet the line follows; "own stamps": tundrill\'s in-worker figure for the same runs;',
    '"burst spread": lines due at the same instant, first to last packet on the wire, one figure a burst)',
    renderTable(['script', 'tool', 'measured', 'runs ok', 'packets', 'p50 µs', 'p99 µs', 'max µs'], table),
    ...unknown,
    ...(problems.length ? ['', 'Runs that did not pass or whose capture does not fit the script:', ...problems] : []),
  ].join('\n');
}
