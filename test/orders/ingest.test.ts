import type { KyselyPlugin } from 'kysely';
import t from 'tap';
import { createOrders } from '../../src/orders/service.js';
import { buildTestApp, seedAccounts } from '../helpers/app.js';
import { api, sampleOrder } from './fixtures.js';

type Obj = Record<string, unknown>;

t.test('creating orders', async (t) => {
  const { app, db } = await buildTestApp(t);
  const s = await seedAccounts(app);
  const o = api(app, s.merchant);

  t.test('one order: 201 with the whole normalised order', async (t) => {
    const r = await o.post({ ...sampleOrder(1), status: 'await_payment', gift: true, gift_message: 'hi' });
    t.equal(r.statusCode, 201);
    const b = r.json();
    t.type(b.id, 'number');
    t.equal(b.merchant, s.merchant.code);
    t.equal(b.status, 'await_payment');
    t.equal(b.order_source, 'api');
    t.equal(b.order_number, 'SO-1');
    t.equal(b.order_total, '31.00');
    t.equal(b.tax_amount, '1.50');
    t.equal(b.ship_to.country, 'US');
    t.equal(b.gift, true);
    t.same(Object.keys(b.routing).sort(), ['reason', 'served_at', 'served_store_id', 'store_id', 'withheld']);
    t.equal(b.routing.store_id, null, 'no store connection: unrouted');
    t.equal(b.items.length, 2);
    t.type(b.items[0].line_item_id, 'number');
    t.not(b.items[0].line_item_id, b.items[1].line_item_id);
    t.equal(b.items[0].shipped_quantity, 0);
    t.equal(b.items[0].weight_unit, 'oz');
    for (const k of ['last_modified', 'updated_at', 'created_at']) t.ok(Date.parse(b[k]), k);
    const got = await o.get(b.id);
    t.same(got.json(), b, 'GET answers the same order');
    const ev = await o.events(b.id);
    const created = ev.json().events.find((e: Obj) => e.type === 'created');
    t.match(created, { from_status: null, to_status: 'await_payment', actor_type: 'credential' });
    t.equal(created.actor, s.merchant.credential.api_user);
  });

  t.test('the same order again: 200 with the stored order; different content: 409', async (t) => {
    const first = await o.post(sampleOrder(2));
    t.equal(first.statusCode, 201);
    const again = await o.post({
      ...sampleOrder(2),
      status: 'on_hold', // requested status is not content
      tax_amount: 1.5, // same money, other spelling
      currency: 'USD',
      ship_to: { ...(sampleOrder(2).ship_to as Obj), country: 'us', state: 'IL' },
    });
    t.equal(again.statusCode, 200);
    t.equal(again.json().id, first.json().id);
    t.equal(again.json().status, 'new', 'the stored order is answered unchanged');
    t.equal(again.json().last_modified, first.json().last_modified);
    const diff = await o.post({ ...sampleOrder(2), customer_notes: 'leave at door' });
    t.equal(diff.statusCode, 409);
    t.equal(diff.json().error.code, 'conflict');
    t.match(diff.json().error.message, /PUT/);
    t.match(diff.json().error.message, new RegExp(`/orders/${first.json().id}`));
    const other = await o.post({ ...sampleOrder(2), order_source: 'shopify' });
    t.equal(other.statusCode, 201, 'another source is another order');
    const solo = await api(app, s.solo).post(sampleOrder(2));
    t.equal(solo.statusCode, 201, 'another merchant is another order');
  });

  t.test('invalid single order: 400 naming the field, nothing stored', async (t) => {
    const before = await db.db
      .selectFrom('orders')
      .select(db.db.fn.countAll<number>().as('n'))
      .executeTakeFirst();
    const r = await o.post(
      sampleOrder('bad', {
        items: [
          { name: 'ok', quantity: 1, unit_price: 1 },
          { name: 'x', quantity: 0, unit_price: 1 },
        ],
      }),
    );
    t.equal(r.statusCode, 400);
    t.equal(r.json().error.code, 'invalid_request');
    t.same(r.json().error.details, [
      { path: 'items[1].quantity', message: 'must be an integer from 1 to 99999' },
    ]);
    const after = await db.db
      .selectFrom('orders')
      .select(db.db.fn.countAll<number>().as('n'))
      .executeTakeFirst();
    t.equal(Number(after?.n), Number(before?.n));
    const notObject = await app.inject({
      method: 'POST',
      url: o.base,
      headers: { ...s.merchant.auth, 'content-type': 'application/json' },
      payload: '[1,2]',
    });
    t.equal(notObject.statusCode, 400);
  });

  t.test('a batch: one result per input, in order; valid orders stored', async (t) => {
    const r = await o.post({
      orders: [
        sampleOrder('b1'),
        sampleOrder('b2', { order_source: 'amazon' }),
        sampleOrder('b1'), // the same order twice: duplicate
        sampleOrder('b3', { items: [{ name: 'x', quantity: 1.5, unit_price: 1 }] }),
        sampleOrder('b2', { order_source: 'amazon', internal_notes: 'other' }), // same key, other content
        sampleOrder(2), // exists already with the same content
        sampleOrder(2, { tags: ['changed'] }), // exists with other content
        'nonsense',
      ],
    });
    t.equal(r.statusCode, 200);
    const res = r.json().results as Obj[];
    t.same(
      res.map((x) => [x.index, x.result]),
      [
        [0, 'created'],
        [1, 'created'],
        [2, 'duplicate'],
        [3, 'invalid'],
        [4, 'conflict'],
        [5, 'duplicate'],
        [6, 'conflict'],
        [7, 'invalid'],
      ],
    );
    const orderOf = (i: number) => res[i]!.order as Obj;
    t.equal(orderOf(2).id, orderOf(0).id, 'the duplicate answers the order created by its twin');
    t.equal((res[3]!.error as Obj).code, 'invalid_request');
    t.same(
      ((res[3]!.error as Obj).details as Obj[]).map((d) => d.path),
      ['orders[3].items[0].quantity'],
    );
    t.same(
      ((res[7]!.error as Obj).details as Obj[]).map((d) => d.path),
      ['orders[7]'],
    );
    t.equal((res[4]!.error as Obj).code, 'conflict');
    t.match((res[6]!.error as Obj).message, /PUT/);
    t.notOk(res[3]!.order);
    const stored = await o.list('?order_number=SO-b3');
    t.same(stored.json().orders, [], 'the invalid order was not stored');
    t.equal((await o.get(orderOf(1).id as number)).json().order_source, 'amazon');
  });

  t.test('batch limits', async (t) => {
    const tooMany = await o.post({ orders: Array.from({ length: 501 }, (_, i) => sampleOrder(`x${i}`)) });
    t.equal(tooMany.statusCode, 400);
    t.equal(tooMany.json().error.details[0].path, 'orders');
    t.equal((await o.post({ orders: [] })).statusCode, 400);
    t.equal((await o.post({ orders: {} })).json().error.details[0].path, 'orders');
    const extra = await o.post({ orders: [sampleOrder('e1')], dry_run: true });
    t.equal(extra.statusCode, 400);
    t.equal(extra.json().error.details[0].path, 'dry_run');
    const big = await o.post({
      orders: Array.from({ length: 500 }, (_, i) =>
        sampleOrder(`big-${i}`, {
          items: Array.from({ length: 8 }, (_, j) => ({
            line_id: `l${j}`,
            name: `Item ${j}`,
            quantity: 1,
            unit_price: 1,
          })),
        }),
      ),
    });
    t.equal(big.statusCode, 200);
    const results = big.json().results as Obj[];
    t.equal(results.length, 500);
    t.ok(results.every((x, i) => x.result === 'created' && x.index === i));
    const lines = await db.db
      .selectFrom('order_lines as l')
      .innerJoin('orders as o', (j) =>
        j.onRef('o.id', '=', 'l.order_id').onRef('o.merchant_id', '=', 'l.merchant_id'),
      )
      .select(db.db.fn.countAll<number>().as('n'))
      .where('o.order_number', 'like', 'SO-big-%')
      .executeTakeFirst();
    t.equal(Number(lines?.n), 4000);
    const events = await db.db
      .selectFrom('order_events')
      .select(db.db.fn.countAll<number>().as('n'))
      .where('type', '=', 'created')
      .where(
        'order_id',
        'in',
        results.map((x) => (x.order as Obj).id as number),
      )
      .executeTakeFirst();
    t.equal(Number(events?.n), 500, 'one created event per order');
    const again = await o.post({ orders: results.map((x) => x.order) });
    t.ok(
      (again.json().results as Obj[]).every((x) => x.result === 'duplicate'),
      'posting the answered orders back: all duplicates',
    );
  });

  t.test('twenty concurrent identical posts: one order, twenty 2xx', async (t) => {
    const rs = await Promise.all(Array.from({ length: 20 }, () => o.post(sampleOrder('race'))));
    const codes = rs.map((r) => r.statusCode).sort();
    t.same(codes, [...Array(19).fill(200), 201], 'one 201, nineteen 200');
    t.equal(new Set(rs.map((r) => r.json().id)).size, 1);
    const rows = await db.db
      .selectFrom('orders')
      .select('id')
      .where('order_number', '=', 'SO-race')
      .execute();
    t.equal(rows.length, 1);
    const lines = await db.db
      .selectFrom('order_lines')
      .select('id')
      .where('order_id', '=', rows[0]!.id)
      .execute();
    t.equal(lines.length, 2, 'lines written once');
    const events = await db.db
      .selectFrom('order_events')
      .select('type')
      .where('order_id', '=', rows[0]!.id)
      .where('type', '=', 'created')
      .execute();
    t.equal(events.length, 1, 'one created event: orders lost to a concurrent insert get none');
  });

  t.test('concurrent batches overlapping in reverse order: no deadlock, each order once', async (t) => {
    const keys = Array.from({ length: 40 }, (_, i) => `ov-${i}`);
    const batches = [keys, [...keys].reverse(), keys.filter((_, i) => i % 2 === 0), [...keys].reverse()];
    const rs = await Promise.all(batches.map((b) => o.post({ orders: b.map((k) => sampleOrder(k)) })));
    t.same(
      rs.map((r) => r.statusCode),
      [200, 200, 200, 200],
    );
    const created = rs.flatMap((r) => (r.json().results as Obj[]).filter((x) => x.result === 'created'));
    t.equal(created.length, 40, 'each order created exactly once across the batches');
    t.ok(
      rs.every((r) =>
        (r.json().results as Obj[]).every((x) => x.result === 'created' || x.result === 'duplicate'),
      ),
    );
    const ids = created.map((x) => (x.order as Obj).id as number);
    const lines = await db.db
      .selectFrom('order_lines')
      .select(db.db.fn.countAll<number>().as('n'))
      .where('order_id', 'in', ids)
      .executeTakeFirst();
    t.equal(Number(lines?.n), 80, 'two lines per order, written once');
    const events = await db.db
      .selectFrom('order_events')
      .select(db.db.fn.countAll<number>().as('n'))
      .where('type', '=', 'created')
      .where('order_id', 'in', ids)
      .executeTakeFirst();
    t.equal(Number(events?.n), 40, 'one created event per order');
  });

  t.test('a batch costs a constant number of statements, whatever its size', async (t) => {
    let statements = 0;
    const counting: KyselyPlugin = {
      transformQuery: (args) => {
        statements++;
        return args.node;
      },
      transformResult: async (args) => args.result,
    };
    const counted = db.db.withPlugin(counting);
    const m = await db.db
      .selectFrom('merchants')
      .select(['id', 'code'])
      .where('code', '=', s.merchant.code)
      .executeTakeFirstOrThrow();
    const actor = { actor_type: 'system' as const, actor: 'test' };
    const run = async (prefix: string, n: number) => {
      statements = 0;
      const inputs = Array.from({ length: n }, (_, i) => sampleOrder(`${prefix}-${i}`));
      const res = await createOrders(counted, m, actor, inputs, true);
      t.ok(res.every((r) => r.result === 'created'));
      return statements;
    };
    const small = await run('count-a', 2);
    const large = await run('count-b', 300);
    t.equal(large, small, `${large} statements for 300 orders, as for 2`);
    t.ok(large <= 5, `a handful (${large}, the rules read and routing included)`);
    statements = 0;
    await createOrders(counted, m, actor, [sampleOrder('count-b-1'), sampleOrder('count-b-2')], true);
    t.ok(statements <= 1, `duplicates only: ${statements} statements (select with answer)`);
  });

  t.test('the OpenAPI document describes the order routes from the same schemas', async (t) => {
    const doc = await app.inject({ method: 'GET', url: '/openapi.json' });
    t.equal(doc.statusCode, 200);
    const d = doc.json();
    for (const id of ['NewOrder', 'Order', 'OrderItem', 'OrderBatchResult', 'OrderEvent']) {
      t.ok(d.components.schemas[id], `component ${id}`);
    }
    const post = d.paths['/v1/merchants/{merchant}/orders'].post;
    t.same(post.tags, ['orders']);
    t.ok(post.responses['201'] && post.responses['409']);
    const item = d.components.schemas.ItemFields ?? d.components.schemas.ItemFieldsInput;
    t.equal(item.properties.name.maxLength, 200, 'limits are documented');
  });

  t.test('scope: a warehouse posts for its merchant; others get 404', async (t) => {
    const wh = api(app, { code: s.merchant.code, auth: s.warehouse.auth });
    t.equal((await wh.post(sampleOrder('wh'))).statusCode, 201);
    const notMine = api(app, { code: s.solo.code, auth: s.warehouse.auth });
    t.equal((await notMine.post(sampleOrder('wh'))).statusCode, 404);
    const id = (await o.list('?order_number=SO-wh')).json().orders[0].id;
    const fromSolo = await app.inject({
      method: 'GET',
      url: `/v1/merchants/${s.solo.code}/orders/${id}`,
      headers: s.solo.auth,
    });
    t.equal(fromSolo.statusCode, 404, "another merchant's order id is not found");
  });
});
