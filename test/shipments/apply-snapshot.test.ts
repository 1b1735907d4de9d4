import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import t from 'tap';
import type { DB } from '../../src/db/schema.js';
import { inTransaction } from '../../src/db/transaction.js';
import {
  type ApplyInput,
  applyShipment,
  applyShipmentAt,
  applyShipmentWithSnapshot,
  type OrderSnapshot,
} from '../../src/shipments/apply.js';
import {
  alertsOf,
  createOrder,
  createStore,
  noticeXml,
  notify,
  orderRow,
  serve,
  setup,
  shipmentsOf,
  shippedOf,
} from './helpers.js';

/** The order and its lines as the notice's statement reads them (no lock), with the row version. */
async function snapshotOf(db: Kysely<DB>, orderId: number): Promise<OrderSnapshot> {
  const o = await sql<Omit<OrderSnapshot, 'lines'>>`
    select id, order_number, status, held_from, xmin::text as version from orders where id = ${orderId}
  `.execute(db);
  const lines = await db
    .selectFrom('order_lines')
    .select(['id', 'position', 'sku', 'quantity', 'shipped_quantity', 'adjustment', 'excluded'])
    .where('order_id', '=', orderId)
    .orderBy('position')
    .execute();
  return { ...o.rows[0]!, lines };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('the optimistic single-statement apply (applyShipmentAt)', async (t) => {
  const { app, db, merchant } = await setup(t);
  const store = await createStore(app, merchant);
  const m = await db
    .selectFrom('merchants')
    .select('id')
    .where('code', '=', merchant.code)
    .executeTakeFirstOrThrow();
  const input = (orderId: number, tracking: string, items: ApplyInput['facts']['items']): ApplyInput => ({
    merchantId: m.id,
    orderId,
    storeId: store.id,
    noticeId: null,
    facts: {
      carrier: 'UPS',
      service: null,
      trackingNumber: tracking,
      shipDate: '2025-07-16',
      labelCreatedAt: null,
      shippingCost: '9.12',
      notifyCustomer: false,
      items,
    },
    actor: { actor_type: 'system', actor: 'test' },
  });
  const mug = (quantity: number) => [{ lineItemId: null, sku: 'MUG', name: null, quantity }];

  t.test('a current snapshot applies; once the order moved on, it writes nothing', async (t) => {
    const o = await createOrder(app, merchant);
    await serve(db, o.id, store.id);
    const before = await snapshotOf(db, o.id);
    const first = await applyShipmentAt(db, input(o.id, 'S-1', mug(1)), before);
    t.equal(first?.kind, 'applied');
    t.same(await shippedOf(db, o.id), [1, 0]);

    const stale = await applyShipmentAt(db, input(o.id, 'S-2', mug(1)), before);
    t.equal(stale, null, 'the order row is no longer the version the lines were read at');
    t.same(await shippedOf(db, o.id), [1, 0], 'nothing written');
    t.equal((await shipmentsOf(db, o.id)).length, 1);

    // The fallback reads the lines under the lock: MUG has room for 1 more, not 2.
    const fallback = await applyShipmentWithSnapshot(db, input(o.id, 'S-2', mug(2)), before);
    t.equal(fallback.kind, 'applied');
    t.same(await shippedOf(db, o.id), [2, 0], 'capped on the current lines, not the stale ones');
    t.same(
      (await alertsOf(db, o.id)).map((a) => a.kind),
      ['over_shipment'],
    );

    const repeat = await applyShipmentAt(db, input(o.id, 'S-2', mug(2)), await snapshotOf(db, o.id));
    t.equal(repeat?.kind, 'duplicate');
    t.equal(repeat?.shipmentId, fallback.shipmentId);
    t.equal((await shipmentsOf(db, o.id)).length, 2);
  });

  t.test('the same outcome as the locked path', async (t) => {
    const a = await createOrder(app, merchant);
    const b = await createOrder(app, merchant);
    await serve(db, a.id, store.id);
    await serve(db, b.id, store.id);
    const viaSnapshot = await applyShipmentAt(db, input(a.id, 'SAME', null), await snapshotOf(db, a.id));
    const viaLock = await inTransaction(db, (trx) => applyShipment(trx, input(b.id, 'SAME', null)));
    t.same(
      { ...viaSnapshot, shipmentId: 0, orderId: 0, orderNumber: '' },
      { ...viaLock, shipmentId: 0, orderId: 0, orderNumber: '' },
    );
    t.same(await shippedOf(db, a.id), await shippedOf(db, b.id));
    t.equal((await orderRow(db, a.id)).status, 'shipped');
  });

  t.test(
    'a writer holding the order lock: the statement waits, sees the new version, writes nothing',
    async (t) => {
      const o = await createOrder(app, merchant);
      await serve(db, o.id, store.id);
      const snapshot = await snapshotOf(db, o.id);
      let locked!: () => void;
      const isLocked = new Promise<void>((r) => {
        locked = r;
      });
      // Another writer of this order's lines (as a void or a notice would): lock, change, update the order.
      const writer = db.transaction().execute(async (trx) => {
        await sql`select id from orders where id = ${o.id} for update`.execute(trx);
        locked();
        await sleep(150);
        await sql`update order_lines set shipped_quantity = quantity where order_id = ${o.id}`.execute(trx);
        await sql`update orders set updated_at = now() where id = ${o.id}`.execute(trx);
      });
      await isLocked;
      const outcome = await applyShipmentAt(db, input(o.id, 'W-1', mug(1)), snapshot);
      await writer;
      t.equal(outcome, null);
      t.same(await shipmentsOf(db, o.id), []);
      t.same(await shippedOf(db, o.id), [2, 1], "the other writer's lines stand");
    },
  );

  t.test('a holder that only locked (a repeat): the statement waits, then applies', async (t) => {
    const o = await createOrder(app, merchant);
    await serve(db, o.id, store.id);
    const snapshot = await snapshotOf(db, o.id);
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => {
      locked = r;
    });
    const holder = db.transaction().execute(async (trx) => {
      await sql`select id from orders where id = ${o.id} for update`.execute(trx);
      locked();
      await sleep(150);
    });
    await isLocked;
    const outcome = await applyShipmentAt(db, input(o.id, 'L-1', mug(1)), snapshot);
    await holder;
    t.equal(outcome?.kind, 'applied');
    t.same(await shippedOf(db, o.id), [1, 0]);
  });

  t.test('through the endpoint: packages of one order racing each other are all counted once', async (t) => {
    const o = await createOrder(app, merchant, { items: [{ sku: 'MUG', quantity: 4 }] });
    await serve(db, o.id, store.id);
    const rs = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        notify(app, store, {
          query: { order_number: o.order_number, tracking_number: `RACE-${i % 3}` },
          body: noticeXml({ orderNumber: o.order_number, items: [{ sku: 'MUG', quantity: 1 }] }),
        }),
      ),
    );
    t.same(
      rs.map((r) => r.statusCode),
      Array(6).fill(200),
    );
    t.equal((await shipmentsOf(db, o.id)).length, 3, 'three packages, each repeated once');
    t.same(await shippedOf(db, o.id), [3]);
    const notices = await db
      .selectFrom('ship_notices')
      .select('status')
      .where('tracking_number', 'like', 'RACE-%')
      .execute();
    t.same(notices.map((n) => n.status).sort(), [
      'applied',
      'applied',
      'applied',
      'duplicate',
      'duplicate',
      'duplicate',
    ]);
  });
});
