import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { DateTime } from 'luxon';
import t from 'tap';
import { createStore, noticeXml, notify } from '../shipments/helpers.js';
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

t.test('tag names are resolved again when not found', async (t) => {
  const s = await sourceTest(t);
  const early = s.sim.addOrder({ orderNumber: 'T-1' });
  const src = await s.createSource({ name: 'later-tag', tag: { mode: 'include', name: 'Ship Me' } });
  await s.pull(src.id);
  t.same(await ordersOf(s, 'later-tag'), [], 'no tag of that name yet: nothing taken');

  // The tag is made in ShipStation after the source: found by name at the next pull.
  s.sim.tagOrder(early.orderId, 'Ship Me', true);
  await s.pull(src.id);
  t.same(
    (await ordersOf(s, 'later-tag')).map((o) => o.order_number),
    ['T-1'],
  );

  // An order carrying a tag id the listing did not have makes the pull read the tags again.
  const odd = s.sim.addOrder({ orderNumber: 'T-2', tags: ['Ship Me'] });
  s.sim.orders.get(odd.orderId)!.tagIds = [...(odd.tagIds ?? []), 7999];
  const before = s.sim.answered('/accounts/listtags').length;
  await s.pull(src.id);
  t.equal(s.sim.answered('/accounts/listtags').length - before, 2, 'listed at the start, and again for 7999');
  t.same(
    (await ordersOf(s, 'later-tag')).map((o) => o.order_number),
    ['T-1', 'T-2'],
  );
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
  const o6 = s.sim.addOrder({ orderNumber: 'C-6' });
  await createStore(s.app, s.acc.merchant);
  const src = await s.createSource({ name: 'chg' });
  await s.pull(src.id);
  const ids = new Map((await ordersOf(s, 'chg')).map((o) => [o.order_number, o.id]));
  t.equal(ids.size, 6);
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
    )
      .map((a) => `${a.kind}:${a.order_id}`)
      .sort();

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

  await sql`update orders set served_store_id = store_id, served_at = now(), status = 'at_wms' where id = ${ids.get('C-6')!}`.execute(
    s.db.db,
  );

  await new Promise((r) => setTimeout(r, 5));
  s.sim.updateOrder(o1.orderId, { orderStatus: 'cancelled' });
  s.sim.updateOrder(o6.orderId, { orderStatus: 'shipped' });
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
    [
      `source_cancel_after_ship:${ids.get('C-3')}`,
      `source_change_refused:${ids.get('C-5')}`,
      `source_shipped_elsewhere:${ids.get('C-6')}`,
    ],
    '…with an alert; changed lines of a served order are refused with an alert; and an order the warehouse has, shipped in ShipStation, raises one',
  );
  t.equal(await status('C-6'), 'at_wms', 'the warehouse has it: it is not canceled under its feet');

  s.sim.updateOrder(o2.orderId, { orderStatus: 'awaiting_shipment' });
  await s.pull(src.id);
  t.equal(await status('C-2'), 'at_wms', "ShipStation's release lifts the hold it placed");
  t.equal((await alerts()).length, 3, 'nothing raised twice');
});

