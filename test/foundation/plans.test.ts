import { type Kysely, sql } from 'kysely';
import t from 'tap';
import type { DB } from '../../src/db/schema.js';
import { buildTestApp, seedAccounts } from '../helpers/app.js';
import { createTestDb } from '../helpers/db.js';
import { StatementLog, type Statement, unboundedScans } from '../helpers/plans.js';
import { api, sampleOrder } from '../orders/fixtures.js';
import { createStore, noticeXml, notify } from '../shipments/helpers.js';

/**
 * Every hot statement is bounded by the rows it touches, whatever the statistics (see
 * test/helpers/plans.ts for what "bounded" means). Two merchants with MERCHANT_SIZE orders each
 * (two lines apiece) are written in bulk with autovacuum off on the tables, then:
 * - "never analysed": nothing is analysed, as on a freshly restored or bulk-loaded database;
 * - "analysed before a burst": the tables are analysed while they hold 21 orders per merchant,
 *   then the bulk arrives — the statistics say "tiny table", as after every burst of orders.
 * Each request is run through the app; every statement it ran is explained (ANALYZE, rolled back)
 * with its own parameters, and no scan may read more than BOUND rows of a merchant-sized table.
 */

const MERCHANT_SIZE = 3000;
/** Well above what any request below touches (≤ 300 orders, ≤ 600 lines), well below a merchant. */
const BOUND = 750;
const TABLES = [
  'orders',
  'order_lines',
  'order_events',
  'shipments',
  'shipment_lines',
  'export_snapshot_orders',
];

/**
 * n copies of a template order (and its lines), modified 1…n minutes ago, each with a 'created' event
 * and a confirmed shipment of its lines (the history a merchant of that size has).
 */
async function bulkOrders(db: Kysely<DB>, merchantId: number, templateId: number, n: number): Promise<void> {
  const before = (await sql<{ id: number }>`select coalesce(max(id), 0)::int as id from orders`.execute(db))
    .rows[0]!.id;
  await sql`
    insert into orders (merchant_id, order_source, order_number, status, order_date, currency, tags,
      order_total, tax_amount, shipping_amount, amount_paid, content, content_hash, store_id,
      last_modified, updated_at, created_at)
    select o.merchant_id, o.order_source, o.order_number || '-' || (g + ${before}), o.status, o.order_date, o.currency,
      o.tags, o.order_total, o.tax_amount, o.shipping_amount, o.amount_paid,
      jsonb_set(o.content, '{order_number}', to_jsonb(o.order_number || '-' || (g + ${before}))), md5(g::text), o.store_id,
      now() - make_interval(mins => g), now() - make_interval(mins => g), now() - make_interval(mins => g)
    from orders o, generate_series(1, ${n}::int) g
    where o.merchant_id = ${merchantId} and o.id = ${templateId}
  `.execute(db);
  await sql`
    insert into order_lines (merchant_id, order_id, position, line_id, sku, name, quantity, unit_price,
      adjustment, content)
    select o.merchant_id, o.id, l.position, l.line_id, l.sku, l.name, l.quantity, l.unit_price, l.adjustment,
      l.content
    from orders o
    join order_lines l on l.merchant_id = o.merchant_id and l.order_id = ${templateId}
    where o.merchant_id = ${merchantId} and o.id > ${before}
  `.execute(db);
  await sql`
    insert into order_events (merchant_id, order_id, type, to_status, actor_type, actor)
    select o.merchant_id, o.id, 'created', o.status, 'system', 'bulk'
    from orders o where o.merchant_id = ${merchantId} and o.id > ${before}
  `.execute(db);
  await sql`
    insert into shipments (merchant_id, order_id, store_id, carrier, tracking_number, idempotency_key, confirmed_at)
    select o.merchant_id, o.id, o.store_id, 'UPS', 'BULK-' || o.id, 'bulk-' || o.id, now()
    from orders o where o.merchant_id = ${merchantId} and o.id > ${before}
  `.execute(db);
  await sql`
    insert into shipment_lines (merchant_id, shipment_id, order_line_id, quantity, requested_quantity)
    select s.merchant_id, s.id, l.id, l.quantity, l.quantity
    from shipments s join order_lines l on l.merchant_id = s.merchant_id and l.order_id = s.order_id
    where s.merchant_id = ${merchantId} and s.order_id > ${before}
  `.execute(db);
}

