/**
 * Expected against actual packet, field by field. packetdrill names the
 * first header field that differs ("ipv4_total_length 52 vs 40"); the real
 * difference is often elsewhere (a missing timestamp option makes the
 * header shorter). This compares the two packets as the failure message
 * prints them in script notation and names every field that differs.
 */

export interface FieldRow {
  field: string;
  expected: string;
  actual: string;
  differs: boolean;
  /** The script does not give this field, so it is not checked. */
  unchecked?: boolean;
}

export interface PacketDiff {
  rows: FieldRow[];
  /** One line naming what differs, options first. */
  summary: string;
}

/** The fields of a packet in script notation (without its time). */
export function packetFields(text: string): Map<string, string> {
  const f = new Map<string, string>();
  let rest = text.trim();
  const opt = /<([^>]*)>\s*$/.exec(rest);
  const options: string[] = [];
  if (opt) {
    rest = rest.slice(0, opt.index).trim();
    for (const o of opt[1]!.split(',').map((s) => s.trim()).filter(Boolean)) options.push(o);
  }
  const tokens = rest.split(/\s+/);
  // Leading time, when present.
  if (tokens[0] && /^[+]?\d+(\.\d+)?$/.test(tokens[0])) tokens.shift();
  let i = 0;
  if (tokens[i] && /^[FSRP.UEWA0-7]+$/.test(tokens[i]!)) f.set('flags', tokens[i++]!);
  const seq = tokens[i] ? /^(\d+):(\d+)\((\d+)\)$/.exec(tokens[i]!) : null;
  if (seq) {
    f.set('seq', seq[1]!);
    f.set('end seq', seq[2]!);
    f.set('payload length', seq[3]!);
    i++;
  }
  for (; i < tokens.length; i++) {
    const t = tokens[i]!;
    const next = tokens[i + 1];
    if ((t === 'ack' || t === 'win' || t === 'urg') && next !== undefined) {
      f.set(t, next);
      i++;
    } else {
      f.set(t, '');
    }
  }
  // Options by kind, in order; a repeated kind gets a number.
  const seen = new Map<string, number>();
  for (const o of options) {
    const [kind, ...value] = o.split(/\s+/);
    const n = (seen.get(kind!) ?? 0) + 1;
    seen.set(kind!, n);
    if (kind === 'nop' || kind === 'eol') continue;
    f.set(`option ${kind}${n > 1 ? ` #${n}` : ''}`, value.length ? value.join(' ') : 'present');
  }
  f.set('options', opt ? `<${options.join(',')}>` : '(none)');
  return f;
}

/** Compare the script's packet with the actual one (both in script notation). */
export function diffPackets(expected: string, actual: string): PacketDiff {
  const e = packetFields(expected);
  const a = packetFields(actual);
  const keys = [...new Set([...e.keys(), ...a.keys()])];
  const rows: FieldRow[] = keys.map((k) => {
    const ev = e.get(k) ?? '(absent)';
    const av = a.get(k) ?? '(absent)';
    // A header field the script leaves out (e.g. no `win`) is not checked; an option it leaves out is.
    if (!e.has(k) && !k.startsWith('option')) return { field: k, expected: '(not checked)', actual: av, differs: false, unchecked: true };
    return { field: k, expected: ev, actual: av, differs: ev !== av };
  });
  const diffs = rows.filter((r) => r.differs && r.field !== 'options');
  const missing = diffs.filter((r) => r.field.startsWith('option ') && r.actual === '(absent)').map((r) => r.field.slice(7));
  const extra = diffs.filter((r) => r.field.startsWith('option ') && r.expected === '(absent)').map((r) => r.field.slice(7));
  const parts: string[] = [];
  if (missing.length) parts.push(`the kernel's packet lacks option${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  if (extra.length) parts.push(`the kernel's packet has unexpected option${extra.length > 1 ? 's' : ''} ${extra.join(', ')}`);
  for (const r of diffs) {
    if (r.field.startsWith('option ') && (r.actual === '(absent)' || r.expected === '(absent)')) continue;
    parts.push(`${r.field} ${r.expected || 'set'} vs ${r.actual || 'set'}`);
  }
  return { rows, summary: parts.length ? parts.join('; ') : 'the packets agree in script notation (the difference is in a field the notation does not show)' };
}

/** The script and actual packet lines of a packetdrill failure message, if it has them. */
export function failurePackets(text: string): { script: string; actual: string } | null {
  const s = /^script packet:\s*(.*)$/m.exec(text);
  const a = /^actual packet:\s*(.*)$/m.exec(text);
  return s && a ? { script: s[1]!.trim(), actual: a[1]!.trim() } : null;
}