t.test('a refused order is stored as refused with its details, and the pull goes past it', async (t) => {
  const s = await sourceTest(t);
  const bad = s.sim.addOrder({ orderNumber: 'R-1' });
  bad.items[0]!.quantity = 0;
  const worse = s.sim.addOrder({ orderNumber: 'R-2' });
  worse.shipTo = { ...worse.shipTo, country: 'Narnia' };
  s.sim.addOrder({ orderNumber: 'OK-1' });
  const src = await s.createSource({ name: 'refusing' });
  await s.pull(src.id);
  t.same(
    (await ordersOf(s, 'refusing')).map((o) => o.order_number),
    ['OK-1'],
    'the pull went past the refused orders',
  );
  const url = `/v1/merchants/${s.acc.merchant.code}/sources/${src.id}/orders`;
  const get = (query: string) =>
    s.app.inject({ method: 'GET', url: `${url}${query}`, headers: s.acc.merchant.auth });
  const first = await get('?state=refused&limit=1');
  t.equal(first.statusCode, 200, first.body);
  t.match(first.json().orders, [
    {
      ss_order_id: bad.orderId,
      order_number: 'R-1',
      state: 'refused',
      order_id: null,
      details: [{ path: 'items[0].quantity', message: String }],
      reason: /items\[0\]\.quantity/,
    },
  ]);
  t.type(first.json().next_cursor, 'string', 'one per page: a cursor to the next');
  const second = await get(`?state=refused&limit=1&cursor=${first.json().next_cursor}`);
  t.match(second.json(), {
    orders: [{ ss_order_id: worse.orderId, state: 'refused', details: [{ path: /ship_to\.country/ }] }],
    next_cursor: null,
  });
  t.same(
    (await get('')).json().orders.map((o: { order_number: string }) => o.order_number),
    ['R-1', 'R-2'],
    'by default the refused and held ones',
  );
  t.equal(
    (await get('?state=taken')).json().orders[0].order_number,
    'OK-1',
    'taken ones on request, with their order',
  );
  const wrong = await get('?state=refused,lost');
  t.equal(wrong.statusCode, 400);
  t.match(wrong.json().error.details, [{ path: /state/, message: /lost/ }]);
  const alerts = await s.db.db
    .selectFrom('alerts')
    .select(['kind', 'data'])
    .where('merchant_id', '=', s.merchantId)
    .execute();
  t.same(
    alerts.map((a) => a.kind),
    ['source_order_refused', 'source_order_refused'],
  );
  t.match(alerts[0]!.data, { ss_order_id: bad.orderId, details: [{ path: 'items[0].quantity' }] });

  // Fixed in ShipStation: taken at the next pull, and no longer listed as refused.
  s.sim.updateOrder(bad.orderId, { items: [{ ...bad.items[0]!, quantity: 1 }] });
  await s.pull(src.id);
  t.same(
    (await ordersOf(s, 'refusing')).map((o) => o.order_number),
    ['OK-1', 'R-1'],
  );
  t.same(
    (await get('')).json().orders.map((o: { order_number: string }) => o.order_number),
    ['R-2'],
  );
});

