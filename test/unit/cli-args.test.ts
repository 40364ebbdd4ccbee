/**
 * `tundrill run` argument parsing: packetdrill's flags (kept in order, to
 * override scripts' option lines) and tundrill's own.
 */
import { describe, expect, it } from 'vitest';
import { parseRunArgs, UsageError } from '../../src/cli/args.js';

const parse = (...argv: string[]) => parseRunArgs(argv, { captureDir: '/tmp/captures' });

describe('parseRunArgs', () => {
  it('has defaults', () => {
    expect(parse('a.pkt')).toEqual({
      paths: ['a.pkt'], packetdrill: [], ksft: false, timeoutSecs: 180, captureDir: '/tmp/captures', capture: true,
      captureFormat: 'pcapng', ssIntervalMs: 10, sampler: 'sock_diag', verbose: false, quiet: false, long: false, report: 'default', devices: ['tun'], kernels: [], vmClock: 'icount',
    });
  });

  it('takes --report html and --no-report, and refuses other report formats', () => {
    expect(parse('--report', 'html', 'a.pkt').report).toBe('html');
    expect(parse('--report=html', 'a.pkt').report).toBe('html');
    expect(parse('--no-report', 'a.pkt').report).toBe('none');
    expect(() => parse('--report', 'pdf', 'a.pkt')).toThrow(/--report: unknown format 'pdf'/);
  });

  it('keeps packetdrill options in order, in both --name=value and --name value forms', () => {
    const a = parse('--ip_version=ipv6', '--mtu', '1520', 'x.pkt', '--tolerance_usecs=10000', '-D', 'A=1', '-DB=2', '--define=C=3', 'y');
    expect(a.paths).toEqual(['x.pkt', 'y']);
    expect(a.packetdrill).toEqual([
      { name: 'ip_version', value: 'ipv6' },
      { name: 'mtu', value: '1520' },
      { name: 'tolerance_usecs', value: '10000' },
      { name: 'define', value: 'A=1' },
      { name: 'define', value: 'B=2' },
      { name: 'define', value: 'C=3' },
    ]);
  });

  it('takes bare packetdrill flags without a value', () => {
    expect(parse('--strict_segments', '--tcp_ts_ecr_scaled', '--dry_run', 'a.pkt').packetdrill).toEqual([
      { name: 'strict_segments' }, { name: 'tcp_ts_ecr_scaled' }, { name: 'dry_run' },
    ]);
  });

  it("reads tundrill's own options", () => {
    const a = parse('-j', '3', '--ksft', '--timeout', '30', '--capture-dir', 'out', '--pcap', '--ss-interval', '0',
      '--tap', 't.tap', '--junit', 'j.xml', '--json', 'r.json', '-q', '--long', 'dir');
    expect(a).toMatchObject({
      paths: ['dir'], jobs: 3, ksft: true, timeoutSecs: 30, captureDir: 'out', captureFormat: 'pcap', ssIntervalMs: 0, sampler: 'sock_diag',
      tap: 't.tap', junit: 'j.xml', json: 'r.json', quiet: true, long: true, capture: true,
    });
    expect(parse('--no-capture', '--jobs=2', 'a').capture).toBe(false);
    expect(parse('--jobs=2', 'a').jobs).toBe(2);
  });

  it('takes --one-cpu, which runs one script at a time', () => {
    expect(parse('a.pkt').oneCpu).toBeUndefined();
    expect(parse('--one-cpu', 'a.pkt').oneCpu).toBe(true);
    expect(parse('--one-cpu', '-j', '1', 'a.pkt').jobs).toBe(1);
    expect(() => parse('--one-cpu', '-j', '4', 'a.pkt')).toThrow(new UsageError('--one-cpu runs one script at a time: drop -j 4'));
  });

  it('passes --verbose to packetdrill too', () => {
    for (const v of ['-v', '--verbose']) {
      const a = parse(v, 'a.pkt');
      expect(a.verbose).toBe(true);
      expect(a.packetdrill).toEqual([{ name: 'verbose' }]);
    }
  });

  it('takes everything after -- as paths', () => {
    expect(parse('--', '--odd-name.pkt', '-x').paths).toEqual(['--odd-name.pkt', '-x']);
    expect(parse('-').paths).toEqual(['-']);
  });

  it('refuses unknown options, missing values and bad numbers', () => {
    expect(() => parse('--frobnicate')).toThrow(new UsageError('unknown option --frobnicate'));
    expect(() => parse('-x')).toThrow('unknown option -x');
    expect(() => parse('--mtu')).toThrow('option --mtu needs a value');
    expect(() => parse('-j')).toThrow('option -j needs a value');
    expect(() => parse('-j', '0', 'a')).toThrow('--jobs needs a number >= 1');
    expect(() => parse('--timeout', 'soon', 'a')).toThrow('--timeout needs a number >= 1');
    expect(() => parse('--ss-interval=-5', 'a')).toThrow('--ss-interval needs a number >= 0');
  });
});

describe('--kernel and --vm-clock', () => {
  it('collects kernels in order and takes the clock', async () => {
    const { parseRunArgs } = await import('../../src/cli/args.js');
    const a = parseRunArgs(['--kernel', 'host', '--kernel=debian:6.1', '--vm-clock', 'realtime', 'x.pkt'], { captureDir: '/c' });
    expect(a.kernels).toEqual(['host', 'debian:6.1']);
    expect(a.vmClock).toBe('realtime');
    expect(parseRunArgs(['x.pkt'], { captureDir: '/c' }).kernels).toEqual([]);
    expect(() => parseRunArgs(['--vm-clock', 'fast', 'x.pkt'], { captureDir: '/c' })).toThrow(/icount, icount-skip or realtime/);
  });
});
