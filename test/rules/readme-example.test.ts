import t from 'tap';
import { basic, buildTestApp, seedAccounts } from '../helpers/app.js';
import { api } from '../orders/fixtures.js';

/** The worked example of the README's "Rules" section, as written there. */
t.test('README worked example: default carrier, map with hold, ATTN line, route by company', async (t) => {
  const { app } = await buildTestApp(t);
  const acc = await seedAccounts(app, 'rx');
  const MC = basic(acc.merchant.credential.api_user, acc.merchant.credential.api_key);
  const R = `/v1/merchants/${acc.merchant.code}/rules`;
  const post = (url: string, payload: object) => app.inject({ method: 'POST', url, headers: MC, payload });

  const S = `/v1/merchants/${acc.merchant.code}/stores`;
  const main = await post(S, { name: 'Main' });
  const b2b = await post(S, { name: 'B2B', priority: 200 });
  const b2bId = b2b.json().store.id as number;
  t.equal(main.statusCode, 201);

  const rules = [
    {
      name: 'Default carrier',
      then: [{ type: 'default', field: 'shipping_method', value: 'USPS Priority' }],
    },
    {
      name: 'Map methods',
      then: [
        {
          type: 'map_shipping_method',
          unmapped: 'hold',
          map: { Standard: 'UPS Ground', Express: 'UPS Next Day Air', 'USPS Priority': 'USPS Priority' },
        },
      ],
    },
    {
      name: 'Companies to B2B',
      when: [{ field: 'ship_to.company', op: 'exists' }],
      then: [{ type: 'route_to_store', store_id: b2bId }],
    },
  ];
  for (const r of rules) t.equal((await post(R, r)).statusCode, 201);

  const order = (method?: string) => ({
    order_number: '1001',
    order_date: '2026-11-22T10:15:00Z',
    ...(method ? { shipping_method: method } : {}),
    ship_to: {
      name: 'Ann Buyer',
      street1: 'ATTN: Receiving Dock',
      street2: '1 Main St',
      city: 'Springfield',
      state: 'IL',
      country: 'US',
    },
    items: [{ sku: 'BK-1', name: 'Bike', quantity: 1, unit_price: 499 }],
  });

  const p = (await post(`${R}/preview`, order('Standard'))).json();
  t.equal(p.shipping_method, 'Standard');
  t.equal(p.ship_to.street1, 'ATTN: Receiving Dock');
  t.equal(p.effective.shipping_method, 'UPS Ground');
  t.match(p.effective.ship_to, {
    name: 'Ann Buyer',
    company: 'Receiving Dock',
    street1: '1 Main St',
    street2: null,
  });
  t.same(p.effective.tags, []);
  t.same(p.effective.excluded_line_ids, []);
  t.same(
    p.effective.rules.applied.map((a: { name: string }) => a.name),
    ['Default carrier', 'Map methods', 'Companies to B2B'],
  );
  t.same(p.effective.rules.changes, [
    { path: 'shipping_method', from: 'Standard', to: 'UPS Ground' },
    { path: 'ship_to.company', from: null, to: 'Receiving Dock' },
    { path: 'ship_to.street1', from: 'ATTN: Receiving Dock', to: '1 Main St' },
    { path: 'ship_to.street2', from: '1 Main St', to: null },
  ]);
  t.same(p.routing, { store_id: b2bId, reason: null });
  t.same(p.holds, []);
  t.equal(p.status, 'new');
  t.equal(p.applies, true);

  const pigeon = (await post(`${R}/preview`, order('Pigeon'))).json();
  t.equal(pigeon.holds[0].kind, 'unmapped_shipping_method');
  const mapId = pigeon.holds[0].rule.id;
  t.same(pigeon.routing, {
    store_id: null,
    reason: `held by merchant rule ${mapId} 'Map methods': shipping method 'Pigeon' is not mapped`,
  });

  const none = (await post(`${R}/preview`, order())).json();
  t.same(none.holds, [], 'the default carrier is in the map: not held');
  t.equal(none.effective.shipping_method, 'USPS Priority');

  t.same((await api(app, acc.merchant).list()).json().orders, [], 'previews stored nothing');
});
