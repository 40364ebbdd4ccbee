/**
 * Run configuration: packetdrill's options and defaults, run_all.py's and
 * ksft_runner.sh's variants, canonical IPv6 spelling, and the command line
 * overriding the script's own option lines.
 */
import { describe, expect, it } from 'vitest';
import {
  applyOption,
  ConfigError,
  finalizeConfig,
  IP_VERSIONS,
  ksftVariantOptions,
  mergeOptions,
  runAllVariantOptions,
  type RunOptions,
} from '../../src/engine/config.js';
import { effectiveOptions, parseScript } from '../../src/script/index.js';

function opts(...args: Array<[string, string?]>): RunOptions {
  const o: RunOptions = {};
  for (const [name, value] of args) applyOption(o, name, value, 'test');
  return o;
}

describe('applyOption', () => {
  it('reads packetdrill options with values', () => {
    expect(opts(['ip_version', 'ipv6'], ['mtu', '1520'], ['mss', '1000'], ['bind_port', '80'], ['connect_port', '81'])).toEqual({
      ipVersion: 'ipv6', mtu: 1520, mss: 1000, bindPort: 80, connectPort: 81,
    });
    expect(opts(['tolerance_usecs', '10000'], ['tolerance_percent', '25.5'], ['tcp_ts_tick_usecs', '1000'])).toEqual({
      toleranceUsecs: 10000, tolerancePercent: 25.5, tcpTsTickUsecs: 1000,
    });
    expect(opts(['local_ip', '10.0.0.1'], ['remote_ip', '10.0.0.2/24'], ['gateway_ip', '10.0.0.254'], ['netmask_ip', '255.255.255.0'])).toEqual({
      localIp: '10.0.0.1', remoteIp: '10.0.0.2/24', gatewayIp: '10.0.0.254', netmaskIp: '255.255.255.0',
    });
  });

  it('reads bare flags', () => {
    expect(opts(['tcp_ts_ecr_scaled'], ['strict_segments'], ['verbose'], ['dry_run'])).toEqual({
      tcpTsEcrScaled: true, strictSegments: true, verbose: true, dryRun: true,
    });
  });

  it('collects defines, the later one winning', () => {
    expect(opts(['define', 'A=1'], ['D', 'B=x=y'], ['define', 'A=2']).defines).toEqual({ A: '2', B: 'x=y' });
  });

  it('refuses bad values with the place they come from', () => {
    expect(() => opts(['ip_version', 'ipv5'])).toThrow(new ConfigError('test: bad --ip_version: ipv5'));
    expect(() => opts(['mtu', '67'])).toThrow('test: bad --mtu: 67');
    expect(() => opts(['mtu', '1500x'])).toThrow('test: bad --mtu: 1500x');
    expect(() => opts(['bind_port', '0'])).toThrow('test: bad --bind_port: 0');
    expect(() => opts(['tolerance_percent', '-1'])).toThrow('test: bad --tolerance_percent: -1');
    expect(() => opts(['define', '=1'])).toThrow('test: bad --define: =1 (expected NAME=VALUE)');
    expect(() => opts(['mss'])).toThrow('test: option --mss needs a value');
    expect(() => opts(['no_such_option', '1'])).toThrow('test: unknown option --no_such_option');
  });
});

