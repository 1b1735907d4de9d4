import { type Kysely, sql } from 'kysely';
import t from 'tap';
import type { DB } from '../../src/db/schema.js';
import { SecretHasher } from '../../src/lib/secrets.js';
import { lockMerchantStores, rerouteMerchant, routeOrders } from '../../src/stores/assign.js';
import { StoresService } from '../../src/stores/service.js';
import { createTestDb } from '../helpers/db.js';
import { insertOrders, routingOf } from './helpers.js';

/** Concurrency needs real connections: PostgreSQL only (PGlite serialises everything). */
t.test('routing under concurrency', async (t) => {
  const tdb = await createTestDb(t);
  if (tdb.engine !== 'postgres') {
    t.pass('skipped: needs PostgreSQL (DATABASE_URL)');
    return;
  }
  const db: Kysely<DB> = tdb.db;
  const service = new StoresService(db, new SecretHasher('concurrency-secret-0123456789abcdef'));
  let n = 0;
  async function merchant() {
    const m = await db
      .insertInto('merchants')
      .values({ code: `cc-${++n}`, name: 'cc' })
      .returning('id')
      .executeTakeFirstOrThrow();
    return m.id;
  }
  const createOrder = (m: number) =>
    db.transaction().execute(async (trx) => {
      const [id] = await insertOrders(trx, m, [{}]);
      await routeOrders(trx, m, [id!]);
      return id!;
    });
  /** A transaction held open until `release()` is called. */
  function held<T>(fn: (trx: Kysely<DB>) => Promise<T>) {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let ready!: (v: T) => void;
    const started = new Promise<T>((r) => {
      ready = r;
    });
    const done = db.transaction().execute(async (trx) => {
      const v = await fn(trx);
      ready(v);
      await gate;
      return v;
    });
    return { started, release, done };
  }
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  t.test('an order pinned while a re-route waits keeps its store', async (t) => {
    const m = await merchant();
    const a = await service.create(m, { name: 'A' });
    const x = await createOrder(m);
    const pinning = held((trx) =>
      sql`update orders set served_store_id = store_id, served_at = now()
          where id = ${x} and store_id = ${a.store.id} and served_store_id is null`.execute(trx),
    );
    await pinning.started;
    const change = service.create(m, { name: 'B', priority: 1 });
    await sleep(200);
    pinning.release();
    await pinning.done;
    const b = await change;
    const o = await routingOf(db, x);
    t.equal(o.store_id, a.store.id, 'the re-route saw the pin under the row lock and left the order');
    t.equal(o.served_store_id, a.store.id);
    t.equal(b.rerouted, 0);
  });

  t.test('an order re-routed while the old store pins is not served by the old store', async (t) => {
    const m = await merchant();
    const a = await service.create(m, { name: 'A' });
    const x = await createOrder(m);
    const reroute = held(async (trx) => {
      await lockMerchantStores(trx, m);
      await sql`insert into stores (merchant_id, name, username, password_hash, priority)
                values (${m}, 'B', ${`cc-b-${m}`}, '\\x00'::bytea, 1)`.execute(trx);
      return rerouteMerchant(trx, m);
    });
    t.equal((await reroute.started).moved, 1);
    // The old store's export tries to pin the order it still sees as its own.
    const pin = sql<never>`update orders set served_store_id = store_id, served_at = now()
        where id = ${x} and store_id = ${a.store.id} and served_store_id is null`.execute(db);
    await sleep(200);
    reroute.release();
    await reroute.done;
    const pinned = await pin;
    t.equal(Number(pinned.numAffectedRows ?? 0), 0, 'the pin waited for the lock, then found the order gone');
    const o = await routingOf(db, x);
    t.not(o.store_id, a.store.id);
    t.equal(o.served_store_id, null);
  });

  t.test('an order created while a store change is in flight is routed with the change', async (t) => {
    const m = await merchant();
    await service.create(m, { name: 'A', priority: 100 });
    let newStore = 0;
    const change = held(async (trx) => {
      await lockMerchantStores(trx, m);
      const s = await sql<{
        id: number;
      }>`insert into stores (merchant_id, name, username, password_hash, priority)
                values (${m}, 'B', ${`cc-c-${m}`}, '\\x00'::bytea, 1) returning id`.execute(trx);
      newStore = s.rows[0]!.id;
      return rerouteMerchant(trx, m);
    });
    await change.started;
    const creating = createOrder(m);
    await sleep(200);
    change.release();
    await change.done;
    const id = await creating;
    t.equal((await routingOf(db, id)).store_id, newStore, 'routing waited for the store change and saw it');
  });

  t.test('two store changes of one merchant are serialised', async (t) => {
    const m = await merchant();
    const ids = await db.transaction().execute(async (trx) => {
      const ids = await insertOrders(
        trx,
        m,
        Array.from({ length: 50 }, () => ({})),
      );
      await routeOrders(trx, m, ids);
      return ids;
    });
    const [a, b] = await Promise.all([
      service.create(m, { name: 'A', priority: 2 }),
      service.create(m, { name: 'B', priority: 1 }),
    ]);
    for (const id of ids) t.equal((await routingOf(db, id)).store_id, b.store.id, 'the winner by priority');
    t.ok(a.store.id);
  });
});
