/** Tables for people, JSON for scripts. */

const cell = (v: unknown): string => {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.join(',');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
};

/** A plain text table with a header row; columns as [key, heading]. */
export function table(rows: Record<string, unknown>[], columns: [string, string][]): string {
  const cells = rows.map((r) => columns.map(([k]) => cell(r[k])));
  const widths = columns.map(([, h], i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(columns.map(([, h]) => h)), ...cells.map(line)].join('\n');
}

/** `key: value` lines, for one object. */
export function fields(obj: Record<string, unknown>): string {
  const width = Math.max(...Object.keys(obj).map((k) => k.length));
  return Object.entries(obj)
    .map(([k, v]) => `${k.padEnd(width)}  ${cell(v)}`)
    .join('\n');
}
