/**
 * Order ingestion benchmark.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/ingest.ts [runs] [batches]
 *
 * Starts the app (buildApp + listen on a random port) on a scratch schema of the given PostgreSQL,
 * posts batches of 500 orders (2 lines each) over HTTP and prints the median orders/s over several
 * runs; then inserts the same normalised rows with plain multi-row INSERTs (no HTTP, no validation)
 * for the database's floor. The scratch schema is dropped at the end.
 */
import pg from 'pg';
import { SecretHasher } from '../src/lib/secrets.js';
import { contentHash, orderContent } from '../src/orders/content.js';
import { parseOrder } from '../src/orders/schema.js';
import { benchApp, benchDatabaseUrl, median, withScratchDatabase } from './scratch.js';

const BATCH = 500;
const ADMIN = 'bench-admin-token-0123456789';
const url = benchDatabaseUrl();
const runs = Number(process.argv[2] ?? 5);
const batchesPerRun = Number(process.argv[3] ?? 4);

function order(run: string, n: number): Record<string, unknown> {
  return {
    order_source: 'bench',
    order_number: `${run}-${n}`,
    order_date: '2026-11-20T10:15:00+01:00',
    currency: 'usd',
    tags: ['bench', n % 2 ? 'odd' : 'even'],
    shipping_method: 'Ground',
    tax_amount: '1.50',
    shipping_amount: 4,
    customer: { code: `C-${n}`, email: `buyer${n}@example.com` },
    ship_to: {
      name: 'Ann Buyer',
      street1: `${n} Main St`,
      city: 'Springfield',
      state: 'Illinois',
      postal_code: '62701',
      country: 'United States',
      phone: '+1 555 0100',
    },
    bill_to: { name: 'Ann Buyer', street1: `${n} Main St`, city: 'Springfield', state: 'IL', country: 'US' },
    items: [
      {
        line_id: 'L1',
        sku: 'SKU-1',
        name: 'Widget',
        quantity: 2,
        unit_price: '10.25',
        weight: 4,
        weight_unit: 'oz',
      },
      {
        line_id: 'L2',
        sku: 'SKU-2',
        name: 'Gadget',
        quantity: 1,
        unit_price: 5,
        options: [{ name: 'Colour', value: 'Red' }],
      },
    ],
  };
}

async function main() {
  await withScratchDatabase(url, 'bench_ingest', 10, async (database, schema) => {
    const { app, base } = await benchApp(database, schema, {
      env: { ...process.env, ADMIN_TOKEN: ADMIN },
      hasher: new SecretHasher('bench-secret-key-0123456789abcdef0123456789'),
      listen: true,
    });
    const m = await fetch(`${base}/v1/merchants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ code: 'bench', name: 'Bench' }),
    });
    const cred = ((await m.json()) as { credential: { api_user: string; api_key: string } }).credential;
    const auth = `Basic ${Buffer.from(`${cred.api_user}:${cred.api_key}`).toString('base64')}`;
    const post = async (body: string) => {
      const r = await fetch(`${base}/v1/merchants/bench/orders`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/json' },
        body,
      });
      if (r.status !== 200) throw new Error(`${r.status} ${await r.text()}`);
      const results = ((await r.json()) as { results: { result: string }[] }).results;
      return results.filter((x) => x.result === 'created').length;
    };

    // warm-up (JIT, connections, plan cache)
    await post(JSON.stringify({ orders: Array.from({ length: BATCH }, (_, i) => order('warm', i)) }));

    const httpRates: number[] = [];
    const dupRates: number[] = [];
    for (let run = 0; run < runs; run++) {
      const bodies = Array.from({ length: batchesPerRun }, (_, b) =>
        JSON.stringify({ orders: Array.from({ length: BATCH }, (_, i) => order(`r${run}b${b}`, i)) }),
      );
      let t0 = performance.now();
      let created = 0;
      for (const body of bodies) created += await post(body);
      httpRates.push(created / ((performance.now() - t0) / 1000));
      if (created !== BATCH * batchesPerRun) throw new Error(`created ${created}`);
      // the same batches again: every order a duplicate (safe retries)
      t0 = performance.now();
      for (const body of bodies) await post(body);
      dupRates.push((BATCH * batchesPerRun) / ((performance.now() - t0) / 1000));
    }
    await app.close();

    // The database floor: the same normalised rows, plain multi-row INSERTs, one transaction per batch.
    const client = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
    await client.connect();
    const merchantId = (await client.query('select id from merchants where code = $1', ['bench'])).rows[0]
      .id as string;
    const rawRates: number[] = [];
    for (let run = 0; run < runs; run++) {
      const batches = Array.from({ length: batchesPerRun }, (_, b) =>
        Array.from({ length: BATCH }, (_, i) => {
          const p = parseOrder(order(`raw${run}b${b}`, i), 'create');
          if (!p.ok) throw new Error('invalid bench order');
          return p.value.order;
        }),
      );
      const t0 = performance.now();
      for (const batch of batches) {
        await client.query('begin');
        const params: unknown[] = [];
        const values = batch.map((o) => {
          const row = [
            merchantId,
            o.order_source,
            o.order_number,
            'new',
            o.order_date,
            o.currency,
            o.tags,
            o.order_total,
            o.tax_amount,
            o.shipping_amount,
            JSON.stringify(orderContent(o)),
            contentHash(o),
          ];
          const start = params.length;
          params.push(...row);
          return `(${row.map((_, k) => `$${start + k + 1}`).join(',')})`;
        });
        const ids = await client.query(
          `insert into orders (merchant_id, order_source, order_number, status, order_date, currency, tags,
             order_total, tax_amount, shipping_amount, content, content_hash)
           values ${values.join(',')} returning id`,
          params,
        );
        const lp: unknown[] = [];
        const lv: string[] = [];
        batch.forEach((o, i) => {
          o.items.forEach((it, position) => {
            const row = [
              merchantId,
              ids.rows[i].id,
              position,
              it.line_id,
              it.sku,
              it.name,
              it.quantity,
              it.unit_price,
              it.adjustment,
              JSON.stringify(it),
            ];
            const start = lp.length;
            lp.push(...row);
            lv.push(`(${row.map((_, k) => `$${start + k + 1}`).join(',')})`);
          });
        });
        await client.query(
          `insert into order_lines (merchant_id, order_id, position, line_id, sku, name, quantity, unit_price,
             adjustment, content) values ${lv.join(',')}`,
          lp,
        );
        await client.query('commit');
      }
      rawRates.push((BATCH * batchesPerRun) / ((performance.now() - t0) / 1000));
    }
    await client.end();

    const fmt = (xs: number[]) =>
      `${Math.round(median(xs))} orders/s (runs: ${xs.map((x) => Math.round(x)).join(', ')})`;
    console.log(`batches of ${BATCH} orders (2 lines each), ${batchesPerRun} batches per run, ${runs} runs`);
    console.log(`HTTP create (validate, normalise, store, route, answer): median ${fmt(httpRates)}`);
    console.log(`HTTP repost of the same batches (all duplicates):         median ${fmt(dupRates)}`);
    console.log(`plain SQL multi-row INSERT of the same rows (no HTTP):     median ${fmt(rawRates)}`);
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
