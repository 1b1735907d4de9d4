import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import t from 'tap';
import { refreshSummaryFacts } from '../../src/domain/summary-facts.js';
import { basic } from '../helpers/app.js';
import {
  createOrder,
  createStore,
  type ItemInput,
  noticeXml,
  notify,
  serve,
  setup,
  type Who,
} from '../shipments/helpers.js';

/** An order of `o.total` (USD unless said) with the given lines, source and shipping paid. */
const order = (
  app: FastifyInstance,
  who: Who,
  o: {
    number: string;
    source: string;
    items: ItemInput[];
    total: string;
    shipping?: string;
    currency?: string;
  },
) =>
  createOrder(app, who, {
    number: o.number,
    source: o.source,
    items: o.items,
    fields: {
      currency: o.currency ?? 'USD',
      order_total: o.total,
      ...(o.shipping ? { shipping_amount: o.shipping } : {}),
    },
  });

t.test('order summaries', async (t) => {
  const { app, db, warehouse, merchant, solo } = await setup(t);
  const m2 = await app.inject({
    method: 'POST',
    url: '/v1/merchants',
    headers: warehouse.auth,
    payload: { code: 'sum-m2', name: 'Second' },
  });
  const m2who = { code: 'sum-m2', auth: basic(m2.json().credential.api_user, m2.json().credential.api_key) };
  const store = await createStore(app, merchant);

  const o1 = await order(app, merchant, {
    number: 'S1',
    source: 'web',
    items: [
      { sku: 'A', quantity: 2, unit_price: '10.00' },
      { sku: 'DISC', quantity: 1, unit_price: '-1.50', adjustment: true },
    ],
    shipping: '4.99',
    total: '23.49',
  });
  const o2 = await order(app, merchant, {
    number: 'S2',
    source: 'web',
    items: [{ sku: 'A', quantity: 1, unit_price: '0.10' }],
    shipping: '0.20',
    total: '0.30',
  });
  const o3 = await order(app, merchant, {
    number: 'S3',
    source: 'amazon',
    items: [{ sku: 'B', quantity: 5, unit_price: '1.00' }],
    total: '5.00',
  });
  const o4 = await order(app, merchant, {
    number: 'S4',
    source: 'web',
    items: [{ sku: 'B', quantity: 9, unit_price: '1.00' }],
    total: '9.00',
  });
  const other = await order(app, m2who, {
    number: 'S5',
    source: 'web',
    items: [{ sku: 'C', quantity: 1, unit_price: '1.00' }],
    total: '1.00',
  });
  const soloOrder = await order(app, solo, {
    number: 'S6',
    source: 'web',
    items: [{ sku: 'C', quantity: 1, unit_price: '7.00' }],
    total: '7.00',
  });
  const cancel = await app.inject({
    method: 'POST',
    url: `/v1/merchants/${merchant.code}/orders/${o4.id}/cancel`,
    headers: merchant.auth,
  });
  t.equal(cancel.statusCode, 200, cancel.body);
  const createdAt: [number, string][] = [
    [o1.id, '2026-11-20T23:30:00Z'],
    [o2.id, '2026-11-21T01:00:00Z'],
    [o3.id, '2026-11-21T12:00:00Z'],
    [o4.id, '2026-11-21T13:00:00Z'],
    [other.id, '2026-11-21T14:00:00Z'],
    [soloOrder.id, '2026-11-21T14:00:00Z'],
  ];
  for (const [id, at] of createdAt) {
    await sql`update orders set created_at = ${at}::timestamptz where id = ${id}`.execute(db);
  }

  // o1 ships on 11/22 (and its 'shipped' event is dated then); o3's shipment is voided.
  await serve(db, o1.id, store.id);
  await serve(db, o3.id, store.id);
  const n1 = await notify(app, store, {
    body: noticeXml({
      orderId: o1.id,
      orderNumber: 'S1',
      tracking: 'T1',
      shipDate: '11/22/2026',
      cost: '7.10',
      items: [{ lineItemId: o1.lines[0]!, quantity: 2 }],
    }),
  });
  t.equal(n1.statusCode, 200, n1.body);
  // Its 'shipped' event re-dated, and the summary facts (src/domain/summary-facts.ts) with it.
  await sql`update order_events set at = '2026-11-22T15:00:00Z' where order_id = ${o1.id} and to_status = 'shipped'`.execute(
    db,
  );
  await refreshSummaryFacts(db);
  const n3 = await notify(app, store, {
    body: noticeXml({
      orderId: o3.id,
      orderNumber: 'S3',
      tracking: 'T3',
      shipDate: '11/23/2026',
      cost: '2.05',
      items: [{ lineItemId: o3.lines[0]!, quantity: 5 }],
    }),
  });
  t.equal(n3.statusCode, 200, n3.body);
  const s3 = await db
    .selectFrom('shipments')
    .select('id')
    .where('order_id', '=', o3.id)
    .executeTakeFirstOrThrow();
  const voided = await app.inject({
    method: 'POST',
    url: `/v1/merchants/${merchant.code}/shipments/${s3.id}/void`,
    headers: merchant.auth,
  });
  t.equal(voided.statusCode, 200, voided.body);

  const get = (url: string, who: Who | { authorization: string }, accept?: string) =>
    app.inject({
      method: 'GET',
      url,
      headers: { ...('auth' in who ? who.auth : who), ...(accept ? { accept } : {}) },
    });
  const base = `/v1/merchants/${merchant.code}/summaries`;

  t.test('by creation day in UTC, grouped by source', async (t) => {
    const r = await get(`${base}?date=created&from=2026-11-20&to=2026-11-30&group=source`, merchant);
    t.equal(r.statusCode, 200, r.body);
    t.same(r.json().summaries, [
      {
        day: '2026-11-20',
        group: 'web',
        currency: 'USD',
        orders: 1,
        units: 2,
        order_total: '23.49',
        shipping_paid: '4.99',
        shipments: 1,
        shipping_cost: '7.10',
      },
      {
        day: '2026-11-21',
        group: 'amazon',
        currency: 'USD',
        orders: 1,
        units: 5,
        order_total: '5.00',
        shipping_paid: '0.00',
        shipments: 0,
        shipping_cost: '0.00',
      },
      {
        day: '2026-11-21',
        group: 'web',
        currency: 'USD',
        orders: 1,
        units: 1,
        order_total: '0.30',
        shipping_paid: '0.20',
        shipments: 0,
        shipping_cost: '0.00',
      },
    ]);
  });

  t.test('days follow the time zone', async (t) => {
    const r = await get(
      `${base}?from=2026-11-20&to=2026-11-21&timezone=America/Chicago&group=source`,
      merchant,
    );
    t.equal(r.statusCode, 200, r.body);
    t.match(r.json().summaries, [
      { day: '2026-11-20', group: 'web', orders: 2, units: 3, order_total: '23.79', shipping_paid: '5.19' },
      { day: '2026-11-21', group: 'amazon', orders: 1 },
    ]);
    t.equal(r.json().summaries.length, 2);
  });

  t.test('by ship date; grouped by store and by status', async (t) => {
    const r = await get(`${base}?date=shipped&from=2026-11-01&to=2026-11-30&group=store`, merchant);
    t.equal(r.statusCode, 200, r.body);
    t.same(r.json().summaries, [
      {
        day: '2026-11-22',
        group: String(store.id),
        currency: 'USD',
        orders: 1,
        units: 2,
        order_total: '23.49',
        shipping_paid: '4.99',
        shipments: 1,
        shipping_cost: '7.10',
      },
    ]);
    const byStatus = await get(`${base}?from=2026-11-21&to=2026-11-21&group=status`, merchant);
    t.same(
      byStatus.json().summaries.map((s: { group: string; orders: number }) => [s.group, s.orders]),
      [
        ['at_wms', 1],
        ['new', 1],
      ],
      'o3 is back at the warehouse after its void; canceled o4 is left out',
    );
  });

  t.test("a warehouse summarises its merchants, not others'", async (t) => {
    const r = await get(
      `/v1/warehouses/${warehouse.code}/summaries?from=2026-11-21&to=2026-11-21`,
      warehouse,
    );
    t.equal(r.statusCode, 200, r.body);
    t.same(r.json().summaries, [
      {
        day: '2026-11-21',
        group: null,
        currency: 'USD',
        orders: 3,
        units: 7,
        order_total: '6.30',
        shipping_paid: '0.20',
        shipments: 0,
        shipping_cost: '0.00',
      },
    ]);
    const asMerchant = await get(
      `/v1/warehouses/${warehouse.code}/summaries?from=2026-11-21&to=2026-11-21`,
      merchant,
    );
    t.equal(asMerchant.statusCode, 404);
    const notYours = await get(
      `/v1/merchants/${solo.code}/summaries?from=2026-11-21&to=2026-11-21`,
      warehouse,
    );
    t.equal(notYours.statusCode, 404);
  });

  t.test('CSV with the same columns', async (t) => {
    const r = await get(`${base}?from=2026-11-20&to=2026-11-21&group=source`, merchant, 'text/csv');
    t.equal(r.statusCode, 200);
    t.match(r.headers['content-type'], /^text\/csv/);
    t.same(r.body.trim().split('\n'), [
      'day,group,currency,orders,units,order_total,shipping_paid,shipments,shipping_cost',
      '2026-11-20,web,USD,1,2,23.49,4.99,1,7.10',
      '2026-11-21,amazon,USD,1,5,5.00,0.00,0,0.00',
      '2026-11-21,web,USD,1,1,0.30,0.20,0,0.00',
    ]);
  });

  t.test('bad periods and zones name the field', async (t) => {
    const long = await get(`${base}?from=2025-01-01&to=2026-01-02`, merchant);
    t.equal(long.statusCode, 400);
    t.equal(long.json().error.details[0].path, 'query.to');
    const backwards = await get(`${base}?from=2026-01-02&to=2026-01-01`, merchant);
    t.equal(backwards.json().error.details[0].path, 'query.to');
    const zone = await get(`${base}?from=2026-01-01&to=2026-01-02&timezone=Mars/Olympus`, merchant);
    t.equal(zone.statusCode, 400);
    t.equal(zone.json().error.details[0].path, 'query.timezone');
    const missing = await get(`${base}?to=2026-01-02`, merchant);
    t.equal(missing.statusCode, 400);
    t.equal(missing.json().error.details[0].path, 'query.from');
    const leap = await get(`${base}?from=2024-01-01&to=2024-12-31`, merchant);
    t.equal(leap.statusCode, 200, 'a leap year is 366 days');
  });
});
