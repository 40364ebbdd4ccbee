/**
 * `--name=value` option lines at the top of a script.
 *
 * packetdrill reads them, checks each name against its long options, applies
 * them, and then applies the command line again so that command-line options
 * override script options. This module knows packetdrill's option names and
 * whether they take a value; the CLI merges and interprets the values.
 */

import type { IpVersion, ScriptOption } from './ast.js';
import { ScriptError } from './errors.js';
import { DefineError, parseDefine } from './defines.js';

/** packetdrill's long options and whether each requires a value. */
export const PACKETDRILL_OPTIONS: ReadonlyMap<string, { hasArg: boolean }> = new Map(
  (
    [
      ['ip_version', true],
      ['bind_port', true],
      ['code_command', true],
      ['code_format', true],
      ['code_sockopt', true],
      ['connect_port', true],
      ['remote_ip', true],
      ['local_ip', true],
      ['gateway_ip', true],
      ['netmask_ip', true],
      ['speed', true],
      ['mss', true],
      ['mtu', true],
      ['init_scripts', true],
      ['tolerance_usecs', true],
      ['tolerance_percent', true],
      ['wire_client', false],
      ['wire_server', false],
      ['wire_server_ip', true],
      ['wire_server_at', true],
      ['wire_server_port', true],
      ['wire_client_dev', true],
      ['wire_server_dev', true],
      ['so_filename', true],
      ['so_flags', true],
      ['tcp_ts_ecr_scaled', false],
      ['tcp_ts_tick_usecs', true],
      ['strict_segments', false],
      ['non_fatal', true],
      ['dry_run', false],
      ['is_anyip', false],
      ['send_omit_free', false],
      ['psp_udp_port', true],
      ['debug', false],
      ['define', true],
      ['verbose', false],
    ] as Array<[string, boolean]>
  ).map(([n, hasArg]) => [n, { hasArg }]),
);

/**
 * Check script options as packetdrill does right after reading them, in
 * order, and throw the first problem with packetdrill's message:
 *   `<path>: option '<name>' unknown`
 *   `<path>: option '<name>' forbids an argument`
 *   `<path>: option '<name>' requires an argument`
 *   `<path>: bad --ip_version: <value>`
 *   `<path>: bad definition: <value>`
 * `extraOptions` lists further names to accept (tundrill's own options).
 */
export function validateScriptOptions(
  options: readonly ScriptOption[],
  path: string,
  extraOptions: ReadonlyMap<string, { hasArg: boolean }> = new Map(),
): void {
  for (const opt of options) {
    const spec = PACKETDRILL_OPTIONS.get(opt.name) ?? extraOptions.get(opt.name);
    const fail = (reason: string): never => {
      throw new ScriptError({ kind: 'option', path, line: opt.loc.line, column: opt.loc.column, reason, at: opt.loc });
    };
    if (!spec) fail(`option '${opt.name}' unknown`);
    else if (opt.value !== undefined && !spec.hasArg) fail(`option '${opt.name}' forbids an argument`);
    else if (opt.value === undefined && spec.hasArg) fail(`option '${opt.name}' requires an argument`);
    if (opt.name === 'ip_version' && parseIpVersion(opt.value!) === undefined) fail(`bad --ip_version: ${opt.value}`);
    if (opt.name === 'define') {
      try {
        parseDefine(opt.value!, path);
      } catch {
        fail(`bad definition: ${opt.value}`);
      }
    }
  }
}

export function parseIpVersion(v: string): IpVersion | undefined {
  return v === 'ipv4' || v === 'ipv6' || v === 'ipv4-mapped-ipv6' ? v : undefined;
}

/** The last `--ip_version` written in the script, if any. */
export function scriptIpVersion(options: readonly ScriptOption[]): IpVersion | undefined {
  let v: IpVersion | undefined;
  for (const o of options) if (o.name === 'ip_version' && o.value !== undefined) v = parseIpVersion(o.value) ?? v;
  return v;
}

/**
 * Definitions given as `define` settings (`-D NAME=VALUE` on the command
 * line), in order, later ones replacing earlier ones; a setting that is no
 * definition (no NAME before its `=`) is passed over here: the option
 * check reports it.
 */
export function settingDefines(settings: readonly OptionSetting[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const o of settings) {
    if (o.name !== 'define' || o.value === undefined) continue;
    try {
      const [k, v] = parseDefine(o.value);
      out[k] = v;
    } catch (e) {
      if (!(e instanceof DefineError)) throw e;
    }
  }
  return out;
}

/** Definitions written as `--define=NAME=VALUE` in the script, in order. */
export function scriptDefines(options: readonly ScriptOption[], path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const o of options) {
    if (o.name !== 'define' || o.value === undefined) continue;
    const [k, v] = parseDefine(o.value, path);
    out[k] = v;
  }
  return out;
}

/** One option as name and optional value (command line or script). */
export interface OptionSetting {
  name: string;
  value?: string;
}

/**
 * Merge script options with command-line options: script options first,
 * command-line options after them, so that for single-valued options the
 * command line wins when the list is applied in order. Defines are
 * returned separately (command line over script).
 */
export function mergeOptions(
  scriptOptions: readonly ScriptOption[],
  commandLine: readonly OptionSetting[],
): OptionSetting[] {
  const out: OptionSetting[] = [];
  for (const o of scriptOptions) out.push(o.value === undefined ? { name: o.name } : { name: o.name, value: o.value });
  for (const o of commandLine) out.push(o.value === undefined ? { name: o.name } : { name: o.name, value: o.value });
  return out;
}

/**
 * The final value of every option after merging (last setting wins); bare
 * flags map to ''. `define` is not included: see scriptDefines().
 */
export function effectiveOptions(
  scriptOptions: readonly ScriptOption[],
  commandLine: readonly OptionSetting[],
): Map<string, string> {
  const m = new Map<string, string>();
  for (const o of mergeOptions(scriptOptions, commandLine)) {
    if (o.name === 'define') continue;
    m.set(o.name, o.value ?? '');
  }
  return m;
}
