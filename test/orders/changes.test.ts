import { sql } from 'kysely';
import t from 'tap';
import { ORDER_STATUSES, type OrderStatus } from '../../src/db/schema.js';
import { nextStatus } from '../../src/domain/lifecycle.js';
import { buildTestApp, seedAccounts } from '../helpers/app.js';
import { api, sampleOrder } from './fixtures.js';

type Obj = Record<string, unknown>;

t.test('lifecycle, replace, events and last_modified', async (t) => {
  const { app, db } = await buildTestApp(t);
  const s = await seedAccounts(app);
  const o = api(app, s.merchant);
  const merchant = await db.db
    .selectFrom('merchants')
    .select('id')
    .where('code', '=', s.merchant.code)
    .executeTakeFirstOrThrow();
  let n = 0;
  const create = async (over: Obj = {}) => {
    const r = await o.post(sampleOrder(`c${++n}`, over));
    if (r.statusCode !== 201) throw new Error(r.body);
    return r.json() as Obj & { id: number; items: Obj[] };
  };
  /** Export-side or test-only changes, straight in SQL (never through the orders code). */
  const setRow = (id: number, values: Record<string, unknown>) =>
    db.db.updateTable('orders').set(values).where('id', '=', id).execute();
  const times = async (id: number) => {
    const r = await db.db
      .selectFrom('orders')
      .select([
        sql<string>`to_char(last_modified, 'YYYY-MM-DD HH24:MI:SS.US')`.as('lm'),
        sql<string>`to_char(updated_at, 'YYYY-MM-DD HH24:MI:SS.US')`.as('ua'),
      ])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    return r;
  };
  const eventCount = async (id: number) => (await o.events(id)).json().events.length as number;

  t.test('every merchant transition from every status: the table or 409 naming the status', async (t) => {
    for (const from of ORDER_STATUSES) {
      for (const event of ['pay', 'hold', 'release', 'cancel'] as const) {
        const order = await create();
        await setRow(order.id, { status: from, held_from: from === 'on_hold' ? 'at_wms' : null });
        const before = await times(order.id);
        const r = await o.act(order.id, event);
        const expected = nextStatus(from, event, from === 'on_hold' ? 'at_wms' : null);
        if (expected) {
          t.equal(r.statusCode, 200, `${from} ${event}`);
          t.equal(r.json().status, expected.status, `${from} --${event}--> ${expected.status}`);
          t.equal(r.json().held_from, expected.held_from);
          const after = await times(order.id);
          t.ok(after.lm > before.lm, 'last_modified moves');
          t.ok(after.ua > before.ua, 'updated_at moves');
        } else {
          t.equal(r.statusCode, 409, `${from} ${event} refused`);
          t.equal(r.json().error.code, 'conflict');
          t.match(r.json().error.message, new RegExp(`is ${from}\\b`), 'names the current status');
          t.same(await times(order.id), before, 'nothing moves');
        }
      }
    }
  });

  t.test('hold remembers; created on_hold releases to new; events record who and what', async (t) => {
    const a = await create({ status: 'await_payment' });
    t.equal((await o.act(a.id, 'hold', { reason: 'fraud check' })).json().held_from, 'await_payment');
    t.equal((await o.act(a.id, 'release')).json().status, 'await_payment');
    t.equal((await o.act(a.id, 'pay')).json().status, 'new');
    t.equal((await o.act(a.id, 'cancel')).json().status, 'canceled');
    const ev = (await o.events(a.id)).json().events as Obj[];
    const mine = ev.filter((e) => e.actor_type === 'credential');
    t.same(
      mine.map((e) => [e.type, e.from_status, e.to_status]),
      [
        ['created', null, 'await_payment'],
        ['hold', 'await_payment', 'on_hold'],
        ['release', 'on_hold', 'await_payment'],
        ['pay', 'await_payment', 'new'],
        ['cancel', 'new', 'canceled'],
      ],
    );
    t.ok(mine.every((e) => e.actor === s.merchant.credential.api_user));
    t.same(mine[1]!.data, { reason: 'fraud check' });
    const ids = ev.map((e) => e.id as number);
    t.same(
      ids,
      [...ids].sort((x, y) => x - y),
      'oldest first',
    );
    t.ok(ev.every((e) => typeof e.at === 'string'));

    const h = await create({ status: 'on_hold' });
    t.equal(h.held_from, null);
    t.equal((await o.act(h.id, 'release')).json().status, 'new');

    const w = await create();
    await setRow(w.id, { status: 'at_wms' });
    t.equal((await o.act(w.id, 'hold')).json().held_from, 'at_wms');
    t.equal((await o.act(w.id, 'release')).json().status, 'at_wms');

    const admin = await app.inject({
      method: 'POST',
      url: `${o.base}/${w.id}/hold`,
      headers: { authorization: 'Bearer test-admin-token-0123456789' },
    });
    t.equal(admin.statusCode, 200);
    const last = ((await o.events(w.id)).json().events as Obj[]).at(-1)!;
    t.match(last, { type: 'hold', actor_type: 'admin', actor: 'admin' });

    t.equal((await o.act(999999, 'pay')).statusCode, 404);
    t.equal((await o.events(999999)).statusCode, 404);
    t.equal((await o.act(w.id, 'release', { reason: 5 })).statusCode, 400);
  });

  t.test('export-side changes never move last_modified through these code paths', async (t) => {
    const order = await create();
    const t0 = await times(order.id);
    // what the export does when it serves the order: status at_wms (and updated_at), in SQL
    await setRow(order.id, { status: 'at_wms', updated_at: sql`now()` });
    const t1 = await times(order.id);
    t.equal(t1.lm, t0.lm);
    await o.get(order.id);
    await o.list();
    await o.list('?updated_since=2000-01-01T00:00:00Z');
    await o.events(order.id);
    t.equal((await o.post(sampleOrder(`c${n}`))).statusCode, 200, 'a duplicate post');
    const { id: _id, status: _s, ...same } = (await o.get(order.id)).json();
    t.equal((await o.put(order.id, same)).statusCode, 200, 'an identical PUT');
    t.same(await times(order.id), t1, 'neither last_modified nor updated_at moved');
    t.equal((await o.get(order.id)).json().status, 'at_wms');
    const changed = await o.put(order.id, { ...same, internal_notes: 'call first' });
    t.equal(changed.statusCode, 200);
    t.equal(changed.json().status, 'at_wms', 'PUT keeps the status');
    const t2 = await times(order.id);
    t.ok(t2.lm > t1.lm, 'a merchant change moves last_modified');
  });

  t.test('PUT: content changes, identity, statuses', async (t) => {
    const order = await create();
    const events0 = await eventCount(order.id);
    const t0 = await times(order.id);
    const same = await o.put(order.id, { ...sampleOrder(`c${n}`), status: 'shipped' /* ignored */ });
    t.equal(same.statusCode, 200);
    t.same(await times(order.id), t0, 'identical content changes nothing');
    t.equal(await eventCount(order.id), events0, 'and records nothing');

    const noIdentity = sampleOrder(`c${n}`, {
      ship_to: { ...(sampleOrder(1).ship_to as Obj), city: 'Chicago' },
    });
    delete noIdentity.order_number;
    const r = await o.put(order.id, noIdentity);
    t.equal(r.statusCode, 200);
    t.equal(r.json().ship_to.city, 'Chicago');
    t.equal(r.json().order_number, `SO-c${n}`, 'order_number may be omitted');
    const ev = ((await o.events(order.id)).json().events as Obj[]).find((e) => e.type === 'replaced')!;
    t.same(ev.data, { changed: ['ship_to'] });
    t.match(ev, { from_status: 'new', to_status: 'new', actor_type: 'credential' });

    const renumber = await o.put(order.id, sampleOrder('other-number'));
    t.equal(renumber.statusCode, 409);
    t.equal(renumber.json().error.details[0].path, 'order_number');
    const resource = await o.put(order.id, sampleOrder(`c${n}`, { order_source: 'amazon' }));
    t.equal(resource.statusCode, 409);
    t.equal(resource.json().error.details[0].path, 'order_source');

    const bad = await o.put(
      order.id,
      sampleOrder(`c${n}`, { items: [{ name: 'x', quantity: 100000, unit_price: 1 }] }),
    );
    t.equal(bad.statusCode, 400);
    t.same(
      bad.json().error.details.map((d: Obj) => d.path),
      ['items[0].quantity'],
    );
    t.equal((await o.put(999999, sampleOrder(`c${n}`))).statusCode, 404);

    for (const status of ['shipped', 'confirmed', 'canceled'] as OrderStatus[]) {
      await setRow(order.id, { status });
      const refused = await o.put(order.id, sampleOrder(`c${n}`, { internal_notes: status }));
      t.equal(refused.statusCode, 409, `refused when ${status}`);
      t.match(refused.json().error.message, new RegExp(status));
    }
    for (const status of ['await_payment', 'new', 'at_wms', 'on_hold'] as OrderStatus[]) {
      await setRow(order.id, { status });
      t.equal(
        (await o.put(order.id, sampleOrder(`c${n}`, { internal_notes: status }))).statusCode,
        200,
        status,
      );
    }
  });

  t.test('PUT keeps line_item_id for kept line_ids; deletes removed; inserts new', async (t) => {
    const order = await create();
    const [l1, l2] = order.items as { line_item_id: number; line_id: string }[];
    const base = sampleOrder(`c${n}`);
    const r = await o.put(order.id, {
      ...base,
      items: [
        { line_id: 'L3', name: 'New', quantity: 1, unit_price: 2 },
        { line_id: 'L1', sku: 'SKU-1', name: 'Widget v2', quantity: 5, unit_price: '10.25' },
      ],
    });
    t.equal(r.statusCode, 200);
    const items = r.json().items as Obj[];
    t.same(
      items.map((i) => i.line_id),
      ['L3', 'L1'],
      'in the new order',
    );
    t.equal(items[1]!.line_item_id, l1!.line_item_id, 'L1 kept its id');
    t.equal(items[1]!.quantity, 5);
    t.equal(items[1]!.name, 'Widget v2');
    t.not(items[0]!.line_item_id, l2!.line_item_id);
    t.ok((items[0]!.line_item_id as number) > l2!.line_item_id, 'L3 is a new row');
    const rows = await db.db
      .selectFrom('order_lines')
      .select(['id', 'position'])
      .where('order_id', '=', order.id)
      .execute();
    t.same(rows.map((x) => x.id).sort(), [l1!.line_item_id, items[0]!.line_item_id].sort(), 'L2 deleted');
    t.equal(r.json().order_total, '58.75', 'total recomputed: 2 + 5×10.25 + 1.50 + 4');

    // lines without line_id keep their row by position
    const plain = await create({
      items: [
        { name: 'A', quantity: 1, unit_price: 1 },
        { name: 'B', quantity: 1, unit_price: 1 },
      ],
    });
    const again = await o.put(plain.id, {
      ...sampleOrder(`c${n}`),
      items: [
        { name: 'A', quantity: 2, unit_price: 1 },
        { name: 'B', quantity: 1, unit_price: 1 },
        { name: 'C', quantity: 1, unit_price: 1 },
      ],
    });
    const ids = (again.json().items as Obj[]).map((i) => i.line_item_id);
    t.equal(ids[0], plain.items[0]!.line_item_id);
    t.equal(ids[1], plain.items[1]!.line_item_id);
  });

  t.test('served to ShipStation or shipped: lines frozen, other fields free', async (t) => {
    const store = await db.db
      .insertInto('stores')
      .values({
        merchant_id: merchant.id,
        name: 'S',
        username: `ss-${Date.now()}`,
        password_hash: Buffer.from('x'),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const served = await create();
    await setRow(served.id, {
      store_id: store.id,
      served_store_id: store.id,
      served_at: sql`now()`,
      status: 'at_wms',
    });
    const newItems = { items: [{ line_id: 'L1', name: 'Widget', quantity: 3, unit_price: '10.25' }] };
    const refused = await o.put(served.id, sampleOrder(`c${n}`, newItems));
    t.equal(refused.statusCode, 409);
    t.match(refused.json().error.message, /served to ShipStation/);
    t.equal(refused.json().error.details[0].path, 'items');
    const notes = await o.put(
      served.id,
      sampleOrder(`c${n}`, {
        customer_notes: 'ring twice',
        ship_to: { ...(sampleOrder(1).ship_to as Obj), street2: 'Apt 4' },
      }),
    );
    t.equal(notes.statusCode, 200, 'addresses and notes can change');
    t.equal(notes.json().ship_to.street2, 'Apt 4');

    const shipped = await create();
    await db.db
      .insertInto('shipments')
      .values({
        merchant_id: merchant.id,
        order_id: shipped.id,
        idempotency_key: `k-${shipped.id}`,
        voided_at: sql`now()`,
      })
      .execute();
    const r = await o.put(shipped.id, sampleOrder(`c${n}`, newItems));
    t.equal(r.statusCode, 409, 'a shipment (even voided) freezes the lines');
    t.match(r.json().error.message, /has a shipment/);
    t.equal((await o.put(shipped.id, sampleOrder(`c${n}`, { gift: true }))).statusCode, 200);
  });
});
