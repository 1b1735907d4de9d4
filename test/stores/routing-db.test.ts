import t from 'tap';
import { type Kysely, sql } from 'kysely';
import type { FastifyInstance } from 'fastify';
import type { DB } from '../../src/db/schema.js';
import { rerouteMerchant, routeOrders } from '../../src/stores/assign.js';
import { buildTestApp, seedAccounts } from '../helpers/app.js';
import { insertOrders, merchantId, pin, routedEvents, routingOf, type TestOrder } from './helpers.js';

const OLD = new Date('2026-01-01T00:00:00Z');

t.test('routing through the database', async (t) => {
  const { app, db: tdb } = await buildTestApp(t);
  const db: Kysely<DB> = tdb.db;
  let prefixN = 0;

  /** A fresh warehouse + merchant + solo merchant for each scenario. */
  async function scenario() {
    const s = await seedAccounts(app, `r${++prefixN}`);
    const mid = await merchantId(db, s.merchant.code);
    const soloId = await merchantId(db, s.solo.code);
    const api = storeApi(app, s.merchant.code, s.merchant.auth);
    /** Creates orders as the orders API does: insert, then routeOrders in the same transaction. */
    const create = async (orders: TestOrder[], m = mid) =>
      db.transaction().execute(async (trx) => {
        const ids = await insertOrders(trx, m, orders);
        await routeOrders(trx, m, ids);
        return ids;
      });
    return { s, mid, soloId, api, create };
  }

  t.test('recipe: one store for everything', async (t) => {
    const { api, create } = await scenario();
    const all = await api.create({ name: 'Everything' });
    const ids = await create([
      { order_source: 'shopify', tags: [] },
      { order_source: 'amazon', tags: ['HOLD', 'VIP'] },
      { order_source: 'api', status: 'await_payment' },
      { order_source: 'api', status: 'on_hold' },
    ]);
    for (const id of ids) {
      const o = await routingOf(db, id);
      t.equal(o.store_id, all, `order ${id} routed`);
      t.equal(o.routing_reason, null);
    }
  });

  t.test('recipe: one store per order source', async (t) => {
    const { api, create } = await scenario();
    const shopify = await api.create({ name: 'Shopify', order_sources: ['shopify-us', 'shopify-ca'] });
    const amazon = await api.create({ name: 'Amazon', order_sources: ['amazon'] });
    const [a, b, c, d] = await create([
      { order_source: 'shopify-us' },
      { order_source: 'shopify-ca' },
      { order_source: 'amazon' },
      { order_source: 'ebay' },
    ]);
    t.equal((await routingOf(db, a!)).store_id, shopify);
    t.equal((await routingOf(db, b!)).store_id, shopify);
    t.equal((await routingOf(db, c!)).store_id, amazon);
    const lost = await routingOf(db, d!);
    t.equal(lost.store_id, null, 'an unknown source goes nowhere');
    t.equal(
      lost.routing_reason,
      `store ${shopify} 'Shopify': order_source 'ebay' not in [shopify-us, shopify-ca]; ` +
        `store ${amazon} 'Amazon': order_source 'ebay' not in [amazon]`,
    );
    const ev = await routedEvents(db, d!);
    t.equal(ev.length, 1, 'becoming unrouted is recorded');
    t.match(ev[0], { actor_type: 'system', data: { store_id: null, reason: lost.routing_reason } });
    const catchAll = await api.create({ name: 'Others', priority: 1000 });
    t.equal((await routingOf(db, d!)).store_id, catchAll, 'a catch-all with a late priority takes the rest');
    t.equal((await routingOf(db, a!)).store_id, shopify, 'and takes nothing from the earlier stores');
  });

  t.test('recipe: hold back orders tagged HOLD until the tag is removed', async (t) => {
    const { api, create, mid } = await scenario();
    const main = await api.create({ name: 'Main', exclude_tags: ['HOLD'] });
    const [held, free] = await create([{ tags: ['HOLD', 'gift'] }, { tags: ['gift'] }]);
    const h = await routingOf(db, held!);
    t.equal(h.store_id, null, 'held back: exported nowhere');
    t.equal(h.routing_reason, `store ${main} 'Main': has excluded tag HOLD`);
    t.equal((await routingOf(db, free!)).store_id, main);
    t.equal((await routingOf(db, held!)).routing_reason, h.routing_reason);
    // The merchant removes the tag (an order change), and the orders code routes the order again.
    await sql`update orders set last_modified = ${OLD}, tags = '{gift}' where id = ${held!}`.execute(db);
    await db.transaction().execute((trx) => routeOrders(trx, mid, [held!]));
    const released = await routingOf(db, held!);
    t.equal(released.store_id, main, 'released to the store once the tag is gone');
    t.equal(released.routing_reason, null);
    t.ok(released.last_modified > OLD, 'last_modified moved so ShipStation picks it up');
    t.match(await routedEvents(db, held!), [
      { data: { store_id: null } },
      { data: { from_store_id: null, store_id: main, reason: null } },
    ]);
  });

  t.test('recipe: a warehouse with one store per merchant', async (t) => {
    const { s, mid, api, create } = await scenario();
    const second = await app.inject({
      method: 'POST',
      url: '/v1/merchants',
      headers: s.warehouse.auth,
      payload: { code: `r${prefixN}-m2`, name: 'Merchant Two' },
    });
    t.equal(second.statusCode, 201);
    const mid2 = await merchantId(db, `r${prefixN}-m2`);
    const api2 = storeApi(app, `r${prefixN}-m2`, s.warehouse.auth);
    const whApi = storeApi(app, s.merchant.code, s.warehouse.auth);
    const st1 = await whApi.create({ name: 'Merchant One' });
    const st2 = await api2.create({ name: 'Merchant Two' });
    const [o1] = await create([{ order_number: 'SAME-1' }], mid);
    const [o2] = await create([{ order_number: 'SAME-1' }], mid2);
    t.equal((await routingOf(db, o1!)).store_id, st1);
    t.equal((await routingOf(db, o2!)).store_id, st2, "each merchant's orders go to its own store");
    t.ok(api, 'the merchant itself sees the warehouse-created store');
    const mine = await app.inject({
      method: 'GET',
      url: `/v1/merchants/${s.merchant.code}/stores`,
      headers: s.merchant.auth,
    });
    t.same(
      mine.json().stores.map((x: { id: number }) => x.id),
      [st1],
    );
  });

  t.test('priority order and re-routing on every kind of change', async (t) => {
    const { api, create, mid } = await scenario();
    const [o] = await create([{ order_source: 'shopify', tags: ['VIP'] }]);
    t.equal((await routingOf(db, o!)).routing_reason, 'no store connections');

    const setOld = () => sql`update orders set last_modified = ${OLD}, updated_at = ${OLD}`.execute(db);
    await setOld();
    // create
    const general = await api.create({ name: 'General' });
    let r = await routingOf(db, o!);
    t.equal(r.store_id, general, 'creating a store re-routes');
    t.ok(r.last_modified > OLD && r.updated_at > OLD);

    // a second accepting store with a later (equal) priority takes nothing
    const vip = await api.create({ name: 'VIP', include_tags: ['VIP'] });
    t.equal((await routingOf(db, o!)).store_id, general, 'equal priority: the older store wins');

    // PATCH priority
    await setOld();
    t.equal((await api.patch(vip, { priority: 50 })).rerouted, 1);
    r = await routingOf(db, o!);
    t.equal(r.store_id, vip, 'a lower priority wins');
    t.ok(r.last_modified > OLD);

    // PATCH filters
    await api.patch(vip, { exclude_tags: ['VIP'] });
    t.equal((await routingOf(db, o!)).store_id, general, 'a filter change re-routes');
    await api.patch(general, { order_sources: ['amazon'] });
    r = await routingOf(db, o!);
    t.equal(r.store_id, null);
    t.equal(
      r.routing_reason,
      `store ${vip} 'VIP': has excluded tag VIP; store ${general} 'General': order_source 'shopify' not in [amazon]`,
    );
    // renaming a refusing store updates the reason, without moving last_modified
    await setOld();
    await api.patch(vip, { name: 'Very Important' });
    r = await routingOf(db, o!);
    t.match(r.routing_reason, /'Very Important': has excluded tag VIP/);
    t.equal(r.last_modified.getTime(), OLD.getTime(), 'a reason change alone does not re-export');
    t.ok(r.updated_at > OLD, 'but REST pollers see it');

    // PATCH of settings that do not affect routing writes no order
    await setOld();
    await api.patch(vip, { page_size: 20, timezone: 'Asia/Tokyo' });
    r = await routingOf(db, o!);
    t.equal(r.updated_at.getTime(), OLD.getTime(), 'nothing written when nothing changes');

    await api.patch(general, { order_sources: [] });
    t.equal((await routingOf(db, o!)).store_id, general);
    // retire
    const events = (await routedEvents(db, o!)).length;
    t.equal((await api.retire(general)).rerouted, 1);
    r = await routingOf(db, o!);
    t.equal(r.store_id, null, 'retiring re-routes its unpinned orders');
    t.equal(
      r.routing_reason,
      `store ${vip} 'Very Important': has excluded tag VIP`,
      'retired stores are not tried',
    );
    t.equal((await routedEvents(db, o!)).length, events + 1);

    // a no-op reroute writes nothing at all
    await setOld();
    const before = await db
      .selectFrom('order_events')
      .select(sql<number>`count(*)::int`.as('n'))
      .executeTakeFirstOrThrow();
    const outcome = await db.transaction().execute((trx) => rerouteMerchant(trx, mid));
    t.same(outcome, { changed: 0, moved: 0 });
    t.equal((await routingOf(db, o!)).updated_at.getTime(), OLD.getTime());
    const after = await db
      .selectFrom('order_events')
      .select(sql<number>`count(*)::int`.as('n'))
      .executeTakeFirstOrThrow();
    t.equal(after.n, before.n);
  });

  t.test('pinned, canceled, shipped and confirmed orders never move', async (t) => {
    const { api, create } = await scenario();
    const first = await api.create({ name: 'First' });
    const [pinned, open, canceled, shipped, confirmed, held] = await create([
      {},
      {},
      { status: 'canceled' },
      { status: 'shipped' },
      { status: 'confirmed' },
      { status: 'on_hold' },
    ]);
    await pin(db, pinned!);
    const second = await api.create({ name: 'Second', priority: 1 });
    t.equal((await routingOf(db, pinned!)).store_id, first, 'pinned stays with the store that served it');
    t.equal((await routingOf(db, open!)).store_id, second);
    t.equal((await routingOf(db, held!)).store_id, second, 'on_hold orders are re-routed');
    for (const id of [canceled!, shipped!, confirmed!]) {
      t.equal(
        (await routingOf(db, id)).store_id,
        null,
        'terminal statuses are not routed at creation either',
      );
    }
    await api.retire(first);
    const p = await routingOf(db, pinned!);
    t.equal(p.store_id, first, 'retiring keeps its pinned orders');
    t.equal(p.served_store_id, first);
    await api.retire(second);
    t.equal((await routingOf(db, pinned!)).store_id, first);
    t.equal((await routingOf(db, open!)).store_id, null);
    t.equal((await routingOf(db, open!)).routing_reason, 'no store connections');
  });

  t.test("a connection only ever sees its own merchant's orders", async (t) => {
    const { api, create, mid, soloId, s } = await scenario();
    const soloApi = storeApi(app, s.solo.code, s.solo.auth);
    const mine = await api.create({ name: 'Mine', order_sources: ['shared'] });
    const theirs = await soloApi.create({ name: 'Theirs', priority: -100 });
    const mineOrders = await create([{ order_source: 'shared' }, { order_source: 'other' }], mid);
    const theirOrders = await create([{ order_source: 'shared' }, { order_source: 'other' }], soloId);
    await soloApi.patch(theirs, { priority: -1000 });
    await api.patch(mine, { order_sources: [] });
    for (const id of mineOrders) t.equal((await routingOf(db, id)).store_id, mine);
    for (const id of theirOrders) t.equal((await routingOf(db, id)).store_id, theirs);
    await soloApi.retire(theirs);
    for (const id of theirOrders) {
      const r = await routingOf(db, id);
      t.equal(r.store_id, null, "another merchant's store is never a fallback");
      t.equal(r.routing_reason, 'no store connections');
    }
    await t.rejects(
      sql`update orders set store_id = ${mine} where id = ${theirOrders[0]!}`.execute(db),
      { code: '23503' },
      'the composite foreign key refuses a store of another merchant',
    );
    // routeOrders given another merchant's order ids touches nothing
    await db.transaction().execute((trx) => routeOrders(trx, mid, theirOrders));
    for (const id of theirOrders) t.equal((await routingOf(db, id)).store_id, null);
  });
});

function storeApi(app: FastifyInstance, merchant: string, auth: { authorization: string }) {
  const base = `/v1/merchants/${merchant}/stores`;
  return {
    async create(payload: Record<string, unknown>): Promise<number> {
      const r = await app.inject({ method: 'POST', url: base, headers: auth, payload });
      if (r.statusCode !== 201) throw new Error(`create store: ${r.statusCode} ${r.body}`);
      return r.json().store.id;
    },
    async patch(id: number, payload: Record<string, unknown>): Promise<{ rerouted: number }> {
      const r = await app.inject({ method: 'PATCH', url: `${base}/${id}`, headers: auth, payload });
      if (r.statusCode !== 200) throw new Error(`patch store: ${r.statusCode} ${r.body}`);
      return r.json();
    },
    async retire(id: number): Promise<{ rerouted: number }> {
      const r = await app.inject({ method: 'DELETE', url: `${base}/${id}`, headers: auth });
      if (r.statusCode !== 200) throw new Error(`retire store: ${r.statusCode} ${r.body}`);
      return r.json();
    },
  };
}
