import { describe, expect, it } from 'vitest';
import { parseScript, type ParseOptions } from '../../src/script/parser.js';
import type {
  Event,
  Expr,
  IcmpSpec,
  PacketSpec,
  SyscallSpec,
  TcpOption,
  TcpSpec,
  UdpSpec,
} from '../../src/script/ast.js';
import { formatExpr, formatSyscall, formatTime } from '../../src/script/format.js';

const parse = (src: string, opts: Partial<ParseOptions> = {}) => parseScript(src, { path: 't.pkt', ...opts });
const events = (src: string, opts: Partial<ParseOptions> = {}): Event[] => parse(src, opts).events;
const packet = (line: string, opts: Partial<ParseOptions> = {}): PacketSpec => {
  const e = events(`0 ${line}`, opts)[0]!;
  if (e.type !== 'packet') throw new Error('not a packet');
  return e.packet;
};
const tcp = (line: string, opts: Partial<ParseOptions> = {}): TcpSpec => packet(line, opts).l4 as TcpSpec;
const syscall = (line: string, opts: Partial<ParseOptions> = {}): SyscallSpec => {
  const e = events(`0 ${line}`, opts)[0]!;
  if (e.type !== 'syscall') throw new Error('not a syscall');
  return e.syscall;
};
const arg = (line: string, i = 0): Expr => syscall(line).args[i]!;

/** Drop `loc` fields to compare shapes. */
function strip<T>(v: T): T {
  if (Array.isArray(v)) return v.map(strip) as T;
  if (v && typeof v === 'object' && !(v instanceof Uint8Array)) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (k !== 'loc') o[k] = strip(x);
    return o as T;
  }
  return v;
}

describe('script structure', () => {
  it('reads options, init command, events and cleanup command', () => {
    const s = parse(
      [
        '--tolerance_usecs=10000',
        '--strict_segments',
        '--define=PROTO=IPPROTO_TCP',
        '`echo init`',
        '0 socket(..., SOCK_STREAM, PROTO) = 3',
        '+0 `echo in-line`',
        '+0 %{ assert tcpi_rto == 200000 }%',
        '`echo cleanup`',
      ].join('\n'),
    );
    expect(s.options.map((o) => [o.name, o.value])).toEqual([
      ['tolerance_usecs', '10000'],
      ['strict_segments', undefined],
      ['define', 'PROTO=IPPROTO_TCP'],
    ]);
    expect(s.options[0]!.loc).toEqual({ line: 1, column: 1 });
    expect(s.initCommand?.commandLine).toBe('echo init');
    expect(s.cleanupCommand?.commandLine).toBe('echo cleanup');
    expect(s.events.map((e) => e.type)).toEqual(['syscall', 'command', 'code']);
    const sock = s.events[0] as Extract<Event, { type: 'syscall' }>;
    expect(strip(sock.syscall.args[2])).toEqual({ type: 'word', name: 'IPPROTO_TCP' });
    expect(s.events[2]!.type === 'code' && s.events[2].code.text).toBe('assert tcpi_rto == 200000');
    expect(s.defines).toEqual({ PROTO: 'IPPROTO_TCP' });
    expect(s.ipVersion).toBe('ipv4');
  });

  it('keeps the option value forms packetdrill allows', () => {
    const s = parse(
      '--ip_version=ipv6 --local_ip=192.168.0.2 --remote_ip=fd3d::1 --define=A="x y" --define=B=`cmd` --code_format="%s"\n0 `true`',
      { validateOptions: false },
    );
    expect(s.options.map((o) => o.value)).toEqual(['ipv6', '192.168.0.2', 'fd3d::1', 'A="x y"', 'B=`cmd`', '%s']);
    expect(s.ipVersion).toBe('ipv6');
  });

  it('uses the command line --ip_version over the script option', () => {
    expect(parse('--ip_version=ipv6\n0 `true`', { ipVersion: 'ipv4' }).ipVersion).toBe('ipv4');
  });

  it('keeps the source and the path', () => {
    const src = '0 close(3) = 0\n';
    const s = parse(src);
    expect(s.source).toBe(src);
    expect(s.path).toBe('t.pkt');
  });
});