t.test(
  'a colliding number or a split child is stored withheld, exported nowhere, until released',
  async (t) => {
    const s = await sourceTest(t);
    const store = await createStore(s.app, s.acc.merchant);
    const first = s.sim.addOrder({ orderNumber: 'DUP' });
    const twin = s.sim.addOrder({ orderNumber: 'DUP', advancedOptions: { storeId: 102 } });
    const src = await s.createSource({ name: 'odd' });
    await s.pull(src.id);
    const apart = `DUP-ss${twin.orderId}`;
    const stored = await ordersOf(s, 'odd');
    t.same(
      stored.map((o) => o.order_number),
      ['DUP', apart],
      'the second order with the number is stored, under a number of its own',
    );
    const original = stored[0]!;
    const withheldId = stored[1]!.id;
    const order = async (id: number) =>
      (
        await s.app.inject({
          method: 'GET',
          url: `/v1/merchants/${s.acc.merchant.code}/orders/${id}`,
          headers: s.acc.merchant.auth,
        })
      ).json();
    const held = await order(withheldId);
    t.match(held.routing, {
      store_id: null,
      withheld: new RegExp(`number DUP is already order ${original.id}'s`),
    });
    t.equal(held.routing.reason, held.routing.withheld, 'its routing reason says why');
    t.match(await order(original.id), { routing: { store_id: store.id, withheld: null } });

    const alerts = async () =>
      s.db.db
        .selectFrom('alerts')
        .select(['kind', 'order_id', 'message', 'dismissed_at'])
        .where('merchant_id', '=', s.merchantId)
        .orderBy('id')
        .execute();
    const [alert, ...others] = await alerts();
    t.same(others, []);
    t.match(alert, { kind: 'source_order_held', order_id: withheldId, dismissed_at: null });
    t.match(alert!.message, /exported nowhere/);
    t.match(alert!.message, new RegExp(`/sources/${src.id}/orders/${twin.orderId}/release`));
    const list = await s.app.inject({
      method: 'GET',
      url: `/v1/merchants/${s.acc.merchant.code}/sources/${src.id}/orders?state=held`,
      headers: s.acc.merchant.auth,
    });
    t.match(list.json().orders, [
      { ss_order_id: twin.orderId, state: 'held', order_id: withheldId, reason: held.routing.withheld },
    ]);

    // A split child of an order already pulled: withheld under its own number.
    const child = s.sim.addOrder({
      orderNumber: 'DUP-1',
      advancedOptions: { parentId: first.orderId, mergedOrSplit: true },
    });
    await s.pull(src.id);
    const childOrder = (await ordersOf(s, 'odd')).find((o) => o.order_number === 'DUP-1')!;
    t.match((await order(childOrder.id)).routing, { store_id: null, withheld: /split or merged/ });
    t.equal((await alerts()).length, 2, 'the split child is held with an alert');

    // Exported nowhere.
    const exported = await exportNumbers(s.app, store);
    t.same(exported, ['DUP'], 'only the order that routes');
    // Never matched by number: a notice for DUP-1 goes to DUP (its number less the split suffix).
    const r = await notify(s.app, store, {
      query: { order_number: 'DUP-1', carrier: 'UPS', service: 'Ground', tracking_number: '1ZSPLIT' },
      body: noticeXml({ orderNumber: 'DUP-1', tracking: '1ZSPLIT' }),
    });
    t.equal(r.statusCode, 200, r.body);
    const shipment = await s.db.db
      .selectFrom('shipments')
      .select('order_id')
      .where('tracking_number', '=', '1ZSPLIT')
      .executeTakeFirstOrThrow();
    t.equal(shipment.order_id, original.id, 'applied to the routed order, not the withheld child');

    // Pulling again changes nothing; a change in ShipStation applies to the withheld order, which
    // keeps its number.
    await s.pull(src.id);
    t.same(
      (await alerts()).map((a) => a.kind),
      ['source_order_held', 'source_order_held'],
      'nothing raised twice',
    );
    s.sim.updateOrder(twin.orderId, { shipTo: { ...twin.shipTo, street1: '7 Twin Lane' } });
    await s.pull(src.id);
    const edited = await order(withheldId);
    t.match(edited, {
      order_number: apart,
      ship_to: { street1: '7 Twin Lane' },
      routing: { store_id: null },
    });
    t.equal((await alerts()).length, 2, 'the edit applied without a refusal');

    // Released by a person: routed as usual, exported, its alert dismissed.
    const release = (ssOrderId: number) =>
      s.app.inject({
        method: 'POST',
        url: `/v1/merchants/${s.acc.merchant.code}/sources/${src.id}/orders/${ssOrderId}/release`,
        headers: s.acc.merchant.auth,
      });
    const released = await release(twin.orderId);
    t.equal(released.statusCode, 200, released.body);
    t.match(released.json(), {
      source_order: { ss_order_id: twin.orderId, state: 'taken', reason: null },
      order: { id: withheldId, routing: { store_id: store.id, withheld: null, reason: null } },
    });
    t.match((await alerts())[0], { order_id: withheldId, dismissed_at: Date });
    t.equal((await alerts())[1]!.dismissed_at, null, "the child's alert stays");
    t.same((await exportNumbers(s.app, store)).sort(), ['DUP', apart]);
    const events = await s.db.db
      .selectFrom('order_events')
      .select(['type', 'actor_type'])
      .where('order_id', '=', withheldId)
      .orderBy('id')
      .execute();
    t.match(
      events.map((e) => e.type),
      ['created', 'withheld', 'routed', 'replaced', 'withheld_released', 'routed'],
    );
    t.equal(events[4]!.actor_type, 'credential', 'released by a person');

    t.equal((await release(twin.orderId)).statusCode, 409, 'released once');
    t.equal((await release(999_999)).statusCode, 404);
    const other = await s.app.inject({
      method: 'POST',
      url: `/v1/merchants/${s.acc.solo.code}/sources/${src.id}/orders/${child.orderId}/release`,
      headers: s.acc.solo.auth,
    });
    t.equal(other.statusCode, 404, "another merchant cannot release this source's orders");
    const later = await s.app.inject({
      method: 'GET',
      url: `/v1/merchants/${s.acc.merchant.code}/sources/${src.id}/orders?state=held`,
      headers: s.acc.merchant.auth,
    });
    t.same(
      later.json().orders.map((o: { ss_order_id: number }) => o.ss_order_id),
      [child.orderId],
    );
  },
);

async function exportNumbers(app: FastifyInstance, store: { auth: { authorization: string } }) {
  const fmt = (d: DateTime) => d.toUTC().toFormat('MM/dd/yyyy HH:mm');
  const now = DateTime.utc();
  const r = await app.inject({
    method: 'GET',
    url: `/shipstation?${new URLSearchParams({ action: 'export', start_date: fmt(now.minus({ hours: 1 })), end_date: fmt(now.plus({ hours: 1 })), page: '1' })}`,
    headers: store.auth,
  });
  if (r.statusCode !== 200) throw new Error(`export: ${r.statusCode} ${r.body}`);
  return [...r.body.matchAll(/<OrderNumber><!\[CDATA\[([^\]]*)\]\]><\/OrderNumber>/g)].map((m) => m[1]!);
}
