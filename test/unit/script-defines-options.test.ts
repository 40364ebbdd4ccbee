import { describe, expect, it } from 'vitest';
import { parseDefine, parseDefines, strtol, substituteDefine } from '../../src/script/defines.js';
import {
  effectiveOptions,
  mergeOptions,
  scriptDefines,
  scriptIpVersion,
  settingDefines,
  validateScriptOptions,
} from '../../src/script/options.js';
import { parseScript } from '../../src/script/parser.js';
import { inetAddr, inetPton4, inetPton6 } from '../../src/script/inet.js';
import type { ScriptOption } from '../../src/script/ast.js';

const loc = { line: 1, column: 1 };
const opt = (name: string, value?: string): ScriptOption => (value === undefined ? { name, loc } : { name, value, loc });

describe('defines', () => {
  it('splits NAME=VALUE at the first "="', () => {
    expect(parseDefine('A=b=c')).toEqual(['A', 'b=c']);
    expect(parseDefine('A=')).toEqual(['A', '']);
    expect(() => parseDefine('=x')).toThrow('Command Line: bad definition: =x');
    expect(() => parseDefine('AB', 'x.pkt')).toThrow('x.pkt: bad definition: AB');
    expect(parseDefines(['A=1', 'B=2', 'A=3'])).toEqual({ A: '3', B: '2' });
  });

  it('reads -D settings with parseDefine: later ones win, other options and non-definitions are passed over', () => {
    expect(settingDefines([
      { name: 'define', value: 'A=1' },
      { name: 'mtu', value: '1500' },
      { name: 'define', value: 'B=x=y' },
      { name: 'define', value: '=bad' },
      { name: 'define', value: 'A=2' },
    ])).toEqual({ A: '2', B: 'x=y' });
  });

  it('behaves like strtol(value, &end, 0)', () => {
    expect(strtol('0x1f')).toEqual({ value: 31n, end: 4 });
    expect(strtol('017')).toEqual({ value: 15n, end: 3 });
    expect(strtol('  -12abc')).toEqual({ value: -12n, end: 5 });
    expect(strtol('abc')).toEqual({ value: 0n, end: 0 });
    expect(strtol('0x')).toEqual({ value: 0n, end: 1 });
    expect(strtol('99999999999999999999').value).toBe((1n << 63n) - 1n);
  });

  it('turns values into the tokens packetdrill returns', () => {
    expect(substituteDefine('"reno"')).toEqual({ kind: 'STRING', value: 'reno' });
    expect(substituteDefine('`echo x`')).toEqual({ kind: 'BACK_QUOTED', value: 'echo x' });
    expect(substituteDefine('42')).toEqual({ kind: 'INTEGER', int: 42n });
    expect(substituteDefine('SOL_IPV6')).toEqual({ kind: 'WORD', value: 'SOL_IPV6' });
    expect(substituteDefine('1.5')).toEqual({ kind: 'WORD', value: '1.5' });
  });

  it('applies command-line definitions over script ones, after the option lines', () => {
    const src = '--define=CC="cubic"\n--define=N=X\n0 setsockopt(3, SOL_TCP, TCP_CONGESTION, CC, N) = 0\n';
    const s = parseScript(src, { path: 't.pkt', defines: { N: '7' } });
    expect(s.defines).toEqual({ CC: '"cubic"', N: '7' });
    const e = s.events[0]!;
    if (e.type !== 'syscall') throw new Error('syscall expected');
    expect(e.syscall.args[3]).toMatchObject({ type: 'string', value: 'cubic' });
    expect(e.syscall.args[4]).toMatchObject({ type: 'integer', value: 7n });
  });

  it('does not apply definitions to the option lines themselves', () => {
    const s = parseScript('--local_ip=ADDR\n0 `true`\n', { path: 't.pkt', defines: { ADDR: '1.2.3.4' } });
    expect(s.options[0]!.value).toBe('ADDR');
  });

  it('lets a definition become a backtick command event', () => {
    const s = parseScript('0 CMD\n', { path: 't.pkt', defines: { CMD: '`echo hi`' } });
    expect(s.events[0]).toMatchObject({ type: 'command', command: { commandLine: 'echo hi' } });
  });
});

describe('options', () => {
  it('validates names and argument presence like packetdrill', () => {
    expect(() => validateScriptOptions([opt('mss', '1000'), opt('strict_segments')], 'x.pkt')).not.toThrow();
    expect(() => validateScriptOptions([opt('strict_segments', '1')], 'x.pkt')).toThrow(
      "x.pkt: option 'strict_segments' forbids an argument",
    );
    expect(() => validateScriptOptions([opt('tolerance_usecs')], 'x.pkt')).toThrow(
      "x.pkt: option 'tolerance_usecs' requires an argument",
    );
  });

  it('finds the script ip_version and definitions', () => {
    const opts = [opt('ip_version', 'ipv4'), opt('define', 'A=1'), opt('ip_version', 'ipv6'), opt('define', 'A=2')];
    expect(scriptIpVersion(opts)).toBe('ipv6');
    expect(scriptDefines(opts, 'x.pkt')).toEqual({ A: '2' });
  });

  it('merges with the command line last, so the command line wins', () => {
    const script = [opt('tolerance_usecs', '10000'), opt('mss', '1000'), opt('strict_segments')];
    const merged = mergeOptions(script, [{ name: 'tolerance_usecs', value: '20000' }]);
    expect(merged.at(-1)).toEqual({ name: 'tolerance_usecs', value: '20000' });
    const eff = effectiveOptions(script, [{ name: 'tolerance_usecs', value: '20000' }, { name: 'define', value: 'X=1' }]);
    expect(Object.fromEntries(eff)).toEqual({ tolerance_usecs: '20000', mss: '1000', strict_segments: '' });
  });
});

describe('address conversions', () => {
  it('inet_pton for IPv4 is strict', () => {
    expect(inetPton4('192.0.2.1')).toEqual(new Uint8Array([192, 0, 2, 1]));
    expect(inetPton4('1.2.3')).toBeUndefined();
    expect(inetPton4('01.2.3.4')).toBeUndefined();
    expect(inetPton4('1.2.3.256')).toBeUndefined();
  });

  it('inet_pton for IPv6 handles compression and embedded IPv4', () => {
    expect(Buffer.from(inetPton6('::ffff:192.0.2.1')!).toString('hex')).toBe('00000000000000000000ffffc0000201');
    expect(Buffer.from(inetPton6('fd3d:fa7b:d17d::1')!).toString('hex')).toBe('fd3dfa7bd17d00000000000000000001');
    expect(inetPton6('1::2::3')).toBeUndefined();
    expect(inetPton6(':1')).toBeUndefined();
    expect(inetPton6('12345::')).toBeUndefined();
  });

  it('inet_addr accepts the inet_aton forms', () => {
    expect(inetAddr('192.0.2.1')).toBe(0x010200c0);
    expect(inetAddr('127.1')).toBe(0x0100007f);
    expect(inetAddr('0x7f.0.0.1')).toBe(0x0100007f);
    expect(inetAddr('bad')).toBe(0xffffffff);
  });
});