describe('event times', () => {
  const time = (src: string) => events(src)[0]!.time;
  it('reads absolute, relative, any and ranges in microseconds', () => {
    expect(time('0.100 close(3) = 0')).toEqual({ kind: 'absolute', usecs: 100000 });
    expect(time('2 close(3) = 0')).toEqual({ kind: 'absolute', usecs: 2000000 });
    expect(time('+.5 close(3) = 0')).toEqual({ kind: 'relative', usecs: 500000 });
    expect(time('* > S. 0:0(0) ack 1')).toEqual({ kind: 'any' });
    expect(time('0.1~0.2 > . 1:1(0) ack 1')).toEqual({ kind: 'absolute_range', usecs: 100000, endUsecs: 200000 });
    expect(time('+0.1~+0.25 > . 1:1(0) ack 1')).toEqual({ kind: 'relative_range', usecs: 100000, endUsecs: 250000 });
  });

  it('truncates seconds to microseconds as C does', () => {
    expect(time('1.001 close(3) = 0')).toEqual({ kind: 'absolute', usecs: 1000999 });
  });

  it('reads blocking end times', () => {
    const e = events('+0...0.5 read(4, ..., 10) = 10')[0]!;
    expect(e.time).toEqual({ kind: 'relative', usecs: 0 });
    expect(e.type === 'syscall' && e.syscall.endUsecs).toBe(500000);
  });

  it('records the event line and column of its time', () => {
    const evs = events('0 `a`\n\n  +1 `b`');
    expect(evs[1]!.loc).toEqual({ line: 3, column: 4 });
  });

  it('prints times back', () => {
    expect(formatTime({ kind: 'relative_range', usecs: 100000, endUsecs: 250000 })).toBe('+0.1~+0.25');
    expect(formatTime({ kind: 'absolute', usecs: 2000000 })).toBe('2');
  });
});

