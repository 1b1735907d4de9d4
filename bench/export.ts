import { sql } from 'kysely';
import type { Store } from '../src/db/schema.js';
import { SecretHasher } from '../src/lib/secrets.js';
import { Metrics } from '../src/metrics/metrics.js';
import {
  createSnapshot,
  pagesOf,
  recordExport,
  renderPage,
  servePage,
  servePageRows,
  type Window,
  windowOf,
} from '../src/shipstation/export.js';
import { benchApp, insertMerchant, insertStore, withScratchDatabase } from './scratch.js';

/**
 * `npx tsx bench/export.ts`: the export endpoint on a 10 000-order window, on the local PostgreSQL
 * (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres), in a scratch schema that is
 * dropped at the end. The service runs in this process (app.listen) and is called over HTTP.
 *
 * Measures: page 1 (the snapshot build of the whole window) and later pages at page sizes 100 and
 * 500 (median, p99), full walks; then the split — exactly the SQL statements the endpoint runs
 * (snapshot on page 1 / the page statement that locks, pins and reads / log), run directly on the
 * pool, plus the
 * in-process render — and the endpoint's time as a ratio of that sum (the cost of HTTP, auth,
 * parsing and the transaction's round trips). Orders are reset to new/unpinned before every walk so
 * each walk pins, as a real first import does. Env: BENCH_WINDOW (10000), BENCH_NOISE (40000),
 * BENCH_RUNS (5).
 */

const URL_ = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const WINDOW = Number(process.env.BENCH_WINDOW ?? 10_000);
const NOISE = Number(process.env.BENCH_NOISE ?? 40_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const SECRET = 'bench-export-secret-key-0123456789abcdef';
const PASSWORD = 'bench-store-password-0123456789';

const median = (xs: number[]) => quantile(xs, 0.5);
function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1));
  return s[i]!;
}
const ms = (x: number) => `${x.toFixed(1)} ms`;

