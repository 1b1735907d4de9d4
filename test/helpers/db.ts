import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { LogConfig } from 'kysely';
import pg from 'pg';
import { createDatabase, createPgliteFromDump, type Database } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface TestDb extends Database {
  /** The PostgreSQL schema this test file lives in (undefined on PGlite). */
  schema: string | undefined;
  /** A URL other processes can use (undefined on PGlite). */
  url: string | undefined;
}

/** Which engine the tests run on: DATABASE_URL, else a testcontainers PostgreSQL, else PGlite. */
let containerUrl: Promise<string | undefined> | undefined;
async function dockerPostgres(): Promise<string | undefined> {
  if (process.env.SHIPBRIDGE_NO_DOCKER === '1') return undefined;
  containerUrl ??= (async () => {
    // A Docker socket is the precondition; without one, skip the import entirely (well under a second).
    const socket = process.env.DOCKER_HOST ?? '/var/run/docker.sock';
    if (!process.env.DOCKER_HOST && !existsSync(socket)) return undefined;
    try {
      const { getContainerRuntimeClient } = await import('testcontainers');
      await getContainerRuntimeClient();
      const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
      const c = await new PostgreSqlContainer('postgres:16-alpine').start();
      return c.getConnectionUri();
    } catch {
      return undefined;
    }
  })();
  return containerUrl;
}

/**
 * One migrated, isolated database per test file. With a server: a fresh schema, dropped at the end.
 * On PGlite: a new in-memory instance, loaded from a migrated template kept under node_modules/.cache.
 */
export async function createTestDb(
  t: Teardown,
  opts: { poolSize?: number; log?: LogConfig } = {},
): Promise<TestDb> {
  const url = process.env.DATABASE_URL || (await dockerPostgres());
  if (url) {
    const schema = `test_${process.pid}_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`create schema ${schema}`);
    await admin.end();
    const database = await createDatabase({
      url,
      searchPath: schema,
      poolSize: opts.poolSize ?? 10,
      log: opts.log,
    });
    t.teardown(async () => {
      await database.close();
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`drop schema if exists ${schema} cascade`);
      await c.end();
    });
    await migrateToLatest(database.db, schema);
    const u = new URL(url);
    u.searchParams.set('options', `-c search_path=${schema}`);
    return { ...database, schema, url: u.toString() };
  }
  const dump = await pgliteTemplate();
  const pglite = await createPgliteFromDump(dump);
  const database = await createDatabase({ pglite, log: opts.log });
  t.teardown(() => database.close());
  await migrateToLatest(database.db);
  return { ...database, schema: undefined, url: undefined };
}

/** A dump of a freshly migrated PGlite, made once per set of migrations and reused by every file. */
export async function pgliteTemplate(): Promise<Blob | undefined> {
  const dir = path.resolve('node_modules/.cache/shipbridge');
  // Keyed by the migrations' source, not just their names: an edited migration makes a new template.
  const hash = createHash('sha256');
  const folder = path.resolve('migrations');
  for (const f of readdirSync(folder).sort()) hash.update(f).update(readFileSync(path.join(folder, f)));
  const file = path.join(dir, `pglite-${hash.digest('hex').slice(0, 16)}.tar.gz`);
  if (existsSync(file)) return new Blob([readFileSync(file)]);
  try {
    // biome-ignore lint/suspicious/noExplicitAny: PGlite instance from the optional import
    const pglite: any = await createPgliteFromDump(undefined);
    const database = await createDatabase({ pglite });
    await migrateToLatest(database.db);
    const blob: Blob = await pglite.dumpDataDir('gzip');
    await database.close();
    mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, Buffer.from(await blob.arrayBuffer()));
    renameSync(tmp, file);
    return blob;
  } catch {
    return undefined;
  }
}