describe('TCP packets', () => {
  it('reads a full inbound SYN', () => {
    const p = packet('< S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>');
    expect(p.direction).toBe('inbound');
    expect(p.encap).toEqual([]);
    expect(p.ipInfo).toEqual({});
    expect(p.loc).toEqual({ line: 1, column: 3 });
    expect(p.l4).toEqual({
      proto: 'tcp',
      flags: 'S',
      startSeq: 0,
      endSeq: 0,
      payloadBytes: 0,
      window: 32792,
      options: [
        { type: 'mss', mss: 1000 },
        { type: 'sackOK' },
        { type: 'nop' },
        { type: 'nop' },
        { type: 'nop' },
        { type: 'wscale', shift: 7 },
      ],
    });
  });

  it('reads an outbound data segment with ack, no window and no options', () => {
    const t = tcp('> P. 1:1001(1000) ack 1');
    expect(t).toEqual({ proto: 'tcp', flags: 'P.', startSeq: 1, endSeq: 1001, payloadBytes: 1000, ack: 1, options: null });
  });

  it('reads flags as written', () => {
    expect(tcp('> . 1:1(0) ack 1').flags).toBe('.');
    expect(tcp('> - 1:1(0)').flags).toBe('');
    expect(tcp('> F. 1:1(0) ack 1').flags).toBe('F.');
    expect(tcp('> SEW 0:0(0)').flags).toBe('SEW');
    expect(tcp('> S.1 0:0(0) ack 1').flags).toBe('S.1');
    expect(tcp('> .2 1:1(0) ack 1').flags).toBe('.2');
  });

  it('reads explicit ports, urgent pointer and <...>', () => {
    const t = tcp('> 8080>9090 PU. 1:2(1) ack 1 win 100 urg 1 <...>');
    expect(t.srcPort).toBe(8080);
    expect(t.dstPort).toBe(9090);
    expect(t.urgPtr).toBe(1);
    expect(t.options).toBe('any');
  });

  it('reads every TCP option', () => {
    const t = tcp('> S. 0:0(0) ack 1 <mss 1460,eol,nop,sackOK,wscale 8,TS val 100 ecr 7,sack 1:2,nop>');
    const u = tcp('> . 1:1(0) ack 1 <md5 00112233445566778899aabbccddeeff,FO abcd,FOEXP,ECN e1b 1 ceb 2 e0b 3,nop,nop,nop>');
    expect([...(t.options as TcpOption[]), ...(u.options as TcpOption[])]).toEqual([
      { type: 'mss', mss: 1460 },
      { type: 'eol' },
      { type: 'nop' },
      { type: 'sackOK' },
      { type: 'wscale', shift: 8 },
      { type: 'timestamp', val: 100, ecr: 7 },
      { type: 'sack', blocks: [{ left: 1, right: 2 }] },
      { type: 'nop' },
      { type: 'md5', digest: Buffer.from('00112233445566778899aabbccddeeff', 'hex') },
      { type: 'fastopen', cookie: Buffer.from('abcd', 'hex') },
      { type: 'fastopenExp', cookie: Buffer.from('', 'hex') },
      // ECN e1b 1 ceb 2 e0b 3: kind 174, counters in the order written.
      { type: 'accecn', order: 1, fields: [1, 2, 3] },
      { type: 'nop' },
      { type: 'nop' },
      { type: 'nop' },
    ]);
    expect(tcp('> . 1:1(0) ack 1 <sack 1:2 3:4 5:6,nop,nop>').options).toEqual([
      { type: 'sack', blocks: [{ left: 1, right: 2 }, { left: 3, right: 4 }, { left: 5, right: 6 }] },
      { type: 'nop' },
      { type: 'nop' },
    ]);
  });

  it('takes a fast open cookie from a definition, and digits as written', () => {
    expect(tcp('> S 0:0(0) <FO TFO_COOKIE,nop,nop>', { defines: { TFO_COOKIE: '3021b9d889017eeb' } }).options).toEqual([
      { type: 'fastopen', cookie: Buffer.from('3021b9d889017eeb', 'hex') },
      { type: 'nop' },
      { type: 'nop' },
    ]);
    expect(tcp('> S 0:0(0) <FO 00112233,nop,nop>').options).toEqual([
      { type: 'fastopen', cookie: Buffer.from('00112233', 'hex') },
      { type: 'nop' },
      { type: 'nop' },
    ]);
  });

  it('reads IP info: ECN, TOS, flow label, TTL', () => {
    expect(packet('> [ect0] . 1:1(0) ack 1').ipInfo).toEqual({ tos: { check: 'ecn', value: 2 } });
    expect(packet('> [ce] . 1:1(0) ack 1').ipInfo).toEqual({ tos: { check: 'ecn', value: 3 } });
    expect(packet('> (noecn) . 1:1(0) ack 1').ipInfo).toEqual({ tos: { check: 'ecn', value: 0 } });
    expect(packet('> [ect01] . 1:1(0) ack 1').ipInfo).toEqual({ tos: { check: 'ect01', value: 0 } });
    expect(packet('> [tos 0x10] . 1:1(0) ack 1').ipInfo).toEqual({ tos: { check: 'tos', value: 16 } });
    expect(packet('> [ect1, flowlabel 0x12345] . 1:1(0) ack 1').ipInfo).toEqual({
      tos: { check: 'ecn', value: 1 },
      flowLabel: 0x12345,
    });
    expect(packet('< [ttl 3] . 1:1(0) ack 1 win 100').ipInfo).toEqual({ ttl: 3 });
  });

  it('reads outer headers and PSP encapsulation', () => {
    const p = packet(
      '< ipv4 192.0.2.2 > 192.168.0.2: gre flags [key present], sum 0, off 0, key=5, seq 0: mpls (label 7, tc 1, [S], ttl 9): . 1:1(0) ack 1 win 10',
    );
    expect(strip(p.encap)).toEqual([
      { kind: 'ipv4', ipInfo: {}, src: '192.0.2.2', dst: '192.168.0.2' },
      { kind: 'gre', gre: { flags: 0x2000, sum: 0, off: 0, key: 5, seq: 0 } },
      { kind: 'mpls', entries: [{ label: 7, tc: 1, bottom: true, ttl: 9 }] },
    ]);
    expect(strip(packet('< gre: . 1:1(0) ack 1 win 10').encap)).toEqual([
      { kind: 'gre', gre: { flags: 0, sum: 0, off: 0, key: 0, seq: 0, bare: true } },
    ]);
    expect(tcp('> encap psp spi 0x10 . 1:1(0) ack 1').psp).toEqual({ spi: 16 });
  });
});

