import { readFileSync } from 'node:fs';
import t from 'tap';
import { createJobRunner } from '../../src/background.js';
import { SecretHasher } from '../../src/lib/secrets.js';
import { basic, buildTestApp, seedAccounts, TEST_SECRET_KEY } from '../helpers/app.js';
import { validateOrdersXml } from '../helpers/xsd.js';
import { api } from '../orders/fixtures.js';
import { fmtUtc } from '../shipstation/seed.js';

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

/**
 * The README's worked example goes on to create the orders and show what ShipStation imports: every
 * element shown in a `rules-example-export` block must be in that order's XML in that store's export.
 */
t.test('README worked example: the exported XML shown is what the export sends', async (t) => {
  const { app, db } = await buildTestApp(t);
  const acc = await seedAccounts(app, 'rxe');
  const MC = basic(acc.merchant.credential.api_user, acc.merchant.credential.api_key);
  const M = `/v1/merchants/${acc.merchant.code}`;
  const call = (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) =>
    app.inject({ method, url, headers: MC, ...(payload ? { payload } : {}) });
  const stores = {
    Main: (await call('POST', `${M}/stores`, { name: 'Main' })).json(),
    B2B: (await call('POST', `${M}/stores`, { name: 'B2B', priority: 200 })).json(),
  };
  const map = { Standard: 'UPS Ground', Express: 'UPS Next Day Air', 'USPS Priority': 'USPS Priority' };
  const rules = [
    {
      name: 'Default carrier',
      then: [{ type: 'default', field: 'shipping_method', value: 'USPS Priority' }],
    },
    { name: 'Map methods', then: [{ type: 'map_shipping_method', unmapped: 'hold', map }] },
    {
      name: 'Companies to B2B',
      when: [{ field: 'ship_to.company', op: 'exists' }],
      then: [{ type: 'route_to_store', store_id: stores.B2B.store.id }],
    },
  ];
  const runner = createJobRunner(
    db.db,
    { webhookAllowPrivate: false },
    new SecretHasher(TEST_SECRET_KEY).box,
    undefined,
  );
  const ruleIds: number[] = [];
  for (const r of rules) ruleIds.push((await call('POST', `${M}/rules`, r)).json().rule.id);
  await runner.runDue(); // their re-evaluations (no orders yet): as in the README, long done
  const orders = [
    {
      order_number: '1001',
      order_date: '2026-11-22T10:15:00Z',
      shipping_method: 'Standard',
      ship_to: {
        name: 'Ann Buyer',
        street1: 'ATTN: Receiving Dock',
        street2: '1 Main St',
        city: 'Springfield',
        state: 'IL',
        country: 'US',
      },
      items: [{ sku: 'BK-1', name: 'Bike', quantity: 1, unit_price: 499 }],
    },
    {
      order_number: '1002',
      order_date: '2026-11-22T10:20:00Z',
      ship_to: { name: 'Bo Rider', street1: '2 Oak Ave', city: 'Springfield', state: 'IL', country: 'US' },
      items: [{ sku: 'BK-2', name: 'Helmet', quantity: 1, unit_price: 49 }],
    },
    {
      order_number: '1003',
      order_date: '2026-11-22T10:25:00Z',
      shipping_method: 'Pigeon',
      ship_to: { name: 'Cy Flyer', street1: '3 Elm Rd', city: 'Springfield', state: 'IL', country: 'US' },
      items: [{ sku: 'BK-3', name: 'Bell', quantity: 1, unit_price: 9 }],
    },
  ];
  const created = [];
  for (const o of orders) created.push((await call('POST', `${M}/orders`, o)).json());
  const held = created[2];
  t.equal(
    held.routing.reason,
    `held by merchant rule ${ruleIds[1]} 'Map methods': shipping method 'Pigeon' is not mapped`,
  );
  const alerts = (await call('GET', `${M}/alerts`)).json().alerts;
  t.ok(
    alerts.some(
      (a: { kind: string; order_id: number }) =>
        a.kind === 'unmapped_shipping_method' && a.order_id === held.id,
    ),
  );

  const exportOf = async (store: 'Main' | 'B2B') => {
    const now = Date.now();
    const w = (d: number) => encodeURIComponent(fmtUtc(new Date(now + d)));
    const r = await app.inject({
      method: 'GET',
      url: `/shipstation?action=export&start_date=${w(-3600_000)}&end_date=${w(3600_000)}`,
      headers: basic(stores[store].shipstation.username, stores[store].shipstation.password),
    });
    const v = await validateOrdersXml(r.body);
    t.ok(v.valid, v.errors.join('\n'));
    return r.body;
  };
  const orderXml = (xml: string, number: string) =>
    (xml.match(/<Order>.*?<\/Order>/gs) ?? []).find((o) => o.includes(`<OrderNumber><![CDATA[${number}]]>`));

  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const blocks = [...readme.matchAll(/<!-- rules-example-export: (\d+) (\w+) -->\n```xml\n(.*?)```/gs)].map(
    (m) => ({
      number: m[1]!,
      store: m[2] as 'Main' | 'B2B',
      elements: m[3]!
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => /^<(\w+)>.*<\/\1>$/.test(l)),
    }),
  );
  t.same(
    blocks.map((b) => b.number),
    ['1001', '1002', '1003'],
  );
  const check = (xml: string, b: (typeof blocks)[number]) => {
    const one = orderXml(xml, b.number);
    t.ok(one, `order ${b.number} is in the ${b.store} store's export`);
    for (const e of b.elements) t.ok(one?.includes(e), `order ${b.number}: ${e}`);
  };
  const b2b = await exportOf('B2B');
  const main = await exportOf('Main');
  check(b2b, blocks[0]!);
  check(main, blocks[1]!);
  t.notOk(orderXml(main, '1003') ?? orderXml(b2b, '1003'), 'the held order is in neither export');

  const patched = await call('PATCH', `${M}/rules/${ruleIds[1]}`, {
    then: [{ type: 'map_shipping_method', unmapped: 'hold', map: { ...map, Pigeon: 'USPS Priority' } }],
  });
  const job = patched.json().reevaluation;
  await runner.runDue();
  t.match((await call('GET', `${M}/rules/jobs/${job.id}`)).json().reevaluation, {
    state: 'succeeded',
    seen: 1,
    changed: 1,
  });
  check(await exportOf('Main'), blocks[2]!);
  const open = (await call('GET', `${M}/alerts`)).json().alerts;
  t.notOk(
    open.some((a: { order_id: number }) => a.order_id === held.id),
    'the alert was dismissed',
  );
});
