/**
 * Source pull benchmark: orders pulled from ShipStation and stored per second, against the same
 * orders posted as batches.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/sources.ts [orders] [runs]
 *
 * A ShipStation API simulator on 127.0.0.1 (test/helpers, no rate limit) holds `orders` orders
 * (default 5 000, 2 lines each); each run makes a new source and pulls them all (pages of 500, every
 * run of the pull job until none is due), then posts the same orders, mapped to our shape, as
 * batches of 500 under another order source. Medians over the runs (default 3). A scratch schema is
 * created and dropped.
 */
import { JobRunner } from '../src/jobs/runner.js';
import { SecretHasher } from '../src/lib/secrets.js';
import { sourceJobHandlers } from '../src/sources/jobs.js';
import { ssOrderSchema, toOrderInput } from '../src/sources/mapping.js';
import { ShipStationSim } from '../test/helpers/shipstation-api-sim.js';
import { benchApp, benchDatabaseUrl, median, withScratchDatabase } from './scratch.js';

const url = benchDatabaseUrl();
const total = Number(process.argv[2] ?? 5000);
const runs = Number(process.argv[3] ?? 3);
const SECRET = 'bench-secret-key-0123456789abcdef0123456789';
const ADMIN = 'bench-admin-token-0123456789';

async function main() {
  const sim = new ShipStationSim({ limit: 1_000_000 });
  await sim.start();
  for (let i = 0; i < total; i++) {
    const o = sim.addOrder({ orderNumber: `B-${i}` });
    o.items.push(sim.item({ sku: 'SKU-2', quantity: 1 }));
  }
  await sim.caughtUp();
  try {
    await withScratchDatabase(url, 'bench_sources', 10, async (database, schema) => {
      const hasher = new SecretHasher(SECRET);
      const { app } = await benchApp(database, schema, {
        env: { ...process.env, ADMIN_TOKEN: ADMIN, SECRET_KEY: SECRET, SHIPSTATION_API_URL: sim.url },
        hasher,
      });
      const admin = { authorization: `Bearer ${ADMIN}` };
      await app.inject({
        method: 'POST',
        url: '/v1/merchants',
        headers: admin,
        payload: { code: 'bench', name: 'Bench' },
      });
      const runner = new JobRunner(database.db, { concurrency: 1 });
      for (const h of sourceJobHandlers({
        db: database.db,
        box: hasher.box,
        apiUrl: sim.url,
        budgetMs: 3_600_000,
      }))
        runner.register(h);

      const pullRates: number[] = [];
      const postRates: number[] = [];
      for (let run = 0; run < runs; run++) {
        const created = await app.inject({
          method: 'POST',
          url: '/v1/merchants/bench/sources',
          headers: admin,
          payload: {
            type: 'shipstation',
            name: `pull-${run}`,
            api_key: sim.apiKey,
            api_secret: sim.apiSecret,
          },
        });
        if (created.statusCode !== 201) throw new Error(created.body);
        const callsBefore = sim.calls.length;
        let t0 = performance.now();
        await runner.runDue();
        const calls = sim.calls.length - callsBefore;
        const pulled = (
          await database.db
            .selectFrom('orders')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('order_source', '=', `pull-${run}`)
            .executeTakeFirstOrThrow()
        ).n;
        if (Number(pulled) !== total) throw new Error(`pulled ${pulled} of ${total}`);
        pullRates.push(total / ((performance.now() - t0) / 1000));

        const inputs = [...sim.orders.values()].map((o) =>
          toOrderInput(ssOrderSchema.parse(o), `post-${run}`, new Map()),
        );
        t0 = performance.now();
        for (let i = 0; i < inputs.length; i += 500) {
          const r = await app.inject({
            method: 'POST',
            url: '/v1/merchants/bench/orders',
            headers: admin,
            payload: { orders: inputs.slice(i, i + 500) },
          });
          if (r.statusCode !== 200) throw new Error(r.body.slice(0, 300));
        }
        postRates.push(total / ((performance.now() - t0) / 1000));
        console.log(
          `run ${run + 1}: pulled ${pullRates.at(-1)!.toFixed(0)}/s (${calls} calls to ShipStation), posted ${postRates.at(-1)!.toFixed(0)}/s`,
        );
      }
      await app.close();
      console.log(
        `\n${total} orders, pages of 500, median of ${runs}: pulled and stored ${median(pullRates).toFixed(0)} orders/s; ` +
          `posted as batches of 500 ${median(postRates).toFixed(0)} orders/s`,
      );
    });
  } finally {
    await sim.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
