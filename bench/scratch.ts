import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createDatabase, type Database, type DatabaseOptions } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';

/**
 * Runs `fn` on a freshly migrated scratch schema of the PostgreSQL at `url`, then closes the pool and
 * drops the schema, whatever `fn` did. The micro-benchmarks (export, ingest, notify, reroute) use it.
 * `options` adds to the pool's (e.g. a query log hook, to time statements).
 */
export async function withScratchDatabase<T>(
  url: string,
  prefix: string,
  poolSize: number,
  fn: (database: Database, schema: string) => Promise<T>,
  options: Pick<DatabaseOptions, 'log'> = {},
): Promise<T> {
  const schema = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`create schema ${schema}`);
    const database = await createDatabase({ ...options, url, searchPath: schema, poolSize });
    try {
      await migrateToLatest(database.db, schema);
      return await fn(database, schema);
    } finally {
      await database.close();
      await admin.query(`drop schema if exists ${schema} cascade`);
    }
  } finally {
    await admin.end();
  }
}
