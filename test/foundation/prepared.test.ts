import { sql } from 'kysely';
import t from 'tap';
import { statementName } from '../../src/db/prepared.js';
import { createTestDb } from '../helpers/db.js';

t.test('queries get one stable name per text; short texts and DDL run unnamed', async (t) => {
  const q = 'select id, name, created_at from merchants where id = $1 and disabled_at is null';
  const name = statementName(q);
  t.match(name, /^sb_[\w-]+$/);
  t.equal(statementName(q), name, 'the same text, the same name');
  t.not(statementName(`${q} `), name, 'another text, another name');
  t.equal(statementName('begin'), undefined);
  t.equal(statementName('select 1 from merchants where id = $1'), undefined, 'short');
  t.equal(
    statementName(
      'create index concurrently if not exists orders_some_long_name_idx on orders (merchant_id, id)',
    ),
    undefined,
    'DDL is not a query',
  );
  t.ok(statementName('\n  with x as (select 1) select * from x where 1 = $1 and 2 = 2 -- padding padding'));
});

t.test('on PostgreSQL, repeated queries run as prepared statements with the same answers', async (t) => {
  const db = await createTestDb(t, { poolSize: 1 });
  if (db.engine !== 'postgres') {
    t.pass('PGlite has no connection pool to prepare on');
    return;
  }
  const read = (code: string) =>
    db.db
      .selectFrom('merchants')
      .select(['id', 'code', 'name'])
      .where('code', '=', code)
      .where('disabled_at', 'is', null)
      .execute();
  const w = await db.db
    .insertInto('warehouses')
    .values({ code: 'wh', name: 'Warehouse' })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db.db
    .insertInto('merchants')
    .values([
      { code: 'a', name: 'A', warehouse_id: w.id },
      { code: 'b', name: 'B', warehouse_id: w.id },
    ])
    .execute();
  t.same(
    (await read('a')).map((r) => r.code),
    ['a'],
  );
  t.same(
    (await read('b')).map((r) => r.code),
    ['b'],
    'the second run binds its own parameters',
  );
  const prepared = await sql<{ name: string; statement: string }>`
    select name, statement from pg_prepared_statements where name like 'sb\\_%'
  `.execute(db.db);
  t.ok(
    prepared.rows.some(
      (r) => r.statement.includes('"merchants"') && r.statement.includes('"disabled_at" is null'),
    ),
    'the query is prepared on the connection',
  );
  const mode = await sql<{ plan_cache_mode: string }>`show plan_cache_mode`.execute(db.db);
  t.equal(mode.rows[0]?.plan_cache_mode, 'force_custom_plan', 'every run is planned for its own parameters');
});
