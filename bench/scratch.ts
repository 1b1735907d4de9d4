import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { buildApp } from '../src/app.js';
import { type Config, loadConfig } from '../src/config.js';
import { createDatabase, type Database, type DatabaseOptions } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';
import type { DB } from '../src/db/schema.js';
import { createLogger } from '../src/lib/logger.js';
import type { SecretHasher } from '../src/lib/secrets.js';

/**
 * The set-up the micro-benchmarks (export, ingest, notify, reroute, rules-reevaluate, sources,
 * summaries, webhooks) share: a scratch schema of a PostgreSQL, the rows they start from, and the
 * service on it. What each one seeds and measures stays in its own script.
 */

/** DATABASE_URL, the PostgreSQL the benchmark measures; without it the script stops (exit 2). */
export function benchDatabaseUrl(): string {
  const url = process.env.DATABASE_URL ?? '';
  if (!url) {
    console.error(
      'set DATABASE_URL=postgres://… (the benchmark measures PostgreSQL, in a scratch schema it creates and drops)',
    );
    process.exit(2);
  }
  return url;
}

/** The median (of an even count, the mean of the two middle values). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Runs `fn` on a freshly migrated scratch schema of the PostgreSQL at `url`, then closes the pool and
 * drops the schema, whatever `fn` did.
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

/** A merchant, written straight into its table (no credential); answers its id. */
export async function insertMerchant(db: Kysely<DB>, code = 'bench', name = 'Bench'): Promise<number> {
  const m = await db.insertInto('merchants').values({ code, name }).returning('id').executeTakeFirstOrThrow();
  return m.id;
}

export interface StoreRow {
  name: string;
  username: string;
  /** SecretHasher.hash of the store's password (a dummy when ShipStation never logs in). */
  passwordHash?: Buffer;
  orderSources?: string[];
  includeTags?: string[];
  excludeTags?: string[];
  lookbackMinutes?: number;
}

/**
 * A store connection of a merchant, written straight into its table (orders already there are not
 * routed to it); answers its id. Unset fields take the table's defaults.
 */
export async function insertStore(db: Kysely<DB>, merchantId: number, s: StoreRow): Promise<number> {
  const row = await db
    .insertInto('stores')
    .values({
      merchant_id: merchantId,
      name: s.name,
      username: s.username,
      password_hash: s.passwordHash ?? Buffer.from([0]),
      order_sources: s.orderSources,
      include_tags: s.includeTags,
      exclude_tags: s.excludeTags,
      lookback_minutes: s.lookbackMinutes,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export interface BenchApp {
  app: FastifyInstance;
  config: Config;
  /** http://127.0.0.1:port when `listen` was asked, else '' (app.inject only). */
  base: string;
}

/**
 * The service on the scratch database, in this process, as the server builds it: its configuration
 * from `env` alone, logging at warn (to nowhere when `quiet`, so that log writing is not measured),
 * listening on a random port of 127.0.0.1 when `listen`.
 */
export async function benchApp(
  database: Database,
  schema: string,
  o: { env: Record<string, string | undefined>; hasher: SecretHasher; quiet?: boolean; listen?: boolean },
): Promise<BenchApp> {
  const sink = o.quiet ? new Writable({ write: (_c, _e, cb) => cb() }) : undefined;
  const config = loadConfig({ ...o.env, LOG_LEVEL: 'warn' });
  const app = await buildApp({
    config,
    database,
    hasher: o.hasher,
    logger: createLogger('warn', sink),
    schema,
  });
  if (!o.listen) return { app, config, base: '' };
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, config, base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
}
