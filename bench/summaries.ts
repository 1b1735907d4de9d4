/**
 * Order summaries benchmark (issue 16): N orders of one merchant created within one month, with
 * 1–3 lines each (every 10th with a discount adjustment), 60 % shipped with a shipment and its
 * 'shipped' event, 5 % canceled; then the month summarised per day, by creation date and by ship
 * date, ungrouped and grouped by store, source and status.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/summaries.ts [orders]
 *
 * The target is 1 M orders summarised for a month in under 1 s; the default size is 100 000 (the
 * machine is shared). Works in a scratch schema dropped at the end. Median of 3 runs per query.
 * The rows are seeded directly, with their summary facts (BENCH_CHECK=1 checks them against
 * refreshSummaryFacts); the tables are not analysed (BENCH_ANALYZE=1 does).
 *
 * SUMMARY_REUSE=1 seeds into the schema bench_summaries_keep_<orders> and keeps it, or, when a
 * previous run left it complete, times its data again without seeding (to compare statements on the
 * same rows, alternating); `drop schema bench_summaries_keep_<orders> cascade` removes it.
 */
import { CompiledQuery, type Kysely, sql } from 'kysely';
import type { DB } from '../src/db/schema.js';
import { refreshSummaryFacts } from '../src/domain/summary-facts.js';
import { type SummaryQuery, summarise, summaryPlanner, summaryStatement } from '../src/summaries/query.js';
import { benchDatabaseUrl, insertMerchant, insertStore, median, withScratchDatabase } from './scratch.js';

const url = benchDatabaseUrl();
const ORDERS = Number(process.argv[2] ?? 100_000);
const RUNS = 3;

async function main() {
  const kept = process.env.SUMMARY_REUSE ? `bench_summaries_keep_${ORDERS}` : undefined;
  await withScratchDatabase(
    url,
    'bench_summaries',
    2,
    async (database, schema) => {
      const db = database.db;
      // A kept schema is complete once the other merchant's shipments, seeded last, are there.
      const seeded = await sql<{ id: number }>`
        select id from merchants
        where code = 'bench' and exists (
          select 1 from shipments where merchant_id = (select id from merchants where code = 'other'))`.execute(
        db,
      );
      if (seeded.rows[0]) {
        console.log(`reusing the ${ORDERS} orders seeded in ${schema}`);
        return measure(db, Number(seeded.rows[0].id));
      }
      if (await db.selectFrom('merchants').select('id').executeTakeFirst()) {
        throw new Error(`${schema} holds an incomplete seeding: drop schema ${schema} cascade`);
      }
      return measure(db, await seed(db));
    },
    { kept },
  );
}

