import { describe, expect, it } from 'vitest';
import { parseScript, type ParseOptions } from '../../src/script/parser.js';
import { ScriptError } from '../../src/script/errors.js';

function errorOf(src: string, opts: Partial<ParseOptions> = {}): ScriptError {
  try {
    parseScript(src, { path: 'e.pkt', ...opts });
  } catch (e) {
    if (e instanceof ScriptError) return e;
    throw e;
  }
  throw new Error('expected a ScriptError');
}
const msg = (src: string, opts: Partial<ParseOptions> = {}): string => errorOf(src, opts).message;

describe('syntax errors', () => {
  it('names the file, the line where the offending token ends and the token', () => {
    const e = errorOf('0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 bind(3, ..., ...) = 0 junk\n');
    expect(e.message).toBe("e.pkt:3: parse error at '': syntax error");
    expect(e.kind).toBe('syntax');
    expect(e.token).toBe('');
  });

  it('gives the column and what was expected in detail', () => {
    const e = errorOf('0 close(3) = 0\n  +0 write(3, ..., 1) = 1 EAGAIN (x) )\n');
    expect(e.message).toBe("e.pkt:2: parse error at ')': syntax error");
    expect(e.line).toBe(2);
    expect(e.column).toBe(38);
    expect(e.detail).toBe("e.pkt:2:38: syntax error: unexpected ')', expected an event time, a cleanup command or end of file");
  });

  it('reports a multi-line token at its last line', () => {
    expect(msg('0 `a`\n`b`\n`c`\n')).toBe("e.pkt:3: parse error at '`c`': syntax error");
  });

  it('rejects scripts without events, and errno without its text', () => {
    expect(msg('\n\n')).toBe("e.pkt:3: parse error at '': syntax error");
    expect(msg('0 x() = 0 EAGAIN\n')).toBe("e.pkt:2: parse error at '': syntax error");
  });

  it('rejects an unterminated string at the quote', () => {
    expect(msg('0 write(3, "unterminated, 1) = 1\n')).toBe("e.pkt:1: parse error at '\"': syntax error");
  });

  it('rejects ports written after the flags', () => {
    expect(msg('0 > S 70000>1 0:0(0)\n')).toBe("e.pkt:1: parse error at '>': syntax error");
  });

  it('accepts only word, string or backtick values after --define=NAME=', () => {
    expect(msg('--define=X=5\n0 `true`\n')).toBe("e.pkt:1: parse error at '5': syntax error");
  });

  it('sees a defined word as its value', () => {
    expect(msg('0 > X 0:0(0)\n', { defines: { X: '1' } })).toBe("e.pkt:1: parse error at '0': syntax error");
  });
});

