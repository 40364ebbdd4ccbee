import { describe, expect, it } from 'vitest';
import { tokenize, type Token } from '../../src/script/lexer.js';

const kinds = (src: string, defines?: Record<string, string>): string[] =>
  tokenize(src, defines ? { defines } : {})
    .filter((t) => t.kind !== 'EOF')
    .map((t) => (t.kind === 'CHAR' ? `'${t.text}'` : `${t.kind}:${t.text}`));

const first = (src: string, defines?: Record<string, string>): Token => tokenize(src, defines ? { defines } : {})[0]!;

describe('lexer: numbers and addresses', () => {
  it('scans integers, negative integers, hex and floats', () => {
    expect(kinds('0 42 -1 0x1F 1.5 .25 -0.5')).toEqual([
      'INTEGER:0',
      'INTEGER:42',
      'INTEGER:-1',
      'HEX_INTEGER:0x1F',
      'FLOAT:1.5',
      'FLOAT:.25',
      'FLOAT:-0.5',
    ]);
    expect(first('0x1F').int).toBe(31n);
    expect(first('-7').int).toBe(-7n);
    expect(first('.25').float).toBe(0.25);
  });

  it('saturates huge integers like strtoll', () => {
    expect(first('99999999999999999999').int).toBe((1n << 63n) - 1n);
    expect(first('0xffffffffffffffffff').int).toBe((1n << 63n) - 1n);
  });

  it('prefers the longest match: addresses over floats, words over integers', () => {
    expect(kinds('192.0.2.1 fd3d:0a0b:17d6::1 ::1 ::ffff:192.0.2.1')).toEqual([
      'IPV4_ADDR:192.0.2.1',
      'IPV6_ADDR:fd3d:0a0b:17d6::1',
      'IPV6_ADDR:::1',
      'IPV6_ADDR:::ffff:192.0.2.1',
    ]);
    expect(kinds('3021b9d889017eeb')).toEqual(['WORD:3021b9d889017eeb']);
    expect(kinds('1e5 0x')).toEqual(['WORD:1e5', 'WORD:0x']);
  });

  it('does not take sequence ranges for IPv6 addresses', () => {
    expect(kinds('1:1001(1000)')).toEqual(["INTEGER:1", "':'", 'INTEGER:1001', "'('", 'INTEGER:1000', "')'"]);
    expect(kinds('fd3d::2:')).toEqual(['IPV6_ADDR:fd3d::2', "':'"]);
  });

  it('scans TCP flags with an AccECN float tail', () => {
    expect(kinds('S. S.1 .2 -')).toEqual(['WORD:S', "'.'", 'WORD:S', 'FLOAT:.1', 'FLOAT:.2', "'-'"]);
  });

  it('scans times, ranges and blocking end times', () => {
    expect(kinds('+0.1~+0.2 *')).toEqual(["'+'", 'FLOAT:0.1', "'~'", "'+'", 'FLOAT:0.2', "'*'"]);
    expect(kinds('0.1...0.2')).toEqual(['FLOAT:0.1', 'ELLIPSIS:...', 'FLOAT:0.2']);
  });
});

describe('lexer: words and reserved words', () => {
  it('turns reserved words into their own tokens but not longer words', () => {
    expect(kinds('ack acked win mss sackOK sackOKx TS FO FOEXP ECN e0b')).toEqual([
      'ACK:ack',
      'WORD:acked',
      'WIN:win',
      'MSS:mss',
      'SACKOK:sackOK',
      'WORD:sackOKx',
      'TIMESTAMP:TS',
      'FAST_OPEN:FO',
      'FAST_OPEN_EXP:FOEXP',
      'ACCECN:ECN',
      'ACCECN_E0B:e0b',
    ]);
  });

  it('knows the aliases and the sequence# keyword', () => {
    expect(kinds('GREv0 gre Flags flags sequence# sequence')).toEqual([
      'GRE:GREv0',
      'GRE:gre',
      'FLAGS:Flags',
      'FLAGS:flags',
      'SEQUENCE:sequence#',
      'WORD:sequence',
    ]);
  });

  it('treats struct field names as reserved words', () => {
    expect(kinds('fd events revents sa_family msg_iov cmsg_data ee_errno scm_sec onoff linger u64')).toEqual([
      'FD:fd',
      'EVENTS:events',
      'REVENTS:revents',
      'SA_FAMILY:sa_family',
      'MSG_IOV:msg_iov',
      'CMSG_DATA:cmsg_data',
      'EE_ERRNO:ee_errno',
      'SCM_SEC:scm_sec',
      'ONOFF:onoff',
      'LINGER:linger',
      'U64:u64',
    ]);
  });
});

