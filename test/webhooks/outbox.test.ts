import t from 'tap';
import { WEBHOOK_EVENT_TYPES } from '../../src/webhooks/events.js';
import { createStore, noticeXml, notify, SHIP_TO } from '../shipments/helpers.js';
import { createWebhook, pump, setupWebhooks } from './helpers.js';

const ORDER = {
  order_source: 'shop',
  order_number: 'OB-1',
  order_date: '2026-11-20T10:00:00Z',
  ship_to: SHIP_TO,
  items: [{ line_id: 'a', sku: 'MUG', name: 'Mug', quantity: 2, unit_price: 5 }],
};

t.test('every event type is written with the change that causes it, in order per order', async (t) => {
  const s = await setupWebhooks(t);
  const subscribable = WEBHOOK_EVENT_TYPES.filter((e) => e !== 'ping');
  const hook = await createWebhook(s.app, s.warehouse, s.receiver.url, [...subscribable], 'warehouses');
  const store = await createStore(s.app, s.merchant, { order_sources: ['shop'] });
  const m = `/v1/merchants/${s.merchant.code}`;
  const post = (url: string, payload?: unknown) =>
    s.app.inject({
      method: 'POST',
      url: `${m}${url}`,
      headers: s.merchant.auth,
      ...(payload ? { payload } : {}),
    });

  const created = await post('/orders', ORDER);
  t.equal(created.statusCode, 201);
  const id = created.json().id as number;
  const put = await s.app.inject({
    method: 'PUT',
    url: `${m}/orders/${id}`,
    headers: s.merchant.auth,
    payload: { ...ORDER, internal_notes: 'gift wrap' },
  });
  t.equal(put.statusCode, 200, put.body);
  t.equal((await post(`/orders/${id}/hold`)).statusCode, 200);
  // Shipped while on hold: a shipment, a status change and an alert, all from one statement.
  const n = await notify(s.app, store, {
    query: { order_number: 'OB-1', carrier: 'UPS', tracking_number: '1Z1' },
    body: noticeXml({
      orderId: id,
      tracking: '1Z1',
      items: [{ lineItemId: created.json().items[0].line_item_id, quantity: 2 }],
    }),
  });
  t.equal(n.statusCode, 200, n.body);
  const shipmentId = (await s.db.db.selectFrom('shipments').select('id').executeTakeFirstOrThrow()).id;
  t.equal((await post(`/shipments/${shipmentId}/void`)).statusCode, 200);
  // Unrouted: no store takes source 'other'.
  t.equal((await post('/orders', { ...ORDER, order_source: 'other', order_number: 'OB-2' })).statusCode, 201);
  // A notice that matches no order.
  const u = await notify(s.app, store, {
    query: { order_number: 'NOPE-9' },
    body: noticeXml({ orderNumber: 'NOPE-9' }),
  });
  t.equal(u.statusCode, 404);

  const rows = await s.db.db.selectFrom('webhook_events').selectAll().orderBy('id').execute();
  t.same(
    [...new Set(rows.map((r) => r.type))].sort(),
    [...subscribable].sort(),
    'every subscribable event type was written',
  );
  const ofOrder = rows.filter((r) => r.order_id === id).map((r) => r.type);
  t.same(
    ofOrder.filter((x) => x !== 'alert.created'),
    [
      'order.created',
      'order.updated',
      'order.status_changed', // hold
      'shipment.created',
      'order.status_changed', // shipped
      'shipment.voided',
      'order.status_changed', // reopened
    ],
    "the order's events, in the order of its changes",
  );

  await pump(s);
  // Deliveries may arrive in any order; sorted by sequence they replay the order's changes.
  const got = s.receiver.received
    .filter((r) => r.json.type !== 'alert.created' && r.json.type !== 'shipnotice.unmatched')
    .filter(
      (r) =>
        (r.json.data as { order_id?: number; id?: number }).order_id === id ||
        (r.json.data as { id?: number }).id === id,
    )
    .sort((x, y) => x.json.sequence - y.json.sequence);
  t.same(
    got.map((r) => r.json.type),
    ofOrder.filter((x) => x !== 'alert.created'),
    'sorted by sequence, the deliveries replay the changes in order',
  );
  const shipment = s.receiver.received.find((r) => r.json.type === 'shipment.created');
  t.equal((shipment!.json.data as { id: number }).id, shipmentId, 'shipment events carry the shipment');
  const unmatched = s.receiver.received.find((r) => r.json.type === 'shipnotice.unmatched');
  t.equal((unmatched!.json.data as { order_number: string }).order_number, 'NOPE-9');
  t.equal(s.receiver.received.length, rows.length, 'every event delivered');
  t.ok(hook.id);
});

t.test(
  'nothing is written without a subscriber, for other types, or when the change rolls back',
  async (t) => {
    const s = await setupWebhooks(t);
    await createWebhook(s.app, s.merchant, s.receiver.url, ['order.status_changed']);
    const m = (code: string) => `/v1/merchants/${code}/orders`;
    // The standalone merchant has no webhook; the merchant's webhook does not take order.created.
    t.equal(
      (await s.app.inject({ method: 'POST', url: m(s.solo.code), headers: s.solo.auth, payload: ORDER }))
        .statusCode,
      201,
    );
    const r = await s.app.inject({
      method: 'POST',
      url: m(s.merchant.code),
      headers: s.merchant.auth,
      payload: ORDER,
    });
    t.equal(r.statusCode, 201);
    t.same(await s.db.db.selectFrom('webhook_events').selectAll().execute(), []);

    // A rolled-back change leaves no event.
    const merchantId = (
      await s.db.db
        .selectFrom('merchants')
        .select('id')
        .where('code', '=', s.merchant.code)
        .executeTakeFirstOrThrow()
    ).id;
    await t.rejects(
      s.db.db.transaction().execute(async (trx) => {
        await trx
          .insertInto('order_events')
          .values({
            merchant_id: merchantId,
            order_id: r.json().id,
            type: 'pay',
            from_status: 'await_payment',
            to_status: 'new',
            actor_type: 'system',
            actor: 'test',
          })
          .execute();
        t.equal(
          (await trx.selectFrom('webhook_events').selectAll().execute()).length,
          1,
          'written inside the transaction',
        );
        throw new Error('roll back');
      }),
    );
    t.same(
      await s.db.db.selectFrom('webhook_events').selectAll().execute(),
      [],
      'and gone with its rollback',
    );

    const hold = await s.app.inject({
      method: 'POST',
      url: `${m(s.merchant.code)}/${r.json().id}/hold`,
      headers: s.merchant.auth,
    });
    t.equal(hold.statusCode, 200);
    const rows = await s.db.db.selectFrom('webhook_events').selectAll().execute();
    t.same(
      rows.map((x) => x.type),
      ['order.status_changed'],
    );
  },
);
