import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Kysely, type LogConfig, PGliteDialect, PostgresDialect } from 'kysely';
import pg from 'pg';
import { type DataDirLock, lockDataDir } from './data-dir-lock.js';
import { durableOptions } from './durable-pglite.js';
import { prepareStatements } from './prepared.js';
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
  /**
   * Whether a file-backed PGlite flushes every commit to disk (default true; see durable-pglite.ts).
   * Off only to measure what durability costs (bench/durability.ts).
   */
  pgliteDurable?: boolean;
  /** A ready PGlite instance (tests load one from a template). */
  // biome-ignore lint/suspicious/noExplicitAny: PGlite's own type comes from an optional import
  pglite?: any;
  poolSize?: number;
  /** PostgreSQL: run repeated statements as named prepared statements (default true; see prepared.ts). */
  preparedStatements?: boolean;
  /** search_path for every connection (tests isolate themselves in a schema). */
  searchPath?: string | undefined;
  /** Kysely's query log hook (the plan tests read every statement a request runs). */
  log?: LogConfig | undefined;
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
    const prepared = opts.preparedStatements ?? true;
    const pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.poolSize ?? 10,
      types: pgTypes,
      // JIT compilation costs more than it saves on short OLTP statements (measured ~10x on bulk ones).
      // A prepared statement is still planned for its own parameters on every run
      // (force_custom_plan): what it saves is the parse and analysis, while the plans stay exactly
      // those the plan tests check, never a generic plan chosen on whatever statistics there are.
      options: `-c jit=off${prepared ? ' -c plan_cache_mode=force_custom_plan' : ''}${opts.searchPath ? ` -c search_path=${opts.searchPath}` : ''}`,
    });
    // An idle client that loses its connection must not crash the process.
    pool.on('error', () => {});
    if (prepared) prepareStatements(pool);
    await checkReachable(pool, opts.url);
    const db = new Kysely<DB>({
      dialect: new PostgresDialect({ pool }),
      ...(opts.log ? { log: opts.log } : {}),
    });
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
  let lock: DataDirLock | undefined;
  if (!pglite) {
    const { PGlite } = await import('@electric-sql/pglite');
    const dir = opts.pgliteDir ? path.resolve(opts.pgliteDir) : undefined;
    if (dir) {
      mkdirSync(path.dirname(dir), { recursive: true });
      lock = lockDataDir(`${dir}.lock`, `the embedded database ${dir}`);
    }
    try {
      pglite =
        dir && opts.pgliteDurable !== false
          ? await PGlite.create({ parsers, ...(await durableOptions(dir, PGlite.defaultStartParams)) })
          : await PGlite.create(dir, { parsers });
    } catch (err) {
      lock?.release();
      throw err;
    }
  }
  const db = new Kysely<DB>({
    dialect: new PGliteDialect({ pglite }),
    ...(opts.log ? { log: opts.log } : {}),
  });
  const close = async () => {
    try {
      await db.destroy();
    } finally {
      lock?.release();
    }
  };
  return { db, engine: 'pglite', dataDir: opts.pgliteDir, close };
}

/** `host:port/database` of a postgres:// URL, without its password. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || 'localhost'}:${u.port || '5432'}${u.pathname.length > 1 ? u.pathname : ''}`;
  } catch {
    return '(an unparsable DATABASE_URL)';
  }
}

/** A connection error in words: Node's AggregateError (IPv6 and IPv4 both refused) has no message. */
export function describeError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const code = (e as { code?: string }).code;
  const inner = e instanceof AggregateError ? e.errors.map((x) => describeError(x)).join('; ') : '';
  return e.message || inner || code || e.name;
}

/** Start-up says where it could not connect and why, before anything else fails obscurely. */
async function checkReachable(pool: pg.Pool, url: string): Promise<void> {
  try {
    const client = await pool.connect();
    client.release();
  } catch (e) {
    await pool.end().catch(() => {});
    throw new Error(`cannot connect to PostgreSQL at ${describeUrl(url)}: ${describeError(e)}`, { cause: e });
  }
}

/** A PGlite instance with our parsers, from a dumped data directory (test templates). */
export async function createPgliteFromDump(dump: Blob | undefined): Promise<unknown> {
  const { PGlite } = await import('@electric-sql/pglite');
  return PGlite.create({ parsers, ...(dump ? { loadDataDir: dump } : {}) });
}
