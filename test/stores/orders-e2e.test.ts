import t from 'tap';
import { buildTestApp, seedAccounts } from '../helpers/app.js';

/** The routing recipes end to end, through the orders API (POST, PUT, GET, events). */
const order = (n: string, over: Record<string, unknown> = {}) => ({
  order_source: 'shopify-us',
  order_number: n,
  order_date: '2026-11-20T10:15:00+01:00',
  tags: [],
  ship_to: {
    name: 'Ann',
    street1: '1 Main St',
    city: 'Springfield',
    state: 'IL',
    postal_code: '62701',
    country: 'US',
  },
  items: [{ line_id: 'L1', sku: 'SKU-1', name: 'Widget', quantity: 1, unit_price: '10.00' }],
  ...over,
});

t.test('routing through the orders API', async (t) => {
  const { app } = await buildTestApp(t);
  const s = await seedAccounts(app);
  const orders = `/v1/merchants/${s.merchant.code}/orders`;
  const stores = `/v1/merchants/${s.merchant.code}/stores`;
  const h = s.merchant.auth;

  const post = async (body: Record<string, unknown>) => {
    const r = await app.inject({ method: 'POST', url: orders, headers: h, payload: body });
    t.equal(r.statusCode, 201, r.body);
    return r.json();
  };

  const none = await post(order('E-0'));
  t.same(none.routing, {
    store_id: null,
    reason: 'no store connections',
    served_store_id: null,
    served_at: null,
    withheld: null,
  });

  const main = await app.inject({
    method: 'POST',
    url: stores,
    headers: h,
    payload: { name: 'Main', exclude_tags: ['HOLD'] },
  });
  const mainId = main.json().store.id as number;
  t.equal(main.json().rerouted, 1, 'the waiting order is routed when the first store appears');
  const e0 = await app.inject({ method: 'GET', url: `${orders}/${none.id}`, headers: h });
  t.equal(e0.json().routing.store_id, mainId);
  t.equal(e0.json().routing.reason, null);

  const held = await post(order('E-1', { tags: ['HOLD', 'gift'] }));
  t.equal(held.routing.store_id, null);
  t.equal(held.routing.reason, `store ${mainId} 'Main': has excluded tag HOLD`);
  const unrouted = await app.inject({ method: 'GET', url: `${orders}?routing=unrouted`, headers: h });
  t.same(
    unrouted.json().orders.map((o: { id: number }) => o.id),
    [held.id],
    'held orders are listed as unrouted',
  );

  const released = await app.inject({
    method: 'PUT',
    url: `${orders}/${held.id}`,
    headers: h,
    payload: order('E-1', { tags: ['gift'] }),
  });
  t.equal(released.statusCode, 200, released.body);
  t.equal(released.json().routing.store_id, mainId, 'removing the tag releases the order to the store');
  t.ok(new Date(released.json().last_modified) >= new Date(held.last_modified));
  const events = await app.inject({ method: 'GET', url: `${orders}/${held.id}/events`, headers: h });
  const routed = (events.json().events as { type: string }[]).filter((e) => e.type === 'routed');
  t.equal(routed.length, 2, 'unrouted at creation, routed after the change');

  const amazon = await app.inject({
    method: 'POST',
    url: stores,
    headers: h,
    payload: { name: 'Amazon', order_sources: ['amazon'], priority: 10 },
  });
  const amazonId = amazon.json().store.id as number;
  const fromAmazon = await post(order('A-1', { order_source: 'amazon' }));
  t.equal(fromAmazon.routing.store_id, amazonId, 'per-source store with a better priority');
  const retired = await app.inject({ method: 'DELETE', url: `${stores}/${amazonId}`, headers: h });
  t.equal(retired.json().rerouted, 1);
  const after = await app.inject({ method: 'GET', url: `${orders}/${fromAmazon.id}`, headers: h });
  t.equal(after.json().routing.store_id, mainId, "the retired store's order falls back to Main");
});
