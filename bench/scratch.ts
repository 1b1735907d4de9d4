import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createDatabase, type Database, type DatabaseOptions } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';

/**
 * Runs `fn` on a freshly migrated scratch schema of the PostgreSQL at `url`, then closes the pool and
 * drops the schema, whatever `fn` did. The micro-benchmarks (export, ingest, notify, reroute) use it.
 *
 * `options.log` adds to the pool's options (e.g. a query log hook, to time statements). With
 * `options.kept`, the schema is that name instead: created (and migrated) when missing, used as it
 * is otherwise, and kept afterwards, so a benchmark can time its queries again on the data it
 * seeded before (seeding can take much longer than the queries); dropping it is left to the user.
 */
export async function withScratchDatabase<T>(
  url: string,
  prefix: string,
  poolSize: number,
  fn: (database: Database, schema: string) => Promise<T>,
  options: Pick<DatabaseOptions, 'log'> & { kept?: string } = {},
): Promise<T> {
  const { kept, ...poolOptions } = options;
  const schema = kept ?? `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`create schema ${kept ? 'if not exists ' : ''}${schema}`);
    const database = await createDatabase({ ...poolOptions, url, searchPath: schema, poolSize });
    try {
      await migrateToLatest(database.db, schema);
      return await fn(database, schema);
    } finally {
      await database.close();
      if (!kept) await admin.query(`drop schema if exists ${schema} cascade`);
    }
  } finally {
    await admin.end();
  }
}
