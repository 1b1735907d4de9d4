import { sql } from 'kysely';
import t, { type Test } from 'tap';
import { basic, buildTestApp, seedAccounts } from '../helpers/app.js';
import { validateOrdersDocuments } from '../../src/shipstation/xsd-validate.js';
import { validateOrdersXml } from '../helpers/xsd.js';
import {
  type ExportCall,
  exportCall,
  listen,
  merchantId,
  parseOrders,
  type SeededStore,
  seedOrder,
  seedStore,
} from './seed.js';

t.test('ShipStation order export', async (t) => {
  const { app, db } = await buildTestApp(t);
  const s = await seedAccounts(app);
  const m = await merchantId(db.db, s.merchant.code);
  const solo = await merchantId(db.db, s.solo.code);
  const base = await listen(app);
  const k = db.db;

  /**
   * Every export answer is kept and validated against the XSD at the end, merged into few documents
   * (each xmllint run costs a WebAssembly start-up): all orders in one, plus each distinct empty shell.
   */
  const answered: string[] = [];

  /** Every export answer is checked: status and headers now, the XSD at the end. */
  async function exp(
    t: Test,
    store: SeededStore,
    start: string,
    end: string,
    page?: number,
    how: 'header' | 'query' = 'header',
  ): Promise<ExportCall & ReturnType<typeof parseOrders>> {
    const r = await exportCall(base, store, start, end, page, how);
    t.equal(r.status, 200, `export ${start} – ${end} page ${page ?? '(none)'}`);
    t.equal(r.headers.get('content-type'), 'text/xml; charset=utf-8');
    t.equal(r.headers.get('cache-control'), 'no-store, no-cache, must-revalidate');
    t.equal(r.headers.get('pragma'), 'no-cache');
    answered.push(r.body);
    return { ...r, ...parseOrders(r.body) };
  }

  const orderRow = (id: number) =>
    k.selectFrom('orders').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  t.test('window boundaries: start inclusive, end through the last microsecond of its minute', async (t) => {
    const st = await seedStore(k, m);
    const at = (ts: string) => seedOrder(k, m, { store: st.id, lastModified: ts });
    await at('2026-01-10 09:59:59.999999+00');
    const a = await at('2026-01-10 10:00:00+00');
    const b = await at('2026-01-10 10:30:00+00');
    const c = await at('2026-01-10 10:59:59.999+00');
    const d = await at('2026-01-10 10:59:59.999999+00');
    await at('2026-01-10 11:00:00+00');
    const r = await exp(t, st, '01/10/2026 10:00', '01/10/2026 10:59', 1);
    t.same(r.ids, [a, b, c, d]);
    t.equal(r.pages, 1);
    t.same(r.lastModified, ['01/10/2026 10:00', '01/10/2026 10:30', '01/10/2026 10:59', '01/10/2026 10:59']);
    const one = await exp(t, st, '01/10/2026 10:59', '01/10/2026 10:59');
    t.same(one.ids, [c, d], 'start = end is one minute; page defaults to 1');
  });

  t.test('the lookback widens the start backwards', async (t) => {
    const st = await seedStore(k, m, { lookback_minutes: 10 });
    await seedOrder(k, m, { store: st.id, lastModified: '2026-01-10 09:49:59.999+00' });
    const a = await seedOrder(k, m, { store: st.id, lastModified: '2026-01-10 09:50:00+00' });
    const b = await seedOrder(k, m, { store: st.id, lastModified: '2026-01-10 10:05:00+00' });
    t.same((await exp(t, st, '01/10/2026 10:00', '01/10/2026 10:10', 1)).ids, [a, b]);
  });

  t.test('a store with a time zone reads the window and writes dates in it', async (t) => {
    const st = await seedStore(k, m, { timezone: 'America/New_York' });
    await seedOrder(k, m, { store: st.id, lastModified: '2026-01-10 09:59:00+00' });
    const a = await seedOrder(k, m, { store: st.id, lastModified: '2026-01-10 10:00:00+00' });
    const r = await exp(t, st, '01/10/2026 05:00', '01/10/2026 05:30', 1);
    t.same(r.ids, [a], '05:00 in New York is 10:00 UTC');
    t.same(r.lastModified, ['01/10/2026 05:00']);
    t.match(r.body, /<OrderDate>01\/10\/2026 05:15<\/OrderDate>/, 'OrderDate too');
  });

  t.test('DST: an ambiguous local time takes the earliest start and the latest end', async (t) => {
    // 2026-11-01 01:00–01:59 happens twice in New York: 05:00–05:59Z (EDT), then 06:00–06:59Z (EST).
    const st = await seedStore(k, m, { timezone: 'America/New_York' });
    await seedOrder(k, m, { store: st.id, lastModified: '2026-11-01 05:29:59+00' });
    const a = await seedOrder(k, m, { store: st.id, lastModified: '2026-11-01 05:30:00+00' });
    const b = await seedOrder(k, m, { store: st.id, lastModified: '2026-11-01 06:00:00+00' });
    const c = await seedOrder(k, m, { store: st.id, lastModified: '2026-11-01 06:30:59.9+00' });
    await seedOrder(k, m, { store: st.id, lastModified: '2026-11-01 06:31:00+00' });
    const r = await exp(t, st, '11/01/2026 01:30', '11/01/2026 01:30', 1);
    t.same(r.ids, [a, b, c]);
    t.same(r.lastModified, ['11/01/2026 01:30', '11/01/2026 01:00', '11/01/2026 01:30']);
  });

  t.test('FM10: canceled orders still exported — every status, new becomes at_wms', async (t) => {
    const st = await seedStore(k, m);
    const statuses = [
      'await_payment',
      'new',
      'at_wms',
      'shipped',
      'confirmed',
      'canceled',
      'on_hold',
    ] as const;
    const ids: number[] = [];
    for (const [i, status] of statuses.entries()) {
      const pinned = status !== 'new' && status !== 'await_payment' && status !== 'on_hold';
      ids.push(
        await seedOrder(k, m, {
          store: st.id,
          status,
          served: pinned,
          lastModified: `2026-01-10 10:0${i}:00+00`,
        }),
      );
    }
    const r = await exp(t, st, '01/10/2026 10:00', '01/10/2026 10:59', 1);
    t.same(r.ids, ids);
    t.same(r.statuses, ['await_payment', 'at_wms', 'at_wms', 'shipped', 'confirmed', 'canceled', 'on_hold']);
  });

  t.test('pages attribute, page past the end, empty window', async (t) => {
    const st = await seedStore(k, m, { page_size: 2 });
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(await seedOrder(k, m, { store: st.id, lastModified: '2026-01-10 10:00:00+00' }));
    }
    const p1 = await exp(t, st, '01/10/2026 10:00', '01/10/2026 10:00', 1);
    const p2 = await exp(t, st, '01/10/2026 10:00', '01/10/2026 10:00', 2);
    const p3 = await exp(t, st, '01/10/2026 10:00', '01/10/2026 10:00', 3, 'query');
    t.same([p1.pages, p2.pages, p3.pages], [3, 3, 3], 'pages counts the whole window');
    t.same([...p1.ids, ...p2.ids, ...p3.ids], ids, 'ordered by (last_modified, id)');
    const past = await exp(t, st, '01/10/2026 10:00', '01/10/2026 10:00', 4);
    t.equal(past.pages, 3);
    t.same(past.ids, []);
    t.match(past.body, /<Orders pages="3"\s*(\/>|><\/Orders>)/);
    const empty = await exp(t, st, '01/11/2026 10:00', '01/11/2026 11:00', 1);
    t.equal(empty.pages, 0);
    t.same(empty.ids, []);
    const emptyPast = await exp(t, st, '01/11/2026 10:00', '01/11/2026 11:00', 7);
    t.equal(emptyPast.pages, 0);
  });

  t.test('FM3: exporting never moves LastModified; pins and moves new → at_wms with events', async (t) => {
    const st = await seedStore(k, m, { order_number_prefix: 'SB-' });
    const id = await seedOrder(k, m, { store: st.id, lastModified: '2026-01-10 10:00:00.123456+00' });
    const paid = await seedOrder(k, m, {
      store: st.id,
      status: 'await_payment',
      lastModified: '2026-01-10 10:01:00+00',
    });
    const before = await orderRow(id);
    const lmText = async (oid: number) =>
      (await sql<{ t: string }>`select last_modified::text as t from orders where id = ${oid}`.execute(k))
        .rows[0]!.t;
    const lmBefore = await lmText(id);
    const r = await exp(t, st, '01/10/2026 10:00', '01/10/2026 10:59', 1);
    t.same(r.ids, [id, paid]);
    t.match(r.body, /<OrderNumber><!\[CDATA\[SB-R-/, 'the store prefix');
    t.match(r.body, /<Source><!\[CDATA\[web\]\]><\/Source>/);
    const lines = await k
      .selectFrom('order_lines')
      .select('id')
      .where('order_id', '=', id)
      .orderBy('position')
      .execute();
    for (const l of lines)
      t.match(r.body, new RegExp(`<LineItemID><!\\[CDATA\\[${l.id}\\]\\]></LineItemID>`));

    const after = await orderRow(id);
    t.equal(await lmText(id), lmBefore, 'last_modified unchanged to the microsecond');
    t.equal(after.status, 'at_wms');
    t.equal(after.served_store_id, st.id);
    t.ok(after.served_at);
    t.ok(
      after.updated_at.getTime() > before.updated_at.getTime(),
      'updated_at (the REST change clock) moved',
    );
    const afterPaid = await orderRow(paid);
    t.equal(afterPaid.status, 'await_payment', 'only new moves to at_wms');
    t.equal(afterPaid.served_store_id, st.id, 'but every status is pinned');

    const events = await k
      .selectFrom('order_events')
      .select(['order_id', 'type', 'from_status', 'to_status', 'actor_type', 'actor'])
      .where('order_id', 'in', [id, paid])
      .orderBy('id')
      .execute();
    t.same(
      events.map((e) => [e.order_id, e.type, e.from_status, e.to_status, e.actor_type, e.actor]).sort(),
      [
        [id, 'exported', 'new', 'at_wms', 'store', String(st.id)],
        [id, 'pinned', null, null, 'store', String(st.id)],
        [paid, 'pinned', null, null, 'store', String(st.id)],
      ].sort(),
    );

    const again = await exp(t, st, '01/10/2026 10:00', '01/10/2026 10:59', 1);
    t.same(again.ids, [id, paid], 'a re-export sends the same orders');
    t.same(again.statuses, ['at_wms', 'await_payment']);
    t.equal(await lmText(id), lmBefore);
    const count = await k
      .selectFrom('order_events')
      .select(sql<number>`count(*)::int`.as('n'))
      .where('order_id', 'in', [id, paid])
      .executeTakeFirstOrThrow();
    t.equal(count.n, 3, 'no new events on re-export');
  });

  t.test('FM4: pages stable while orders change', async (t) => {
    const st = await seedStore(k, m, { page_size: 2 });
    const ids: number[] = [];
    for (let i = 0; i < 6; i++) {
      ids.push(await seedOrder(k, m, { store: st.id, lastModified: `2026-01-10 10:0${i}:00+00` }));
    }
    const p1 = await exp(t, st, '01/10/2026 10:00', '01/10/2026 10:59', 1);
    // While ShipStation walks: a later order moves to the front, an early one to the back, a new one appears.
    await sql`update orders set last_modified = '2026-01-10 09:59:00+00' where id = ${ids[5]!}`.execute(k);
    await sql`update orders set last_modified = '2026-01-10 10:58:00+00' where id = ${ids[2]!}`.execute(k);
    await sql`update orders set last_modified = '2026-01-10 10:30:00+00' where id = ${ids[4]!}`.execute(k);
    const late = await seedOrder(k, m, { store: st.id, lastModified: '2026-01-10 10:00:30+00' });
    const p2 = await exp(t, st, '01/10/2026 10:00', '01/10/2026 10:59', 2);
    const p3 = await exp(t, st, '01/10/2026 10:00', '01/10/2026 10:59', 3);
    t.same([p1.pages, p2.pages, p3.pages], [3, 3, 3]);
    t.same([...p1.ids, ...p2.ids, ...p3.ids], ids, 'neither skipped nor duplicated');
    const next = await exp(t, st, '01/10/2026 10:00', '01/10/2026 10:59', 1);
    t.equal(next.pages, 3, 'a new page 1 takes a new snapshot');
    t.same(next.ids, [ids[0], late], 'the changed order sits where it now belongs');
  });

  t.test('an order re-routed mid-walk is not served by the old store', async (t) => {
    const st = await seedStore(k, m, { page_size: 2 });
    const other = await seedStore(k, m, { page_size: 2 });
    const ids: number[] = [];
    for (let i = 0; i < 4; i++) {
      ids.push(await seedOrder(k, m, { store: st.id, lastModified: `2026-01-10 10:0${i}:00+00` }));
    }
    const p1 = await exp(t, st, '01/10/2026 10:00', '01/10/2026 10:59', 1);
    t.same(p1.ids, ids.slice(0, 2));
    // Re-routing (unpinned order): store changes, last_modified moves with it.
    await sql`update orders set store_id = ${other.id}, last_modified = '2026-01-10 10:20:00+00'
      where id = ${ids[2]!}`.execute(k);
    const p2 = await exp(t, st, '01/10/2026 10:00', '01/10/2026 10:59', 2);
    t.equal(p2.pages, 2);
    t.same(p2.ids, [ids[3]], 'dropped from the page');
    const moved = await orderRow(ids[2]!);
    t.equal(moved.served_store_id, null, 'not pinned to the old store');
    t.equal(moved.status, 'new');
    const o = await exp(t, other, '01/10/2026 10:00', '01/10/2026 10:59', 1);
    t.same(o.ids, [ids[2]], 'the new store serves it');
    t.equal((await orderRow(ids[2]!)).served_store_id, other.id);
  });

  t.test('cross-store and cross-merchant isolation', async (t) => {
    const mine = await seedStore(k, m);
    const sibling = await seedStore(k, m);
    const foreign = await seedStore(k, solo);
    const a = await seedOrder(k, m, { store: mine.id, lastModified: '2026-02-01 10:00:00+00' });
    const b = await seedOrder(k, m, { store: sibling.id, lastModified: '2026-02-01 10:00:00+00' });
    const c = await seedOrder(k, solo, { store: foreign.id, lastModified: '2026-02-01 10:00:00+00' });
    await seedOrder(k, m, { store: null, lastModified: '2026-02-01 10:00:00+00' });
    t.same((await exp(t, mine, '02/01/2026 10:00', '02/01/2026 10:00')).ids, [a]);
    t.same((await exp(t, sibling, '02/01/2026 10:00', '02/01/2026 10:00')).ids, [b]);
    t.same((await exp(t, foreign, '02/01/2026 10:00', '02/01/2026 10:00')).ids, [c]);
    t.equal((await orderRow(b)).served_store_id, sibling.id);
  });

  t.test('snapshots: later pages reuse the newest unexpired one; expired ones are deleted', async (t) => {
    const st = await seedStore(k, m, { page_size: 1 });
    for (let i = 0; i < 3; i++)
      await seedOrder(k, m, { store: st.id, lastModified: '2026-03-01 10:00:00+00' });
    const snaps = () =>
      k.selectFrom('export_snapshots').selectAll().where('store_id', '=', st.id).orderBy('id').execute();
    await exp(t, st, '03/01/2026 10:00', '03/01/2026 10:00', 1);
    await exp(t, st, '03/01/2026 10:00', '03/01/2026 10:00', 2);
    let rows = await snaps();
    t.equal(rows.length, 1, 'page 2 used page 1 snapshot');
    t.equal(rows[0]!.total, 3);
    const positions = await k
      .selectFrom('export_snapshot_orders')
      .select(['position', 'order_id'])
      .where('snapshot_id', '=', rows[0]!.id)
      .orderBy('position')
      .execute();
    t.same(
      positions.map((p) => p.position),
      [1, 2, 3],
    );
    await sql`update export_snapshots set expires_at = now() - interval '1 minute' where store_id = ${st.id}`.execute(
      k,
    );
    await exp(t, st, '03/01/2026 10:00', '03/01/2026 10:00', 3);
    rows = await snaps();
    t.equal(rows.length, 1, 'no unexpired snapshot: page 3 made one (and dropped the expired one)');
    t.ok(rows[0]!.expires_at.getTime() > Date.now());
    await exp(t, st, '03/01/2026 10:00', '03/01/2026 10:00', 1);
    rows = await snaps();
    t.equal(rows.length, 2, 'page 1 always makes a new one');
    t.ok(rows.every((r) => r.expires_at.getTime() > Date.now()));
    const orphans = await sql<{ n: number }>`select count(*)::int as n from export_snapshot_orders so
      where not exists (select 1 from export_snapshots s where s.id = so.snapshot_id)`.execute(k);
    t.equal(orphans.rows[0]!.n, 0);
  });

  t.test('two instances of the service serve identical pages', async (t) => {
    const second = await buildTestApp(t, {}, { db });
    const base2 = await listen(second.app);
    const st = await seedStore(k, m, { page_size: 3 });
    const ids: number[] = [];
    for (let i = 0; i < 8; i++)
      ids.push(await seedOrder(k, m, { store: st.id, lastModified: `2026-04-01 10:0${i}:00+00` }));
    const call = async (b: string, page: number) =>
      parseOrders((await exportCall(b, st, '04/01/2026 10:00', '04/01/2026 10:59', page)).body);
    const p1 = await call(base, 1);
    // An order changes between pages: the other instance must still serve the snapshot.
    await sql`update orders set last_modified = '2026-04-01 10:59:00+00' where id = ${ids[0]!}`.execute(k);
    const p2b = await call(base2, 2);
    const p2a = await call(base, 2);
    const p3b = await call(base2, 3);
    t.same(p2b.ids, p2a.ids, 'the same page from both instances');
    t.same([p1.pages, p2b.pages, p3b.pages], [3, 3, 3]);
    t.same([...p1.ids, ...p2b.ids, ...p3b.ids], ids);
  });

  t.test('export log, store health and the gap alert', async (t) => {
    const st = await seedStore(k, m, { page_size: 1 });
    await seedOrder(k, m, { store: st.id, lastModified: '2026-05-01 10:05:00+00' });
    await seedOrder(k, m, { store: st.id, lastModified: '2026-05-01 10:06:00+00' });
    const alerts = () =>
      k.selectFrom('alerts').selectAll().where('store_id', '=', st.id).orderBy('id').execute();
    await exp(t, st, '05/01/2026 10:00', '05/01/2026 10:59', 1);
    await exp(t, st, '05/01/2026 10:00', '05/01/2026 10:59', 2);
    t.same(await alerts(), [], 'no alert for the very first export');
    const log = await k
      .selectFrom('export_log')
      .selectAll()
      .where('store_id', '=', st.id)
      .orderBy('id')
      .execute();
    t.same(
      log.map((l) => [l.page, l.pages, l.orders, l.window_start.toISOString(), l.window_end.toISOString()]),
      [
        [1, 2, 1, '2026-05-01T10:00:00.000Z', '2026-05-01T11:00:00.000Z'],
        [2, 2, 1, '2026-05-01T10:00:00.000Z', '2026-05-01T11:00:00.000Z'],
      ],
    );
    t.ok(log.every((l) => l.duration_ms >= 0));
    let health = await k.selectFrom('stores').selectAll().where('id', '=', st.id).executeTakeFirstOrThrow();
    t.ok(health.last_export_at);
    t.equal(health.last_window_end?.toISOString(), '2026-05-01T11:00:00.000Z');

    await exp(t, st, '05/01/2026 11:00', '05/01/2026 11:59', 1);
    t.same(await alerts(), [], 'a window starting where the last ended is no gap');
    await exp(t, st, '05/01/2026 09:00', '05/01/2026 09:30', 1);
    t.same(await alerts(), [], 'a re-pull of an older window is no gap');
    health = await k.selectFrom('stores').selectAll().where('id', '=', st.id).executeTakeFirstOrThrow();
    t.equal(health.last_window_end?.toISOString(), '2026-05-01T12:00:00.000Z', 'the window never moves back');

    await exp(t, st, '05/01/2026 12:30', '05/01/2026 13:00', 1);
    const gap = await alerts();
    t.equal(gap.length, 1);
    t.equal(gap[0]!.kind, 'export_gap');
    t.equal(gap[0]!.merchant_id, m);
    t.match(gap[0]!.message, /2026-05-01T12:30:00.000Z.*2026-05-01T12:00:00.000Z/);
    t.same(gap[0]!.data, { from: '2026-05-01T12:00:00+00:00', to: '2026-05-01T12:30:00+00:00' });
    await exp(t, st, '05/01/2026 12:30', '05/01/2026 13:00', 2);
    t.equal((await alerts()).length, 1, 'later pages never raise it');
  });

  t.test('test connection: the last 24 hours as ShipStation would see them, changing nothing', async (t) => {
    const st = await seedStore(k, m, { page_size: 2 });
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) ids.push(await seedOrder(k, m, { store: st.id }));
    await seedOrder(k, m, { store: st.id, lastModified: new Date(Date.now() - 30 * 3_600_000) });
    const counts = async () =>
      (
        await sql<{ snaps: number; logs: number; events: number; at_wms: number }>`select
          (select count(*)::int from export_snapshots where store_id = ${st.id}) as snaps,
          (select count(*)::int from export_log where store_id = ${st.id}) as logs,
          (select count(*)::int from order_events where order_id = any(${ids}::bigint[])) as events,
          (select count(*)::int from orders where store_id = ${st.id} and (status <> 'new' or served_store_id is not null)) as at_wms`.execute(
          k,
        )
      ).rows[0];
    const before = await counts();
    const r = await app.inject({
      method: 'POST',
      url: `/v1/merchants/${s.merchant.code}/stores/${st.id}/test`,
      headers: s.merchant.auth,
    });
    t.equal(r.statusCode, 200, r.body);
    const body = r.json();
    t.equal(body.orders, 3);
    t.equal(body.pages, 2);
    t.equal(body.page_size, 2);
    t.equal(body.schema_valid, true);
    t.same(body.errors, []);
    t.ok(Date.parse(body.window.end) - Date.parse(body.window.start) >= 24 * 3_600_000);
    t.same(await counts(), before, 'no snapshot, log, event, pin or status change');
    const health = await k
      .selectFrom('stores')
      .select(['last_export_at'])
      .where('id', '=', st.id)
      .executeTakeFirstOrThrow();
    t.equal(health.last_export_at, null);

    const asWarehouse = await app.inject({
      method: 'POST',
      url: `/v1/merchants/${s.merchant.code}/stores/${st.id}/test`,
      headers: s.warehouse.auth,
    });
    t.equal(asWarehouse.statusCode, 200, 'the warehouse may test its merchant');
    const foreign = await app.inject({
      method: 'POST',
      url: `/v1/merchants/${s.solo.code}/stores/${st.id}/test`,
      headers: s.solo.auth,
    });
    t.equal(foreign.statusCode, 404, "another merchant's store is not found");
    const other = await app.inject({
      method: 'POST',
      url: `/v1/merchants/${s.merchant.code}/stores/${st.id}/test`,
      headers: basic(s.solo.credential.api_user, s.solo.credential.api_key),
    });
    t.equal(other.statusCode, 404);
  });

  t.test('every export answer above validates against the XSD', async (t) => {
    t.ok(answered.length > 30, `${answered.length} answers`);
    const ORDER = /<Order>[\s\S]*?<\/Order>/g;
    const orders = answered.flatMap((b) => b.match(ORDER) ?? []);
    const shells = new Set(answered.map((b) => b.replace(ORDER, '')));
    const merged = `<?xml version="1.0" encoding="utf-8"?>\n<Orders pages="1">${orders.join('')}</Orders>`;
    for (const doc of [merged, ...shells]) {
      const v = await validateOrdersXml(doc);
      t.ok(v.valid, v.valid ? 'valid' : v.errors.slice(0, 5).join('; '));
    }
    // The run-time validator (test connection) attributes errors to the right document.
    const broken = merged.replace('<Orders pages="1">', '<Orders pages="1" page="2">');
    const [ok, bad] = await validateOrdersDocuments([merged, broken]);
    t.equal(ok?.valid, true);
    t.equal(bad?.valid, false);
    t.match(bad?.errors.join('\n'), /line \d+: .*page/);
  });
});
