/**
 * Which runs `tundrill run` makes: run_all.py's variants (by script name),
 * ksft_runner.sh's (by the script's --ip_version line), the runners'
 * arguments, and --ip_version restricting the variants.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findScripts, ksftVersions, planRuns, PlanError, toSettings, variantLabel, type PlannedRun } from '../../src/runner/plan.js';

const PKT = '0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n';
let dir = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tundrill-plan-'));
  mkdirSync(join(dir, 'runall', 'sub'), { recursive: true });
  writeFileSync(join(dir, 'runall', 'both.pkt'), PKT);
  writeFileSync(join(dir, 'runall', 'sub', 'basic-v4.pkt'), PKT);
  writeFileSync(join(dir, 'runall', 'sub', 'basic-v6.pkt'), PKT);
  writeFileSync(join(dir, 'runall', 'sub', 'notes.txt'), 'not a script');
  mkdirSync(join(dir, 'ksft'));
  writeFileSync(join(dir, 'ksft', 'any.pkt'), PKT);
  writeFileSync(join(dir, 'ksft', 'only4.pkt'), `--ip_version=ipv4\n${PKT}`);
  writeFileSync(join(dir, 'ksft', 'only6.pkt'), `// a comment\n--mtu=1500\n--ip_version=ipv6\n${PKT}`);
  mkdirSync(join(dir, 'bad'));
  writeFileSync(join(dir, 'bad', 'two.pkt'), `--ip_version=ipv4\n--ip_version=ipv6\n${PKT}`);
  writeFileSync(join(dir, 'bad', 'mapped.pkt'), `--ip_version=ipv4-mapped-ipv6\n${PKT}`);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const summary = (runs: PlannedRun[]) => runs.map((r) => `${r.reportPath} ${r.variantLabel}`);
const option = (r: PlannedRun, name: string) => r.options.filter((o) => o.name === name).map((o) => o.value);

describe('findScripts', () => {
  it('finds .pkt files under a folder, sorted, and takes a file as is', () => {
    const found = findScripts(join(dir, 'runall')).map((p) => p.slice(dir.length + 1));
    expect(found).toEqual(['runall/both.pkt', 'runall/sub/basic-v4.pkt', 'runall/sub/basic-v6.pkt']);
    expect(findScripts(join(dir, 'runall', 'sub', 'notes.txt'))).toEqual([join(dir, 'runall', 'sub', 'notes.txt')]);
  });
});

describe('planRuns like run_all.py', () => {
  it('runs a script in three variants, *v4.pkt without ipv6 and *v6.pkt only in ipv6', () => {
    const runs = planRuns([join(dir, 'runall')], { ksft: false, user: [] });
    expect(summary(runs)).toEqual([
      'both.pkt ipv4', 'both.pkt ipv4-mapped-v6', 'both.pkt ipv6',
      'sub/basic-v4.pkt ipv4', 'sub/basic-v4.pkt ipv4-mapped-v6',
      'sub/basic-v6.pkt ipv6',
    ]);
    expect(runs.map((r) => r.evidenceStem)).toEqual([
      'both_ipv4', 'both_ipv4-mapped-v6', 'both_ipv6', 'sub/basic-v4_ipv4', 'sub/basic-v4_ipv4-mapped-v6', 'sub/basic-v6_ipv6',
    ]);
    expect(runs[0]!.scriptPath).toBe(join(dir, 'runall', 'both.pkt'));
  });

  it("passes run_all.py's arguments for each variant", () => {
    const [v4, mapped, v6] = planRuns([join(dir, 'runall', 'both.pkt')], { ksft: false, user: [] });
    expect(v4!.options).toEqual(toSettings([
      '--ip_version=ipv4', '--local_ip=192.168.0.1', '--gateway_ip=192.168.0.1', '--netmask_ip=255.255.0.0', '--remote_ip=192.0.2.1',
      '-D', 'TFO_COOKIE=3021b9d889017eeb', '-D', 'CODE=host_unreachable', '-D', 'CMSG_LEVEL_IP=SOL_IP', '-D', 'CMSG_TYPE_RECVERR=IP_RECVERR',
    ]));
    expect(option(mapped!, 'ip_version')).toEqual(['ipv4-mapped-ipv6']);
    expect(option(mapped!, 'define')).toEqual(['TFO_COOKIE=3021b9d889017eeb', 'CODE=host_unreachable', 'CMSG_LEVEL_IP=SOL_IPV6', 'CMSG_TYPE_RECVERR=IPV6_RECVERR']);
    expect(option(v6!, 'mtu')).toEqual(['1520']);
    expect(option(v6!, 'local_ip')).toEqual(['fd3d:0a0b:17d6::1']);
    expect(option(v6!, 'remote_ip')).toEqual(['fd3d:fa7b:d17d::1']);
    expect(option(v6!, 'define')).toEqual(['TFO_COOKIE=c1d1e9742a47a9bc', 'CMSG_LEVEL_IP=SOL_IPV6', 'CMSG_TYPE_RECVERR=IPV6_RECVERR']);
  });

  it("reports a single file by its name and a folder's scripts relative to it", () => {
    expect(planRuns([join(dir, 'runall', 'sub', 'basic-v6.pkt')], { ksft: false, user: [] })[0]!.reportPath).toBe('basic-v6.pkt');
    expect(planRuns([join(dir, 'runall', 'sub')], { ksft: false, user: [] })[0]!.reportPath).toBe('basic-v4.pkt');
  });

  it("appends the user's options after the runner's, so they win", () => {
    const user = [{ name: 'tolerance_usecs', value: '10000' }, { name: 'define', value: 'CODE=port_unreachable' }];
    const [v4] = planRuns([join(dir, 'runall', 'both.pkt')], { ksft: false, user });
    expect(v4!.options.slice(-2)).toEqual(user);
  });

  it('restricts a folder run to the --ip_version given', () => {
    const user = [{ name: 'ip_version', value: 'ipv6' }];
    expect(summary(planRuns([join(dir, 'runall')], { ksft: false, user }))).toEqual(['both.pkt ipv6', 'sub/basic-v6.pkt ipv6']);
    const mapped = [{ name: 'ip_version', value: 'ipv4-mapped-ipv6' }];
    expect(summary(planRuns([join(dir, 'runall')], { ksft: false, user: mapped }))).toEqual(['both.pkt ipv4-mapped-v6', 'sub/basic-v4.pkt ipv4-mapped-v6']);
  });

  it('runs a named file in the --ip_version given, even against its name', () => {
    const user = [{ name: 'ip_version', value: 'ipv4' }];
    const runs = planRuns([join(dir, 'runall', 'sub', 'basic-v6.pkt')], { ksft: false, user });
    expect(summary(runs)).toEqual(['basic-v6.pkt ipv4']);
    // The runner's own --ip_version comes first; the user's last one wins.
    expect(option(runs[0]!, 'ip_version')).toEqual(['ipv4', 'ipv4']);
  });

  it('uses the last --ip_version the user gave, and refuses a bad one', () => {
    const user = [{ name: 'ip_version', value: 'ipv6' }, { name: 'ip_version', value: 'ipv4' }];
    expect(summary(planRuns([join(dir, 'runall', 'both.pkt')], { ksft: false, user }))).toEqual(['both.pkt ipv4']);
    expect(() => planRuns([join(dir, 'runall')], { ksft: false, user: [{ name: 'ip_version', value: 'ipv5' }] })).toThrow(
      new PlanError('bad --ip_version: ipv5'),
    );
  });
});

describe('planRuns like ksft_runner.sh (--ksft)', () => {
  it("runs ipv4 and ipv6, or only the script's own --ip_version", () => {
    expect(summary(planRuns([join(dir, 'ksft')], { ksft: true, user: [] }))).toEqual([
      'any.pkt ipv4', 'any.pkt ipv6', 'only4.pkt ipv4', 'only6.pkt ipv6',
    ]);
  });

  it("passes ksft_runner.sh's arguments, with the zero-cookie define", () => {
    const [v4, v6] = planRuns([join(dir, 'ksft', 'any.pkt')], { ksft: true, user: [] });
    expect(option(v4!, 'define')).toEqual(['TFO_COOKIE=3021b9d889017eeb', 'TFO_COOKIE_ZERO=b7c12350a90dc8f5', 'CMSG_LEVEL_IP=SOL_IP', 'CMSG_TYPE_RECVERR=IP_RECVERR']);
    expect(option(v6!, 'define')).toEqual(['TFO_COOKIE=c1d1e9742a47a9bc', 'TFO_COOKIE_ZERO=82af1a8f9a205c34', 'CMSG_LEVEL_IP=SOL_IPV6', 'CMSG_TYPE_RECVERR=IPV6_RECVERR']);
    expect(option(v6!, 'mtu')).toEqual(['1520']);
    expect(option(v4!, 'define')).not.toContain('CODE=host_unreachable');
  });

  it('ignores the v4/v6 naming rule', () => {
    expect(summary(planRuns([join(dir, 'runall', 'sub', 'basic-v4.pkt')], { ksft: true, user: [] }))).toEqual([
      'basic-v4.pkt ipv4', 'basic-v4.pkt ipv6',
    ]);
  });

  it('refuses what ksft_runner.sh refuses', () => {
    expect(() => planRuns([join(dir, 'bad', 'two.pkt')], { ksft: true, user: [] })).toThrow(
      `${join(dir, 'bad', 'two.pkt')}: Too many or unsupported --ip_version: ipv4 ipv6`,
    );
    expect(() => planRuns([join(dir, 'bad', 'mapped.pkt')], { ksft: true, user: [] })).toThrow(/Too many or unsupported --ip_version: ipv4-mapped-ipv6$/);
  });

  it('reads --ip_version lines only at the start of a line', () => {
    expect(ksftVersions(join(dir, 'ksft', 'only6.pkt'))).toEqual(['ipv6']);
    expect(ksftVersions(join(dir, 'ksft', 'any.pkt'))).toEqual([]);
  });
});

describe('toSettings and variantLabel', () => {
  it("turns runner arguments into option settings", () => {
    expect(toSettings(['--mtu=1520', '-D', 'A=1', '--strict_segments', 'stray'])).toEqual([
      { name: 'mtu', value: '1520' }, { name: 'define', value: 'A=1' }, { name: 'strict_segments' },
    ]);
  });

  it("labels the mapped variant as run_all.py does", () => {
    expect(variantLabel('ipv4')).toBe('ipv4');
    expect(variantLabel('ipv4-mapped-ipv6')).toBe('ipv4-mapped-v6');
    expect(variantLabel('ipv6')).toBe('ipv6');
  });
});
