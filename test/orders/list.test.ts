import { sql } from 'kysely';
import t from 'tap';
import { buildTestApp, seedAccounts } from '../helpers/app.js';
import { api, sampleOrder } from './fixtures.js';

type Obj = Record<string, unknown>;
type Page = { orders: (Obj & { id: number; updated_at: string })[]; next_cursor: string | null };

t.test('listing orders', async (t) => {
  const { app, db } = await buildTestApp(t);
  const s = await seedAccounts(app);
  const o = api(app, s.merchant);
  const merchant = await db.db
    .selectFrom('merchants')
    .select('id')
    .where('code', '=', s.merchant.code)
    .executeTakeFirstOrThrow();

  const batch = await o.post({
    orders: Array.from({ length: 25 }, (_, i) =>
      sampleOrder(`L${i}`, {
        order_source: i % 5 === 0 ? 'amazon' : 'api',
        status: i % 4 === 0 ? 'on_hold' : 'new',
      }),
    ),
  });
  const ids = (batch.json().results as Obj[]).map((r) => (r.order as Obj).id as number);
  await api(app, s.solo).post(sampleOrder('solo-only'));

  /**
   * Waits until no other open transaction on the database is older than our latest write, so that
   * updated_since answers are not held back (other processes share the test database).
   */
  async function settle() {
    for (let i = 0; i < 600; i++) {
      const r = await sql<{ ok: boolean }>`
        select coalesce(min(a.xact_start), now()) > (select max(updated_at) from orders) as ok
        from pg_stat_activity a
        where a.datname = current_database() and a.backend_type = 'client backend'
          and a.xact_start is not null and a.pid <> pg_backend_pid()
          and (a.backend_xid is not null or a.xact_start > now() - interval '5 seconds')`.execute(db.db);
      if (r.rows[0]?.ok) return;
      await new Promise((res) => setTimeout(res, 50));
    }
    throw new Error('the database never settled');
  }

  /** Walks every page; `between` runs after each page. */
  async function walk(query: string, limit: number, between?: () => Promise<void>) {
    const seen: Page['orders'] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const sep = query ? '&' : '?';
      const r = await o.list(`${query}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
      if (r.statusCode !== 200) throw new Error(r.body);
      const page = r.json() as Page;
      seen.push(...page.orders);
      cursor = page.next_cursor;
      pages++;
      if (between) await between();
    } while (cursor !== null && pages < 100);
    return { seen, pages };
  }

  t.test('pages by id, each order once, only this merchant', async (t) => {
    const { seen, pages } = await walk('', 7);
    t.same(
      seen.map((x) => x.id),
      ids,
    );
    t.equal(pages, 4);
    t.ok(seen.every((x) => x.merchant === s.merchant.code));
    t.ok(
      seen.every((x) => Array.isArray(x.items) && (x.items as Obj[]).length === 2),
      'with their lines',
    );
    const def = (await o.list()).json() as Page;
    t.equal(def.orders.length, 25, 'default limit 100');
    t.equal(def.next_cursor, null);
    t.equal((await o.list('?limit=501')).statusCode, 400);
    const bad = await o.list('?cursor=bm9wZQ');
    t.equal(bad.statusCode, 400);
    t.equal(bad.json().error.details[0].path, 'query.cursor');
  });

  t.test('filters', async (t) => {
    const held = (await o.list('?status=on_hold')).json() as Page;
    t.same(
      held.orders.map((x) => x.id),
      ids.filter((_, i) => i % 4 === 0),
    );
    const two = (await o.list('?status=on_hold,new')).json() as Page;
    t.equal(two.orders.length, 25);
    const badStatus = await o.list('?status=paid');
    t.equal(badStatus.statusCode, 400);
    t.equal(badStatus.json().error.details[0].path, 'query.status');
    const amazon = (await o.list('?order_source=amazon')).json() as Page;
    t.same(
      amazon.orders.map((x) => x.id),
      ids.filter((_, i) => i % 5 === 0),
    );
    const one = (await o.list('?order_number=SO-L7')).json() as Page;
    t.same(
      one.orders.map((x) => x.id),
      [ids[7]],
    );
    const both = (await o.list('?order_source=amazon&status=on_hold')).json() as Page;
    t.same(
      both.orders.map((x) => x.id),
      [ids[0], ids[20]],
    );

    const store = await db.db
      .insertInto('stores')
      .values({
        merchant_id: merchant.id,
        name: 'S',
        username: `ls-${Date.now()}`,
        password_hash: Buffer.from('x'),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db.db
      .updateTable('orders')
      .set({ store_id: store.id })
      .where('id', 'in', [ids[1]!, ids[2]!])
      .execute();
    const routed = (await o.list('?routing=routed')).json() as Page;
    t.same(
      routed.orders.map((x) => x.id),
      [ids[1], ids[2]],
    );
    t.equal((routed.orders[0]!.routing as Obj).store_id, store.id);
    const unrouted = (await o.list('?routing=unrouted')).json() as Page;
    t.equal(unrouted.orders.length, 23);
    t.equal((await o.list('?routing=maybe')).statusCode, 400);
    await db.db.updateTable('orders').set({ store_id: null }).where('id', 'in', [ids[1]!, ids[2]!]).execute();
  });

  t.test('while orders are being added: every existing order exactly once', async (t) => {
    let k = 0;
    const { seen } = await walk('', 4, async () => {
      const r = await o.post({ orders: [sampleOrder(`add-${k++}`), sampleOrder(`add-${k++}`)] });
      if (r.statusCode !== 200) throw new Error(r.body);
    });
    const seenIds = seen.map((x) => x.id);
    t.equal(new Set(seenIds).size, seenIds.length, 'no order twice');
    for (const id of ids) t.equal(seenIds.filter((x) => x === id).length, 1);
    t.same(
      seenIds,
      [...seenIds].sort((a, b) => a - b),
      'by id',
    );
  });

  t.test('updated_since: by (updated_at, id), inclusive, cursor stable while orders change', async (t) => {
    const since = (await o.get(ids[10]!)).json().updated_at as string;
    await settle();
    const all = (await o.list(`?updated_since=${encodeURIComponent(since)}&limit=500`)).json() as Page;
    t.ok(all.orders.length > 0);
    t.ok(
      all.orders.every((x) => x.updated_at >= since),
      'inclusive lower bound',
    );
    for (let i = 1; i < all.orders.length; i++) {
      const [a, b] = [all.orders[i - 1]!, all.orders[i]!];
      t.ok(a.updated_at < b.updated_at || (a.updated_at === b.updated_at && a.id < b.id), 'ordered');
    }
    const epoch = '1970-01-01T00:00:00Z';
    await settle();
    const before = (await o.list(`?updated_since=${epoch}&limit=500`)).json() as Page;
    // walk in small pages while putting orders on hold: each order at least once, changed ones again later
    const changed: number[] = [];
    let j = 0;
    const { seen } = await walk(`?updated_since=${epoch}`, 5, async () => {
      const id = ids[j++ * 3];
      if (id === undefined) return;
      const r = await o.act(id, 'cancel');
      if (r.statusCode === 200) changed.push(id);
    });
    // a poller goes on from the last updated_at it saw (inclusive) once the changes are visible
    await settle();
    const lastSeen = seen.at(-1)!.updated_at;
    const more = (await o.list(`?updated_since=${lastSeen}&limit=500`)).json() as Page;
    seen.push(...more.orders.filter((x) => !(x.updated_at === lastSeen && seen.some((y) => y.id === x.id))));
    const seenIds = seen.map((x) => x.id);
    for (const x of before.orders) t.ok(seenIds.includes(x.id), `order ${x.id} answered`);
    const twice = seenIds.filter((id, i) => seenIds.indexOf(id) !== i);
    t.ok(
      twice.every((id) => changed.includes(id)),
      'only orders changed during the walk come back',
    );
    const canceledLast = seen.filter((x) => changed.includes(x.id) && x.status === 'canceled');
    t.equal(canceledLast.length, changed.length, 'every change is answered with its new state');

    for (const bad of ['2026-01-01', '2026-01-01T00:00:00', 'soon']) {
      const r = await o.list(`?updated_since=${bad}`);
      t.equal(r.statusCode, 400, bad);
      t.equal(r.json().error.details[0].path, 'query.updated_since');
    }
    const idCursor = (await o.list('?limit=1')).json().next_cursor;
    t.equal(
      (await o.list(`?updated_since=${epoch}&cursor=${idCursor}`)).statusCode,
      400,
      'cursor kinds do not mix',
    );
  });

  t.test(
    'updated_since never skips a transaction that commits late',
    { skip: db.engine !== 'postgres' },
    async (t) => {
      const template = ids[5]!;
      let release!: () => void;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      let begun!: () => void;
      const started = new Promise<void>((r) => {
        begun = r;
      });
      // A writer that starts now and commits later: its updated_at (now() = its start) is older than
      // orders committed meanwhile.
      const late = db.db.transaction().execute(async (trx) => {
        await sql`
        insert into orders (merchant_id, order_source, order_number, status, order_date, currency, tags,
          order_total, content, content_hash)
        select merchant_id, order_source, 'SO-late', status, order_date, currency, tags, order_total,
          content || '{"order_number": "SO-late"}'::jsonb, 'late'
        from orders where id = ${template}`.execute(trx);
        begun();
        await gate;
      });
      await started;
      await new Promise((r) => setTimeout(r, 20));
      const early = (await o.post(sampleOrder('committed-first'))).json();
      const cursorStart = early.updated_at as string;
      const since = new Date(Date.parse(cursorStart) - 5000).toISOString();
      const during = (await o.list(`?updated_since=${since}&limit=500`)).json() as Page;
      t.notOk(
        during.orders.some((x) => x.id === early.id),
        'an order newer than the open transaction is held back',
      );
      release();
      await late;
      // other processes share the database: poll until their open transactions are gone
      let numbers: string[] = [];
      for (let i = 0; i < 100 && !numbers.includes('SO-committed-first'); i++) {
        await settle();
        const after = (await o.list(`?updated_since=${since}&limit=500`)).json() as Page;
        numbers = after.orders.map((x) => x.order_number as string);
      }
      t.ok(numbers.includes('SO-late'), 'the late commit is answered');
      t.ok(numbers.includes('SO-committed-first'));
      t.ok(numbers.indexOf('SO-late') < numbers.indexOf('SO-committed-first'), 'in updated_at order');
    },
  );
});
