/**
 * What durable commits cost on the embedded database (PGlite on a folder).
 *
 *   npx tsx bench/durability.ts [singles] [batches]
 *
 * For each mode — durable (the default: every commit fsync'ed, src/db/durable-pglite.ts) and
 * non-durable (PGlite as shipped: fsync off) — a fresh PGlite in a temporary folder, migrated, the
 * app on it (app.inject: no sockets, so the figures are the service and its database), one merchant;
 * then `singles` single-order POSTs one after the other (latency median and p90, orders/s) and
 * `batches` batches of 500 (orders/s). Prints a markdown table for bench/results.md.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createDatabase } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { createLogger } from '../src/lib/logger.js';
import { SecretHasher } from '../src/lib/secrets.js';

const singles = Number(process.argv[2] ?? 300);
const batches = Number(process.argv[3] ?? 6);
const ADMIN = 'durability-bench-admin-token';

const newOrder = (tag: string, n: number) => ({
  order_number: `${tag}-${n}`,
  order_date: '2026-11-20T10:15:00Z',
  ship_to: { name: 'Ann Buyer', street1: `${n} Main St`, city: 'Springfield', state: 'IL', country: 'US' },
  items: [{ sku: 'SKU-1', name: 'Widget', quantity: 2, unit_price: '10.25' }],
});

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
};

async function measure(durable: boolean) {
  const dir = mkdtempSync(path.join(tmpdir(), 'shipbridge-durability-'));
  const database = await createDatabase({ pgliteDir: path.join(dir, 'pgdata'), pgliteDurable: durable });
  try {
    await migrateToLatest(database.db);
    const config = loadConfig({ ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'warn' });
    const app = await buildApp({
      config,
      database,
      hasher: new SecretHasher('durability-bench-secret-0123456789abcdef'),
      logger: createLogger('warn'),
    });
    const m = await app.inject({
      method: 'POST',
      url: '/v1/merchants',
      headers: { authorization: `Bearer ${ADMIN}` },
      payload: { code: 'bench', name: 'Bench' },
    });
    if (m.statusCode !== 201) throw new Error(`merchant: ${m.statusCode} ${m.body}`);
    const post = async (payload: object) => {
      const r = await app.inject({
        method: 'POST',
        url: '/v1/merchants/bench/orders',
        headers: { authorization: `Bearer ${ADMIN}` },
        payload,
      });
      if (r.statusCode !== 201 && r.statusCode !== 200) throw new Error(`order: ${r.statusCode} ${r.body}`);
    };
    for (let i = 0; i < 20; i++) await post(newOrder('warm', i));
    const lat: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < singles; i++) {
      const s = performance.now();
      await post(newOrder('single', i));
      lat.push(performance.now() - s);
    }
    const singleSeconds = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    for (let b = 0; b < batches; b++) {
      await post({ orders: Array.from({ length: 500 }, (_, i) => newOrder(`batch${b}`, i)) });
    }
    const batchSeconds = (performance.now() - t1) / 1000;
    await app.close();
    return {
      p50: pct(lat, 0.5),
      p90: pct(lat, 0.9),
      singlesPerSecond: singles / singleSeconds,
      batchOrdersPerSecond: (batches * 500) / batchSeconds,
    };
  } finally {
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const off = await measure(false);
  const on = await measure(true);
  const f = (x: number, d = 1) => x.toFixed(d);
  console.log(
    `${singles} single-order POSTs in sequence, ${batches} batches of 500; PGlite on ${tmpdir()}\n`,
  );
  console.log('| PGlite on a folder | single POST p50 | p90 | single orders/s | batch orders/s |');
  console.log('|---|---|---|---|---|');
  for (const [name, r] of [
    ['non-durable (fsync off, as shipped)', off],
    ['durable (default)', on],
  ] as const) {
    console.log(
      `| ${name} | ${f(r.p50)} ms | ${f(r.p90)} ms | ${f(r.singlesPerSecond, 0)} | ${f(r.batchOrdersPerSecond, 0)} |`,
    );
  }
  console.log(
    `\ncost: +${f(on.p50 - off.p50, 2)} ms per single order (p50), batches ${f((1 - on.batchOrdersPerSecond / off.batchOrdersPerSecond) * 100, 0)} % slower`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
