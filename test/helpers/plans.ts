import { CompiledQuery, type Kysely, type LogEvent, sql } from 'kysely';
import type { DB } from '../../src/db/schema.js';

/**
 * Plan checks for the hot statements: every statement a request ran is captured (Kysely's log hook)
 * and explained again with its own parameters — `EXPLAIN (ANALYZE, FORMAT JSON)` inside a
 * transaction that is rolled back, so the statement runs on the data as it is and leaves nothing.
 *
 * A statement is BOUNDED when no scan of a merchant-sized table reads rows wholesale:
 * - no Seq Scan of such a table;
 * - an index scan of it has an Index Cond, and that condition constrains something other than the
 *   merchant, store, snapshot or status (the `id = any(...)`, the order number, the export window,
 *   a page's positions…) — unless a Limit above it stops the walk (a listing page);
 * - what the scan actually read (rows answered + rows its filters removed, times its loops) stays
 *   under the caller's bound, chosen well below the merchant's size.
 * This is independent of statistics: the tests build their data without ANALYZE (or analyse before
 * a burst), the states in which the planner used to fall back on `(merchant_id)`-only scans.
 */

/** Tables whose size grows with a merchant's (or a store's) orders. */
export const GUARDED = new Set([
  'orders',
  'order_lines',
  'order_events',
  'export_snapshot_orders',
  'shipments',
  'shipment_lines',
]);

/** Columns that select a whole merchant's, store's or snapshot's rows, not the rows touched. */
const WHOLESALE_COLUMNS = new Set(['merchant_id', 'store_id', 'snapshot_id', 'status']);

export interface Statement {
  sql: string;
  params: readonly unknown[];
}

/** Records the statements run while `recording` is on. */
export class StatementLog {
  private recording = false;
  private statements: Statement[] = [];
  readonly log = (e: LogEvent) => {
    if (this.recording && e.level === 'query') {
      this.statements.push({ sql: e.query.sql, params: e.query.parameters });
    }
  };

  /** Runs fn and answers the data-reading and -writing statements it ran. */
  async during(fn: () => Promise<unknown>): Promise<Statement[]> {
    this.statements = [];
    this.recording = true;
    try {
      await fn();
    } finally {
      this.recording = false;
    }
    return this.statements.filter((s) => /^\s*(with|select|insert|update|delete)\b/i.test(s.sql));
  }
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Index Cond'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}

export interface Violation {
  statement: string;
  node: string;
  table: string;
  index: string | undefined;
  cond: string | undefined;
  read: number | undefined;
  why: string;
}

/** The columns an index condition constrains: `(merchant_id = '1'::bigint) AND (id = ANY (...))`. */
export function condColumns(cond: string): string[] {
  const out: string[] = [];
  for (const m of cond.matchAll(/\(\s*(?:\w+\.)?"?(\w+)"?\s*(?:=|<|>|<=|>=|~~|@>|&&)/g)) out.push(m[1]!);
  return out;
}

/** Which table each index of the current schema belongs to (a Bitmap Index Scan names only its index). */
async function indexTables(db: Kysely<DB>): Promise<Map<string, string>> {
  const { rows } = await sql<{ index: string; table: string }>`
    select c.relname as index, t.relname as table
    from pg_index i join pg_class c on c.oid = i.indexrelid join pg_class t on t.oid = i.indrelid
    where t.relnamespace = any(current_schemas(false)::regnamespace[])
  `.execute(db);
  return new Map(rows.map((r) => [r.index, r.table]));
}

function walk(
  node: PlanNode,
  underLimit: boolean,
  analysed: boolean,
  tables: Map<string, string>,
  bound: number,
  statement: string,
  out: Violation[],
): void {
  const type = node['Node Type'];
  const table = node['Relation Name'] ?? (node['Index Name'] ? tables.get(node['Index Name']) : undefined);
  const isScan =
    /Scan$/.test(type) && type !== 'Function Scan' && type !== 'CTE Scan' && type !== 'Subquery Scan';
  if (isScan && table && GUARDED.has(table)) {
    const loops = node['Actual Loops'] ?? 0;
    const read = analysed
      ? Math.round(
          ((node['Actual Rows'] ?? 0) +
            (node['Rows Removed by Filter'] ?? 0) +
            (node['Rows Removed by Index Recheck'] ?? 0)) *
            loops,
        )
      : undefined;
    const v = (why: string) =>
      out.push({
        statement,
        node: type,
        table,
        index: node['Index Name'],
        cond: node['Index Cond'],
        read,
        why,
      });
    if (type === 'Seq Scan') v('sequential scan');
    else if (/Index/.test(type)) {
      const cond = node['Index Cond'];
      if (!cond) v('index scan without an index condition');
      else if (!underLimit && condColumns(cond).every((c) => WHOLESALE_COLUMNS.has(c)))
        v('index condition bounds only the merchant, store, snapshot or status');
    }
    if (read !== undefined && read > bound) v(`read ${read} rows (bound ${bound})`);
  }
  const limit = underLimit || type === 'Limit';
  for (const child of node.Plans ?? []) walk(child, limit, analysed, tables, bound, statement, out);
}

/**
 * Explains each statement with its parameters and answers every scan that is not bounded. ANALYZE
 * runs the statement in a transaction that is rolled back; a statement that cannot run again (a
 * unique key it already inserted) is checked on its plain plan only.
 */
export async function unboundedScans(
  db: Kysely<DB>,
  statements: readonly Statement[],
  bound: number,
): Promise<Violation[]> {
  const tables = await indexTables(db);
  const out: Violation[] = [];
  for (const s of statements) {
    const plan = await db.connection().execute(async (c) => {
      await sql`begin`.execute(c);
      try {
        const r = await c.executeQuery<{ 'QUERY PLAN': unknown }>(
          CompiledQuery.raw(`explain (analyze, format json) ${s.sql}`, [...s.params]),
        );
        return { analysed: true, json: r.rows[0]!['QUERY PLAN'] };
      } catch {
        await sql`rollback`.execute(c);
        await sql`begin`.execute(c);
        const r = await c.executeQuery<{ 'QUERY PLAN': unknown }>(
          CompiledQuery.raw(`explain (format json) ${s.sql}`, [...s.params]),
        );
        return { analysed: false, json: r.rows[0]!['QUERY PLAN'] };
      } finally {
        await sql`rollback`.execute(c);
      }
    });
    const json = typeof plan.json === 'string' ? JSON.parse(plan.json) : plan.json;
    const root = (json as { Plan: PlanNode }[])[0]!.Plan;
    const text = s.sql.replace(/\s+/g, ' ').slice(0, 160);
    walk(root, false, plan.analysed, tables, bound, text, out);
  }
  return out;
}
