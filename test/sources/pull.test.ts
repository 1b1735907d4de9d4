import { sql } from 'kysely';
import t from 'tap';
import { createStore } from '../shipments/helpers.js';
import { pacific } from '../helpers/shipstation-api-sim.js';
import { sourceTest } from './helpers.js';

async function ordersOf(s: Awaited<ReturnType<typeof sourceTest>>, source: string) {
  return s.db.db
    .selectFrom('orders')
    .select(['id', 'order_number', 'status', 'tags', 'order_source'])
    .where('merchant_id', '=', s.merchantId)
    .where('order_source', '=', source)
    .orderBy('order_number')
    .execute();
}

t.test('tag filter: include and exclude, exact and case-sensitive; status and store filters', async (t) => {
  const s = await sourceTest(t);
  const upper = s.sim.addOrder({ orderNumber: 'A-upper', tags: ['Warehouse'] });
  const lower = s.sim.addOrder({ orderNumber: 'B-lower', tags: ['warehouse'] });
  const none = s.sim.addOrder({ orderNumber: 'C-none' });
  const both = s.sim.addOrder({ orderNumber: 'D-both', tags: ['Warehouse', 'Rush'] });
  s.sim.addOrder({ orderNumber: 'E-unpaid', tags: ['Warehouse'], orderStatus: 'awaiting_payment' });
  s.sim.addOrder({ orderNumber: 'F-store2', tags: ['Warehouse'], advancedOptions: { storeId: 102 } });
  s.sim.addOrder({ orderNumber: 'G-prefix', tags: ['Warehouse-2'] });

  const inc = await s.createSource({ name: 'inc', tag: { mode: 'include', name: 'Warehouse' } });
  const exc = await s.createSource({ name: 'exc', tag: { mode: 'exclude', name: 'Warehouse' } });
  const store = await s.createSource({ name: 'store', store_id: 102 });
  const statuses = await s.createSource({ name: 'statuses', order_statuses: ['awaiting_payment'] });
  await s.pull(inc.id);
  await s.pull(exc.id);
  await s.pull(store.id);
  await s.pull(statuses.id);

  t.same(
    (await ordersOf(s, 'inc')).map((o) => o.order_number),
    ['A-upper', 'D-both', 'F-store2'],
    'include: exactly the tag, case-sensitive (not "warehouse", not "Warehouse-2"), default status only',
  );
  t.same(
    (await ordersOf(s, 'exc')).map((o) => o.order_number),
    ['B-lower', 'C-none', 'G-prefix'],
    'exclude: everything without exactly that tag',
  );
  t.same(
    (await ordersOf(s, 'store')).map((o) => o.order_number),
    ['F-store2'],
    'store filter',
  );
  const unpaid = await ordersOf(s, 'statuses');
  t.same(
    unpaid.map((o) => o.order_number),
    ['E-unpaid'],
    'status filter',
  );
  t.equal(unpaid[0]!.status, 'await_payment', 'awaiting_payment arrives as await_payment');
  const a = (await ordersOf(s, 'inc'))[0]!;
  t.same(a.tags, ['Warehouse'], 'tag names, resolved from their ids');
  t.ok(upper && lower && none && both);

  // The storeId filter is asked of ShipStation itself.
  const storeCalls = s.sim.calls.filter((c) => c.path === '/orders' && c.query.storeId === '102');
  t.ok(storeCalls.length >= 1);
  const call = s.sim.calls.find((c) => c.path === '/orders')!;
  t.match(call.query, { sortBy: 'ModifyDate', sortDir: 'ASC', pageSize: '500', page: '1' });
  t.ok(call.query.modifyDateStart && call.query.modifyDateEnd, 'a window on modifyDate');

  const health = await s.app.inject({
    method: 'GET',
    url: `/v1/merchants/${s.acc.merchant.code}/sources/${inc.id}`,
    headers: s.acc.merchant.auth,
  });
  t.match(health.json().source.health, { orders_taken: 3, last_pull_error: null });
  t.ok(health.json().source.health.cursor);

  t.test('an order tagged later, without a change of modifyDate, is found by its tag', async (t) => {
    // Last changed long before the cursor, and tagged without a change: only the tag sweep sees it.
    s.sim.orders.get(none.orderId)!.modifyDate = pacific(new Date(Date.now() - 3600_000));
    s.sim.tagOrder(none.orderId, 'Warehouse');
    await s.pull(inc.id);
    t.same(
      (await ordersOf(s, 'inc')).map((o) => o.order_number),
      ['A-upper', 'C-none', 'D-both', 'F-store2'],
    );
    t.ok(s.sim.answered('/orders/listbytag').length >= 1);
  });

  t.test('pulling again changes nothing', async (t) => {
    const count = async () =>
      Number(
        (
          await sql<{
            n: number;
          }>`select count(*)::int as n from order_events where merchant_id = ${s.merchantId}`.execute(s.db.db)
        ).rows[0]!.n,
      );
    const before = await count();
    const orders = await ordersOf(s, 'inc');
    await s.pull(inc.id);
    await s.pull(exc.id);
    t.equal(await count(), before, 'no event, so no order was written');
    t.same(await ordersOf(s, 'inc'), orders);
  });
});

