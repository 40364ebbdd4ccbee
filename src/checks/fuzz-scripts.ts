/**
 * Fuzzed packetdrill scripts: real scripts cut, spliced, nested and sprinkled
 * with the grammar's own tokens, so that the parser meets both almost-valid
 * scripts and garbage. Script `i` of a seed is always the same script.
 */

/** A small, fast PRNG (mulberry32): the same seed gives the same numbers. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Pieces of the grammar and of its edges. */
const TOKENS = [
  '{', '}', '[', ']', '(', ')', ',', ';', '|', '=', '...', '<', '>', '.', ':', '+', '-', '*', '/', '"', "'", '%{', '}%',
  '`', '0x', '0x7fffffffffffffff', '1e9', '-1', '99999999999999999999999', '0.', '+.1', '~', '@', '#', '\\', '\u0000',
  '\t', '\n', '\r\n', ' ', 'é', '\u{1F600}', '\ufeff', '<mss 1460,nop,wscale 7>', 'S.', 'F.', 'R', 'P.', 'ack', 'win', 'sackOK',
  'nop', 'wscale', 'TS val', 'ecr', 'sack', 'socket(', 'setsockopt(', 'accept(', 'write(', 'read(', 'SOCK_STREAM',
  'IPPROTO_TCP', 'SOL_SOCKET', 'sa_family=AF_INET', 'sin_port=htons(8080)', 'inet_addr("192.0.2.1")',
  'msg_name(...)=...', 'iov', '{iov_base=..., iov_len=1}', 'fd=3', 'events=POLLIN', 'icmp', 'unreachable',
  'frag_needed', 'mtu', 'udp', 'gre', 'mpls', 'label', 'tos', 'ect0', 'ce', 'flowlabel', '[ce]', 'ipv4', 'ipv6',
  '--tolerance_usecs=', '--ip_version=', '--mss=', '-D', '`echo hi`', '%{ print(1) }%', '...', '~+0', '0...1',
  'ee_errno', 'cmsg_level', 'onoff', 'linger', 'scm_sec', 'u32', 'ptr',
];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

function int(r: () => number, n: number): number {
  return Math.floor(r() * n);
}

function mutate(text: string, r: () => number, seeds: readonly string[]): string {
  const at = (): number => int(r, text.length + 1);
  switch (int(r, 10)) {
    case 0: { // delete a span
      const a = at();
      return text.slice(0, a) + text.slice(a + 1 + int(r, 40));
    }
    case 1: { // duplicate a span
      const a = at();
      const b = Math.min(text.length, a + 1 + int(r, 80));
      return text.slice(0, b) + text.slice(a, b) + text.slice(b);
    }
    case 2: case 3: { // insert tokens
      let out = text;
      for (let k = 1 + int(r, 4); k > 0; k--) {
        const a = int(r, out.length + 1);
        out = out.slice(0, a) + pick(r, TOKENS) + out.slice(a);
      }
      return out;
    }
    case 4: { // nesting, balanced or not, shallow or absurd
      const open = pick(r, ['{', '[', '(', '{[', '{..., ']);
      const close = open === '{' ? '}' : open === '[' ? ']' : open === '(' ? ')' : open === '{[' ? ']}' : '}';
      const depth = r() < 0.5 ? int(r, 300) : int(r, 6000);
      const a = at();
      const balanced = r() < 0.5;
      return text.slice(0, a) + open.repeat(depth) + '1' + (balanced ? close.repeat(depth) : '') + text.slice(a);
    }
    case 5: { // a chain of '|' or of strings
      const n = int(r, 20000);
      const a = at();
      return text.slice(0, a) + (r() < 0.5 ? Array(n + 1).fill('1').join('|') : '"a" '.repeat(n)) + text.slice(a);
    }
    case 6: { // replace bytes with random code points
      const chars = [...text];
      for (let k = 1 + int(r, 8); k > 0 && chars.length > 0; k--) chars[int(r, chars.length)] = String.fromCodePoint(int(r, 0x2ffff));
      return chars.join('');
    }
    case 7: // truncate
      return text.slice(0, at());
    case 8: { // splice lines of another script
      const other = pick(r, seeds).split('\n');
      const lines = text.split('\n');
      const a = int(r, lines.length + 1);
      const b = int(r, other.length + 1);
      return [...lines.slice(0, a), ...other.slice(b, b + 1 + int(r, 5)), ...lines.slice(a)].join('\n');
    }
    default: { // a very long token
      const a = at();
      return text.slice(0, a) + pick(r, ['9', 'a', '.', ' ', '+', '"', '<', 'x']).repeat(1 + int(r, 100000)) + text.slice(a);
    }
  }
}

/** Fuzzed script number `index` for `seed`, made from `seeds` (real scripts). */
export function fuzzedScript(seeds: readonly string[], seed: number, index: number): string {
  const r = prng((seed * 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b));
  // Now and then pure garbage, mostly mutated real scripts.
  if (r() < 0.03) {
    let s = '';
    for (let k = int(r, 400); k > 0; k--) s += r() < 0.7 ? pick(r, TOKENS) + (r() < 0.5 ? ' ' : '') : String.fromCodePoint(int(r, 0x10ffff) & 0xd7ff);
    return s;
  }
  let text = pick(r, seeds);
  for (let k = 1 + int(r, 4); k > 0; k--) text = mutate(text, r, seeds);
  return text;
}
