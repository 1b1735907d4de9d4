/**
 * Re-routing benchmark (issue 4): 100 000 orders of one merchant, then a store-connection change that
 * re-routes them all, timed end to end (lock, store update, set-wise re-route with events, commit).
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/reroute.ts [orders]
 *
 * Works in a scratch schema that is dropped at the end. Reports the median of 3 runs per scenario.
 */
import { sql } from 'kysely';
import { SecretHasher } from '../src/lib/secrets.js';
import { rerouteMerchant } from '../src/stores/assign.js';
import { StoresService } from '../src/stores/service.js';
import { benchDatabaseUrl, insertMerchant, median, withScratchDatabase } from './scratch.js';

const url = benchDatabaseUrl();
const ORDERS = Number(process.argv[2] ?? 100_000);
const RUNS = 3;

const ms = (n: number) => `${n.toFixed(0)} ms`;

async function main() {
  await withScratchDatabase(url, 'bench_reroute', 2, async (database) => {
    const db = database.db;
    const service = new StoresService(db, new SecretHasher('bench-secret-0123456789abcdef0123456789'));
    const merchantId = await insertMerchant(db);

    // Seed: one set-wise multi-row insert; mixed sources, tags and statuses.
    let t0 = performance.now();
    await sql`
      insert into orders (merchant_id, order_source, order_number, status, order_date, tags,
                          order_total, content, content_hash)
      select ${merchantId}, (array['shopify-us', 'amazon', 'api'])[1 + i % 3], 'B-' || i,
             (array['new', 'new', 'new', 'at_wms', 'await_payment', 'on_hold', 'shipped', 'canceled'])[1 + i % 8],
             now() - (i || ' seconds')::interval,
             case when i % 10 = 0 then array['HOLD'] when i % 7 = 0 then array['VIP', 'gift'] else '{}' end,
             10.00, '{}'::jsonb, 'x'
      from generate_series(1, ${ORDERS}) as g(i)
    `.execute(db);
    await sql`analyze orders`.execute(db);
    console.log(`seeded ${ORDERS} orders in ${ms(performance.now() - t0)}`);

    t0 = performance.now();
    const a = await service.create(merchantId, { name: 'All A', priority: 100 });
    console.log(`first store created: ${a.rerouted} orders routed in ${ms(performance.now() - t0)}`);

    // Scenario 1 (worst case): a second catch-all store takes every open order, then gives them back.
    const b = await service.create(merchantId, { name: 'All B', priority: 200 });
    const moveAll: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      t0 = performance.now();
      const r = await service.update(merchantId, b.store.id, { priority: run % 2 === 0 ? 50 : 200 });
      const took = performance.now() - t0;
      moveAll.push(took);
      console.log(`  PATCH priority: ${r.rerouted} orders moved in ${ms(took)}`);
    }

    // Scenario 2: filters that leave most orders unrouted, each with a reason naming every store.
    await service.update(merchantId, b.store.id, { priority: 200 });
    await service.update(merchantId, a.store.id, { order_sources: ['shopify-us'], exclude_tags: ['HOLD'] });
    const unrouted: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      t0 = performance.now();
      const r =
        run % 2 === 0
          ? await service.retire(merchantId, b.store.id)
          : await service.create(merchantId, { name: `All ${run}`, priority: 300 });
      const took = performance.now() - t0;
      unrouted.push(took);
      console.log(`  ${run % 2 === 0 ? 'retire' : 'create'}: ${r.rerouted} orders moved in ${ms(took)}`);
      if (run % 2 === 1) b.store.id = r.store.id;
    }

    // Scenario 3: a change that moves nothing (every candidate re-evaluated, nothing written).
    const noop: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      t0 = performance.now();
      await db.transaction().execute((trx) => rerouteMerchant(trx, merchantId));
      noop.push(performance.now() - t0);
    }

    // Context for the numbers: the bare cost of rewriting the same rows on this machine right now (a
    // one-column UPDATE of every open order, rolled back). Re-routing does this plus events and FK checks.
    const bare: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      t0 = performance.now();
      await db
        .transaction()
        .execute(async (trx) => {
          await sql`update orders set updated_at = now()
                    where served_store_id is null and status not in ('canceled', 'shipped', 'confirmed')`.execute(
            trx,
          );
          bare.push(performance.now() - t0);
          throw new Error('rollback');
        })
        .catch(() => undefined);
    }

    const counts = await sql<{ routed: number; unrouted: number; events: number }>`
      select count(*) filter (where store_id is not null)::int as routed,
             count(*) filter (where store_id is null)::int as unrouted,
             (select count(*)::int from order_events) as events
      from orders`.execute(db);
    console.log(`final state: ${JSON.stringify(counts.rows[0])}`);
    console.log(`\nre-route ${ORDERS} orders of one merchant (median of ${RUNS}, PostgreSQL):`);
    console.log(`  every open order moves to another store:      ${ms(median(moveAll))}`);
    console.log(`  most orders become unrouted / routed again:   ${ms(median(unrouted))}`);
    console.log(`  nothing moves (evaluate only):                ${ms(median(noop))}`);
    console.log(`  baseline: bare UPDATE of the same open orders: ${ms(median(bare))}`);
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
