import { spawn } from 'node:child_process';
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
 * One migrated, isolated database per test file. With a server: a database of its own (schema
 * shipbridge_test), copied from a migrated template and dropped at the end. A database rather than
 * a schema: Kysely's migrator looks at every table of the database it is in, and failed ("schema
 * … does not exist") when another test file dropped its schema at that moment.
 * On PGlite: a new in-memory instance, loaded from a migrated template kept under node_modules/.cache.
 */
export async function createTestDb(
  t: Teardown,
  opts: { poolSize?: number; log?: LogConfig } = {},
): Promise<TestDb> {
  const url = process.env.DATABASE_URL || (await dockerPostgres());
  if (url) {
    // A database of its own, copied from the migrated template (CREATE DATABASE … TEMPLATE copies
    // files: much cheaper than running every migration again for every file).
    const template = await postgresTemplate(url);
    const name = `test_${process.pid}_${randomBytes(4).toString('hex')}`;
    await adminQuery(url, `create database ${name} template ${template}`);
    const own = new URL(url);
    own.pathname = `/${name}`;
    const database = await createDatabase({
      url: own.toString(),
      searchPath: TEST_SCHEMA,
      poolSize: opts.poolSize ?? 10,
      log: opts.log,
    });
    t.teardown(async () => {
      await database.close();
      dropInBackground(url, name);
    });
    // Nothing to do on a copy of the template; kept so a stale template would show at once.
    await migrateToLatest(database.db, TEST_SCHEMA);
    own.searchParams.set('options', `-c search_path=${TEST_SCHEMA}`);
    return { ...database, schema: TEST_SCHEMA, url: own.toString() };
  }
  const dump = await pgliteTemplate();
  const pglite = await createPgliteFromDump(dump);
  const database = await createDatabase({ pglite, log: opts.log });
  t.teardown(() => database.close());
  await migrateToLatest(database.db);
  return { ...database, schema: undefined, url: undefined };
}

/**
 * The templates are keyed by the migrations' source, not just their names: an edited or added
 * migration makes a new template. (The working directory is the project root, as under tap.)
 */
function migrationsKey(): string {
  const hash = createHash('sha256');
  const folder = path.resolve('migrations');
  for (const f of readdirSync(folder).sort()) hash.update(f).update(readFileSync(path.join(folder, f)));
  return hash.digest('hex').slice(0, 16);
}

async function adminQuery(url: string, text: string, values?: unknown[]): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query(text, values);
  } finally {
    await c.end();
  }
}

/**
 * DROP DATABASE waits for a checkpoint (seconds on a busy server): a detached process does it, so
 * the test file does not wait for it. It needs nothing of the test process (pg resolves from the
 * working directory, the project root).
 */
function dropInBackground(url: string, name: string): void {
  const script = `import pg from 'pg';
const c = new pg.Client({ connectionString: process.env.DROP_URL });
await c.connect();
await c.query('drop database if exists ' + process.env.DROP_NAME + ' with (force)');
await c.end();`;
  const { NODE_OPTIONS: _, ...env } = process.env;
  spawn(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...env, DROP_URL: url, DROP_NAME: name },
    detached: true,
    stdio: 'ignore',
  }).unref();
}

/** The schema of a PostgreSQL test database: the same name in every copy of the template. */
const TEST_SCHEMA = 'shipbridge_test';
/** Serialises building the template among the test processes of a run (any key of our own). */
const TEMPLATE_LOCK = 0x5b1d9e;

let template: Promise<string> | undefined;
/**
 * The migrated template database on the server of `url`, built once per set of migrations (the
 * first test process to need it builds it, the others wait on an advisory lock). It is built under
 * another name and renamed when complete, so an interrupted build is never used. Old templates are
 * left on the server, as another checkout may still use them (`drop database shipbridge_template_…`
 * removes one).
 */
function postgresTemplate(url: string): Promise<string> {
  template ??= (async () => {
    const name = `shipbridge_template_${migrationsKey()}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query('select pg_advisory_lock($1)', [TEMPLATE_LOCK]);
      const found = await admin.query('select 1 from pg_database where datname = $1', [name]);
      if (found.rowCount) return name;
      const building = `${name}_build`;
      await admin.query(`drop database if exists ${building} with (force)`);
      await admin.query(`create database ${building}`);
      const u = new URL(url);
      u.pathname = `/${building}`;
      await adminQuery(u.toString(), `create schema ${TEST_SCHEMA}`);
      const database = await createDatabase({ url: u.toString(), searchPath: TEST_SCHEMA, poolSize: 1 });
      try {
        await migrateToLatest(database.db, TEST_SCHEMA);
      } finally {
        await database.close();
      }
      await admin.query(`alter database ${building} rename to ${name}`);
      // Copying needs a template nobody is connected to: nobody may connect.
      await admin.query(`alter database ${name} with allow_connections false`);
      return name;
    } finally {
      await admin.end();
    }
  })();
  return template;
}

/** A dump of a freshly migrated PGlite, made once per set of migrations and reused by every file. */
export async function pgliteTemplate(): Promise<Blob | undefined> {
  const dir = path.resolve('node_modules/.cache/shipbridge');
  const file = path.join(dir, `pglite-${migrationsKey()}.tar.gz`);
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