async function main() {
  await withScratchDatabase(URL_, 'bench_export', 10, async (database, schema) => {
    const db = database.db;
    const hasher = new SecretHasher(SECRET);
    const started = performance.now();
    const m = await insertMerchant(db, 'bench-m', 'Bench merchant');
    const addStore = (name: string, username: string) =>
      insertStore(db, m, { name, username, passwordHash: hasher.hash(PASSWORD), lookbackMinutes: 0 });
    const storeId = await addStore('Bench store', 'bench-store');
    const otherId = await addStore('Other store', 'other-store');
    // The window: 2026-03-01 10:00–11:59 UTC. WINDOW orders in it, NOISE around it (other days,
    // the other store), all with two lines, content in the shape of src/orders/types.ts.
    const seedOrders = async (
      n: number,
      store: number,
      from: string,
      spanSeconds: number,
      prefix: string,
    ) => {
      await sql`
        insert into orders (merchant_id, order_source, order_number, status, order_date, currency, tags,
          order_total, tax_amount, shipping_amount, content, content_hash, store_id, last_modified, updated_at)
        select ${m}, 'web', ${prefix} || g, 'new', ${from}::timestamptz, 'USD', '{}', 43.50, 1.50, 5.00,
          jsonb_build_object(
            'order_source', 'web', 'order_number', ${prefix} || g, 'order_date', '2026-03-01T09:00:00.000Z',
            'currency', 'USD', 'tags', '[]'::jsonb, 'shipping_method', 'Ground', 'payment_method', 'Card',
            'order_total', '43.50', 'tax_amount', '1.50', 'shipping_amount', '5.00', 'amount_paid', null,
            'customer_notes', 'Leave with the concierge & ring twice', 'internal_notes', null,
            'gift', false, 'gift_message', null, 'custom_fields', '[]'::jsonb, 'requested_warehouse', null,
            'customer', jsonb_build_object('code', 'buyer' || g || '@example.com', 'email', 'buyer' || g || '@example.com'),
            'bill_to', jsonb_build_object('name', 'Jane Doe ' || g, 'company', null, 'street1', '221 Elm St',
              'street2', null, 'street3', null, 'city', 'Springfield', 'state', 'IL', 'postal_code', '62704',
              'country', 'US', 'phone', '+1 555 0100', 'email', 'buyer' || g || '@example.com'),
            'ship_to', jsonb_build_object('name', 'Jane Doe ' || g, 'company', 'Acme "East" Ltd.',
              'street1', '221 Elm St <rear>', 'street2', 'Apt 4', 'street3', null, 'city', 'Springfield',
              'state', 'IL', 'postal_code', '62704', 'country', 'US', 'phone', '+1 555 0100',
              'email', 'buyer' || g || '@example.com')),
          md5(g::text), ${store},
          ${from}::timestamptz + make_interval(secs => (g % ${spanSeconds}) + (g % 1000) / 1000.0), now()
        from generate_series(1, ${n}) g`.execute(db);
    };
    await seedOrders(WINDOW, storeId, '2026-03-01 10:00:00+00', 7200, 'W-');
    await seedOrders(NOISE / 2, storeId, '2026-02-01 00:00:00+00', 86400 * 20, 'N-');
    await seedOrders(NOISE / 2, otherId, '2026-03-01 10:00:00+00', 7200, 'O-');
    await sql`
      insert into order_lines (merchant_id, order_id, position, line_id, sku, name, quantity, unit_price, content)
      select o.merchant_id, o.id, p, 'L' || p, 'SKU-' || (o.id % 500) || '-' || p, 'Mug, blue ' || p, 1 + p, 18.50,
        jsonb_build_object('line_id', 'L' || p, 'sku', 'SKU-' || (o.id % 500) || '-' || p, 'name', 'Mug, blue ' || p,
          'quantity', 1 + p, 'unit_price', '18.50', 'weight', '14.5', 'weight_unit', 'oz', 'image_url', null,
          'location', 'A-03-2', 'upc', null,
          'options', jsonb_build_array(jsonb_build_object('name', 'Colour', 'value', 'Blue', 'weight', null)),
          'adjustment', false)
      from orders o cross join generate_series(0, 1) p`.execute(db);
    await sql`analyze`.execute(db);
    console.log(`seeded ${WINDOW} + ${NOISE} orders (2 lines each) in ${ms(performance.now() - started)}`);

    const reset = async () => {
      await sql`update orders set status = 'new', served_store_id = null, served_at = null
        where merchant_id = ${m} and (served_store_id is not null or status <> 'new')`.execute(db);
      await sql`delete from order_events where merchant_id = ${m}`.execute(db);
      await sql`delete from export_snapshots where merchant_id = ${m}`.execute(db);
      await sql`delete from export_log where merchant_id = ${m}`.execute(db);
      // Every reset rewrites the window's rows: vacuum so each walk starts from a clean table, as a
      // real first import would (no dead row versions in the export index).
      await sql`vacuum (analyze) orders, order_events, export_snapshots, export_snapshot_orders`.execute(db);
    };
    const setPageSize = (n: number) =>
      sql`update stores set page_size = ${n} where id = ${storeId}`.execute(db);

    const { app, config, base } = await benchApp(database, schema, {
      env: { DATABASE_URL: URL_, SECRET_KEY: SECRET },
      hasher,
      quiet: true,
      listen: true,
    });
    const auth = { authorization: `Basic ${Buffer.from(`bench-store:${PASSWORD}`).toString('base64')}` };
    const START = '03/01/2026 10:00';
    const END = '03/01/2026 11:59';
    const enc = (d: string) => encodeURIComponent(d).replace(/%20/g, '+');
    const get = async (page: number) => {
      const t0 = performance.now();
      const r = await fetch(
        `${base}/shipstation?action=export&start_date=${enc(START)}&end_date=${enc(END)}&page=${page}`,
        { headers: auth },
      );
      const body = await r.text();
      const took = performance.now() - t0;
      if (r.status !== 200) throw new Error(`page ${page}: ${r.status} ${body.slice(0, 300)}`);
      const pages = Number(/pages="(\d+)"/.exec(body)?.[1]);
      return { took, pages, bytes: body.length };
    };

    const results: string[] = [];
    const ctx = {
      config,
      db,
      engine: database.engine,
      hasher,
      accounts: undefined as never,
      metrics: new Metrics(undefined),
    };
    const http: Record<number, { first: number[]; later: number[]; walk: number[] }> = {};
    const direct: Record<number, number[]> = {};
    const split: Record<number, Record<string, number[]>> = {};

    /** A walk over HTTP, as ShipStation does it. */
    async function httpWalk(size: number, run: number) {
      const h = http[size]!;
      const w0 = performance.now();
      const p1 = await get(1);
      h.first.push(p1.took);
      for (let page = 2; page <= p1.pages; page++) h.later.push((await get(page)).took);
      h.walk.push(performance.now() - w0);
      if (run === 0) console.log(`page size ${size}: ${p1.pages} pages, page 1 is ${p1.bytes} bytes`);
    }

    /** The endpoint's own function, in process (no HTTP, no authentication). */
    async function directWalk(store: Store, size: number) {
      let pages = 1;
      for (let page = 1; page <= pages; page++) {
        const a = performance.now();
        const r = await servePage(ctx, store, { start_date: START, end_date: END, page: String(page) });
        if (page > 1) direct[size]!.push(performance.now() - a);
        pages = r.pages;
      }
    }

    /**
     * The split: the endpoint's statements run directly on the pool as the endpoint runs them (each
     * atomic on its own), timed statement by statement; plus the render in process.
     */
    async function statementWalk(store: Store, w: Window, size: number) {
      const t = split[size]!;
      let pages = 1;
      for (let page = 1; page <= pages; page++) {
        const p0 = performance.now();
        let a = performance.now();
        let snapshotId: number | undefined;
        if (page === 1) {
          snapshotId = (await createSnapshot(db, store, w, 30)).id;
          t.snapshot!.push(performance.now() - a);
        }
        a = performance.now();
        const served = await servePageRows(db, store, w, page, snapshotId);
        t.serve!.push(performance.now() - a);
        pages = pagesOf(served.snapshot!.total, store.page_size);
        a = performance.now();
        renderPage(store, served.rows, pages);
        t.render!.push(performance.now() - a);
        a = performance.now();
        await recordExport(db, store, w, page, pages, 0, 1);
        t.log!.push(performance.now() - a);
        (page === 1 ? t.firstPage! : t.page!).push(performance.now() - p0);
      }
    }

    // The three are interleaved run by run, so the machine's load (shared, noisy) hits them alike.
    for (const size of [100, 500]) {
      await setPageSize(size);
      const store = (await db
        .selectFrom('stores')
        .selectAll()
        .where('id', '=', storeId)
        .executeTakeFirstOrThrow()) as Store;
      const w: Window = windowOf(store, { start_date: START, end_date: END });
      http[size] = { first: [], later: [], walk: [] };
      direct[size] = [];
      split[size] = {
        snapshot: [],
        serve: [],
        log: [],
        render: [],
        page: [],
        firstPage: [],
      };
      await reset();
      await get(1); // warm-up: connections, plans, caches
      for (let run = 0; run < RUNS; run++) {
        await reset();
        await httpWalk(size, run);
        await reset();
        await statementWalk(store, w, size);
        await reset();
        await directWalk(store, size);
      }
    }

    const row = (label: string, xs: number[]) =>
      `| ${label} | ${ms(median(xs))} | ${ms(quantile(xs, 0.99))} | ${xs.length} |`;
    results.push(`\n## Export endpoint, ${WINDOW}-order window (+${NOISE} other orders), ${RUNS} runs\n`);
    results.push('| over HTTP | median | p99 | n |', '|---|---|---|---|');
    for (const size of [100, 500]) {
      results.push(row(`page 1 (snapshot of ${WINDOW}), page size ${size}`, http[size]!.first));
      results.push(row(`later page, page size ${size}`, http[size]!.later));
      results.push(row(`full walk, page size ${size}`, http[size]!.walk));
    }
    results.push('\n| direct SQL + render (median per statement) | size 100 | size 500 |', '|---|---|---|');
    for (const key of ['snapshot', 'serve', 'log', 'render']) {
      results.push(`| ${key} | ${ms(median(split[100]![key]!))} | ${ms(median(split[500]![key]!))} |`);
    }
    for (const size of [100, 500]) {
      const s = split[size]!;
      const later = median(s.serve!) + median(s.log!) + median(s.render!);
      const first = median(s.snapshot!) + later;
      results.push(
        `\npage size ${size}: later page — statements + render ${ms(later)}, in-process statements ${ms(median(s.page!))}, ` +
          `servePage() in process ${ms(median(direct[size]!))}, ` +
          `over HTTP ${ms(median(http[size]!.later))} → ratio ${(median(http[size]!.later) / later).toFixed(2)}; ` +
          `page 1 — statements + render ${ms(first)}, over HTTP ${ms(median(http[size]!.first))} → ratio ` +
          `${(median(http[size]!.first) / first).toFixed(2)}`,
      );
    }
    console.log(results.join('\n'));
    await app.close();
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
