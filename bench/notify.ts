import { sql } from 'kysely';
import { SecretHasher } from '../src/lib/secrets.js';
import { basic, closedLoop, HttpClient, type LoadResult, openLoop, pct, type Req } from './load.js';
import { benchApp, insertMerchant, insertStore, withScratchDatabase } from './scratch.js';

/**
 * `npx tsx bench/notify.ts`: shipment notices (POST /shipstation?action=shipnotify) over HTTP against
 * the local PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres), in a
 * scratch schema dropped at the end. The service runs in this process (app.listen, pool of 10).
 *
 * Data: BENCH_ORDERS orders (default 50 000) of one merchant, 3 lines each (A×2, B×1, C×1), routed to
 * one store, served (at_wms). Scenarios, each closed-loop with BENCH_CONCURRENCY workers (default 8)
 * over BENCH_NOTICES notices (default 3 000), on distinct orders:
 * - partial: one package with `A×1` (the order stays open);
 * - whole: no Items element (every line; the order becomes shipped);
 * - repeats: the partial notices sent again (200, nothing changes);
 * then an open-loop mix (40 % whole, 30 % partial, 30 % repeats) at BENCH_RATE/s (default 100) for
 * BENCH_SECONDS (default 10), whose latency counts from each request's due time.
 * Figures: median and p99 latency, throughput; the database is checked afterwards.
 */