/** Seeds the month of the merchant (and the other's); returns the merchant's id. */
async function seed(db: Kysely<DB>): Promise<number> {
  const m = { id: await insertMerchant(db) };
  const other = { id: await insertMerchant(db, 'other', 'Other') };
  const t0 = performance.now();
  for (const [merchant, n] of [
    [m.id, ORDERS],
    [other.id, Math.ceil(ORDERS / 4)],
  ] as const) {
    await insertStore(db, merchant, { name: 'Main', username: `ss_bench_${merchant}` });
    // November 2026, spread evenly; statuses: 60 % shipped/confirmed, 5 % canceled, the rest open.
    // The summary facts are written with each row, as the service does (the order's id is drawn
    // first: its lines and units follow from it); a shipped order ships 20 hours after creation.
    await sql`
      insert into orders (id, merchant_id, order_source, order_number, status, order_date, currency, tags,
        order_total, shipping_amount, content, content_hash, store_id, served_store_id, created_at,
        units, shipped_at, shipment_count, shipment_cost, shipment_dates, shipment_costs, shipment_recorded,
        ship_span)
      overriding system value
      select x.id, ${merchant}, (array['shopify-us', 'amazon', 'api'])[1 + x.i % 3], 'B-' || x.i, x.status,
        x.ts, 'USD', '{}', (10 + x.i % 90)::numeric(12, 2) + 0.99, 4.95, '{}'::jsonb, 'x', s.id, s.id, x.ts,
        (select sum(1 + (x.id + p) % 3) from generate_series(1, 1 + x.id % 3) as p)::integer,
        case when x.shipped then x.ts + interval '20 hours' end,
        case when x.shipped then 1 else 0 end, case when x.shipped then 7.25 else 0 end,
        case when x.shipped then array[x.ship_date] end, case when x.shipped then array[7.25] end,
        case when x.shipped then array[x.ts + interval '20 hours'] end,
        case when x.shipped then daterange(least(x.ship_date, x.shipped_day - 1), greatest(x.ship_date, x.shipped_day + 1), '[]') end
      from (
        select i, nextval(pg_get_serial_sequence('orders', 'id')) as id, ts, st.status,
          st.status in ('shipped', 'confirmed') as shipped,
          ((ts + interval '20 hours') at time zone 'UTC')::date as ship_date,
          ((ts + interval '20 hours') at time zone 'UTC')::date as shipped_day
        from generate_series(1, ${n}) as g(i)
        cross join lateral (select timestamptz '2026-11-01T00:00:00Z' + (i::float8 / ${n}) * interval '30 days' as ts) t
        cross join lateral (select case when i % 20 = 0 then 'canceled'
          when i % 10 < 6 then (case when i % 3 = 0 then 'confirmed' else 'shipped' end)
          else 'at_wms' end as status) st
      ) x
      cross join (select id from stores where merchant_id = ${merchant}) s`.execute(db);
    await sql`
      insert into order_lines (merchant_id, order_id, position, sku, name, quantity, unit_price, adjustment, content)
      select o.merchant_id, o.id, p, 'SKU-' || p, 'Item', 1 + (o.id + p) % 3,
        case when p = 4 then -1.00 else 5.00 end, p = 4, '{}'::jsonb
      from orders o cross join generate_series(1, 4) as p
      where o.merchant_id = ${merchant} and (p <= 1 + o.id % 3 or (p = 4 and o.id % 10 = 0))`.execute(db);
    await sql`
      insert into order_events (merchant_id, order_id, at, type, from_status, to_status, actor_type)
      select merchant_id, id, created_at + interval '20 hours', 'shipped', 'at_wms', 'shipped', 'store'
      from orders where merchant_id = ${merchant} and status in ('shipped', 'confirmed')`.execute(db);
    await sql`
      insert into shipments (merchant_id, order_id, store_id, carrier, tracking_number, ship_date,
        shipping_cost, idempotency_key, created_at)
      select merchant_id, id, store_id, 'UPS', 'T' || id, ((created_at + interval '20 hours') at time zone 'UTC')::date,
        7.25, 'k' || id, created_at + interval '20 hours'
      from orders where merchant_id = ${merchant} and status in ('shipped', 'confirmed')`.execute(db);
  }
  if (process.env.BENCH_CHECK) {
    // The seeded facts are what the service would have written: a recomputation changes nothing.
    const before = await sql`select sum(hashtext(o::text)) as h from orders o`.execute(db);
    await refreshSummaryFacts(db);
    const after = await sql`select sum(hashtext(o::text)) as h from orders o`.execute(db);
    if (JSON.stringify(before.rows) !== JSON.stringify(after.rows)) throw new Error('seeded facts differ');
    console.log('seeded facts checked');
  }
  // Measured as a busy database may stand: no ANALYZE since the load (the scratch schema's tables
  // have no statistics), and no VACUUM, so no index-only scan (no visibility map). BENCH_ANALYZE=1
  // analyses first.
  if (process.env.BENCH_ANALYZE) await sql`analyze`.execute(db);
  console.log(
    `seeded ${ORDERS} orders (+${Math.ceil(ORDERS / 4)} of another merchant) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  return m.id;
}

/** Times each case (median of RUNS) on the seeded month of the merchant. */
async function measure(db: Kysely<DB>, merchantId: number) {
  const base: SummaryQuery = {
    scope: { merchantId },
    date: 'created',
    from: '2026-11-01',
    to: '2026-11-30',
    timezone: 'America/New_York',
    group: undefined,
  };
  const cases: [string, SummaryQuery][] = [
    ['created, ungrouped', base],
    ['created, by store', { ...base, group: 'store' }],
    ['created, by source', { ...base, group: 'source' }],
    ['created, by status', { ...base, group: 'status' }],
    ['shipped, ungrouped', { ...base, date: 'shipped' }],
    ['shipped, by source', { ...base, date: 'shipped', group: 'source' }],
  ];
  if (process.env.SUMMARY_EXPLAIN) {
    // The plans of the ungrouped queries, to see where the time goes.
    for (const q of [base, { ...base, date: 'shipped' as const }]) {
      const compiled = summaryStatement(q).compile(db);
      // As summarise() runs it: with its planner settings for the transaction.
      const plan = await db.transaction().execute(async (trx) => {
        await summaryPlanner(trx, q);
        return trx.executeQuery(
          CompiledQuery.raw(`explain (analyze, buffers) ${compiled.sql}`, [...compiled.parameters]),
        );
      });
      console.log(plan.rows.map((r) => Object.values(r as object)[0]).join('\n'));
    }
  }
  console.log(`| query (a month, ${ORDERS} orders of the merchant) | rows | median ms | min–max ms |`);
  console.log('|---|---|---|---|');
  for (const [name, q] of cases) {
    const times: number[] = [];
    let rows = 0;
    for (let run = 0; run < RUNS; run++) {
      const t = performance.now();
      rows = (await summarise(db, q)).length;
      times.push(performance.now() - t);
    }
    console.log(
      `| ${name} | ${rows} | ${median(times).toFixed(0)} | ${Math.min(...times).toFixed(0)}–${Math.max(...times).toFixed(0)} |`,
    );
  }
  // SUMMARY_SETTINGS="work_mem=64MB;enable_sort=off": the same cases on one connection with each
  // setting, to see what a planner setting would buy before making it the statement's own.
  for (const setting of (process.env.SUMMARY_SETTINGS ?? '').split(';').filter(Boolean)) {
    const [name, value] = setting.split('=');
    await db.connection().execute(async (c) => {
      await sql`select set_config(${name}, ${value}, false)`.execute(c);
      for (const [label, q] of cases) {
        const times: number[] = [];
        for (let run = 0; run < RUNS; run++) {
          const t = performance.now();
          await summarise(c, q);
          times.push(performance.now() - t);
        }
        console.log(
          `| ${label}, ${setting} | | ${median(times).toFixed(0)} | ${Math.min(...times).toFixed(0)}–${Math.max(...times).toFixed(0)} |`,
        );
      }
      await sql`select set_config(${name}, default, false)`.execute(c).catch(() => undefined);
    });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