t.test('a crash between storing a page and moving the cursor loses and duplicates nothing', async (t) => {
  const s = await sourceTest(t);
  for (let i = 0; i < 7; i++) s.sim.addOrder({ orderNumber: `K-${i}` });
  const src = await s.createSource({ name: 'crashy' });
  let crashes = 0;
  const crashing = s.runner({
    beforeCursorMove: () => {
      crashes++;
      throw new Error('the process died here');
    },
  });
  await s.pull(src.id, crashing);
  t.equal(crashes, 1);
  const row = await s.db.db
    .selectFrom('sources')
    .selectAll()
    .where('id', '=', src.id)
    .executeTakeFirstOrThrow();
  t.equal(row.cursor, null, 'the cursor did not move');
  t.match(row.last_pull_error, /the process died here/);
  t.equal((await ordersOf(s, 'crashy')).length, 7, 'what was stored stays stored');
  // Orders stored but not yet recorded as pulled (the crash came between the two) are adopted.
  await s.db.db
    .deleteFrom('source_orders')
    .where('source_id', '=', src.id)
    .where('ss_order_id', '<', 1003)
    .execute();
  await s.pull(src.id);
  const after = await s.db.db
    .selectFrom('sources')
    .selectAll()
    .where('id', '=', src.id)
    .executeTakeFirstOrThrow();
  t.ok(after.cursor, 'the repeated pull moved the cursor');
  t.equal(after.last_pull_error, null);
  t.same(
    (await ordersOf(s, 'crashy')).map((o) => o.order_number),
    ['K-0', 'K-1', 'K-2', 'K-3', 'K-4', 'K-5', 'K-6'],
    'each once',
  );
  const linked = await s.db.db
    .selectFrom('source_orders')
    .select('order_id')
    .where('source_id', '=', src.id)
    .execute();
  t.equal(new Set(linked.map((l) => l.order_id)).size, 7, 'every order linked to its ShipStation order');
  const held = await s.db.db
    .selectFrom('alerts')
    .select('kind')
    .where('merchant_id', '=', s.merchantId)
    .execute();
  t.same(held, [], 'no alert: re-pulling is ordinary');
});

