import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Kysely, PGliteDialect, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { DB } from './schema.js';

export type Engine = 'postgres' | 'pglite';

export interface Database {
  readonly db: Kysely<DB>;
  readonly engine: Engine;
  /** Where the embedded database lives on disk (undefined for PostgreSQL and in-memory PGlite). */
  readonly dataDir: string | undefined;
  /** Connections of the PostgreSQL pool (undefined for the embedded database: one connection). */
  readonly poolStats?: () => { inUse: number; total: number; waiting: number };
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** postgres:// URL; when absent the embedded PGlite is used. */
  url?: string | undefined;
  /** PGlite data directory; undefined means in memory. */
  pgliteDir?: string | undefined;
  /** A ready PGlite instance (tests load one from a template). */
  // biome-ignore lint/suspicious/noExplicitAny: PGlite's own type comes from an optional import
  pglite?: any;
  poolSize?: number;
  /** search_path for every connection (tests isolate themselves in a schema). */
  searchPath?: string | undefined;
}

const INT8 = 20;
const DATE = 1082;
const NUMERIC = 1700;

/**
 * Both drivers answer the same JS types: int8 as number (our ids and counts stay far below 2^53),
 * numeric as an exact string, date as 'YYYY-MM-DD', timestamptz as Date.
 */
const parsers: Record<number, (v: string) => unknown> = {
  [INT8]: (v) => Number(v),
  [DATE]: (v) => v,
  [NUMERIC]: (v) => v,
};

const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    const p = parsers[oid];
    if (p && format !== 'binary') return p;
    // biome-ignore lint/suspicious/noExplicitAny: pg's overloaded signature
    return (pg.types.getTypeParser as any)(oid, format);
  },
};

export async function createDatabase(opts: DatabaseOptions): Promise<Database> {
  if (opts.url) {
    const pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.poolSize ?? 10,
      types: pgTypes,
      // JIT compilation costs more than it saves on short OLTP statements (measured ~10x on bulk ones).
      options: `-c jit=off${opts.searchPath ? ` -c search_path=${opts.searchPath}` : ''}`,
    });
    // An idle client that loses its connection must not crash the process.
    pool.on('error', () => {});
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
    return {
      db,
      engine: 'postgres',
      dataDir: undefined,
      poolStats: () => ({
        inUse: pool.totalCount - pool.idleCount,
        total: pool.totalCount,
        waiting: pool.waitingCount,
      }),
      close: () => db.destroy(),
    };
  }
  let pglite = opts.pglite;
  if (!pglite) {
    const { PGlite } = await import('@electric-sql/pglite');
    if (opts.pgliteDir) mkdirSync(path.dirname(path.resolve(opts.pgliteDir)), { recursive: true });
    pglite = await PGlite.create(opts.pgliteDir ? path.resolve(opts.pgliteDir) : undefined, { parsers });
  }
  const db = new Kysely<DB>({ dialect: new PGliteDialect({ pglite }) });
  return { db, engine: 'pglite', dataDir: opts.pgliteDir, close: () => db.destroy() };
}

/** A PGlite instance with our parsers, from a dumped data directory (test templates). */
export async function createPgliteFromDump(dump: Blob | undefined): Promise<unknown> {
  const { PGlite } = await import('@electric-sql/pglite');
  return PGlite.create({ parsers, ...(dump ? { loadDataDir: dump } : {}) });
}
