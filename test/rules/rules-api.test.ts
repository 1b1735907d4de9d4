import t from 'tap';
import { buildTestApp, seedAccounts } from '../helpers/app.js';
import { api, sampleOrder } from '../orders/fixtures.js';

type Obj = Record<string, unknown>;

t.test('rules through REST', async (t) => {
  const { app } = await buildTestApp(t);
  const acc = await seedAccounts(app, 'rl');
  const M = `/v1/merchants/${acc.merchant.code}/rules`;
  const W = `/v1/warehouses/${acc.warehouse.code}/rules`;
  const req = (
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    auth: Obj,
    payload?: unknown,
  ) =>
    app.inject({
      method,
      url,
      headers: auth as { authorization: string },
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const mAuth = acc.merchant.auth;
  const wAuth = acc.warehouse.auth;

  const store = await req('POST', `/v1/merchants/${acc.merchant.code}/stores`, mAuth, { name: 'Main' });
  t.equal(store.statusCode, 201);
  const storeId = store.json().store.id as number;
  const b2b = await req('POST', `/v1/merchants/${acc.merchant.code}/stores`, mAuth, {
    name: 'B2B',
    priority: 500,
    include_tags: ['NEVER'],
  });
  const b2bId = b2b.json().store.id as number;

  let ids: number[] = [];
  await t.test('create, list in order, get', async (t) => {
    const map = await req('POST', M, mAuth, {
      name: 'map methods',
      then: [{ type: 'map_shipping_method', map: { Ground: 'UPS Ground' }, unmapped: 'hold' }],
    });
    t.equal(map.statusCode, 201, map.body);
    const r = map.json().rule;
    t.match(r, { name: 'map methods', owner: 'merchant', enabled: true, position: 1, when: [], stop: false });
    t.same(r.then, [{ type: 'map_shipping_method', map: { Ground: 'UPS Ground' }, unmapped: 'hold' }]);
    t.ok(r.created_at && r.updated_at);
    const carrier = await req('POST', M, mAuth, {
      name: 'default carrier',
      then: [{ type: 'default', field: 'shipping_method', value: 'USPS Priority' }],
      position: 1,
    });
    t.equal(carrier.statusCode, 201, carrier.body);
    t.equal(carrier.json().rule.position, 1, 'placed first');
    const company = await req('POST', M, mAuth, {
      name: 'companies to B2B',
      when: [{ field: 'ship_to.company', op: 'exists' }],
      then: [{ type: 'route_to_store', store_id: b2bId }],
    });
    t.equal(company.statusCode, 201, company.body);
    const list = await req('GET', M, mAuth);
    t.equal(list.statusCode, 200);
    ids = list.json().rules.map((x: Obj) => x.id);
    t.same(
      list.json().rules.map((x: Obj) => [x.name, x.position]),
      [
        ['default carrier', 1],
        ['map methods', 2],
        ['companies to B2B', 3],
      ],
    );
    const one = await req('GET', `${M}/${ids[1]}`, mAuth);
    t.equal(one.json().rule.name, 'map methods');
  });

  await t.test('validation names the path; nothing is stored', async (t) => {
    const bad = await req('POST', M, mAuth, {
      name: 'bad',
      when: [
        { field: 'tags', op: 'has_tag', value: 'x' },
        { field: 'order_total', op: 'contains', value: '1' },
      ],
      then: [{ type: 'skip' }],
    });
    t.equal(bad.statusCode, 400);
    t.equal(bad.json().error.code, 'invalid_request');
    t.equal(bad.json().error.details[0].path, 'when[1].op');
    const wrongStore = await req('POST', M, mAuth, {
      name: 'x',
      then: [{ type: 'route_to_store', store_id: 999999 }],
    });
    t.equal(wrongStore.statusCode, 400);
    t.equal(wrongStore.json().error.details[0].path, 'then[0].store_id');
    const inWarehouse = await req('POST', W, wAuth, {
      name: 'x',
      then: [{ type: 'route_to_store', store_id: storeId }],
    });
    t.equal(inWarehouse.statusCode, 400);
    t.equal(inWarehouse.json().error.details[0].path, 'then[0].type');
    const unknown = await req('POST', M, mAuth, { name: 'x', then: [{ type: 'skip' }], colour: 1 });
    t.equal(unknown.statusCode, 400);
    t.equal(unknown.json().error.details[0].path, 'colour');
    t.equal((await req('GET', M, mAuth)).json().rules.length, 3);
  });

  await t.test('patch, disable, move, re-order, delete', async (t) => {
    const off = await req('PATCH', `${M}/${ids[0]}`, mAuth, { enabled: false });
    t.equal(off.statusCode, 200);
    t.equal(off.json().rule.enabled, false);
    const moved = await req('PATCH', `${M}/${ids[2]}`, mAuth, { position: 1 });
    t.equal(moved.json().rule.position, 1);
    const bad = await req('PATCH', `${M}/${ids[0]}`, mAuth, {
      when: [{ field: 'gift', op: 'gt', value: 1 }],
    });
    t.equal(bad.statusCode, 400);
    t.equal(bad.json().error.details[0].path, 'when[0].op');
    const reorder = await req('PUT', `${M}/order`, mAuth, { ids: [ids[0], ids[1], ids[2]] });
    t.equal(reorder.statusCode, 200);
    t.same(
      reorder.json().rules.map((x: Obj) => x.id),
      ids,
    );
    const partial = await req('PUT', `${M}/order`, mAuth, { ids: [ids[0], ids[0]] });
    t.equal(partial.statusCode, 400);
    t.same(
      partial.json().error.details.map((d: Obj) => d.path),
      ['ids[1]', 'ids', 'ids'],
    );
    // A GET answer can be sent back as a PATCH.
    const got = (await req('GET', `${M}/${ids[1]}`, mAuth)).json().rule;
    const back = await req('PATCH', `${M}/${ids[1]}`, mAuth, got);
    t.equal(back.statusCode, 200, back.body);
    t.same(back.json().rule.then, got.then);
    const extra = await req('POST', M, mAuth, { name: 'temp', then: [{ type: 'hold' }], position: 2 });
    const deleted = await req('DELETE', `${M}/${extra.json().rule.id}`, mAuth);
    t.equal(deleted.statusCode, 200, deleted.body);
    t.match(
      deleted.json(),
      { reevaluation: { id: Number, state: 'pending' } },
      'the answer names the re-evaluation',
    );
    t.not(deleted.json().reevaluation.id, extra.json().reevaluation.id, 'a job of its own');
    t.same(
      (await req('GET', M, mAuth)).json().rules.map((x: Obj) => x.position),
      [1, 2, 3],
      'positions close up',
    );
    t.equal((await req('DELETE', `${M}/${extra.json().rule.id}`, mAuth)).statusCode, 404);
    await req('PATCH', `${M}/${ids[0]}`, mAuth, { enabled: true });
  });

  await t.test('who may act: the merchant, its warehouse, the admin; others get 404', async (t) => {
    t.equal((await req('GET', M, wAuth)).statusCode, 200, 'the warehouse on its merchant');
    t.equal((await req('GET', M, acc.solo.auth)).statusCode, 404, 'another merchant');
    t.equal((await req('GET', W, mAuth)).statusCode, 404, 'a merchant on the warehouse rules');
    t.equal((await req('GET', W, acc.solo.auth)).statusCode, 404);
    t.equal((await req('GET', W, wAuth)).statusCode, 200);
    const other = await seedAccounts(app, 'rl2');
    t.equal((await req('GET', W, other.warehouse.auth)).statusCode, 404, 'another warehouse');
    t.equal((await req('GET', `${M}/${ids[0]}`, acc.solo.auth)).statusCode, 404);
    t.equal(
      (await req('GET', `/v1/merchants/${acc.solo.code}/rules/${ids[0]}`, acc.solo.auth)).statusCode,
      404,
    );
  });

  await t.test(
    'preview: an order body, with a warehouse rule having the last word; stores nothing',
    async (t) => {
      const wr = await req('POST', W, wAuth, {
        name: 'tag big orders',
        when: [{ field: 'order_total', op: 'gte', value: 30 }],
        then: [{ type: 'add_tags', tags: ['BIG'] }],
      });
      t.equal(wr.statusCode, 201, wr.body);
      t.equal(wr.json().rule.owner, 'warehouse');
      const body = sampleOrder('P1', {
        shipping_method: 'Ground',
        ship_to: {
          name: 'Ann Buyer',
          street1: 'ATTN: Receiving',
          street2: '1 Main St',
          city: 'Springfield',
          state: 'IL',
          country: 'US',
        },
      });
      const p = await req('POST', `${M}/preview`, mAuth, body);
      t.equal(p.statusCode, 200, p.body);
      const a = p.json();
      t.equal(a.shipping_method, 'Ground', 'top level is the order as sent');
      t.equal(a.ship_to.street1, 'ATTN: Receiving');
      t.equal(a.effective.shipping_method, 'UPS Ground');
      t.equal(a.effective.ship_to.company, 'Receiving');
      t.equal(a.effective.ship_to.street1, '1 Main St');
      t.same(a.effective.tags, ['vip', 'BIG']);
      t.same(
        a.effective.rules.applied.map((r: Obj) => r.name),
        ['default carrier', 'map methods', 'companies to B2B', 'tag big orders'],
      );
      t.same(a.routing, { store_id: b2bId, reason: null }, 'the company rule routes past the store filters');
      t.equal(a.status, 'new');
      t.equal(a.applies, true);
      t.same(a.holds, []);
      const orders = await api(app, acc.merchant).list();
      t.same(orders.json().orders, [], 'nothing stored');

      const unmapped = await req(
        'POST',
        `${M}/preview`,
        mAuth,
        sampleOrder('P2', { shipping_method: 'Boat' }),
      );
      const u = unmapped.json();
      t.equal(u.holds[0].kind, 'unmapped_shipping_method');
      t.equal(u.routing.store_id, null);
      t.match(
        u.routing.reason,
        /held by merchant rule \d+ 'map methods': shipping method 'Boat' is not mapped/,
      );

      // The setting belongs to the merchant (PATCH /v1/merchants/{merchant}), read by the rules engine.
      const merchantUrl = M.replace(/\/rules$/, '');
      const off = await req('PATCH', merchantUrl, mAuth, { normalise_addresses: false });
      t.equal(off.json().merchant.normalise_addresses, false);
      const raw = (await req('POST', `${M}/preview`, mAuth, body)).json();
      t.equal(raw.effective.ship_to.street1, 'ATTN: Receiving', 'normalisation off');
      t.same(raw.routing, { store_id: storeId, reason: null }, 'no company: the filters decide');
      await req('PATCH', merchantUrl, mAuth, { normalise_addresses: true });

      const invalidOrder = await req('POST', `${M}/preview`, mAuth, { order_number: 'X' });
      t.equal(invalidOrder.statusCode, 400);
    },
  );

  await t.test('preview of a stored order; excluded lines named by their ids', async (t) => {
    const ex = await req('POST', M, mAuth, {
      name: 'no samples',
      then: [{ type: 'exclude_items', skus: ['SKU-2'] }],
    });
    t.equal(ex.statusCode, 201);
    const created = await api(app, acc.merchant).post(sampleOrder('S1'));
    t.equal(created.statusCode, 201);
    const o = created.json();
    const p = await req('POST', `${M}/preview`, mAuth, { order_id: o.id });
    t.equal(p.statusCode, 200, p.body);
    const a = p.json();
    t.equal(a.id, o.id);
    t.same(a.effective.excluded_line_ids, [o.items[1].line_item_id]);
    t.same(a.effective.excluded_items, [{ index: 1, line_id: 'L2', sku: 'SKU-2' }]);
    t.equal(a.applies, true);
    t.equal((await req('POST', `${M}/preview`, mAuth, { order_id: 99999999 })).statusCode, 404);
    const canceled = await api(app, acc.merchant).act(o.id, 'cancel');
    t.equal(canceled.statusCode, 200);
    t.equal((await req('POST', `${M}/preview`, mAuth, { order_id: o.id })).json().applies, false);
  });
});
