/**
 * `tundrill run` end to end, through the real CLI in fresh network
 * namespaces: the pcapng capture as tshark and tcpdump read it, TAP /
 * JUnit / JSON reports of a folder run, a --ksft run, and a script run in
 * run_all.py's three variants.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureBuilt, FIXTURES, hasTool, ROOT, tundrill, type CliResult } from '../helpers/cli.js';
import { parseScript } from '../../src/script/parser.js';

const skip = inject('integrationSkip');
if (skip) console.warn(`skipping CLI run tests: ${skip}`);
const has = hasTool;
const HAS_TSHARK = has('tshark');
const HAS_TCPDUMP = has('tcpdump');
const HAS_PYTHON = has('python3');





interface JsonRun {
  script: string;
  variant: string;
  verdict: string;
  exitCode: number;
  durationMs: number;
  firstError: { line: number; headline: string; text: string; kind: string } | null;
  evidence: { capture?: string; timeline?: string; counters?: string };
  packets: { injected: number; sniffed: number };
  warnings: string[];
}
interface JsonReport {
  summary: { total: number; passing: number; failing: number; timedOut: number; errors: number; seconds: number };
  runs: JsonRun[];
}

const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as JsonReport;

/** One field per frame from tshark (-T fields). */
function tsharkFields(file: string, ...fields: string[]): string[] {
  const r = spawnSync('tshark', ['-r', file, '-T', 'fields', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tshark -r ${file} failed: ${r.stderr}`);
  return r.stdout.replace(/\n$/, '').split('\n');
}

/** Script lines of the packet events of a fixture. */
function packetLines(file: string): number[] {
  return parseScript(readFileSync(file, 'utf8'), { path: file }).events.filter((e) => e.type === 'packet').map((e) => e.loc.line);
}

let work = '';

describe.skipIf(skip !== null)('tundrill run: evidence, reports and variants', () => {
  beforeAll(() => {
    ensureBuilt();
    // Not under /tmp: multi-run invocations give their workers a private /tmp.
    const cache = join(ROOT, 'node_modules', '.cache');
    mkdirSync(cache, { recursive: true });
    work = mkdtempSync(join(cache, 'tundrill-cli-test-'));
  });
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  describe('capture of a passing run', () => {
    const script = join(FIXTURES, 'pass', 'passive-open.pkt');
    let report: JsonReport;
    let capture = '';

    beforeAll(async () => {
      const dir = join(work, 'capture');
      const json = join(work, 'capture.json');
      const cli = await tundrill(['run', '--ip_version=ipv4', '--capture-dir', dir, '--json', json, script], work);
      expect(cli.code, cli.stderr).toBe(0);
      report = readJson(json);
      capture = report.runs[0]!.evidence.capture ?? '';
    });

    it('is written where asked, named for the script and variant', () => {
      expect(capture).toBe(join(work, 'capture', 'passive-open_ipv4.pcapng'));
      expect(existsSync(capture)).toBe(true);
      expect(readFileSync(capture).readUInt32LE(0)).toBe(0x0a0d0d0a); // pcapng section header block
    });

    it.skipIf(!HAS_TSHARK)('holds exactly the packets the run wrote and read, as tshark counts them', () => {
      const { injected, sniffed } = report.runs[0]!.packets;
      expect(injected).toBe(packetLines(script).filter((l) => readFileSync(script, 'utf8').split('\n')[l - 1]!.includes(' < ')).length);
      expect(tsharkFields(capture, 'frame.number')).toHaveLength(injected + sniffed);
    });

    it.skipIf(!HAS_TSHARK)('notes on the frames the script line of every packet, in script order', () => {
      const comments = tsharkFields(capture, 'frame.comment');
      const noted = comments.flatMap((c) => [...c.matchAll(/script line (\d+)/g)].map((m) => Number(m[1])));
      expect([...new Set(noted)].sort((a, b) => a - b)).toEqual(packetLines(script));
      const inOrder = noted.every((l, i) => i === 0 || l >= noted[i - 1]!);
      expect(inOrder, noted.join(' ')).toBe(true);
      // Inbound frames carry the script packet, outbound the packet as checked.
      expect(comments.some((c) => /script line 7: < S 0:0\(0\) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>/.test(c))).toBe(true);
      expect(comments.some((c) => /script line 8\b.*> S\. 0:0\(0\) ack 1 /.test(c))).toBe(true);
    });

    it.skipIf(!HAS_TSHARK)('carries the run addresses and TCP segments', () => {
      const rows = tsharkFields(capture, 'ip.src', 'ip.dst', 'tcp.flags.str').filter((r) => r.includes('192.'));
      expect(rows.length).toBeGreaterThanOrEqual(8);
      for (const r of rows) expect(r).toMatch(/^(192\.0\.2\.1\t192\.168\.0\.1|192\.168\.0\.1\t192\.0\.2\.1)\t/);
    });

    it.skipIf(!HAS_TCPDUMP)('opens in tcpdump too', () => {
      const r = spawnSync('tcpdump', ['-n', '-r', capture], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const lines = r.stdout.trim().split('\n');
      const { injected, sniffed } = report.runs[0]!.packets;
      expect(lines).toHaveLength(injected + sniffed);
      expect(lines.some((l) => /IP 192\.168\.0\.1\.8080 > 192\.0\.2\.1\.\d+: Flags \[S\.\]/.test(l))).toBe(true);
    });
  });

  describe('reports of a two-script folder run', () => {
    const folder = join(FIXTURES, 'reports');
    const tap = () => join(work, 'reports-r.tap');
    const junit = () => join(work, 'reports-r.xml');
    const json = () => join(work, 'reports-r.json');
    let cli: CliResult;

    beforeAll(async () => {
      cli = await tundrill(
        ['run', '-j', '1', '--ip_version=ipv4', '--no-capture', '--tap', tap(), '--junit', junit(), '--json', json(), folder],
        work,
      );
    });

    it('exits 1 and prints a line per run and the summary', () => {
      expect(cli.code).toBe(1);
      const out = cli.stdout.trim().split('\n');
      expect(out[0]).toMatch(/^FAIL \[bad-ack\.pkt \(ipv4\)\] \d+\.\d\ds$/);
      expect(out[1]).toMatch(/^OK {3}\[handshake\.pkt \(ipv4\)\] \d+\.\d\ds$/);
      expect(out[2]).toMatch(new RegExp(`^Ran {4}2 tests: {4}1 passing, {4}1 failing, {4}0 timed out \\(\\d+\\.\\d\\d sec\\): ${folder}$`));
      expect(cli.stderr).toMatch(/^bad-ack\.pkt:13: error handling packet: live packet field tcp_ack_seq: expected: 21 \(0x15\) vs actual: 11 \(0xb\)$/m);
    });

    it("writes TAP in run_all.py's form", () => {
      const lines = readFileSync(tap(), 'utf8').split('\n');
      expect(lines.slice(0, 4)).toEqual([
        'TAP version 13',
        '1..2',
        'not ok 1 bad-ack.pkt (ipv4)',
        '# bad-ack.pkt:13: error handling packet: live packet field tcp_ack_seq: expected: 21 (0x15) vs actual: 11 (0xb)',
      ]);
      expect(lines[4]).toMatch(/^# script packet: +\d+\.\d{6} \. 1:1\(0\) ack 21$/);
      expect(lines[5]).toMatch(/^# actual packet: +\d+\.\d{6} \. 1:1\(0\) ack 11 win \d+$/);
      expect(lines).toContain('ok 2 handshake.pkt (ipv4)');
      for (const l of lines.slice(2).filter(Boolean)) expect(l).toMatch(/^(ok \d|not ok \d|# )/);
    });

    it.skipIf(!HAS_PYTHON)('writes well-formed JUnit XML', () => {
      const py = [
        'import json, sys, xml.etree.ElementTree as ET',
        'r = ET.parse(sys.argv[1]).getroot()',
        's = r.find("testsuite")',
        'print(json.dumps({"root": r.tag, "attrib": r.attrib, "cases": [{"name": c.get("name"), "time": c.get("time"),',
        '  "children": [{"tag": x.tag, "message": x.get("message"), "type": x.get("type"), "text": x.text} for x in c]}',
        '  for c in s.findall("testcase")]}))',
      ].join('\n');
      const r = spawnSync('python3', ['-c', py, junit()], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const x = JSON.parse(r.stdout);
      expect(x.root).toBe('testsuites');
      expect(x.attrib).toMatchObject({ tests: '2', failures: '1', errors: '0' });
      expect(x.cases.map((c: { name: string }) => c.name)).toEqual(['bad-ack.pkt (ipv4)', 'handshake.pkt (ipv4)']);
      expect(x.cases[0].children[0]).toMatchObject({
        tag: 'failure', type: 'fail',
        message: 'bad-ack.pkt:13: error handling packet: live packet field tcp_ack_seq: expected: 21 (0x15) vs actual: 11 (0xb)',
      });
      expect(x.cases[0].children[0].text).toMatch(/actual packet: +\d+\.\d{6} \. 1:1\(0\) ack 11 win \d+/);
      expect(x.cases[1].children).toEqual([]);
      for (const c of x.cases) expect(Number(c.time)).toBeGreaterThan(0);
    });

    it('writes JSON with verdicts, first errors and packet counts', () => {
      const r = readJson(json());
      expect(r.summary).toMatchObject({ total: 2, passing: 1, failing: 1, timedOut: 0, errors: 0 });
      expect(r.runs.map((x) => [x.script, x.variant, x.verdict, x.exitCode])).toEqual([
        ['bad-ack.pkt', 'ipv4', 'fail', 1],
        ['handshake.pkt', 'ipv4', 'pass', 0],
      ]);
      expect(r.runs[0]!.firstError).toMatchObject({ line: 13, kind: 'packet' });
      expect(r.runs[0]!.firstError!.text.split('\n')).toHaveLength(3);
      expect(r.runs[1]!.firstError).toBeNull();
      expect(r.runs[1]!.packets.injected).toBe(3);
      expect(r.runs[1]!.evidence).toEqual({});
    });
  });

  it('--ksft runs each script in ipv4 and ipv6, or in its own --ip_version only', async () => {
    const json = join(work, 'ksft.json');
    const cli = await tundrill(['run', '--ksft', '-j', '1', '--no-capture', '--json', json, join(FIXTURES, 'ksft')], work);
    expect(cli.code, cli.stderr).toBe(0);
    expect(readJson(json).runs.map((r) => `${r.script} ${r.variant} ${r.verdict}`)).toEqual([
      'both.pkt ipv4 pass', 'both.pkt ipv6 pass', 'ipv6-only.pkt ipv6 pass',
    ]);
  });

  it('names no evidence file for a run that ended before its network came up', async () => {
    // ICMPv4's frag_needed has no ICMPv6 code: the ipv6 run fails at that
    // line when it builds the packet, before any file is written.
    const script = join(work, 'icmp-v4-only.pkt');
    writeFileSync(script, [
      '0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3',
      '+0 < icmp unreachable frag_needed mtu 800',
      '',
    ].join('\n'));
    const dir = join(work, 'early-failure');
    const json = join(work, 'early-failure.json');
    const cli = await tundrill(['run', '--ip_version=ipv6', '--capture-dir', dir, '--json', json, script], work);
    expect(cli.code, cli.stderr).toBe(1);
    const run = readJson(json).runs[0]!;
    expect(run.firstError?.headline).toMatch(/bad ICMP code frag_needed/);
    for (const path of Object.values(run.evidence)) expect(existsSync(path!), path).toBe(true);
    expect(run.evidence.capture).toBeUndefined();
  });

  it('keeps the captures of a multi-run invocation whose capture folder is under /tmp', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tundrill-captures-'));
    try {
      const json = join(work, 'tmp-captures.json');
      const cli = await tundrill(['run', '--ksft', '-j', '2', '--capture-dir', dir, '--json', json, join(FIXTURES, 'ksft', 'both.pkt')], work);
      expect(cli.code, cli.stderr).toBe(0);
      const captures = readJson(json).runs.map((r) => r.evidence.capture!);
      expect(captures).toEqual([join(dir, 'both_ipv4.pcapng'), join(dir, 'both_ipv6.pcapng')]);
      for (const c of captures) expect(existsSync(c), c).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs a script and keeps its captures on a file system mounted under /tmp (a microVM share sits there)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tundrill-mounted-'));
    const mounted = spawnSync('mount', ['-t', 'tmpfs', 'tundrill-test', dir], { encoding: 'utf8' });
    expect(mounted.status, mounted.stderr).toBe(0);
    try {
      const script = join(dir, 'both.pkt');
      writeFileSync(script, readFileSync(join(FIXTURES, 'ksft', 'both.pkt')));
      const json = join(work, 'mounted-captures.json');
      const cli = await tundrill(['run', '--ksft', '-j', '2', '--capture-dir', join(dir, 'cap'), '--json', json, script], work);
      expect(cli.code, cli.stderr).toBe(0);
      expect(cli.stderr).not.toMatch(/ENOENT|\n\s+at /);
      const captures = readJson(json).runs.map((r) => r.evidence.capture!);
      expect(captures).toEqual([join(dir, 'cap', 'both_ipv4.pcapng'), join(dir, 'cap', 'both_ipv6.pcapng')]);
      for (const c of captures) expect(existsSync(c), c).toBe(true);
    } finally {
      spawnSync('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!HAS_PYTHON)("runs each run's code in that run's network namespace, one run after another in a worker", async () => {
    // The warm interpreter that runs %{ }% code outlives a run; the tun0 of
    // an earlier run is gone with its run.
    // One interpreter serves every folder: each run's code also runs in its own script's folder.
    const dir = join(work, 'code-netns');
    const block = (folder: string): string => [
      '+0 %{', 'import os', 'assert "tun0:" in open("/proc/self/net/dev").read(), open("/proc/self/net/dev").read()',
      `assert os.path.basename(os.getcwd()) == "${folder}", os.getcwd()`, '}%', '',
    ].join('\n');
    for (const [folder, name] of [['x', 'a'], ['x', 'b'], ['y', 'c']] as const) {
      mkdirSync(join(dir, folder), { recursive: true });
      writeFileSync(join(dir, folder, `${name}.pkt`), `0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n${block(folder)}`);
    }
    const json = join(work, 'code-netns.json');
    const cli = await tundrill(['run', '-j', '1', '--no-capture', '--ip_version=ipv4', '--json', json, join(dir, 'x'), join(dir, 'y')], work);
    expect(cli.code, cli.stderr).toBe(0);
    expect(readJson(json).runs.map((r) => r.verdict)).toEqual(['pass', 'pass', 'pass']);
  });

  describe("one script in run_all.py's three variants", () => {
    const script = join(FIXTURES, 'pass', 'passive-open.pkt');
    let cli: CliResult;
    let report: JsonReport;

    beforeAll(async () => {
      const json = join(work, 'variants.json');
      cli = await tundrill(['run', '-j', '1', '--capture-dir', join(work, 'variants'), '--json', json, script], work);
      report = readJson(json);
    });

    it('passes in ipv4, ipv4-mapped-v6 and ipv6', () => {
      expect(cli.code, cli.stderr).toBe(0);
      expect(report.runs.map((r) => `${r.variant} ${r.verdict}`)).toEqual(['ipv4 pass', 'ipv4-mapped-v6 pass', 'ipv6 pass']);
      expect(cli.stdout).toMatch(/^Ran {4}3 tests: {4}3 passing, {4}0 failing, {4}0 timed out/m);
    });

    it('keeps one capture per variant', () => {
      expect(report.runs.map((r) => r.evidence.capture)).toEqual(
        ['ipv4', 'ipv4-mapped-v6', 'ipv6'].map((v) => join(work, 'variants', `passive-open_${v}.pcapng`)),
      );
      for (const r of report.runs) expect(existsSync(r.evidence.capture!), r.evidence.capture).toBe(true);
    });

    it.skipIf(!HAS_TSHARK)('puts IPv4 on the wire for ipv4-mapped-v6 and the fd3d addresses for ipv6', () => {
      const mapped = tsharkFields(report.runs[1]!.evidence.capture!, 'ip.src', 'tcp.srcport').filter((r) => r.startsWith('192.'));
      expect(mapped.length).toBeGreaterThan(0);
      const v6 = tsharkFields(report.runs[2]!.evidence.capture!, 'ipv6.src', 'ipv6.dst', 'tcp.flags.str').filter((r) => /\t\S+$/.test(r) && r.includes('fd3d'));
      expect(v6.length).toBeGreaterThanOrEqual(8);
      for (const r of v6) expect(r).toMatch(/^(fd3d:fa7b:d17d::1\tfd3d:a0b:17d6::1|fd3d:a0b:17d6::1\tfd3d:fa7b:d17d::1)\t/);
    });
  });
  describe('runs that share a worker', () => {
    // Every run's namespace must own a small socket hash: a namespace sharing
    // the host's makes each sock_diag dump walk 262144 buckets (a millisecond),
    // and a folder run's samplers then eat a core. The setting is per
    // namespace, so the second run in a worker is the one that can miss it.
    it('each get a namespace with a socket hash of its own', async () => {
      const dir = join(work, 'ehash');
      mkdirSync(dir, { recursive: true });
      const body = [
        "`test \"$(cat /proc/sys/net/ipv4/tcp_ehash_entries)\" -gt 0`",
        '0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3',
        '+0 close(3) = 0',
        '',
      ].join('\n');
      for (const name of ['a.pkt', 'b.pkt', 'c.pkt']) writeFileSync(join(dir, name), body);
      const json = join(work, 'ehash.json');
      const cli = await tundrill(['run', '-j', '1', '--ip_version=ipv4', '--no-capture', '--json', json, dir], work);
      const runs = readJson(json).runs;
      expect(runs.map((r) => r.verdict), cli.stdout + cli.stderr).toEqual(['pass', 'pass', 'pass']);
    });
  });
});
