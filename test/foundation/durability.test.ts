import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import t from 'tap';
import { createDatabase } from '../../src/db/database.js';
import { hostSyncs } from '../../src/db/durable-pglite.js';
import { embeddedOnlySkip } from '../helpers/server-process.js';

// The embedded database on a folder, whichever engine the suite runs on.

t.test(
  'the embedded database on a folder flushes every commit to the disk',
  { skip: embeddedOnlySkip },
  async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'shipbridge-durable-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const pgliteDir = path.join(dir, 'pgdata');
    const database = await createDatabase({ pgliteDir });
    const setting = async (name: string) =>
      (await sql<Record<string, string>>`select current_setting(${name}) as v`.execute(database.db)).rows[0]!
        .v;
    t.equal(await setting('fsync'), 'on');
    t.equal(await setting('synchronous_commit'), 'on');
    t.equal(await setting('wal_sync_method'), 'fsync', 'fdatasync is a no-op under Emscripten');

    await sql`create table durable_probe (id int primary key)`.execute(database.db);
    for (let i = 1; i <= 3; i++) {
      const before = hostSyncs.count;
      await sql`insert into durable_probe values (${i})`.execute(database.db);
      t.ok(hostSyncs.count > before, `commit ${i} reached fsync(2) on the host file`);
    }
    const before = hostSyncs.count;
    await sql`select count(*) from durable_probe`.execute(database.db);
    t.equal(hostSyncs.count, before, 'a read flushes nothing');
    await database.close();

    const again = await createDatabase({ pgliteDir });
    t.teardown(() => again.close());
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from durable_probe`.execute(again.db);
    t.equal(rows[0]!.n, 3);
  },
);

t.test(
  'the non-durable mode (for the bench only) is what PGlite ships',
  { skip: embeddedOnlySkip },
  async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'shipbridge-durable-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const database = await createDatabase({ pgliteDir: path.join(dir, 'pgdata'), pgliteDurable: false });
    t.teardown(() => database.close());
    const { rows } = await sql<{ v: string }>`select current_setting('fsync') as v`.execute(database.db);
    t.equal(rows[0]!.v, 'off');
  },
);
