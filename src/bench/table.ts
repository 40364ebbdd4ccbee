/** Plain-text tables for the benchmark's output. */

export type Cell = string | number;

export interface Column {
  title: string;
  /** Right-align (numbers); the default for columns after the first. */
  right?: boolean;
}

/** A number with `digits` decimals, or '-' when there is none. */
export function num(v: number, digits = 0): string {
  return Number.isFinite(v) ? v.toFixed(digits) : '-';
}

export function renderTable(columns: Array<string | Column>, rows: Cell[][]): string {
  const cols: Column[] = columns.map((c, i) => (typeof c === 'string' ? { title: c, right: i > 0 } : c));
  const text = rows.map((r) => r.map((c) => String(c)));
  const widths = cols.map((c, i) => Math.max(c.title.length, ...text.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (cols[i]!.right ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [line(cols.map((c) => c.title)), line(widths.map((w) => '-'.repeat(w)))];
  for (const r of text) out.push(line(cols.map((_c, i) => r[i] ?? '')));
  return out.join('\n');
}
