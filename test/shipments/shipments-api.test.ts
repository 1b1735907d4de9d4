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
} from './helpers.js';

const SHIPMENT_KEYS = [
  'id',
  'order_id',
  'order_number',
  'order_source',
  'store_id',
  'carrier',
  'service',
  'tracking_number',
  'ship_date',
  'label_created_at',
  'shipping_cost',
  'notify_customer',
  'confirmed_at',
  'voided_at',
  'items',
];

t.test('shipments, notices and alerts API', async (t) => {
  const { app, db, merchant, solo, warehouse } = await setup(t);
  const store = await createStore(app, merchant);
  const soloStore = await createStore(app, solo);
  const base = `/v1/merchants/${merchant.code}`;
  const get = (path: string, who = merchant) =>
    app.inject({ method: 'GET', url: `${base}${path}`, headers: who.auth });
  const post = (path: string, payload?: object, who = merchant) =>
    app.inject({
      method: 'POST',
      url: `${base}${path}`,
      headers: who.auth,
      ...(payload === undefined ? {} : { payload }),
    });
  const ship = async (
    o: { order_number: string },
    tracking: string,
    items?: { sku: string; quantity: number }[],
    via = store,
  ) => {
    const r = await notify(app, via, {
      query: { order_number: o.order_number, carrier: 'UPS', service: '', tracking_number: tracking },
      body: noticeXml({ orderNumber: o.order_number, ...(items ? { items } : {}) }),
    });
    if (r.statusCode !== 200) throw new Error(`notify ${r.statusCode} ${r.body}`);
    return (await lastNotice(db)).shipment_id!;
  };

  t.test('pickup: the §6.1 shape, unconfirmed by default, cursor pages', async (t) => {
    const o1 = await createOrder(app, merchant, { source: 'shopify-us' });
    const o2 = await createOrder(app, merchant);
    const s1 = await ship(o1, 'PK-1', [{ sku: 'MUG', quantity: 1 }]);
    const s2 = await ship(o1, 'PK-2', [{ sku: 'TEA', quantity: 1 }]);
    const s3 = await ship(o2, 'PK-3');

    const all = await get('/shipments?limit=500');
    t.equal(all.statusCode, 200);
    const list = all.json().shipments as Record<string, unknown>[];
    const first = list.find((s) => s['id'] === s1)!;
    for (const k of SHIPMENT_KEYS) t.ok(k in first, `shipment has ${k}`);
    t.match(first, {
      order_id: o1.id,
      order_number: o1.order_number,
      order_source: 'shopify-us',
      store_id: store.id,
      carrier: 'UPS',
      service: 'UPS Ground',
      tracking_number: 'PK-1',
      ship_date: '2025-07-16',
      label_created_at: '2025-07-15T16:20:00.000Z',
      shipping_cost: '9.12',
      notify_customer: false,
      confirmed_at: null,
      voided_at: null,
      items: [{ line_id: 'ln-1', line_item_id: o1.lines[0], sku: 'MUG', name: 'Item MUG', quantity: 1 }],
    });
    const third = list.find((s) => s['id'] === s3)!;
    t.same(
      (third['items'] as { sku: string; quantity: number }[]).map((i) => [i.sku, i.quantity]),
      [
        ['MUG', 2],
        ['TEA', 1],
      ],
      'items in line order',
    );

    const ids: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r = await get(`/shipments?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      t.equal(r.statusCode, 200);
      const j = r.json();
      t.ok(j.shipments.length <= 2);
      ids.push(...j.shipments.map((s: { id: number }) => s.id));
      cursor = j.next_cursor;
      pages += 1;
    } while (cursor !== null && pages < 50);
    t.same(
      ids,
      list.map((s) => s['id']),
      'pages of 2 give the same list, in id order, without repeats',
    );
    t.ok(ids.includes(s2));

    const byOrder = await get(`/shipments?order_id=${o1.id}`);
    t.same(
      byOrder.json().shipments.map((s: { id: number }) => s.id),
      [s1, s2],
    );
    const bad = await get('/shipments?cursor=nonsense');
    t.equal(bad.statusCode, 400);
    t.equal(bad.json().error.details[0].path, 'query.cursor');
    const big = await get('/shipments?limit=501');
    t.equal(big.statusCode, 400);
  });

  t.test('confirm: counts only unconfirmed shipments of the caller; shipped → confirmed', async (t) => {
    const o = await createOrder(app, merchant);
    const a = await ship(o, 'CF-1', [{ sku: 'MUG', quantity: 2 }]);
    const b = await ship(o, 'CF-2', [{ sku: 'TEA', quantity: 1 }]);
    t.equal((await orderRow(db, o.id)).status, 'shipped');
    const soloOrder = await createOrder(app, solo);
    const foreign = await ship(soloOrder, 'CF-X', undefined, soloStore);

    const r1 = await post('/shipments/confirm', { shipment_ids: [a, foreign, 999999] });
    t.same(r1.json(), { confirmed: 1 }, "another merchant's and unknown ids are not counted");
    t.equal((await orderRow(db, o.id)).status, 'shipped', 'one shipment still awaits pickup');
    t.equal(
      (await shipmentsOf(db, soloOrder.id))[0]!.confirmed_at,
      null,
      'the foreign shipment is untouched',
    );

    const r2 = await post('/shipments/confirm', { shipment_ids: [a, b, b] });
    t.same(r2.json(), { confirmed: 1 }, 'already confirmed is not counted');
    t.equal((await orderRow(db, o.id)).status, 'confirmed');
    const events = await eventsOf(db, o.id);
    t.match(events.at(-1), {
      type: 'confirmed',
      from_status: 'shipped',
      to_status: 'confirmed',
      actor_type: 'credential',
    });
    t.equal(events.at(-1)!.actor, merchant.credential.api_user);

    const pickup = await get('/shipments?limit=500');
    t.notOk(
      pickup.json().shipments.some((s: { id: number }) => s.id === a || s.id === b),
      'confirmed shipments leave the pickup list',
    );
    const confirmed = await get('/shipments?status=confirmed&limit=500');
    t.ok(
      confirmed
        .json()
        .shipments.some((s: { id: number; confirmed_at: string }) => s.id === a && s.confirmed_at),
    );
    const empty = await post('/shipments/confirm', { shipment_ids: [] });
    t.equal(empty.statusCode, 400);
    t.equal(empty.json().error.details[0].path, 'shipment_ids');
  });

  t.test('confirm: a partly shipped order keeps its status', async (t) => {
    const o = await createOrder(app, merchant);
    await serve(db, o.id, store.id);
    const a = await ship(o, 'CP-1', [{ sku: 'MUG', quantity: 1 }]);
    t.same((await post('/shipments/confirm', { shipment_ids: [a] })).json(), { confirmed: 1 });
    t.equal((await orderRow(db, o.id)).status, 'at_wms');
  });

  t.test('void: quantities and status recomputed; twice → 409', async (t) => {
    const o = await createOrder(app, merchant);
    await serve(db, o.id, store.id);
    const before = await orderRow(db, o.id);
    const a = await ship(o, 'VD-1', [{ sku: 'MUG', quantity: 2 }]);
    const b = await ship(o, 'VD-2', [{ sku: 'TEA', quantity: 1 }]);
    t.equal((await orderRow(db, o.id)).status, 'shipped');
    const r = await post(`/shipments/${b}/void`);
    t.equal(r.statusCode, 200, r.body);
    t.ok(r.json().voided_at);
    t.equal(r.json().id, b);
    t.same(await shippedOf(db, o.id), [2, 0]);
    const after = await orderRow(db, o.id);
    t.equal(after.status, 'at_wms', 'a served order reopens to at_wms');
    t.same(after.last_modified, before.last_modified, 'voiding does not move last_modified');
    const twice = await post(`/shipments/${b}/void`);
    t.equal(twice.statusCode, 409);
    t.match(twice.json().error.message, /already voided/);
    const events = await eventsOf(db, o.id);
    t.match(events.slice(-2), [
      { type: 'shipment_voided', data: { shipment_id: b } },
      { type: 'reopened', from_status: 'shipped', to_status: 'at_wms' },
    ]);
    const voided = await get('/shipments?status=voided&limit=500');
    t.ok(voided.json().shipments.some((s: { id: number }) => s.id === b));
    const pickup = await get('/shipments?limit=500');
    t.notOk(
      pickup.json().shipments.some((s: { id: number }) => s.id === b),
      'a voided shipment is not picked up',
    );
    t.ok(pickup.json().shipments.some((s: { id: number }) => s.id === a));
  });

  t.test('void: an order shipped while unpaid reopens unpaid; while held, held', async (t) => {
    const unpaid = await createOrder(app, merchant, { status: 'await_payment' });
    const s = await ship(unpaid, 'VU-1');
    t.equal((await orderRow(db, unpaid.id)).status, 'shipped');
    await post(`/shipments/${s}/void`);
    t.equal((await orderRow(db, unpaid.id)).status, 'await_payment', 'a void does not pay the order');

    const held = await createOrder(app, merchant);
    await serve(db, held.id, store.id);
    await post(`/orders/${held.id}/hold`);
    const h = await ship(held, 'VH-1');
    t.match(await orderRow(db, held.id), { status: 'shipped' });
    await post(`/shipments/${h}/void`);
    t.match(await orderRow(db, held.id), { status: 'on_hold', held_from: 'at_wms' });
    const release = await post(`/orders/${held.id}/release`);
    t.equal(release.statusCode, 200, release.body);
    t.equal((await orderRow(db, held.id)).status, 'at_wms', 'released back to where it was held from');

    const fresh = await createOrder(app, merchant);
    const f = await ship(fresh, 'VN-1');
    await post(`/shipments/${f}/void`);
    t.equal((await orderRow(db, fresh.id)).status, 'new', 'never served: new');
  });

  t.test(
    'void: a canceled order stays canceled; a confirmed one stays confirmed while covered',
    async (t) => {
      const c = await createOrder(app, merchant);
      await post(`/orders/${c.id}/cancel`);
      const s = await ship(c, 'VC-1');
      await post(`/shipments/${s}/void`);
      t.equal((await orderRow(db, c.id)).status, 'canceled');
      t.same(await shippedOf(db, c.id), [0, 0]);

      const o = await createOrder(app, merchant);
      const a = await ship(o, 'VK-1');
      const dup = await ship(o, 'VK-2');
      t.same(await shippedOf(db, o.id), [2, 1], 'the second package is capped');
      await post('/shipments/confirm', { shipment_ids: [a] });
      t.equal((await orderRow(db, o.id)).status, 'shipped', 'the second shipment awaits pickup');
      await post(`/shipments/${dup}/void`);
      t.equal((await orderRow(db, o.id)).status, 'confirmed', 'voiding the only unconfirmed one confirms');
    },
  );

  t.test('void: a capped package counts once the one before it is voided', async (t) => {
    const o = await createOrder(app, merchant);
    const a = await ship(o, 'VR-1');
    const b = await ship(o, 'VR-2');
    t.same(await shippedOf(db, o.id), [2, 1]);
    t.same(
      (await get(`/shipments/${b}`)).json().items.map((i: { quantity: number }) => i.quantity),
      [0, 0],
    );
    await post(`/shipments/${a}/void`);
    t.same(await shippedOf(db, o.id), [2, 1], 'the second label now carries the order');
    t.equal((await orderRow(db, o.id)).status, 'shipped');
    t.same(
      (await get(`/shipments/${b}`))
        .json()
        .items.map((i: { quantity: number; requested_quantity: number }) => [
          i.quantity,
          i.requested_quantity,
        ]),
      [
        [2, 2],
        [1, 1],
      ],
    );
  });

  t.test('unmatched notices: list, apply, dismiss', async (t) => {
    const o = await createOrder(app, merchant);
    const miss = await notify(app, store, {
      query: { order_number: 'LOST-1', carrier: 'USPS', tracking_number: 'UM-1' },
      body: noticeXml({ orderNumber: 'LOST-1', items: [{ sku: 'MUG', quantity: 1 }] }),
    });
    t.equal(miss.statusCode, 404);
    const noticeId = (await lastNotice(db)).id;
    const list = await get('/shipnotices?limit=500');
    const entry = list.json().shipnotices.find((n: { id: number }) => n.id === noticeId);
    t.match(entry, {
      id: noticeId,
      order_number: 'LOST-1',
      tracking_number: 'UM-1',
      status: 'unmatched',
      store_id: store.id,
      reason: /no order of this merchant matches/,
    });
    t.type(entry.received_at, 'string');
    t.notOk('body' in entry, 'bodies are read one at a time');
    const detail = await get(`/shipnotices/${noticeId}`);
    t.match(detail.json().body, /<ShipNotice>/);

    // The unmatched notice raises an alert a person sees, counted in the store's health.
    const noticeAlerts = async (id: number, status = 'open') =>
      (await get(`/alerts?kind=unmatched_notice&status=${status}&limit=500`))
        .json()
        .alerts.filter((a: { notice_id: number }) => a.notice_id === id);
    const [raised] = await noticeAlerts(noticeId);
    t.match(raised, {
      kind: 'unmatched_notice',
      notice_id: noticeId,
      store_id: store.id,
      order_id: null,
      message: /notice \d+ for order number LOST-1 \(tracking UM-1\) matched no order/,
      data: { order_number: 'LOST-1', tracking_number: 'UM-1' },
    });
    const health = async () => (await get(`/stores/${store.id}`)).json().health.open_alerts as number;
    const openBefore = await health();
    t.ok(openBefore >= 1, 'open_alerts of the store counts the unmatched notice');

    const applied = await post(`/shipnotices/${noticeId}/apply`, { order_id: o.id });
    t.equal(applied.statusCode, 200, applied.body);
    t.equal(applied.json().result, 'applied');
    t.match(applied.json().shipnotice, {
      status: 'applied',
      order_id: o.id,
      resolved_by: merchant.credential.api_user,
    });
    t.match(applied.json().shipment, { order_id: o.id, tracking_number: 'UM-1', carrier: 'USPS' });
    t.same(await shippedOf(db, o.id), [1, 0]);
    t.same(await noticeAlerts(noticeId), [], 'applying the notice dismisses its alert');
    t.match(await noticeAlerts(noticeId, 'dismissed'), [
      { notice_id: noticeId, dismissed_by: merchant.credential.api_user },
    ]);
    t.equal(await health(), openBefore - 1);
    const ev = (await eventsOf(db, o.id)).at(-1)!;
    t.match(ev, { type: 'shipment', actor_type: 'credential', actor: merchant.credential.api_user });

    const again = await post(`/shipnotices/${noticeId}/apply`, { order_id: o.id });
    t.equal(again.statusCode, 200);
    t.equal(again.json().result, 'unchanged');
    t.same(await shippedOf(db, o.id), [1, 0], 'applying twice changes nothing');
    const o2 = await createOrder(app, merchant);
    const elsewhere = await post(`/shipnotices/${noticeId}/apply`, { order_id: o2.id });
    t.equal(elsewhere.statusCode, 409);
    const dismissApplied = await post(`/shipnotices/${noticeId}/dismiss`);
    t.equal(dismissApplied.statusCode, 409);
    const after = await get('/shipnotices?limit=500');
    t.notOk(
      after.json().shipnotices.some((n: { id: number }) => n.id === noticeId),
      'an applied notice leaves the unmatched list',
    );

    await notify(app, store, { query: { order_number: 'LOST-2', tracking_number: 'UM-2' } });
    const second = (await lastNotice(db)).id;
    const noOrder = await post(`/shipnotices/${second}/apply`, { order_id: 987654 });
    t.equal(noOrder.statusCode, 400);
    t.equal(noOrder.json().error.details[0].path, 'order_id');
    t.equal((await noticeAlerts(second)).length, 1, 'a notice without a body raises its alert too');
    const dismissed = await post(`/shipnotices/${second}/dismiss`);
    t.equal(dismissed.statusCode, 200);
    t.same(await noticeAlerts(second), [], 'dismissing the notice dismisses its alert');
    t.equal((await noticeAlerts(second, 'dismissed')).length, 1);
    t.match(dismissed.json(), { id: second, status: 'dismissed', resolved_by: merchant.credential.api_user });
    t.equal((await post(`/shipnotices/${second}/dismiss`)).statusCode, 200, 'dismissing twice is harmless');
    t.equal((await post(`/shipnotices/${second}/apply`, { order_id: o2.id })).statusCode, 409);
    const listed = await get('/shipnotices?status=dismissed&limit=500');
    t.ok(listed.json().shipnotices.some((n: { id: number }) => n.id === second));
    const everything = await get('/shipnotices?status=all&limit=500');
    t.ok(everything.json().shipnotices.some((n: { id: number }) => n.id === noticeId));

    await notify(app, store, { query: { order_number: 'LOST-3' }, body: '<ShipNotice><Items>' });
    const unreadable = (await lastNotice(db)).id;
    t.match(await noticeAlerts(unreadable), [{ message: /cannot be read/ }], 'an unreadable notice alerts');
    const refuse = await post(`/shipnotices/${unreadable}/apply`, { order_id: o2.id });
    t.equal(refuse.statusCode, 409);
    t.match(refuse.json().error.message, /cannot be read/);
  });

  t.test('applying a stored notice that repeats an applied one is a duplicate', async (t) => {
    const o = await createOrder(app, merchant);
    await ship(o, 'DP-1', [{ sku: 'MUG', quantity: 1 }]);
    await notify(app, store, {
      query: { order_number: 'WRONG-NUMBER', carrier: 'UPS', service: '', tracking_number: 'DP-1' },
      body: noticeXml({ orderNumber: 'WRONG-NUMBER', items: [{ sku: 'MUG', quantity: 1 }] }),
    });
    const id = (await lastNotice(db)).id;
    const r = await post(`/shipnotices/${id}/apply`, { order_id: o.id });
    t.equal(r.json().result, 'duplicate');
    t.same(await shippedOf(db, o.id), [1, 0]);
  });

  t.test('alerts: open by default, dismissed by a person', async (t) => {
    const o = await createOrder(app, merchant);
    await ship(o, 'AL-1', [{ sku: 'MUG', quantity: 9 }]);
    const [alert] = await alertsOf(db, o.id);
    const open = await get(`/alerts?order_id=${o.id}`);
    t.equal(open.statusCode, 200);
    t.match(open.json().alerts, [
      { id: alert!.id, kind: 'over_shipment', order_id: o.id, store_id: store.id, dismissed_at: null },
    ]);
    t.type(open.json().alerts[0].message, 'string');
    const kinds = await get('/alerts?kind=over_shipment&limit=500');
    t.ok(kinds.json().alerts.every((a: { kind: string }) => a.kind === 'over_shipment'));
    const d = await post(`/alerts/${alert!.id}/dismiss`, undefined, warehouse);
    t.equal(d.statusCode, 200, d.body);
    t.equal(d.json().dismissed_by, warehouse.credential.api_user, 'the warehouse acts on its merchant');
    t.ok(d.json().dismissed_at);
    const again = await post(`/alerts/${alert!.id}/dismiss`);
    t.equal(again.json().dismissed_by, warehouse.credential.api_user, 'the first dismissal is kept');
    t.same((await get(`/alerts?order_id=${o.id}`)).json().alerts, []);
    t.equal((await get(`/alerts?order_id=${o.id}&status=all`)).json().alerts.length, 1);
    t.equal((await get(`/alerts?order_id=${o.id}&status=dismissed`)).json().alerts.length, 1);
    const paged = await get('/alerts?status=all&limit=1');
    t.equal(paged.json().alerts.length, 1);
    t.type(paged.json().next_cursor, 'string');
  });

  t.test("isolation: another merchant's credential sees none of it", async (t) => {
    const o = await createOrder(app, merchant);
    const s = await ship(o, 'ISO-A', [{ sku: 'MUG', quantity: 9 }]);
    const [alert] = await alertsOf(db, o.id);
    await notify(app, store, { query: { order_number: 'ISO-LOST', tracking_number: 'ISO-N' } });
    const notice = (await lastNotice(db)).id;
    for (const [method, path] of [
      ['GET', '/shipments'],
      ['GET', `/shipments/${s}`],
      ['POST', `/shipments/${s}/void`],
      ['GET', '/shipnotices'],
      ['GET', `/shipnotices/${notice}`],
      ['POST', `/shipnotices/${notice}/dismiss`],
      ['GET', '/alerts'],
      ['POST', `/alerts/${alert!.id}/dismiss`],
    ] as const) {
      const r = await app.inject({ method, url: `${base}${path}`, headers: solo.auth });
      t.equal(r.statusCode, 404, `${method} ${path} under merchant A with B's credential`);
      t.equal(r.json().error.code, 'not_found');
    }
    const soloBase = `/v1/merchants/${solo.code}`;
    const asB = (method: 'GET' | 'POST', path: string, payload?: object) =>
      app.inject({ method, url: `${soloBase}${path}`, headers: solo.auth, ...(payload ? { payload } : {}) });
    t.equal((await asB('GET', `/shipments/${s}`)).statusCode, 404, "A's shipment under B's path");
    t.equal((await asB('POST', `/shipments/${s}/void`)).statusCode, 404);
    t.same((await asB('POST', '/shipments/confirm', { shipment_ids: [s] })).json(), { confirmed: 0 });
    t.equal((await asB('GET', `/shipnotices/${notice}`)).statusCode, 404);
    t.equal((await asB('POST', `/shipnotices/${notice}/apply`, { order_id: o.id })).statusCode, 404);
    t.equal((await asB('POST', `/alerts/${alert!.id}/dismiss`)).statusCode, 404);
    t.notOk(
      (await asB('GET', '/shipments?status=all&limit=500'))
        .json()
        .shipments.some((x: { id: number }) => x.id === s),
    );
    t.equal((await shipmentsOf(db, o.id))[0]!.voided_at, null);
    t.equal((await shipmentsOf(db, o.id))[0]!.confirmed_at, null);
  });
});
