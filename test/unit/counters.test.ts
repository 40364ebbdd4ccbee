import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { diffCounters, parseNetstat, parseSnmp6, readCounters } from '../../src/evidence/counters.js';

const FIX = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/proc');
const load = (name: string): string => readFileSync(join(FIX, name), 'utf8');

describe('parsing /proc/net files captured on this machine', () => {
  it('netstat: TcpExt and IpExt groups', () => {
    const c = parseNetstat(load('netstat.after'));
    expect(Object.keys(c).length).toBeGreaterThan(200);
    expect(c.TcpExtTCPTimeouts).toBe(49);
    expect(c.TcpExtTCPLossProbes).toBe(5);
    expect(c.TcpExtTCPSynRetrans).toBe(23);
    expect(c.TcpExtTCPSpuriousRtxHostQueues).toBe(0);
    expect(c.IpExtInOctets).toBe(13668);
  });

  it('snmp: Ip, Icmp, Tcp, Udp groups, signed MaxConn', () => {
    const c = parseNetstat(load('snmp.after'));
    expect(c.TcpRetransSegs).toBe(63);
    expect(c.TcpMaxConn).toBe(-1);
    expect(c.TcpRtoMin).toBe(200);
    expect(c.IpForwarding).toBe(2);
    expect(c.UdpLiteInDatagrams).toBe(0);
  });

  it('snmp6: one pair a line', () => {
    const c = parseSnmp6(load('snmp6.after'));
    expect(Object.keys(c)).toHaveLength(88);
    expect(c.Ip6InReceives).toBe(31);
    expect(c.Icmp6OutType133).toBe(4);
  });

  it('values past 2^53 become bigints', () => {
    const c = parseNetstat('IpExt: InOctets OutOctets\nIpExt: 18446744073709551615 7\n');
    expect(c.IpExtInOctets).toBe(18446744073709551615n);
    expect(c.IpExtOutOctets).toBe(7);
  });

  it('malformed input is reported', () => {
    expect(() => parseNetstat('Tcp: A B\nUdp: 1 2\n', 'x')).toThrow(/x: line 1 and 2/);
    expect(() => parseNetstat('Tcp: A B\nTcp: 1\n')).toThrow(/2 names but 1 values/);
    expect(() => parseNetstat('Tcp: A\nTcp: z\n')).toThrow(/not an integer/);
    expect(() => parseSnmp6('Ip6InReceives\n')).toThrow(/not "name value"/);
  });
});

describe('readCounters', () => {
  const root = mkdtempSync(join(tmpdir(), 'tundrill-proc-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('reads the three files under a proc root; a missing snmp6 is skipped', () => {
    mkdirSync(join(root, 'net'));
    copyFileSync(join(FIX, 'netstat.after'), join(root, 'net/netstat'));
    copyFileSync(join(FIX, 'snmp.after'), join(root, 'net/snmp'));
    const c = readCounters({ procRoot: root });
    expect(c.TcpExtTCPTimeouts).toBe(49);
    expect(c.TcpRetransSegs).toBe(63);
    expect(c.Ip6InReceives).toBeUndefined();
    copyFileSync(join(FIX, 'snmp6.after'), join(root, 'net/snmp6'));
    expect(readCounters({ procRoot: root }).Ip6InReceives).toBe(31);
  });

  it('live read of this process namespace', () => {
    const c = readCounters();
    for (const name of ['TcpRetransSegs', 'TcpExtTCPTimeouts', 'TcpExtTCPLossProbes', 'IpExtInOctets', 'Ip6InReceives']) {
      expect(typeof c[name] === 'number' || typeof c[name] === 'bigint', name).toBe(true);
    }
  });
});

describe('diffCounters', () => {
  it('the loss run of the fixtures: only changed counters, as after - before', () => {
    const before = { ...parseNetstat(load('netstat.before')), ...parseNetstat(load('snmp.before')), ...parseSnmp6(load('snmp6.before')) };
    const after = { ...parseNetstat(load('netstat.after')), ...parseNetstat(load('snmp.after')), ...parseSnmp6(load('snmp6.after')) };
    const d = diffCounters(before, after);
    expect(d).toMatchObject({
      TcpExtTCPTimeouts: 49,
      TcpExtTCPLossProbes: 5,
      TcpExtTCPSynRetrans: 23,
      TcpRetransSegs: 63,
      TcpActiveOpens: 25,
      TcpPassiveOpens: 8,
      Ip6InReceives: 27,
    });
    expect(d.TcpMaxConn).toBeUndefined();
    expect(Object.values(d).every((v) => v !== 0 && v !== 0n)).toBe(true);
  });

  it('bigints, gauges going down, counters on one side only', () => {
    expect(diffCounters({ a: 1, b: 5, c: 2n ** 60n, gone: 3 }, { a: 1, b: 2, c: 2n ** 60n + 5n, fresh: 4 })).toEqual({ b: -3, c: 5, gone: -3, fresh: 4 });
    expect(diffCounters({ x: 0 }, { x: 2n ** 64n - 1n })).toEqual({ x: 2n ** 64n - 1n });
  });

  it('a real loopback connection in a private namespace moves the Tcp counters', () => {
    const script = [
      'ip link set lo up',
      'cat /proc/net/snmp',
      'echo ===',
      `python3 -c "import socket; l=socket.socket(); l.bind(('127.0.0.1',0)); l.listen(); c=socket.create_connection(l.getsockname()); a,_=l.accept(); c.sendall(b'x'*1000); a.recv(1000)"`,
      'cat /proc/net/snmp',
    ].join('; ');
    const r = spawnSync('unshare', ['--net', 'sh', '-c', script], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const [a, b] = r.stdout.split('===\n');
    const d = diffCounters(parseNetstat(a!), parseNetstat(b!));
    expect(d.TcpActiveOpens).toBe(1);
    expect(d.TcpPassiveOpens).toBe(1);
    expect(d.TcpCurrEstab).toBeUndefined(); // both ends closed when python exited: unchanged
    expect(d.TcpOutSegs).toBeGreaterThanOrEqual(4);
  });
});