describe('UDP and ICMP packets', () => {
  it('reads UDP', () => {
    expect(packet('< udp (100)').l4).toEqual({ proto: 'udp', payloadBytes: 100 } satisfies UdpSpec);
    expect(packet('> udp 5000>53 (0)').l4).toEqual({ proto: 'udp', srcPort: 5000, dstPort: 53, payloadBytes: 0 });
  });

  it('reads ICMP with code, mtu and the echoed segment', () => {
    const i = packet('< icmp unreachable frag_needed mtu 1200 [1:1461(1460)]').l4 as IcmpSpec;
    expect(i).toEqual({
      proto: 'icmp',
      type: 'unreachable',
      code: 'frag_needed',
      mtu: 1200,
      echoed: { proto: 'tcp', startSeq: 1, payloadBytes: 1460, endSeq: 1461 },
      echoedWritten: true,
    });
    const j = packet('< icmp echo_request id 7 [raw (20)]').l4 as IcmpSpec;
    expect(j.echoId).toBe(7);
    expect(j.echoed).toEqual({ proto: 'raw', startSeq: 0, payloadBytes: 20 });
    const k = packet('< icmp unreachable port_unreachable [udp (10)]').l4 as IcmpSpec;
    expect(k.echoed).toEqual({ proto: 'udp', startSeq: 0, payloadBytes: 10 });
    const l = packet('< icmp unreachable').l4 as IcmpSpec;
    expect(l.code).toBeUndefined();
    expect(l.echoed).toEqual({ proto: 'tcp', startSeq: 0, payloadBytes: 0 });
    expect(l.echoedWritten).toBe(false);
  });

  it('checks ICMP type and code against the IP version in use', () => {
    expect(() => packet('< icmp unreachable CODE', { defines: { CODE: 'host_unreachable' } })).not.toThrow();
    expect(() => packet('< icmp packet_too_big mtu 1280', { ipVersion: 'ipv6' })).not.toThrow();
    expect(() => packet('< icmp unreachable frag_needed', { ipVersion: 'ipv4-mapped-ipv6' })).not.toThrow();
    expect(() => packet('< icmp type_3 code_4 mtu 1000')).not.toThrow();
  });
});