describe('finalizeConfig', () => {
  it("uses run_all.py's IPv4 addresses and packetdrill's defaults when nothing is given", () => {
    const c = finalizeConfig({});
    expect(c).toMatchObject({
      ipVersion: 'ipv4', socketFamily: 'inet', wireFamily: 'inet',
      localIp: '192.168.0.1', remoteIp: '192.0.2.1', remotePrefix: '192.0.2.1/32', gatewayIp: '192.168.0.1', prefixLen: 16,
      bindIp: '192.168.0.1', connectIp: '192.0.2.1',
      mtu: 1500, mss: 0, bindPort: 8080, connectPort: 8080,
      toleranceUsecs: 4000, tolerancePercent: 12.5, tcpTsTickUsecs: 0, tcpTsEcrScaled: false, strictSegments: false,
      nonFatalPacket: false, nonFatalSyscall: false, codeCommand: 'python3', codeFormat: 'python', defines: {},
    });
  });

  it('resolves each run_all.py variant', () => {
    const v4 = finalizeConfig(runAllVariantOptions('ipv4'));
    expect(v4).toMatchObject({ socketFamily: 'inet', wireFamily: 'inet', bindIp: '192.168.0.1', connectIp: '192.0.2.1', mtu: 1500 });
    expect(v4.defines).toEqual({
      TFO_COOKIE: '3021b9d889017eeb', CODE: 'host_unreachable', CMSG_LEVEL_IP: 'SOL_IP', CMSG_TYPE_RECVERR: 'IP_RECVERR',
    });

    const mapped = finalizeConfig(runAllVariantOptions('ipv4-mapped-ipv6'));
    expect(mapped).toMatchObject({
      ipVersion: 'ipv4-mapped-ipv6', socketFamily: 'inet6', wireFamily: 'inet',
      localIp: '192.168.0.1', remoteIp: '192.0.2.1', bindIp: '::ffff:192.168.0.1', connectIp: '::ffff:192.0.2.1',
    });
    expect(mapped.defines).toMatchObject({ CMSG_LEVEL_IP: 'SOL_IPV6', CMSG_TYPE_RECVERR: 'IPV6_RECVERR', CODE: 'host_unreachable' });

    const v6 = finalizeConfig(runAllVariantOptions('ipv6'));
    expect(v6).toMatchObject({
      ipVersion: 'ipv6', socketFamily: 'inet6', wireFamily: 'inet6', mtu: 1520,
      localIp: 'fd3d:a0b:17d6::1', remoteIp: 'fd3d:fa7b:d17d::1', gatewayIp: 'fd3d:a0b:17d6:8888::1',
      remotePrefix: 'fd3d:fa7b:d17d::1/128', prefixLen: 48, bindIp: 'fd3d:a0b:17d6::1', connectIp: 'fd3d:fa7b:d17d::1',
    });
    expect(v6.defines).toEqual({ TFO_COOKIE: 'c1d1e9742a47a9bc', CMSG_LEVEL_IP: 'SOL_IPV6', CMSG_TYPE_RECVERR: 'IPV6_RECVERR' });
  });

  it('resolves the ksft_runner.sh variants, with the zero-cookie define', () => {
    expect(finalizeConfig(ksftVariantOptions('ipv4')).defines).toMatchObject({ TFO_COOKIE_ZERO: 'b7c12350a90dc8f5', CMSG_LEVEL_IP: 'SOL_IP' });
    const v6 = finalizeConfig(ksftVariantOptions('ipv6'));
    expect(v6.defines).toMatchObject({ TFO_COOKIE: 'c1d1e9742a47a9bc', TFO_COOKIE_ZERO: '82af1a8f9a205c34' });
    expect(v6.mtu).toBe(1520);
    expect(ksftVariantOptions('ipv4').defines!.CODE).toBeUndefined();
  });

  it('writes IPv6 addresses in one canonical spelling, as packets carry them', () => {
    const c = finalizeConfig({ ipVersion: 'ipv6', localIp: 'FD3D:0A0B:17D6:0000::0001', remoteIp: 'fd3d:fa7b:d17d:0:0:0:0:1/64', gatewayIp: 'fd3d:a0b:17d6:8888:0::1' });
    expect(c.localIp).toBe('fd3d:a0b:17d6::1');
    expect(c.remoteIp).toBe('fd3d:fa7b:d17d::1');
    expect(c.remotePrefix).toBe('fd3d:fa7b:d17d::1/64');
    expect(c.gatewayIp).toBe('fd3d:a0b:17d6:8888::1');
  });

  it('turns the netmask into a prefix length and keeps a remote prefix', () => {
    expect(finalizeConfig({ netmaskIp: '255.255.255.0' }).prefixLen).toBe(24);
    expect(finalizeConfig({ netmaskIp: '255.0.0.0' }).prefixLen).toBe(8);
    expect(finalizeConfig({ remoteIp: '192.0.2.0/24' }).remotePrefix).toBe('192.0.2.0/24');
  });

  it('reads --non_fatal as a list', () => {
    expect(finalizeConfig({ nonFatal: 'packet' })).toMatchObject({ nonFatalPacket: true, nonFatalSyscall: false });
    expect(finalizeConfig({ nonFatal: 'packet,syscall' })).toMatchObject({ nonFatalPacket: true, nonFatalSyscall: true });
  });

  it('refuses addresses of the wrong family', () => {
    expect(() => finalizeConfig({ ipVersion: 'ipv6', localIp: '192.168.0.1' })).toThrow('bad --local_ip for ipv6: 192.168.0.1');
    expect(() => finalizeConfig({ ipVersion: 'ipv4', remoteIp: 'fd3d::1' })).toThrow('bad --remote_ip for ipv4: fd3d::1');
    expect(() => finalizeConfig({ ipVersion: 'ipv4-mapped-ipv6', gatewayIp: '::1' })).toThrow(ConfigError);
    expect(() => finalizeConfig({ netmaskIp: 'ffff::' })).toThrow('bad --netmask_ip: ffff::');
  });

  it('knows the three variants', () => {
    expect(IP_VERSIONS).toEqual(['ipv4', 'ipv4-mapped-ipv6', 'ipv6']);
  });
});

describe('command line over script', () => {
  it('mergeOptions: every command-line value replaces the script value, defines merge', () => {
    const script: RunOptions = { ipVersion: 'ipv4', mtu: 1400, toleranceUsecs: 10000, defines: { A: 'script', B: 'script' } };
    const cmd: RunOptions = { mtu: 1500, defines: { A: 'cmd' } };
    expect(mergeOptions(script, cmd)).toEqual({ ipVersion: 'ipv4', mtu: 1500, toleranceUsecs: 10000, defines: { A: 'cmd', B: 'script' } });
    expect(mergeOptions(script, { mtu: undefined })).toMatchObject({ mtu: 1400 });
  });

  it("effectiveOptions: the command line wins over the script's option lines", () => {
    const s = parseScript('--tolerance_usecs=10000\n--mtu=1400\n--ip_version=ipv6\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n', { path: 't.pkt' });
    const eff = effectiveOptions(s.options, [{ name: 'mtu', value: '1500' }, { name: 'ip_version', value: 'ipv4' }]);
    expect(eff.get('tolerance_usecs')).toBe('10000');
    expect(eff.get('mtu')).toBe('1500');
    expect(eff.get('ip_version')).toBe('ipv4');
    const o: RunOptions = {};
    for (const [k, v] of eff) applyOption(o, k, v, 't.pkt');
    expect(finalizeConfig(o)).toMatchObject({ ipVersion: 'ipv4', mtu: 1500, toleranceUsecs: 10000 });
  });
});