t.test('changes in ShipStation: edits, holds, cancellations, shipping elsewhere', async (t) => {
  const s = await sourceTest(t);
  const o1 = s.sim.addOrder({ orderNumber: 'C-1' });
  const o2 = s.sim.addOrder({ orderNumber: 'C-2' });
  const o3 = s.sim.addOrder({ orderNumber: 'C-3' });
  const o4 = s.sim.addOrder({ orderNumber: 'C-4' });
  const o5 = s.sim.addOrder({ orderNumber: 'C-5' });
  await createStore(s.app, s.acc.merchant);
  const src = await s.createSource({ name: 'chg' });
  await s.pull(src.id);
  const ids = new Map((await ordersOf(s, 'chg')).map((o) => [o.order_number, o.id]));
  t.equal(ids.size, 5);
  const status = async (n: string) =>
    (
      await s.db.db
        .selectFrom('orders')
        .select('status')
        .where('id', '=', ids.get(n)!)
        .executeTakeFirstOrThrow()
    ).status;
  const alerts = async () =>
    (
      await s.db.db
        .selectFrom('alerts')
        .select(['kind', 'order_id'])
        .where('merchant_id', '=', s.merchantId)
        .orderBy('id')
        .execute()
    ).map((a) => `${a.kind}:${a.order_id}`);

  // Served to the warehouse's ShipStation (pinned) and shipped here.
  await sql`update orders set served_store_id = store_id, served_at = now(), status = 'at_wms' where id = ${ids.get('C-2')!}`.execute(
    s.db.db,
  );
  await sql`update orders set served_store_id = store_id, served_at = now(), status = 'shipped' where id = ${ids.get('C-3')!}`.execute(
    s.db.db,
  );
  await sql`update orders set served_store_id = store_id, served_at = now(), status = 'at_wms' where id = ${ids.get('C-5')!}`.execute(
    s.db.db,
  );

  await new Promise((r) => setTimeout(r, 5));
  s.sim.updateOrder(o1.orderId, { orderStatus: 'cancelled' });
  s.sim.updateOrder(o2.orderId, { orderStatus: 'on_hold', shipTo: { ...o2.shipTo, street1: '99 New Rd' } });
  s.sim.updateOrder(o3.orderId, { orderStatus: 'cancelled' });
  s.sim.updateOrder(o4.orderId, { orderStatus: 'shipped' });
  s.sim.updateOrder(o5.orderId, { items: [{ ...o5.items[0]!, quantity: 9 }] });
  await s.pull(src.id);

  t.equal(await status('C-1'), 'canceled', 'cancelled there → canceled here');
  t.equal(await status('C-2'), 'on_hold', 'on hold there → held here');
  const c2 = await s.db.db
    .selectFrom('orders')
    .select('content')
    .where('id', '=', ids.get('C-2')!)
    .executeTakeFirstOrThrow();
  t.match(c2.content, { ship_to: { street1: '99 New Rd' } }, 'an address edit applies to a served order');
  t.equal(await status('C-3'), 'shipped', 'shipped here stays shipped…');
  t.equal(await status('C-4'), 'canceled', 'shipped there from elsewhere, never served here → canceled');
  t.same(
    await alerts(),
    [`source_cancel_after_ship:${ids.get('C-3')}`, `source_change_refused:${ids.get('C-5')}`],
    '…with an alert; and changed lines of a served order are refused with an alert',
  );

  s.sim.updateOrder(o2.orderId, { orderStatus: 'awaiting_shipment' });
  await s.pull(src.id);
  t.equal(await status('C-2'), 'at_wms', "ShipStation's release lifts the hold it placed");
  t.equal((await alerts()).length, 2, 'nothing raised twice');
});

t.test('refused, colliding and split orders are kept back with an alert', async (t) => {
  const s = await sourceTest(t);
  const bad = s.sim.addOrder({ orderNumber: 'R-1' });
  bad.items[0]!.quantity = 0;
  const first = s.sim.addOrder({ orderNumber: 'DUP' });
  s.sim.addOrder({ orderNumber: 'DUP', advancedOptions: { storeId: 102 } });
  s.sim.addOrder({ orderNumber: 'OK-1' });
  const src = await s.createSource({ name: 'odd' });
  await s.pull(src.id);
  t.same(
    (await ordersOf(s, 'odd')).map((o) => o.order_number),
    ['DUP', 'OK-1'],
    'the pull went past the refused order',
  );
  const kinds = async () =>
    await s.db.db
      .selectFrom('alerts')
      .select(['kind', 'data'])
      .where('merchant_id', '=', s.merchantId)
      .orderBy('id')
      .execute();
  const a = await kinds();
  t.same(a.map((x) => x.kind).sort(), ['source_order_held', 'source_order_refused']);
  t.match(a.find((x) => x.kind === 'source_order_refused')!.data, { details: [/items\[0\]\.quantity/] });

  // Fixed in ShipStation: taken at the next pull.
  s.sim.updateOrder(bad.orderId, { items: [{ ...bad.items[0]!, quantity: 1 }] });
  // A split child of an order already pulled.
  s.sim.addOrder({ orderNumber: 'DUP-1', advancedOptions: { parentId: first.orderId, mergedOrSplit: true } });
  await s.pull(src.id);
  t.same(
    (await ordersOf(s, 'odd')).map((o) => o.order_number),
    ['DUP', 'OK-1', 'R-1'],
  );
  t.equal((await kinds()).filter((x) => x.kind === 'source_order_held').length, 2, 'the split child is held');
});