describe('system calls and expressions', () => {
  it('reads the name, arguments, result, errno and note', () => {
    const s = syscall('connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)');
    expect(s.name).toBe('connect');
    expect(strip(s.args)).toEqual([
      { type: 'integer', value: 3n, hex: false },
      { type: 'ellipsis' },
      { type: 'ellipsis' },
    ]);
    expect(strip(s.result)).toEqual({ type: 'integer', value: -1n, hex: false });
    expect(s.errno).toEqual({ name: 'EINPROGRESS', strerror: 'Operation now in progress' });
    expect(s.note).toBeUndefined();
    expect(s.loc).toEqual({ line: 1, column: 3 });
    expect(syscall('close(3) = 0 (a note)').note).toBe('a note');
    const both = syscall('x() = -1 EAGAIN (Resource temporarily unavailable) (flags x)');
    expect(both.errno?.name).toBe('EAGAIN');
    expect(both.note).toBe('flags x');
    expect(syscall('getpid() = 1').args).toEqual([]);
  });

  it('reads words, strings, hex and binary OR (grouped to the right)', () => {
    expect(strip(arg('fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK|O_CLOEXEC) = 0', 2))).toEqual({
      type: 'binary',
      op: '|',
      lhs: { type: 'word', name: 'O_RDWR' },
      rhs: {
        type: 'binary',
        op: '|',
        lhs: { type: 'word', name: 'O_NONBLOCK' },
        rhs: { type: 'word', name: 'O_CLOEXEC' },
      },
    });
    expect(strip(arg('write(3, "ab" "cd", 4) = 4', 1))).toEqual({
      type: 'binary',
      op: '.',
      lhs: { type: 'string', value: 'ab', ellipsis: false },
      rhs: { type: 'string', value: 'cd', ellipsis: false },
    });
    expect(strip(arg('write(3, "abc"..., 4) = 4', 1))).toEqual({ type: 'string', value: 'abc', ellipsis: true });
    expect(strip(arg('setsockopt(3, SOL_IP, IP_TOS, [0x10], 4) = 0', 3))).toEqual({
      type: 'list',
      elements: [{ type: 'integer', value: 16n, hex: true }],
      brackets: '[]',
    });
  });

  it('reads named fields in braces (tcp_info style)', () => {
    expect(strip(arg('getsockopt(3, SOL_TCP, TCP_INFO, {tcpi_state=TCP_ESTABLISHED, tcpi_rto=200|1}, [4]) = 0', 3))).toEqual({
      type: 'list',
      brackets: '{}',
      elements: [
        { type: 'binary', op: '=', lhs: { type: 'word', name: 'tcpi_state' }, rhs: { type: 'word', name: 'TCP_ESTABLISHED' } },
        {
          type: 'binary',
          op: '=',
          lhs: { type: 'word', name: 'tcpi_rto' },
          rhs: {
            type: 'binary',
            op: '|',
            lhs: { type: 'integer', value: 200n, hex: false },
            rhs: { type: 'integer', value: 1n, hex: false },
          },
        },
      ],
    });
  });

  it('reads sockaddr_in and sockaddr_in6', () => {
    expect(strip(arg('bind(3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("192.0.2.1")}, 16) = 0', 1))).toEqual({
      type: 'sockaddr_in',
      port: 8080,
      address: '192.0.2.1',
    });
    expect(strip(arg('bind(3, {sa_family=AF_INET6, sin_port=htons(80), sin_addr=inet_addr("fd3d::1")}, 28) = 0', 1))).toEqual({
      type: 'sockaddr_in6',
      port: 80,
      address: 'fd3d::1',
    });
  });

  it('resolves inet_addr() at parse time and reads inet6_addr()', () => {
    const a = arg('x(inet_addr("192.0.2.1")) = 0') as Extract<Expr, { type: 'integer' }>;
    expect(a.value).toBe(0x010200c0n);
    expect(a.hex).toBe(true);
    expect(a.inetAddr).toBe('192.0.2.1');
    const b = arg('x(inet6_addr("fd3d::1")) = 0') as Extract<Expr, { type: 'in6_addr' }>;
    expect(b.type).toBe('in6_addr');
    expect(Buffer.from(b.bytes).toString('hex')).toBe('fd3d0000000000000000000000000001');
  });

  it('reads msghdr with iovec and cmsg', () => {
    const m = arg(
      'sendmsg(4, {msg_name(...)=..., msg_iov(1)=[{..., 10}], msg_flags=0, msg_control=[{cmsg_level=SOL_SOCKET, cmsg_type=SO_TIMESTAMPING, cmsg_data={scm_sec=0,scm_nsec=0}}]}, 0) = 10',
      1,
    );
    expect(strip(m)).toEqual({
      type: 'msghdr',
      iovlen: { type: 'integer', value: 1n, hex: false },
      iov: { type: 'list', brackets: '[]', elements: [{ type: 'iovec', len: { type: 'integer', value: 10n, hex: false } }] },
      flags: { type: 'integer', value: 0n, hex: false },
      control: {
        type: 'list',
        brackets: '[]',
        elements: [
          {
            type: 'cmsg',
            level: { type: 'word', name: 'SOL_SOCKET' },
            cmsgType: { type: 'word', name: 'SO_TIMESTAMPING' },
            data: { type: 'scm_timestamping', sec: 0n, nsec: 0n },
          },
        ],
      },
    });
    const plain = arg('recvmsg(4, {msg_name(...)=..., msg_iov(1)=[{..., 5}], msg_flags=MSG_EOR}, 0) = 5', 1);
    expect(plain.type === 'msghdr' && plain.control.elements).toEqual([]);
  });

  it('reads sock_extended_err', () => {
    expect(strip(arg('x({ee_errno=0, ee_origin=SO_EE_ORIGIN_ZEROCOPY, ee_type=0, ee_code=0, ee_info=0, ee_data=1}) = 0'))).toEqual({
      type: 'sock_extended_err',
      eeErrno: { type: 'integer', value: 0n, hex: false },
      eeOrigin: { type: 'word', name: 'SO_EE_ORIGIN_ZEROCOPY' },
      eeType: { type: 'integer', value: 0n, hex: false },
      eeCode: { type: 'integer', value: 0n, hex: false },
      eeInfo: { type: 'integer', value: 0n, hex: false },
      eeData: { type: 'integer', value: 1n, hex: false },
    });
  });

  it('reads pollfd arrays, with revents defaulting to 0', () => {
    expect(strip(arg('poll([{fd=5, events=POLLIN|POLLOUT, revents=POLLOUT}, {fd=6, events=POLLIN}], 2, 0) = 1'))).toEqual({
      type: 'list',
      brackets: '[]',
      elements: [
        {
          type: 'pollfd',
          fd: { type: 'integer', value: 5n, hex: false },
          events: {
            type: 'binary',
            op: '|',
            lhs: { type: 'word', name: 'POLLIN' },
            rhs: { type: 'word', name: 'POLLOUT' },
          },
          revents: { type: 'word', name: 'POLLOUT' },
        },
        {
          type: 'pollfd',
          fd: { type: 'integer', value: 6n, hex: false },
          events: { type: 'word', name: 'POLLIN' },
          revents: { type: 'integer', value: 0n, hex: false },
        },
      ],
    });
  });

  it('reads epoll events with fd, ptr, u32 or u64', () => {
    expect(strip(arg('epoll_ctl(5, EPOLL_CTL_ADD, 4, {events=EPOLLIN, fd=4}) = 0', 3))).toEqual({
      type: 'epollev',
      events: { type: 'word', name: 'EPOLLIN' },
      fd: { type: 'integer', value: 4n, hex: false },
    });
    for (const k of ['ptr', 'u32', 'u64'] as const) {
      const e = arg(`epoll_wait(5, {events=EPOLLOUT, ${k}=7}, 1, 0) = 1`, 1);
      expect(e.type === 'epollev' && e[k] !== undefined).toBe(true);
    }
  });

  it('reads linger, iovec lists, braced lists and MPLS/GRE expressions', () => {
    expect(strip(arg('setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0', 3))).toEqual({
      type: 'linger',
      onoff: 1n,
      linger: 0n,
    });
    expect(strip(arg('writev(4, [{..., 10}, {..., 20}], 2) = 30', 1))).toEqual({
      type: 'list',
      brackets: '[]',
      elements: [
        { type: 'iovec', len: { type: 'integer', value: 10n, hex: false } },
        { type: 'iovec', len: { type: 'integer', value: 20n, hex: false } },
      ],
    });
    expect(strip(arg('x({... | 1, 2}) = 0'))).toEqual({
      type: 'list',
      brackets: '{}',
      elements: [
        { type: 'binary', op: '|', lhs: { type: 'ellipsis' }, rhs: { type: 'integer', value: 1n, hex: false } },
        { type: 'integer', value: 2n, hex: false },
      ],
    });
    // `{...,` always starts an iovec, as in packetdrill's grammar.
    expect(() => arg('x({..., ...}) = 0')).toThrow("t.pkt:1: parse error at '...': syntax error");
    expect(strip(arg('x({(label 1, tc 2, [S], ttl 3)}) = 0'))).toEqual({
      type: 'mpls_stack',
      entries: [{ label: 1, tc: 2, bottom: true, ttl: 3 }],
    });
    expect(strip(arg('x({}) = 0'))).toEqual({ type: 'mpls_stack', entries: [] });
    expect(strip(arg('x({flags [checksum present, sequence# present], sum 1, off 2, key 3, seq 4}) = 0'))).toEqual({
      type: 'gre',
      gre: { flags: 0x9000, sum: 1, off: 2, key: 3, seq: 4 },
    });
  });

  it('substitutes definitions into expressions', () => {
    const s = syscall('setsockopt(3, CMSG_LEVEL_IP, CMSG_TYPE_RECVERR, [1], 4) = 0', {
      defines: { CMSG_LEVEL_IP: 'SOL_IPV6', CMSG_TYPE_RECVERR: 'IPV6_RECVERR' },
    });
    expect(s.args.slice(1, 3).map(formatExpr)).toEqual(['SOL_IPV6', 'IPV6_RECVERR']);
    const t = syscall('setsockopt(3, SOL_TCP, TCP_CONGESTION, CC, 4) = 0', { defines: { CC: '"reno"' } });
    expect(strip(t.args[3])).toEqual({ type: 'string', value: 'reno', ellipsis: false });
    expect(strip(syscall('x(N) = 0', { defines: { N: '0x20' } }).args[0])).toEqual({ type: 'integer', value: 32n, hex: false });
  });

  it('prints system calls back in script notation', () => {
    const line =
      'sendmsg(4, {msg_name(...)=..., msg_iov(1)=[{..., 10}], msg_flags=0, msg_control=[{cmsg_level=SOL_IP, cmsg_type=IP_TOS, cmsg_data=0x10}]}, MSG_DONTWAIT|MSG_MORE) = -1 EAGAIN (Resource temporarily unavailable)';
    expect(formatSyscall(syscall(line))).toBe(line);
    const others = [
      'bind(3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("192.0.2.1")}, 16) = 0',
      'poll([{fd=5, events=POLLIN, revents=0}], 1, 0) = 0',
      'getsockopt(3, SOL_TCP, TCP_INFO, {tcpi_state=TCP_ESTABLISHED}, [4]) = 0',
      'write(4, "abc"..., 3) = 3',
      'x({onoff=1, linger=0}, {events=EPOLLIN, u64=3}, {scm_sec=1, scm_nsec=2}, inet6_addr("::1")) = 0',
      '...0.25 read(4, ..., 10) = 10',
    ];
    for (const l of others) expect(formatSyscall(syscall(l))).toBe(l);
  });
});