describe('semantic errors (same text and line as packetdrill)', () => {
  const cases: Array<[string, string]> = [
    ['0 close(3) = 0\n\n+0 < S 0:0(0) <mss 1000>', 'e.pkt:3: semantic error: window must be specified for inbound packets'],
    [
      '0 close(3) = 0\n+0 > S 0:0(0) ack 1 <nop>',
      'e.pkt:2: semantic error: TCP options are not padded correctly to ensure TCP header is a multiple of 4 bytes: 1 excess bytes',
    ],
    ['0 < S 0:0(0) win 1000 <...>', 'e.pkt:1: semantic error: <...> for TCP options can only be used with outbound packets'],
    ['0 < [ect01] S 0:0(0) win 1000', 'e.pkt:1: semantic error: [ect01] can only be used with outbound packets'],
    ['0 > S 0:0(0) ack 4294967296', 'e.pkt:1: semantic error: TCP ack sequence number out of range'],
    ['0 > S 0:5(0)', 'e.pkt:1: semantic error: inconsistent TCP sequence numbers and payload size'],
    ['0 > S 0:0(70000)', 'e.pkt:1: semantic error: TCP payload size out of range'],
    ['0 > X 0:0(0)', "e.pkt:1: semantic error: Invalid TCP flag: 'X'"],
    ['0 > SEA1 0:0(0)', "e.pkt:1: semantic error: Conflicting TCP flag: '1'"],
    ['0 > S 0:0(0) win 65536', 'e.pkt:1: semantic error: TCP window value out of range'],
    ['0 > S 0:0(0) <mss 65536>', 'e.pkt:1: semantic error: mss value out of range'],
    ['0 > S 0:0(0) <wscale 256,nop>', 'e.pkt:1: semantic error: window scale shift count out of range'],
    ['0 > S 0:0(0) <FO abc,nop>', 'e.pkt:1: semantic error: TCP fast open cookie has an odd number of digits'],
    ['0 > S 0:0(0) <FO zz,nop,nop>', "e.pkt:1: semantic error: TCP fast open cookie 'zz' is not a valid hex string"],
    ['0 > S 0:0(0) <md5 001122334455667788990011223344556677>', 'e.pkt:1: semantic error: TCP MD5 digest longer than 16 bytes'],
    ['0 > S 0:0(0) <ECN e0b 16777216>', 'e.pkt:1: semantic error: TCP AccECN field value out of range'],
    ['0 > S 0:0(0) <sack 1:2 3:4 5:6 7:8 9:10>', 'e.pkt:1: semantic error: TCP option list too long'],
    ['0 < udp (70000)', 'e.pkt:1: semantic error: UDP payload size out of range'],
    ['0 < [ect0] udp (1)', 'e.pkt:1: semantic error: ECN can only be used with TCP packets'],
    ['0 < icmp unreachable frag_needed mtu 70000', 'e.pkt:1: semantic error: ICMPv4 MTU out of 16-bit range'],
    ['0 < icmp echo_request mtu 100', 'e.pkt:1: semantic error: ICMPv4 MTU is only valid for unreachable-frag_needed'],
    ['0 < icmp bogus', 'e.pkt:1: semantic error: bad ICMP type bogus'],
    ['0 < icmp echo_request id 70000', 'e.pkt:1: semantic error: invalid echo_id, must be between 0 and 65535'],
    ['0 < icmp unreachable [raw (4)]', 'e.pkt:1: semantic error: icmp_bytes 4 smaller than icmp header length 8'],
    ['0.2~0.1 > S 0:0(0)', 'e.pkt:1: semantic error: time range is backwards'],
    ['* close(3) = 0', 'e.pkt:1: semantic error: event time <star> can only be used with outbound packets'],
    ['0~1 `true`', 'e.pkt:1: semantic error: event time range can only be used with outbound packets'],
    ['0 x(inet6_addr("zz")) = 0', 'e.pkt:1: semantic error: cannot parse in6_addr'],
    [
      '0 bind(3, {sa_family=AF_INET, sin_port=htons(1), sin_addr=inet_addr("1.2.3")}, 16) = 0',
      'e.pkt:1: semantic error: invalid IPv4 address',
    ],
    ['0 < [tos 0x100] S 0:0(0) win 1', 'e.pkt:1: semantic error: tos out of range for 8 bits'],
    ['0 < [flowlabel 0x100000] S 0:0(0) win 1', 'e.pkt:1: semantic error: flowlabel out of range for 20 bits'],
    ['0 < mpls (label 1048576, tc 0, ttl 1): S 0:0(0) win 1', 'e.pkt:1: semantic error: MPLS label out of range for 20 bits'],
    ['0 < mpls (label 1, tc 0, [T], ttl 1): S 0:0(0) win 1', 'e.pkt:1: semantic error: expected [S] for MPLS label stack bottom'],
    ['0 < ipv4 1.2.3.4 > 1.2.3.256: S 0:0(0) win 1', "e.pkt:1: semantic error: bad IPv4 dst address: '1.2.3.256'"],
  ];
  for (const [src, expected] of cases) {
    it(expected.replace(/^e\.pkt:\d+: semantic error: /, ''), () => {
      const e = errorOf(`${src}\n`);
      expect(e.message).toBe(expected);
      expect(e.kind).toBe('semantic');
    });
  }

  it('reports a negative time at the line of the previous statement, as packetdrill does', () => {
    expect(msg('0 close(3) = 0\n+0 write(3, ..., 1) = 1\n-1 close(3) = 0\n')).toBe('e.pkt:2: semantic error: negative time');
  });

  it('checks ICMP codes against the IP version of the run', () => {
    const src = '0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 < icmp unreachable frag_needed\n';
    expect(() => parseScript(src, { path: 'e.pkt', ipVersion: 'ipv4' })).not.toThrow();
    expect(() => parseScript(src, { path: 'e.pkt', ipVersion: 'ipv4-mapped-ipv6' })).not.toThrow();
    expect(msg(src, { ipVersion: 'ipv6' })).toBe('e.pkt:2: semantic error: bad ICMP code frag_needed');
    // An undefined -D name stays a word and fails where it is used.
    expect(msg('0 < icmp unreachable CODE\n', { ipVersion: 'ipv6' })).toBe('e.pkt:1: semantic error: bad ICMP code CODE');
    expect(msg('0 < icmp unreachable CODE\n', { ipVersion: 'ipv4' })).toBe('e.pkt:1: semantic error: bad ICMP code CODE');
    expect(() =>
      parseScript('0 < icmp unreachable CODE\n', { path: 'e.pkt', defines: { CODE: 'host_unreachable' } }),
    ).not.toThrow();
  });

  it('uses the ICMPv6 MTU rules for ipv6', () => {
    expect(() => parseScript('0 < icmp packet_too_big mtu 1280\n', { path: 'e.pkt', ipVersion: 'ipv6' })).not.toThrow();
    expect(msg('0 < icmp unreachable port_unreachable mtu 1280\n', { ipVersion: 'ipv6' })).toBe(
      'e.pkt:1: semantic error: ICMPv6 MTU is only valid for packet_too_big-0',
    );
  });

  it('checks TCP and UDP sizes against the IP header of the run', () => {
    expect(() => parseScript('0 < udp (65508)\n', { path: 'e.pkt', ipVersion: 'ipv4' })).not.toThrow();
    expect(msg('0 < udp (65508)\n', { ipVersion: 'ipv6' })).toBe('e.pkt:1: semantic error: UDP datagram too large');
  });
});

describe('option errors', () => {
  const cases: Array<[string, string]> = [
    ['--nosuch=1', "e.pkt: option 'nosuch' unknown"],
    ['--verbose=1', "e.pkt: option 'verbose' forbids an argument"],
    ['--mss', "e.pkt: option 'mss' requires an argument"],
    ['--ip_version=ipv5', 'e.pkt: bad --ip_version: ipv5'],
    ['--define=X', 'e.pkt: bad definition: X'],
  ];
  for (const [line, expected] of cases) {
    it(expected, () => {
      const e = errorOf(`${line}\n0 \`true\`\n`);
      expect(e.message).toBe(expected);
      expect(e.kind).toBe('option');
      expect(e.line).toBe(1);
    });
  }

  it('still rejects a bad script definition when option checks are off', () => {
    const e = errorOf('--define=X\n0 `true`\n', { validateOptions: false });
    expect(e.message).toBe('e.pkt: bad definition: X');
  });

  it('can accept extra option names or skip the check', () => {
    const src = '--capture="x.pcapng"\n0 `true`\n';
    expect(() => parseScript(src, { path: 'e.pkt', extraOptions: new Map([['capture', { hasArg: true }]]) })).not.toThrow();
    expect(() => parseScript(src, { path: 'e.pkt', validateOptions: false })).not.toThrow();
  });
});
