/**
 * Webhook delivery throughput:
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/webhooks.ts [events] [concurrency]
 *
 * A scratch schema; one merchant with one webhook to a receiver on 127.0.0.1 (answers 204 at once);
 * `events` order events recorded (the outbox trigger writes the webhook events), then one job runner
 * (real clock) dispatches and delivers them all. Prints deliveries per second, from the first
 * dispatch to the last recorded attempt.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { createJobRunner } from '../src/background.js';
import { SecretHasher } from '../src/lib/secrets.js';
import { WebhooksRepository } from '../src/webhooks/repository.js';
import { benchDatabaseUrl, insertMerchant, withScratchDatabase } from './scratch.js';

const url = benchDatabaseUrl();
const events = Number(process.argv[2] ?? 2000);
const concurrency = Number(process.argv[3] ?? 8);

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(204);
    res.end();
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const target = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;

await withScratchDatabase(url, 'bench_webhooks', 10, async (database) => {
  const db = database.db;
  const box = new SecretHasher('bench-secret-key-0123456789abcdef0123456789').box;
  const merchantId = await insertMerchant(db, 'm', 'm');
  await new WebhooksRepository(db, box, true).create(
    { kind: 'merchant', id: merchantId, code: 'm' },
    { url: target, events: ['order.status_changed'] },
  );
  await sql`
    insert into order_events (merchant_id, order_id, type, from_status, to_status, actor_type, actor)
    select ${merchantId}, g, 'pay', 'await_payment', 'new', 'system', 'bench' from generate_series(1, ${events}) g
  `.execute(db);
  const runner = createJobRunner(db, { webhookAllowPrivate: true }, box, undefined, {
    concurrency,
    pollMs: 20,
  });
  const started = performance.now();
  await runner.ensurePeriodic();
  runner.start();
  for (;;) {
    const r = await db
      .selectFrom('webhook_deliveries')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('status', '=', 'succeeded')
      .executeTakeFirstOrThrow();
    if (Number(r.n) >= events) break;
    await new Promise((res) => setTimeout(res, 50));
  }
  const seconds = (performance.now() - started) / 1000;
  await runner.stop(5000);
  console.log(
    `${events} deliveries in ${seconds.toFixed(2)} s: ${(events / seconds).toFixed(0)} deliveries/s ` +
      `(concurrency ${concurrency}, one PostgreSQL pool of 10)`,
  );
});
server.close();
