import { sql } from 'kysely';
import t from 'tap';
import {
  alertsOf,
  createOrder,
  createStore,
  eventsOf,
  lastNotice,
  noticeXml,
  notify,
  orderRow,
  serve,
  setup,
  shipmentsOf,
  shippedOf,
} from '../shipments/helpers.js';

t.test('shipment notices through the ShipStation endpoint', async (t) => {
  const { app, db, merchant, solo } = await setup(t);
  const store = await createStore(app, merchant);
  const other = await createStore(app, merchant, { order_sources: ['amazon'] });
  const soloStore = await createStore(app, solo);

  t.test('the raw request is stored first, without credentials', async (t) => {
    const o = await createOrder(app, merchant);
    const body = noticeXml({
      orderNumber: o.order_number,
      tracking: 'T-RAW',
      items: [{ sku: 'MUG', quantity: 1 }],
    });
    const r = await notify(app, store, {
      query: { order_number: o.order_number, carrier: 'UPS', service: '', tracking_number: 'T-RAW' },
      body,
      contentType: 'application/xml; charset=utf-8',
      credentialsInQuery: true,
    });
    t.equal(r.statusCode, 200, r.body);
    t.match(r.headers['content-type'], /xml/);
    const n = await lastNotice(db);
    t.same(n.query, {
      action: 'shipnotify',
      order_number: o.order_number,
      carrier: 'UPS',
      service: '',
      tracking_number: 'T-RAW',
    });
    t.notMatch(JSON.stringify(n.query), /SS-|ss-/i, 'SS-UserName and SS-Password are never stored');
    t.notMatch(JSON.stringify(n), new RegExp(store.password), 'the password appears nowhere in the notice');
    t.equal(n.body, body);
    t.equal(n.content_type, 'application/xml; charset=utf-8');
    t.equal(n.status, 'applied');
    t.equal(n.order_number, o.order_number);
    t.equal(n.tracking_number, 'T-RAW');
    t.equal(n.store_id, store.id);
    const m = await db
      .selectFrom('merchants')
      .select('id')
      .where('code', '=', merchant.code)
      .executeTakeFirstOrThrow();
    t.equal(n.merchant_id, m.id);
    t.ok(n.shipment_id);
    t.equal(n.order_id, o.id);
    const s = await db
      .selectFrom('stores')
      .select('last_notice_at')
      .where('id', '=', store.id)
      .executeTakeFirstOrThrow();
    t.ok(s.last_notice_at, 'the store health shows the last notice');
  });

  t.test('a notice is kept even when applying it fails', async (t) => {
    const o = await createOrder(app, merchant);
    await sql`
      create function fail_shipment() returns trigger language plpgsql as $$
      begin raise exception 'boom'; end $$
    `.execute(db);
    await sql`create trigger fail_shipment before insert on shipments for each row execute function fail_shipment()`.execute(
      db,
    );
    try {
      const r = await notify(app, store, {
        query: { order_number: o.order_number, tracking_number: 'T-FAIL' },
        body: noticeXml({ orderNumber: o.order_number }),
      });
      t.equal(r.statusCode, 500);
      t.match(r.body, /<\?xml/);
    } finally {
      await sql`drop trigger fail_shipment on shipments`.execute(db);
      await sql`drop function fail_shipment()`.execute(db);
    }
    const n = await lastNotice(db);
    t.equal(n.tracking_number, 'T-FAIL', 'the notice was committed before it was applied');
    t.equal(n.status, 'unmatched', 'and is listed for a person');
    t.match(n.reason, /could not be applied/);
    t.same(await shipmentsOf(db, o.id), []);
    const list = await app.inject({
      method: 'GET',
      url: `/v1/merchants/${merchant.code}/shipnotices`,
      headers: merchant.auth,
    });
    t.ok(list.json().shipnotices.some((x: { id: number }) => x.id === n.id));
    const applied = await app.inject({
      method: 'POST',
      url: `/v1/merchants/${merchant.code}/shipnotices/${n.id}/apply`,
      headers: merchant.auth,
      payload: { order_id: o.id },
    });
    t.equal(applied.statusCode, 200, applied.body);
    t.same(await shippedOf(db, o.id), [2, 1], 'a person applies it later');
  });

  t.test('an unreadable body is kept as unmatched and answered 400', async (t) => {
    const r = await notify(app, store, {
      query: { order_number: 'R-whatever', tracking_number: 'T-BAD' },
      body: '<ShipNotice><OrderNumber>R-1</OrderNumber>',
    });
    t.equal(r.statusCode, 400);
    t.match(r.body, /cannot be read/);
    const n = await lastNotice(db);
    t.equal(n.status, 'unmatched');
    t.match(n.reason, /cannot be read/);
    t.equal(n.body, '<ShipNotice><OrderNumber>R-1</OrderNumber>');
    const nul = await notify(app, store, { query: { order_number: 'R-x' }, body: 'abc\u0000def' });
    t.equal(nul.statusCode, 400);
    t.equal((await lastNotice(db)).body, 'abc\uFFFDdef', 'a NUL byte cannot lose the notice');
  });

  t.test('matching: body OrderID first', async (t) => {
    const a = await createOrder(app, merchant);
    const b = await createOrder(app, merchant);
    const r = await notify(app, store, {
      query: { order_number: b.order_number, tracking_number: 'T-ID' },
      body: noticeXml({ orderId: a.id, orderNumber: b.order_number }),
    });
    t.equal(r.statusCode, 200);
    t.equal((await shipmentsOf(db, a.id)).length, 1);
    t.equal((await shipmentsOf(db, b.id)).length, 0);
    t.match((await lastNotice(db)).reason, /matched by OrderID/);
  });

  t.test('matching: body OrderNumber, then query order_number', async (t) => {
    const a = await createOrder(app, merchant);
    const b = await createOrder(app, merchant);
    await notify(app, store, {
      query: { order_number: b.order_number, tracking_number: 'T-ON1' },
      body: noticeXml({ orderNumber: a.order_number }),
    });
    t.equal((await shipmentsOf(db, a.id)).length, 1, 'the body number before the query number');
    await notify(app, store, {
      query: { order_number: b.order_number, tracking_number: 'T-ON2' },
      body: noticeXml({ orderNumber: 'NOT-OURS' }),
    });
    t.equal((await shipmentsOf(db, b.id)).length, 1, 'an unknown body number falls to the query number');
  });

  t.test('FM14: split-order suffix -1 matches', async (t) => {
    const a = await createOrder(app, merchant, { number: 'SPLIT-100' });
    const r = await notify(app, store, {
      query: { order_number: 'SPLIT-100-1', tracking_number: 'T-SPLIT' },
      body: noticeXml({ orderNumber: 'SPLIT-100-1', items: [{ sku: 'MUG', quantity: 1 }] }),
    });
    t.equal(r.statusCode, 200, r.body);
    t.same(await shippedOf(db, a.id), [1, 0]);
  });

  t.test("matching: without the store's prefix", async (t) => {
    const prefixed = await createStore(app, merchant, { order_number_prefix: 'EU-', priority: 1 });
    const a = await createOrder(app, merchant, { number: 'PX-1' });
    const r = await notify(app, prefixed, {
      query: { order_number: 'EU-PX-1-2', tracking_number: 'T-PFX' },
      body: noticeXml({ orderNumber: 'EU-PX-1-2' }),
    });
    t.equal(r.statusCode, 200, r.body);
    t.same(await shippedOf(db, a.id), [2, 1]);
    await app.inject({
      method: 'DELETE',
      url: `/v1/merchants/${merchant.code}/stores/${prefixed.id}`,
      headers: merchant.auth,
    });
  });

  t.test('matching: orders this store served first; otherwise ambiguous → 404, listed', async (t) => {
    const a = await createOrder(app, merchant, { number: 'DUP-1', source: 'shopify' });
    const b = await createOrder(app, merchant, { number: 'DUP-1', source: 'amazon' });
    const amb = await notify(app, store, {
      query: { order_number: 'DUP-1', tracking_number: 'T-AMB' },
      body: noticeXml({ orderNumber: 'DUP-1' }),
    });
    t.equal(amb.statusCode, 404);
    t.match(amb.body, /ambiguous/);
    const n = await lastNotice(db);
    t.equal(n.status, 'unmatched');
    t.match(n.reason, new RegExp(`ids ${Math.min(a.id, b.id)}, ${Math.max(a.id, b.id)}`));
    t.equal(n.order_number, 'DUP-1');
    t.equal(n.tracking_number, 'T-AMB');

    await serve(db, b.id, other.id);
    const viaOther = await notify(app, other, {
      query: { order_number: 'DUP-1', tracking_number: 'T-SERVED' },
      body: noticeXml({ orderNumber: 'DUP-1' }),
    });
    t.equal(viaOther.statusCode, 200, 'the store that served one of them gets that one');
    t.equal((await shipmentsOf(db, b.id)).length, 1);
    t.equal((await shipmentsOf(db, a.id)).length, 0);
    const viaStore = await notify(app, store, {
      query: { order_number: 'DUP-1', tracking_number: 'T-AMB2' },
      body: noticeXml({ orderNumber: 'DUP-1' }),
    });
    t.equal(viaStore.statusCode, 404, 'another store still sees two candidates');
  });

  t.test('matching: no order → 404 with the reason', async (t) => {
    const r = await notify(app, store, {
      query: { order_number: 'NOPE-1', tracking_number: 'T-NONE' },
      body: noticeXml({ orderNumber: 'NOPE-1' }),
    });
    t.equal(r.statusCode, 404);
    t.match(r.body, /no order of this merchant matches/);
    t.equal((await lastNotice(db)).status, 'unmatched');
  });

  t.test("isolation: a notice to merchant A's store never touches merchant B's orders", async (t) => {
    const mine = await createOrder(app, solo, { number: 'ISO-1' });
    const r = await notify(app, store, {
      query: { order_number: 'ISO-1', tracking_number: 'T-ISO' },
      body: noticeXml({ orderId: mine.id, orderNumber: 'ISO-1' }),
    });
    t.equal(r.statusCode, 404);
    t.same(await shipmentsOf(db, mine.id), []);
    t.same(await shippedOf(db, mine.id), [0, 0]);
    const ok = await notify(app, soloStore, {
      query: { order_number: 'ISO-1', tracking_number: 'T-ISO' },
      body: noticeXml({ orderId: mine.id, orderNumber: 'ISO-1' }),
    });
    t.equal(ok.statusCode, 200, "B's own store applies it");
  });

  t.test('lines: LineItemID before SKU, repeated SKUs fill in order', async (t) => {
    const o = await createOrder(app, merchant, {
      items: [
        { sku: 'SOCK', quantity: 2 },
        { sku: 'SOCK', quantity: 2 },
        { sku: 'HAT', quantity: 1 },
      ],
    });
    await notify(app, store, {
      query: { order_number: o.order_number, tracking_number: 'T-L1' },
      body: noticeXml({
        orderNumber: o.order_number,
        items: [{ lineItemId: o.lines[1]!, sku: 'SOCK', quantity: 1 }],
      }),
    });
    t.same(await shippedOf(db, o.id), [0, 1, 0], 'LineItemID names the second SOCK line');
    await notify(app, store, {
      query: { order_number: o.order_number, tracking_number: 'T-L2' },
      body: noticeXml({ orderNumber: o.order_number, items: [{ sku: 'SOCK', quantity: 3 }] }),
    });
    t.same(await shippedOf(db, o.id), [2, 2, 0], 'SKU fills the first line, then what is left of the second');
    const lines = await db
      .selectFrom('shipment_lines')
      .select(['order_line_id', 'quantity', 'requested_quantity'])
      .where('shipment_id', '=', (await lastNotice(db)).shipment_id!)
      .orderBy('order_line_id')
      .execute();
    t.same(lines, [
      { order_line_id: o.lines[0], quantity: 2, requested_quantity: 2 },
      { order_line_id: o.lines[1], quantity: 1, requested_quantity: 1 },
    ]);
    t.equal((await orderRow(db, o.id)).status, 'new', 'HAT is still to ship');
  });

  t.test('FM13: partial shipments accumulate', async (t) => {
    const o = await createOrder(app, merchant);
    await serve(db, o.id, store.id);
    const first = await notify(app, store, {
      query: { order_number: o.order_number, tracking_number: 'T-P1' },
      body: noticeXml({ orderNumber: o.order_number, items: [{ sku: 'MUG', quantity: 1 }] }),
    });
    t.equal(first.statusCode, 200);
    t.same(await shippedOf(db, o.id), [1, 0]);
    t.equal((await orderRow(db, o.id)).status, 'at_wms', 'a partial shipment leaves the order open');
    await notify(app, store, {
      query: { order_number: o.order_number, tracking_number: 'T-P2' },
      body: noticeXml({ orderNumber: o.order_number, items: [{ sku: 'MUG', quantity: 1 }] }),
    });
    t.same(await shippedOf(db, o.id), [2, 0]);
    t.equal((await orderRow(db, o.id)).status, 'at_wms');
    await notify(app, store, {
      query: { order_number: o.order_number, tracking_number: 'T-P3' },
      body: noticeXml({
        orderNumber: o.order_number,
        items: [{ lineItemId: o.lines[1]!, sku: 'TEA', quantity: 1 }],
      }),
    });
    t.same(await shippedOf(db, o.id), [2, 1]);
    t.equal((await orderRow(db, o.id)).status, 'shipped', 'shipped once every line is covered');
    t.same(
      (await alertsOf(db, o.id)).map((a) => a.kind),
      [],
      'no alert for a normal split shipment',
    );
  });

  t.test('over-shipment is capped, with an alert; unknown items raise an alert', async (t) => {
    const o = await createOrder(app, merchant);
    const r = await notify(app, store, {
      query: { order_number: o.order_number, tracking_number: 'T-OVER' },
      body: noticeXml({
        orderNumber: o.order_number,
        items: [
          { sku: 'MUG', quantity: 5 },
          { sku: 'NOT-SOLD', quantity: 1 },
        ],
      }),
    });
    t.equal(r.statusCode, 200);
    t.same(await shippedOf(db, o.id), [2, 0]);
    const alerts = await alertsOf(db, o.id);
    t.same(alerts.map((a) => a.kind).sort(), ['over_shipment', 'unknown_item']);
    const over = alerts.find((a) => a.kind === 'over_shipment')!;
    t.match(over.message, /5 shipped, 2 counted \(ordered 2/);
    const shipmentId = (await lastNotice(db)).shipment_id!;
    t.match(over.message, new RegExp(`shipment ${shipmentId}:`), 'the message names the shipment');
    t.equal(over.data?.['shipment_id'], shipmentId);
    t.match(over.data, { lines: [{ line_item_id: o.lines[0], requested: 5, applied: 2, ordered: 2 }] });
    t.equal(over.store_id, store.id);
    t.ok(over.notice_id);
    const unknown = alerts.find((a) => a.kind === 'unknown_item')!;
    t.match(unknown.data, { items: [{ sku: 'NOT-SOLD', quantity: 1 }] });
  });

  t.test('FM19: empty body ships everything', async (t) => {
    const o = await createOrder(app, merchant, {
      items: [
        { sku: 'MUG', quantity: 2 },
        { sku: 'DISCOUNT', quantity: 1, adjustment: true },
        { sku: 'TEA', quantity: 3 },
      ],
    });
    await notify(app, store, {
      query: { order_number: o.order_number, tracking_number: 'T-E0' },
      body: noticeXml({ orderNumber: o.order_number, items: [{ sku: 'TEA', quantity: 1 }] }),
    });
    const r = await notify(app, store, {
      query: {
        order_number: o.order_number,
        carrier: 'USPS',
        service: 'Priority',
        tracking_number: 'T-EMPTY',
      },
    });
    t.equal(r.statusCode, 200, r.body);
    t.same(await shippedOf(db, o.id), [2, 0, 3], 'what remained, adjustments excluded');
    const s = (await shipmentsOf(db, o.id)).at(-1)!;
    t.same([s.carrier, s.service, s.tracking_number, s.ship_date], ['USPS', 'Priority', 'T-EMPTY', null]);
    t.equal((await orderRow(db, o.id)).status, 'shipped');
    const n = await lastNotice(db);
    t.equal(n.body, '');
    t.equal(n.content_type, null);
  });

  t.test('no Items element ships everything; query and body precedence', async (t) => {
    const o = await createOrder(app, merchant);
    const r = await notify(app, store, {
      query: { order_number: o.order_number, carrier: 'FedEx', service: '', tracking_number: 'T-NOITEMS' },
      body: noticeXml({
        orderNumber: o.order_number,
        carrier: 'UPS',
        service: 'UPS Ground',
        tracking: 'IGNORED',
        notify: true,
        cost: '12.5',
        labelDate: '12/14/2022 03:00',
        shipDate: '12/14/2022',
      }),
      contentType: 'application/x-www-form-urlencoded',
    });
    t.equal(r.statusCode, 200, r.body);
    t.same(await shippedOf(db, o.id), [2, 1]);
    const s = (await shipmentsOf(db, o.id))[0]!;
    t.equal(s.carrier, 'FedEx', 'carrier from the query');
    t.equal(s.service, 'UPS Ground', 'an empty query service takes the body one');
    t.equal(s.tracking_number, 'T-NOITEMS', 'tracking from the query');
    t.equal(s.notify_customer, true);
    t.equal(s.shipping_cost, '12.50');
    t.equal(s.ship_date, '2022-12-14');
    t.same(s.label_created_at, new Date('2022-12-14T03:00:00Z'));
    t.equal(s.store_id, store.id);
    t.equal(s.notice_id, (await lastNotice(db)).id);
  });

  t.test('a form-encoded body and a body with no content type are read', async (t) => {
    const a = await createOrder(app, merchant);
    const xml = noticeXml({ orderNumber: a.order_number, tracking: 'T-FORM' });
    const r = await notify(app, store, {
      body: `xml=${encodeURIComponent(xml)}`,
      contentType: 'application/x-www-form-urlencoded',
    });
    t.equal(r.statusCode, 200, r.body);
    t.same(await shippedOf(db, a.id), [2, 1]);
    const b = await createOrder(app, merchant);
    const none = await app.inject({
      method: 'POST',
      url: `/shipstation?action=shipnotify&order_number=${b.order_number}&tracking_number=T-NOCT`,
      headers: store.auth,
      payload: Buffer.from(noticeXml({ orderNumber: b.order_number, items: [{ sku: 'TEA', quantity: 1 }] })),
    });
    t.equal(none.statusCode, 200, none.body);
    t.same(await shippedOf(db, b.id), [0, 1]);
  });

  t.test('FM12: a repeated notice answers 200 and changes nothing', async (t) => {
    const o = await createOrder(app, merchant);
    const send = () =>
      notify(app, store, {
        query: { order_number: o.order_number, carrier: 'UPS', service: '', tracking_number: 'T-REP' },
        body: noticeXml({ orderNumber: o.order_number, items: [{ sku: 'MUG', quantity: 1 }] }),
      });
    t.equal((await send()).statusCode, 200);
    const before = {
      order: await orderRow(db, o.id),
      shipped: await shippedOf(db, o.id),
      events: (await eventsOf(db, o.id)).length,
      alerts: (await alertsOf(db, o.id)).length,
    };
    const again = await send();
    t.equal(again.statusCode, 200);
    t.match(again.body, /nothing changed/);
    t.same(await shippedOf(db, o.id), before.shipped);
    t.equal((await shipmentsOf(db, o.id)).length, 1);
    t.equal((await eventsOf(db, o.id)).length, before.events);
    t.equal((await alertsOf(db, o.id)).length, before.alerts);
    t.same(await orderRow(db, o.id), before.order, 'not even updated_at moves');
    const n = await lastNotice(db);
    t.equal(n.status, 'duplicate', 'the repeat is stored too, marked duplicate');
    t.equal(n.shipment_id, (await shipmentsOf(db, o.id))[0]!.id);
    const otherTracking = await notify(app, store, {
      query: { order_number: o.order_number, tracking_number: 'T-REP-2' },
      body: noticeXml({ orderNumber: o.order_number, items: [{ sku: 'MUG', quantity: 1 }] }),
    });
    t.equal(otherTracking.statusCode, 200);
    t.same(await shippedOf(db, o.id), [2, 0], 'another tracking number is another package');
  });

  t.test('FM12: ten identical notices at once make one shipment', async (t) => {
    const o = await createOrder(app, merchant, { items: [{ sku: 'MUG', quantity: 10 }] });
    const rs = await Promise.all(
      Array.from({ length: 10 }, () =>
        notify(app, store, {
          query: { order_number: o.order_number, tracking_number: 'T-CONC' },
          body: noticeXml({ orderNumber: o.order_number, items: [{ sku: 'MUG', quantity: 3 }] }),
        }),
      ),
    );
    t.same(
      rs.map((r) => r.statusCode),
      Array(10).fill(200),
    );
    t.equal((await shipmentsOf(db, o.id)).length, 1);
    t.same(await shippedOf(db, o.id), [3]);
    const statuses = await db
      .selectFrom('ship_notices')
      .select('status')
      .where('tracking_number', '=', 'T-CONC')
      .execute();
    t.same(statuses.map((s) => s.status).sort(), ['applied', ...Array(9).fill('duplicate')]);
  });

  t.test('ten different packages of one order at once accumulate under the order lock', async (t) => {
    const o = await createOrder(app, merchant, { items: [{ sku: 'MUG', quantity: 6 }] });
    const rs = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        notify(app, store, {
          query: { order_number: o.order_number, tracking_number: `T-PAR-${i}` },
          body: noticeXml({ orderNumber: o.order_number, items: [{ sku: 'MUG', quantity: 1 }] }),
        }),
      ),
    );
    t.same(
      rs.map((r) => r.statusCode),
      Array(10).fill(200),
    );
    t.same(await shippedOf(db, o.id), [6], 'capped at the ordered quantity, none lost');
    const shipments = await shipmentsOf(db, o.id);
    t.equal(shipments.length, 10, 'every package is recorded');
    t.equal((await alertsOf(db, o.id)).filter((a) => a.kind === 'over_shipment').length, 4);
    t.equal((await orderRow(db, o.id)).status, 'shipped');
    const shippedEvents = (await eventsOf(db, o.id)).filter((e) => e.type === 'shipped');
    t.equal(shippedEvents.length, 1, 'one transition to shipped');
  });

  t.test('empty tracking: the same label date, ship date and cost make the same notice', async (t) => {
    const o = await createOrder(app, merchant, { items: [{ sku: 'MUG', quantity: 10 }] });
    const send = (over: { cost?: string; labelDate?: string; shipDate?: string }) =>
      notify(app, store, {
        query: { order_number: o.order_number, tracking_number: '' },
        body: noticeXml({ orderNumber: o.order_number, items: [{ sku: 'MUG', quantity: 1 }], ...over }),
      });
    await send({});
    await send({});
    t.same(await shippedOf(db, o.id), [1], 'repeat');
    await send({ cost: '3.00' });
    t.same(await shippedOf(db, o.id), [2], 'another cost');
    await send({ labelDate: '07/15/2025 17:00' });
    t.same(await shippedOf(db, o.id), [3], 'another label date');
    await send({ shipDate: '07/17/2025' });
    t.same(await shippedOf(db, o.id), [4], 'another ship date');
    await send({ shipDate: '07/17/2025' });
    t.same(await shippedOf(db, o.id), [4], 'and its repeat');
  });

  t.test('status: await_payment → shipped with an alert', async (t) => {
    const o = await createOrder(app, merchant, { status: 'await_payment' });
    await notify(app, store, {
      query: { order_number: o.order_number, tracking_number: 'T-UNPAID' },
      body: noticeXml({ orderNumber: o.order_number }),
    });
    t.equal((await orderRow(db, o.id)).status, 'shipped');
    t.same(
      (await alertsOf(db, o.id)).map((a) => a.kind),
      ['shipped_while_await_payment'],
    );
  });

  t.test('status: on_hold → shipped with an alert; a partial one alerts and keeps the hold', async (t) => {
    const o = await createOrder(app, merchant);
    await serve(db, o.id, store.id);
    const hold = await app.inject({
      method: 'POST',
      url: `/v1/merchants/${merchant.code}/orders/${o.id}/hold`,
      headers: merchant.auth,
    });
    t.equal(hold.statusCode, 200, hold.body);
    await notify(app, store, {
      query: { order_number: o.order_number, tracking_number: 'T-HELD1' },
      body: noticeXml({ orderNumber: o.order_number, items: [{ sku: 'MUG', quantity: 2 }] }),
    });
    t.match(await orderRow(db, o.id), { status: 'on_hold', held_from: 'at_wms' }, 'partial: still held');
    await notify(app, store, {
      query: { order_number: o.order_number, tracking_number: 'T-HELD2' },
      body: noticeXml({ orderNumber: o.order_number, items: [{ sku: 'TEA', quantity: 1 }] }),
    });
    t.equal((await orderRow(db, o.id)).status, 'shipped');
    t.same(
      (await alertsOf(db, o.id)).map((a) => a.kind),
      ['partial_shipment_while_on_hold', 'shipped_while_on_hold'],
    );
  });

  t.test('status: canceled stays canceled; the shipment is recorded with an alert', async (t) => {
    const o = await createOrder(app, merchant);
    const c = await app.inject({
      method: 'POST',
      url: `/v1/merchants/${merchant.code}/orders/${o.id}/cancel`,
      headers: merchant.auth,
    });
    t.equal(c.statusCode, 200, c.body);
    const r = await notify(app, store, {
      query: { order_number: o.order_number, tracking_number: 'T-CANCEL' },
      body: noticeXml({ orderNumber: o.order_number }),
    });
    t.equal(r.statusCode, 200, 'a notice is never refused for the status');
    t.equal((await orderRow(db, o.id)).status, 'canceled');
    t.same(await shippedOf(db, o.id), [2, 1]);
    t.equal((await shipmentsOf(db, o.id)).length, 1);
    t.same(
      (await alertsOf(db, o.id)).map((a) => a.kind),
      ['shipped_after_cancel'],
    );
  });

  t.test('status: confirmed → shipped on a further notice', async (t) => {
    const o = await createOrder(app, merchant);
    await notify(app, store, {
      query: { order_number: o.order_number, tracking_number: 'T-C1' },
      body: noticeXml({ orderNumber: o.order_number }),
    });
    const s = (await shipmentsOf(db, o.id))[0]!;
    const conf = await app.inject({
      method: 'POST',
      url: `/v1/merchants/${merchant.code}/shipments/confirm`,
      headers: merchant.auth,
      payload: { shipment_ids: [s.id] },
    });
    t.same(conf.json(), { confirmed: 1 });
    t.equal((await orderRow(db, o.id)).status, 'confirmed');
    const again = await notify(app, store, {
      query: { order_number: o.order_number, tracking_number: 'T-C2' },
      body: noticeXml({ orderNumber: o.order_number, items: [{ sku: 'MUG', quantity: 1 }] }),
    });
    t.equal(again.statusCode, 200);
    t.equal((await orderRow(db, o.id)).status, 'shipped');
    t.same(
      (await alertsOf(db, o.id)).map((a) => a.kind),
      ['over_shipment'],
    );
  });

  t.test(
    'shipment bookkeeping never moves last_modified; updated_at moves; events are written',
    async (t) => {
      const o = await createOrder(app, merchant);
      await serve(db, o.id, store.id);
      const before = await orderRow(db, o.id);
      await new Promise((r) => setTimeout(r, 15));
      await notify(app, store, {
        query: { order_number: o.order_number, tracking_number: 'T-LM1' },
        body: noticeXml({ orderNumber: o.order_number, items: [{ sku: 'MUG', quantity: 1 }] }),
      });
      await notify(app, store, {
        query: { order_number: o.order_number, tracking_number: 'T-LM2' },
        body: noticeXml({ orderNumber: o.order_number }),
      });
      const after = await orderRow(db, o.id);
      t.same(after.last_modified, before.last_modified, 'last_modified unchanged');
      t.ok(after.updated_at > before.updated_at, 'updated_at moved');
      const events = (await eventsOf(db, o.id)).filter((e) => e.actor_type === 'store');
      t.same(
        events.map((e) => [e.type, e.from_status, e.to_status, e.actor]),
        [
          ['shipment', null, null, String(store.id)],
          ['shipment', null, null, String(store.id)],
          ['shipped', 'at_wms', 'shipped', String(store.id)],
        ],
      );
      t.match(events[0]!.data, {
        tracking_number: 'T-LM1',
        lines: [{ line_item_id: o.lines[0], quantity: 1 }],
      });
      const api = await app.inject({
        method: 'GET',
        url: `/v1/merchants/${merchant.code}/orders/${o.id}/events`,
        headers: merchant.auth,
      });
      t.equal(api.statusCode, 200);
      t.ok(JSON.stringify(api.json()).includes('T-LM1'), 'readable through the orders API');
    },
  );

  t.test(
    'a notice through SS-UserName/SS-Password with a wrong password is refused and not stored',
    async (t) => {
      const count = async () =>
        (
          await db
            .selectFrom('ship_notices')
            .select(sql<number>`count(*)::int`.as('n'))
            .executeTakeFirstOrThrow()
        ).n;
      const before = await count();
      const r = await app.inject({
        method: 'POST',
        url: `/shipstation?action=shipnotify&order_number=X&SS-UserName=${store.username}&SS-Password=wrong`,
        payload: '<ShipNotice/>',
        headers: { 'content-type': 'text/xml' },
      });
      t.equal(r.statusCode, 401);
      t.equal(await count(), before);
    },
  );
});
