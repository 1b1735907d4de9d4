import { writeFileSync } from 'node:fs';

/**
 * Results: every figure is measured once per run; the report gives the median over the runs and
 * the spread (min–max). Targets are judged on the largest data set measured (warehouse scale).
 */

export interface MetricDef {
  label: string;
  unit: string;
}

export class SizeResults {
  readonly values = new Map<string, number[]>();
  readonly defs = new Map<string, MetricDef>();
  readonly notMeasured = new Map<string, string>();
  readonly notes: string[] = [];
  /** Preformatted findings (per-statement timings, EXPLAIN output), printed as code blocks. */
  readonly details: { title: string; text: string }[] = [];
  seed: Record<string, unknown> = {};

  constructor(readonly size: number) {}

  add(key: string, label: string, unit: string, value: number): void {
    if (!Number.isFinite(value)) return;
    this.defs.set(key, { label, unit });
    const list = this.values.get(key) ?? [];
    list.push(value);
    this.values.set(key, list);
  }

  missing(scenario: string, why: string): void {
    this.notMeasured.set(scenario, why);
  }

  median(key: string): number | undefined {
    const v = this.values.get(key);
    if (!v || v.length === 0) return undefined;
    const s = [...v].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  }

  spread(key: string): string {
    const v = this.values.get(key);
    if (!v || v.length === 0) return '—';
    const med = this.median(key)!;
    if (v.length === 1) return fmt(med);
    return `${fmt(med)} [${fmt(Math.min(...v))}–${fmt(Math.max(...v))}]`;
  }
}

export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString('en-US');
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toFixed(3);
}

export const sizeLabel = (n: number) =>
  n >= 1_000_000 ? `${n / 1_000_000} M` : n >= 1000 ? `${n / 1000} k` : String(n);

export interface TargetRow {
  target: string;
  figure: string;
  verdict: 'met' | 'missed' | 'not measured';
  note?: string;
}

type Cmp = '<=' | '>=';

/** One target against one metric of one size. */
export function judge(
  r: SizeResults | undefined,
  target: string,
  key: string,
  cmp: Cmp,
  limit: number,
  unit: string,
  why?: string,
): TargetRow {
  const v = r?.median(key);
  if (v === undefined) {
    return { target, figure: '—', verdict: 'not measured', note: why ?? notMeasuredWhy(r, key) };
  }
  const ok = cmp === '<=' ? v <= limit : v >= limit;
  return { target, figure: `${r!.spread(key)} ${unit}`.trim(), verdict: ok ? 'met' : 'missed' };
}

function notMeasuredWhy(r: SizeResults | undefined, key: string): string {
  if (!r) return 'size not run';
  const scenario = key.split('.')[0]!;
  for (const [k, v] of r.notMeasured) if (k === scenario || key.startsWith(k)) return v;
  return 'no figure';
}

export function markdownTable(rows: TargetRow[]): string {
  const out = ['| target | figure (median [min–max]) | verdict |', '|---|---|---|'];
  for (const r of rows) {
    out.push(`| ${r.target} | ${r.figure}${r.note ? ` (${r.note})` : ''} | ${r.verdict} |`);
  }
  return out.join('\n');
}

export function metricsTable(results: SizeResults[]): string {
  const keys: string[] = [];
  for (const r of results) for (const k of r.defs.keys()) if (!keys.includes(k)) keys.push(k);
  const head = `| metric | unit | ${results.map((r) => `${sizeLabel(r.size)} orders`).join(' | ')} |`;
  const sep = `|---|---|${results.map(() => '---').join('|')}|`;
  const lines = [head, sep];
  for (const k of keys) {
    const def = results.map((r) => r.defs.get(k)).find((d) => d)!;
    lines.push(`| ${def.label} | ${def.unit} | ${results.map((r) => r.spread(k)).join(' | ')} |`);
  }
  return lines.join('\n');
}

export function writeReport(path: string, text: string): void {
  writeFileSync(path, text);
}