/** MM/dd/yyyy HH:mm in UTC (the stores below are in UTC). */
const ssDate = (d: Date) =>
  `${String(d.getUTCMonth() + 1).padStart(2, '0')}/${String(d.getUTCDate()).padStart(2, '0')}/${d.getUTCFullYear()} ` +
  `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;

// Query plans are PostgreSQL's concern (CI runs this file on both engines); on the embedded database,
// the same planner, one state of the statistics is checked as a smaller sample.
const pgliteSubset = !process.env.DATABASE_URL;

for (const mode of ['never analysed', 'analysed before a burst'] as const) {
  const skip =
    pgliteSubset && mode !== 'never analysed' && 'one state of the statistics on PGlite (set DATABASE_URL)';
  t.test(`hot statements are bounded by the rows they touch (${mode})`, { skip }, async (t) => {
    const statements = new StatementLog();
    const testDb = await createTestDb(t, { log: statements.log });
    const { app, db } = await buildTestApp(t, {}, { db: testDb });
    const s = await seedAccounts(app, `pl${process.pid % 10000}${mode === 'never analysed' ? 'n' : 'a'}`);
    for (const table of TABLES)
      await sql.raw(`alter table ${table} set (autovacuum_enabled = false)`).execute(db.db);

    const merchants = [s.merchant, s.solo];
    const stores = [];
    const templates: number[] = [];
    for (const who of merchants) {
      stores.push(await createStore(app, who, { lookback_minutes: 0 }));
      const r = await api(app, who).post(sampleOrder('template'));
      if (r.statusCode !== 201) throw new Error(r.body);
      templates.push(r.json().id as number);
    }
    const ids = await db.db.selectFrom('merchants').select(['id', 'code']).execute();
    const idOf = (code: string) => ids.find((m) => m.code === code)!.id;
    if (mode === 'analysed before a burst') {
      // The statistics of a small, young database: 20 orders per merchant.
      for (let i = 0; i < merchants.length; i++)
        await bulkOrders(db.db, idOf(merchants[i]!.code), templates[i]!, 20);
      for (const table of TABLES) await sql.raw(`analyze ${table}`).execute(db.db);
    }
    for (let i = 0; i < merchants.length; i++) {
      await bulkOrders(db.db, idOf(merchants[i]!.code), templates[i]!, MERCHANT_SIZE);
    }

    const o = api(app, s.merchant);
    const store = stores[0]!;

    /** Runs the request and fails on any unbounded scan among the statements it ran. */
    async function bounded(name: string, request: () => Promise<{ statusCode: number; body: string }>) {
      let status = 0;
      let body = '';
      const ran: Statement[] = await statements.during(async () => {
        const r = await request();
        status = r.statusCode;
        body = r.body;
      });
      t.ok(status >= 200 && status < 300, `${name}: answered ${status}`, { body: body.slice(0, 300) });
      t.ok(ran.length > 0, `${name}: ran statements`);
      const bad = await unboundedScans(db.db, ran, BOUND);
      t.same(
        bad.map(
          (v) =>
            `${v.why}: ${v.node} on ${v.table} (${v.index ?? '-'}, ${v.cond ?? 'no cond'}) in ${v.statement}`,
        ),
        [],
        `${name}: every scan bounded`,
      );
      return body;
    }

    await t.test('single order POST', async () => {
      await bounded('single POST', () => o.post(sampleOrder('single-1')));
    });
    const batch = Array.from({ length: 100 }, (_, i) => sampleOrder(`batch-${i}`));
    await t.test('batch POST (new orders, then the same again)', async () => {
      await bounded('batch of new orders', () => o.post({ orders: batch }));
      await bounded('batch of duplicates', () => o.post({ orders: batch }));
    });
    const created = (await o.list('?limit=1&order_number=SO-batch-7')).json() as { orders: { id: number }[] };
    const someId = created.orders[0]!.id;
    await t.test('PUT and lifecycle transitions', async () => {
      await bounded('PUT', () => o.put(someId, sampleOrder('batch-7', { customer: { code: 'C-2' } })));
      await bounded('hold', () => o.act(someId, 'hold'));
      await bounded('release', () => o.act(someId, 'release'));
      await bounded('read one order', () => o.get(someId));
    });
    await t.test('listing', async () => {
      const first = await bounded('list first page', () => o.list('?limit=100'));
      const cursor = (JSON.parse(first) as { next_cursor: string }).next_cursor;
      await bounded('list later page', () => o.list(`?limit=100&cursor=${cursor}`));
      await bounded('list by status', () => o.list('?limit=100&status=new'));
      const since = encodeURIComponent(new Date(Date.now() - 30 * 60_000).toISOString());
      await bounded('list updated since', () => o.list(`?limit=100&updated_since=${since}`));
    });
    const now = new Date();
    const window = `start_date=${encodeURIComponent(ssDate(new Date(now.getTime() - 150 * 60_000)))}&end_date=${encodeURIComponent(ssDate(now))}`;
    const exportPage = (page: number) => () =>
      app.inject({
        method: 'GET',
        url: `/shipstation?action=export&${window}&page=${page}`,
        headers: store.auth,
      });
    await t.test('export page 1 and a later page', async () => {
      await bounded('export page 1', exportPage(1));
      await bounded('export page 2', exportPage(2));
      await bounded('export page 2 again', exportPage(2));
    });
    await t.test('shipment notices and pickup', async () => {
      const order = await db.db
        .selectFrom('orders')
        .select(['id', 'order_number'])
        .where('merchant_id', '=', idOf(s.merchant.code))
        .where('served_store_id', '=', store.id)
        .orderBy('id', 'desc')
        .executeTakeFirstOrThrow();
      await bounded('ship notice by order number', () =>
        notify(app, store, {
          query: { order_number: order.order_number, carrier: 'UPS' },
          body: noticeXml({ orderNumber: order.order_number, tracking: '1Z-PLAN-1' }),
        }),
      );
      const pickup = await bounded('pickup listing', () =>
        app.inject({
          method: 'GET',
          url: `/v1/merchants/${s.merchant.code}/shipments`,
          headers: s.merchant.auth,
        }),
      );
      const shipmentIds = (JSON.parse(pickup) as { shipments: { id: number }[] }).shipments.map((x) => x.id);
      t.ok(shipmentIds.length > 0, 'the notice made a shipment');
      await bounded('pickup confirm', () =>
        app.inject({
          method: 'POST',
          url: `/v1/merchants/${s.merchant.code}/shipments/confirm`,
          headers: s.merchant.auth,
          payload: { shipment_ids: shipmentIds },
        }),
      );
    });
  });
}
