import fc from 'fast-check';
import t from 'tap';
import { buildTestApp, seedAccounts } from '../helpers/app.js';

/**
 * Property: what the preview answers for an order body is what creating that order stores — the
 * same effective order, routing and status — because both go through the same stages of the
 * orders service.
 */

const RUNS = 40;

const anOrder = fc
  .record({
    shipping_method: fc.option(fc.constantFrom('Standard', 'Express', 'Pigeon', 'UPS Ground'), { nil: null }),
    payment_method: fc.option(fc.constantFrom('card', 'cash'), { nil: null }),
    tags: fc.uniqueArray(fc.constantFrom('vip', 'b2b', 'HOLD', 'gift'), { maxLength: 3 }),
    company: fc.option(fc.constantFrom('Target', 'Acme'), { nil: null }),
    street1: fc.constantFrom('1 Main St', 'ATTN: Dock', 'c/o Acme', '  2  High St '),
    street2: fc.option(fc.constantFrom('Unit 4', 'Attn Jo'), { nil: null }),
    skus: fc.array(fc.constantFrom('BK-1', 'SAMPLE', 'HELMET'), { minLength: 1, maxLength: 3 }),
    status: fc.constantFrom(undefined, 'new', 'await_payment', 'on_hold'),
  })
  .map((o) => ({
    ...(o.status === undefined ? {} : { status: o.status }),
    order_date: '2026-11-20T10:15:00Z',
    shipping_method: o.shipping_method,
    payment_method: o.payment_method,
    tags: o.tags,
    ship_to: {
      name: 'Ann',
      company: o.company,
      street1: o.street1,
      street2: o.street2,
      city: 'Springfield',
      state: 'IL',
      country: 'US',
    },
    items: o.skus.map((sku, i) => ({ sku, name: `item ${i}`, quantity: i + 1, unit_price: 5 })),
  }));

t.test('preview equals what creating the order stores', async (t) => {
  const { app } = await buildTestApp(t);
  const acc = await seedAccounts(app, 'pvc');
  const M = `/v1/merchants/${acc.merchant.code}`;
  const call = (method: 'GET' | 'POST', url: string, payload?: unknown) =>
    app.inject({
      method,
      url,
      headers: acc.merchant.auth,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const main = (await call('POST', `${M}/stores`, { name: 'Main', exclude_tags: ['HOLD'] })).json();
  const b2b = (
    await call('POST', `${M}/stores`, { name: 'B2B', include_tags: ['b2b'], priority: 50 })
  ).json();
  t.ok(main.store && b2b.store);
  const rules = [
    {
      name: 'Card is paid',
      when: [{ field: 'payment_method', op: 'equals', value: 'card' }],
      then: [{ type: 'set_status', status: 'new' }],
    },
    {
      name: 'Map',
      when: [{ field: 'shipping_method', op: 'exists' }],
      then: [
        {
          type: 'map_shipping_method',
          map: { Standard: 'UPS Ground', Express: 'UPS Air' },
          unmapped: 'hold',
        },
      ],
    },
    { name: 'Default', then: [{ type: 'default', field: 'shipping_method', value: 'UPS Ground' }] },
    { name: 'Samples out', then: [{ type: 'exclude_items', skus: ['SAMPLE'] }] },
    {
      name: 'Companies',
      when: [{ field: 'ship_to.company', op: 'exists' }],
      then: [{ type: 'add_tags', tags: ['b2b'] }],
    },
    {
      name: 'Target direct',
      when: [{ field: 'ship_to.company', op: 'equals', value: 'Target', ignore_case: true }],
      then: [{ type: 'route_to_store', store_id: main.store.id }],
    },
  ];
  for (const r of rules) t.equal((await call('POST', `${M}/rules`, r)).statusCode, 201);

  let n = 0;
  await fc.assert(
    fc.asyncProperty(anOrder, async (body) => {
      n += 1;
      const o = { ...body, order_number: `PV-${n}` };
      const preview = await call('POST', `${M}/rules/preview`, o);
      if (preview.statusCode !== 200) throw new Error(preview.body);
      const created = await call('POST', `${M}/orders`, o);
      if (created.statusCode !== 201) throw new Error(created.body);
      const p = preview.json();
      const c = created.json();
      const { excluded_line_ids: previewIds, ...previewRest } = p.effective;
      const { excluded_line_ids: storedIds, ...storedRest } = c.effective;
      t.same(previewIds, [], 'an order not stored yet has no line ids');
      t.same(
        storedIds,
        previewRest.excluded_items.map((x: { index: number }) => c.items[x.index].line_item_id),
      );
      t.same(storedRest, previewRest);
      t.same({ store_id: c.routing.store_id, reason: c.routing.reason }, p.routing);
      t.equal(c.status, p.status);
      const stored = await call('POST', `${M}/rules/preview`, { order_id: c.id });
      t.same(stored.json().effective, c.effective, 'the preview of the stored order agrees');
    }),
    { numRuns: RUNS },
  );
});