const URL_ = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ORDERS = Number(process.env.BENCH_ORDERS ?? 50_000);
const NOTICES = Number(process.env.BENCH_NOTICES ?? 3_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const RATE = Number(process.env.BENCH_RATE ?? 100);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const SECRET = 'bench-notify-secret-key-0123456789abcdef';
const PASSWORD = 'bench-notify-password-0123456789';

function noticeXml(orderNumber: string, tracking: string, partial: boolean): string {
  return (
    '<?xml version="1.0" encoding="utf-8"?>\n<ShipNotice>' +
    `<OrderNumber>${orderNumber}</OrderNumber><NotifyCustomer>false</NotifyCustomer>` +
    '<LabelCreateDate>07/15/2025 16:20</LabelCreateDate><ShipDate>07/16/2025</ShipDate>' +
    `<Carrier>UPS</Carrier><Service>UPS Ground</Service><TrackingNumber>${tracking}</TrackingNumber>` +
    '<ShippingCost>9.12</ShippingCost>' +
    '<Recipient><Name>Jane Doe</Name><Address1>221 Elm St</Address1><City>Springfield</City>' +
    '<State>IL</State><PostalCode>62704</PostalCode><Country>US</Country></Recipient>' +
    (partial ? '<Items><Item><SKU>A</SKU><Name>Mug</Name><Quantity>1</Quantity></Item></Items>' : '') +
    '</ShipNotice>'
  );
}

const fmt = (x: number) => `${x.toFixed(2)} ms`;

function describe(name: string, r: LoadResult): string {
  return (
    `${name.padEnd(34)} n=${String(r.completed).padStart(5)}  errors=${r.errors}  ` +
    `p50=${fmt(pct(r.latencies, 50)).padStart(9)}  p99=${fmt(pct(r.latencies, 99)).padStart(9)}  ` +
    `max=${fmt(r.latencies.at(-1) ?? Number.NaN).padStart(9)}  ${r.achievedRps.toFixed(0).padStart(5)} notices/s` +
    (r.errorSamples.length > 0 ? `\n    ${r.errorSamples.join('\n    ')}` : '')
  );
}

async function main() {
  await withScratchDatabase(URL_, 'bench_notify', 10, async (database, schema) => {
    const db = database.db;
    const hasher = new SecretHasher(SECRET);
    const t0 = performance.now();
    const m = await insertMerchant(db, 'bench-m', 'Bench merchant');
    const storeId = await insertStore(db, m, {
      name: 'Bench store',
      username: 'bench-notify',
      passwordHash: hasher.hash(PASSWORD),
    });
    await sql`
      insert into orders (merchant_id, order_source, order_number, status, order_date, order_total, content,
        content_hash, store_id, served_store_id, served_at)
      select ${m}, 'web', 'N-' || g, 'at_wms', now(), 40.00, '{}'::jsonb, md5(g::text), ${storeId}, ${storeId}, now()
      from generate_series(1, ${ORDERS}) g`.execute(db);
    await sql`
      insert into order_lines (merchant_id, order_id, position, line_id, sku, name, quantity, unit_price, content)
      select o.merchant_id, o.id, p, 'L' || p, (array['A','B','C'])[p + 1], 'Item ' || p,
        case when p = 0 then 2 else 1 end, 10.00, '{}'::jsonb
      from orders o cross join generate_series(0, 2) p`.execute(db);
    await sql`analyze`.execute(db);
    console.log(`seeded ${ORDERS} orders × 3 lines in ${(performance.now() - t0).toFixed(0)} ms`);

    const { app, base } = await benchApp(database, schema, {
      env: { DATABASE_URL: URL_, SECRET_KEY: SECRET },
      hasher,
      quiet: true,
      listen: true,
    });
    const client = new HttpClient(base, 64);
    const authorization = basic('bench-notify', PASSWORD);
    const req = (n: number, tracking: string, partial: boolean, tag: string): Req => ({
      method: 'POST',
      path:
        `/shipstation?action=shipnotify&order_number=N-${n}&carrier=UPS&service=` +
        `&tracking_number=${tracking}`,
      headers: { authorization, 'content-type': 'text/xml' },
      body: noticeXml(`N-${n}`, tracking, partial),
      tag,
    });
    const check = (_r: Req, res: { status: number }) => ({ ok: res.status === 200 });

    // Warm-up on orders of their own (JIT, pool, plans).
    let next = ORDERS - 200;
    await closedLoop(client, {
      concurrency: CONCURRENCY,
      seconds: 60,
      make: () => (next < ORDERS ? req(++next, `WARM-${next}`, false, 'warm') : undefined),
      check,
    });

    const run = async (name: string, make: (i: number) => Req | undefined) => {
      const cpu = process.cpuUsage();
      const r = await closedLoop(client, {
        concurrency: CONCURRENCY,
        seconds: 600,
        make: (i) => make(i),
        check,
      });
      const used = process.cpuUsage(cpu);
      const perNotice = (used.user + used.system) / 1000 / Math.max(1, r.completed);
      console.log(
        `${describe(name, r)}\n    this process (service + load generator): ${perNotice.toFixed(2)} ms CPU per notice`,
      );
      return r;
    };
    // Orders 1..N partial, N+1..2N whole, repeats of 1..N; then the open-loop mix on fresh orders.
    const partial = await run(`partial (A×1), c=${CONCURRENCY}`, (i) =>
      i < NOTICES ? req(i + 1, `P-${i + 1}`, true, 'partial') : undefined,
    );
    const whole = await run(`whole order (no Items), c=${CONCURRENCY}`, (i) =>
      i < NOTICES ? req(NOTICES + i + 1, `W-${i + 1}`, false, 'whole') : undefined,
    );
    const repeats = await run(`repeats (duplicates), c=${CONCURRENCY}`, (i) =>
      i < NOTICES ? req(i + 1, `P-${i + 1}`, true, 'repeat') : undefined,
    );
    let fresh = 2 * NOTICES;
    const mixed = await openLoop(client, {
      rate: RATE,
      seconds: SECONDS,
      maxInFlight: 64,
      check,
      make: (i) => {
        const k = i % 10;
        if (k < 4) return req(++fresh, `MW-${fresh}`, false, 'whole');
        if (k < 7) return req(++fresh, `MP-${fresh}`, true, 'partial');
        const n = 1 + (i % NOTICES);
        return req(n, `P-${n}`, true, 'repeat');
      },
    });
    console.log(describe(`open-loop mix at ${RATE}/s for ${SECONDS} s`, mixed));
    for (const [tag, v] of Object.entries(mixed.byTag)) {
      console.log(`    ${tag.padEnd(8)} p50=${fmt(pct(v, 50))}  p99=${fmt(pct(v, 99))}  n=${v.length}`);
    }
    client.close();
    await app.close();

    // The database agrees: one shipment per distinct notice, repeats recorded as duplicates.
    const counts = await sql<{ shipments: number; duplicates: number; shipped: number; open: number }>`
      select (select count(*)::int from shipments where merchant_id = ${m}) as shipments,
             (select count(*)::int from ship_notices where merchant_id = ${m} and status = 'duplicate') as duplicates,
             (select count(*)::int from orders where merchant_id = ${m} and status = 'shipped') as shipped,
             (select count(*)::int from orders o where merchant_id = ${m} and id <= ${NOTICES}
                and status = 'at_wms') as open
    `.execute(db);
    const c = counts.rows[0]!;
    const expectedShipments =
      200 + 2 * NOTICES + (mixed.byTag['whole']?.length ?? 0) + (mixed.byTag['partial']?.length ?? 0);
    console.log(
      `check: ${c.shipments} shipments (expected ${expectedShipments}), ${c.duplicates} duplicates ` +
        `(expected ${NOTICES + (mixed.byTag['repeat']?.length ?? 0)}), ${c.shipped} orders shipped, ` +
        `${c.open} of the ${NOTICES} partly shipped orders still open`,
    );
    const summary = { partial, whole, repeats };
    console.log(
      `\nsummary (closed loop, c=${CONCURRENCY}): ` +
        Object.entries(summary)
          .map(
            ([k, r]) =>
              `${k} p50 ${fmt(pct(r.latencies, 50))} / p99 ${fmt(pct(r.latencies, 99))} / ${r.achievedRps.toFixed(0)}/s`,
          )
          .join('; '),
    );
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