describe('lexer: strings, commands, code, options, comments', () => {
  it('keeps string contents raw (no escape processing)', () => {
    const t = first('"a\\"b\\n"');
    expect(t.kind).toBe('STRING');
    expect(t.value).toBe('a\\"b\\n');
  });

  it('lets a string span lines', () => {
    const toks = tokenize('"a\nb" x');
    expect(toks[0]!.value).toBe('a\nb');
    expect(toks[0]!.loc.line).toBe(1);
    expect(toks[0]!.endLine).toBe(2);
    expect(toks[1]!.loc).toEqual({ line: 2, column: 4 });
  });

  it('scans backtick commands, possibly over several lines', () => {
    const toks = tokenize('`sysctl -q net.ipv4.tcp_sack=0\necho hi`');
    expect(toks[0]!.kind).toBe('BACK_QUOTED');
    expect(toks[0]!.value).toBe('sysctl -q net.ipv4.tcp_sack=0\necho hi');
    expect(toks[0]!.endLine).toBe(2);
  });

  it('trims spaces and tabs (not newlines) around code snippets', () => {
    expect(first('%{ \t assert tcpi_rto == 1 \t}%').value).toBe('assert tcpi_rto == 1');
    expect(first('%{\nx = 1\n}%').value).toBe('\nx = 1\n');
    expect(first('%{ a = {1: 2} }%').value).toBe('a = {1: 2}');
  });

  it('scans option names', () => {
    expect(kinds('--ip_version=ipv4 --tolerance_usecs=7000')).toEqual([
      'OPTION:--ip_version',
      "'='",
      'IPV4:ipv4',
      'OPTION:--tolerance_usecs',
      "'='",
      'INTEGER:7000',
    ]);
    expect(first('--mss').value).toBe('mss');
  });

  it('skips // and /* */ comments and counts their lines', () => {
    const toks = tokenize('// one\n/* two\n three */ 0 // four\n1');
    expect(toks.map((t) => t.text)).toEqual(['0', '1', '']);
    expect(toks[0]!.loc).toEqual({ line: 3, column: 11 });
    expect(toks[1]!.loc.line).toBe(4);
  });

  it('follows the comment pattern exactly: "**/" does not close a comment', () => {
    expect(kinds('/* a **/ 0')[0]).toBe("'/'");
    expect(kinds('/* a */ 0')).toEqual(['INTEGER:0']);
  });

  it('does not take a // comment without a final newline', () => {
    expect(kinds('0 // x')).toEqual(['INTEGER:0', "'/'", "'/'", 'WORD:x']);
  });

  it('returns other characters one by one, including carriage returns', () => {
    expect(kinds('<>{}[]()|,=:\r')).toEqual(
      ['<', '>', '{', '}', '[', ']', '(', ')', '|', ',', '=', ':', '\r'].map((c) => `'${c}'`),
    );
  });

  it('reports 1-based line and column', () => {
    const toks = tokenize('0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n  +0 close(3) = 0');
    const close = toks.find((t) => t.text === 'close')!;
    expect(close.loc).toEqual({ line: 2, column: 6 });
    expect(toks.at(-1)!.kind).toBe('EOF');
  });
});

describe('lexer: definitions', () => {
  it('substitutes plain words only', () => {
    const d = { TFO_COOKIE: '3021b9d889017eeb', N: '0x10', S: '"reno"', C: '`echo`', ack: '5' };
    expect(kinds('TFO_COOKIE N S C ack', d)).toEqual([
      'WORD:TFO_COOKIE',
      'INTEGER:N',
      'STRING:S',
      'BACK_QUOTED:C',
      'ACK:ack',
    ]);
    const toks = tokenize('TFO_COOKIE N S C', { defines: d });
    expect(toks[0]!.value).toBe('3021b9d889017eeb');
    expect(toks[0]!.define).toBe('TFO_COOKIE');
    expect(toks[1]!.int).toBe(16n);
    expect(toks[2]!.value).toBe('reno');
    expect(toks[3]!.value).toBe('echo');
  });

  it('parses integer values like strtol(value, &end, 0)', () => {
    const v = (value: string): Token => tokenize('X', { defines: { X: value } })[0]!;
    expect(v('010').int).toBe(8n);
    expect(v(' -5').int).toBe(-5n);
    expect(v('').int).toBe(0n);
    expect(v('08').kind).toBe('WORD');
    expect(v('9223372036854775807').kind).toBe('WORD');
    expect(v('host_unreachable').value).toBe('host_unreachable');
  });
});
