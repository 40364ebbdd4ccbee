/**
 * Which runs a `tundrill run` makes: every `.pkt` under the given paths, in
 * the IP variants packetdrill's run_all.py (or, with --ksft, the kernel
 * selftests' ksft_runner.sh) would run it in, with the options those
 * runners pass.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { IP_VERSIONS, type IpVersion } from '../engine/config.js';
import type { OptionSetting } from '../script/index.js';
import type { PacketdrillTool } from './packetdrill-run.js';

export interface PlannedRun {
  scriptPath: string;
  /** Path relative to the folder the user named (for reports). */
  reportPath: string;
  variant: IpVersion;
  /** run_all.py's variant label (`ipv4-mapped-v6` for the mapped variant). */
  variantLabel: string;
  options: OptionSetting[];
  /** Capture stem: relative folder and script stem, with the variant. */
  evidenceStem: string;
  /** Carried out by this packetdrill binary instead of tundrill's engine. */
  packetdrill?: PacketdrillTool;
}

export function findScripts(path: string): string[] {
  const st = statSync(path);
  if (st.isFile()) return [path];
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const ent of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, ent.name);
      if (ent.isDirectory()) walk(p);
      else if (ent.isFile() && ent.name.endsWith('.pkt')) out.push(p);
    }
  };
  walk(path);
  return out.sort();
}

export function variantLabel(v: IpVersion): string {
  return v === 'ipv4-mapped-ipv6' ? 'ipv4-mapped-v6' : v;
}

const RUN_ALL: Record<IpVersion, string[]> = {
  ipv4: ['--ip_version=ipv4', '--local_ip=192.168.0.1', '--gateway_ip=192.168.0.1', '--netmask_ip=255.255.0.0',
    '--remote_ip=192.0.2.1', '-D', 'TFO_COOKIE=3021b9d889017eeb', '-D', 'CODE=host_unreachable',
    '-D', 'CMSG_LEVEL_IP=SOL_IP', '-D', 'CMSG_TYPE_RECVERR=IP_RECVERR'],
  'ipv4-mapped-ipv6': ['--ip_version=ipv4-mapped-ipv6', '--local_ip=192.168.0.1', '--gateway_ip=192.168.0.1',
    '--netmask_ip=255.255.0.0', '--remote_ip=192.0.2.1', '-D', 'TFO_COOKIE=3021b9d889017eeb', '-D', 'CODE=host_unreachable',
    '-D', 'CMSG_LEVEL_IP=SOL_IPV6', '-D', 'CMSG_TYPE_RECVERR=IPV6_RECVERR'],
  ipv6: ['--ip_version=ipv6', '--mtu=1520', '--local_ip=fd3d:0a0b:17d6::1', '--gateway_ip=fd3d:0a0b:17d6:8888::1',
    '--remote_ip=fd3d:fa7b:d17d::1', '-D', 'TFO_COOKIE=c1d1e9742a47a9bc', '-D', 'CMSG_LEVEL_IP=SOL_IPV6',
    '-D', 'CMSG_TYPE_RECVERR=IPV6_RECVERR'],
};

const KSFT: Record<'ipv4' | 'ipv6', string[]> = {
  ipv4: ['--ip_version=ipv4', '--local_ip=192.168.0.1', '--gateway_ip=192.168.0.1', '--netmask_ip=255.255.0.0',
    '--remote_ip=192.0.2.1', '-D', 'TFO_COOKIE=3021b9d889017eeb', '-D', 'TFO_COOKIE_ZERO=b7c12350a90dc8f5',
    '-D', 'CMSG_LEVEL_IP=SOL_IP', '-D', 'CMSG_TYPE_RECVERR=IP_RECVERR'],
  ipv6: ['--ip_version=ipv6', '--mtu=1520', '--local_ip=fd3d:0a0b:17d6::1', '--gateway_ip=fd3d:0a0b:17d6:8888::1',
    '--remote_ip=fd3d:fa7b:d17d::1', '-D', 'TFO_COOKIE=c1d1e9742a47a9bc', '-D', 'TFO_COOKIE_ZERO=82af1a8f9a205c34',
    '-D', 'CMSG_LEVEL_IP=SOL_IPV6', '-D', 'CMSG_TYPE_RECVERR=IPV6_RECVERR'],
};

/** Turn a runner's argument list into option settings. */
export function toSettings(args: string[]): OptionSetting[] {
  const out: OptionSetting[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-D') { out.push({ name: 'define', value: args[++i]! }); continue; }
    const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
    if (m) out.push(m[2] === undefined ? { name: m[1]! } : { name: m[1]!, value: m[2] });
  }
  return out;
}

/** The `--ip_version=` lines of a script, as ksft_runner.sh greps them. */
export function ksftVersions(scriptPath: string): string[] {
  const text = readFileSync(scriptPath, 'utf8');
  return text.split('\n').filter((l) => /^--ip_version=/.test(l)).map((l) => l.slice('--ip_version='.length).trim());
}

export class PlanError extends Error {}

export interface PlanOptions {
  ksft: boolean;
  /** User's own packetdrill options (override the runner's). */
  user: OptionSetting[];
}

export function planRuns(paths: string[], opts: PlanOptions): PlannedRun[] {
  const runs: PlannedRun[] = [];
  const userVersion = [...opts.user].reverse().find((o) => o.name === 'ip_version')?.value as IpVersion | undefined;
  if (userVersion && !(IP_VERSIONS as readonly string[]).includes(userVersion)) {
    throw new PlanError(`bad --ip_version: ${userVersion}`);
  }
  for (const p of paths) {
    const root = resolve(p);
    const isFile = statSync(root).isFile();
    const base = isFile ? dirname(root) : root;
    for (const script of findScripts(root)) {
      const rel = relative(base, script);
      const stem = rel.replace(/\.pkt$/, '');
      let variants: IpVersion[];
      let table: Partial<Record<IpVersion, string[]>>;
      if (opts.ksft) {
        table = KSFT;
        const lines = ksftVersions(script);
        if (lines.length === 0) variants = ['ipv4', 'ipv6'];
        else if (lines.length === 1 && (lines[0] === 'ipv4' || lines[0] === 'ipv6')) variants = [lines[0]];
        else throw new PlanError(`${script}: Too many or unsupported --ip_version: ${lines.join(' ')}`);
      } else {
        table = RUN_ALL;
        variants = [];
        if (!script.endsWith('v6.pkt')) variants.push('ipv4', 'ipv4-mapped-ipv6');
        if (!script.endsWith('v4.pkt')) variants.push('ipv6');
      }
      if (userVersion) variants = variants.includes(userVersion) ? [userVersion] : (isFile ? [userVersion] : []);
      for (const v of variants) {
        const runner = table[v] ?? RUN_ALL[v];
        runs.push({
          scriptPath: script,
          reportPath: isFile ? basename(script) : rel,
          variant: v,
          variantLabel: variantLabel(v),
          options: [...toSettings(runner), ...opts.user],
          evidenceStem: `${stem}_${variantLabel(v)}`,
        });
      }
    }
  }
  return runs;
}
