import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { NodeFS } from '@electric-sql/pglite/nodefs';
import pg from 'pg';
import t from 'tap';
import { freePort, kill9, type ServerProcess, startServer, waitReady } from '../helpers/server-process.js';
import { pgliteTemplate } from '../helpers/db.js';
import { noticeXml } from '../shipments/helpers.js';

/**
 * Fault tests: the real server process is killed with SIGKILL while requests are in flight, then
 * started again on the same data. Every request that was answered 2xx must be stored exactly once.
 * Runs on the embedded database in a temporary DATA_DIR, and on PostgreSQL (a fresh database on the
 * server of DATABASE_URL) when it is set.
 */

const ADMIN = 'kill9-test-admin-token-0123456789';
const admin = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };

interface Teardown {
  teardown(fn: () => unknown): void;
}

interface Target {
  env: Record<string, string>;
}

/** A fresh place for the data: a temporary DATA_DIR, or a database of its own on the server. */
async function freshTarget(t: Teardown, engine: 'pglite' | 'postgres'): Promise<Target> {
  const dir = mkdtempSync(path.join(tmpdir(), 'shipbridge-kill9-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  if (engine === 'pglite') {
    // Seeded from the migrated template the other tests use: initdb is not what is tested here, and
    // it is the slowest part of a first start.
    const dump = await pgliteTemplate();
    if (dump) {
      const pglite = await PGlite.create({ fs: new NodeFS(path.join(dir, 'pgdata')), loadDataDir: dump });
      await pglite.close();
    }
    return { env: { DATA_DIR: dir } };
  }
  const base = process.env.DATABASE_URL!;
  const name = `shipbridge_kill9_${process.pid}_${randomBytes(3).toString('hex')}`;
  const c = new pg.Client({ connectionString: base });
  await c.connect();
  await c.query(`create database ${name}`);
  await c.end();
  t.teardown(async () => {
    const d = new pg.Client({ connectionString: base });
    await d.connect();
    await d.query(`drop database if exists ${name} with (force)`);
    await d.end();
  });
  const url = new URL(base);
  url.pathname = `/${name}`;
  return { env: { DATA_DIR: dir, DATABASE_URL: url.toString() } };
}

async function start(t: Teardown, target: Target, port: number): Promise<ServerProcess> {
  const p = startServer({
    ...target.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    ADMIN_TOKEN: ADMIN,
    LOG_LEVEL: 'warn',
    SECRET_KEY: 'kill9-test-secret-key-0123456789abcdef',
  });
  t.teardown(() => p.child.kill('SIGKILL'));
  // Generous: on a loaded CI machine a start (WAL replay, migrations check) can take a while.
  await waitReady(port, 180_000);
  return p;
}

async function call(base: string, method: string, url: string, body?: unknown, headers = admin) {
  const r = await fetch(`${base}${url}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await r.text();
  return { status: r.status, json: () => JSON.parse(text), text };
}

/** Every item of a list endpoint, following next_cursor. */
async function listAll<T>(base: string, url: string, key: string): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  do {
    const sep = url.includes('?') ? '&' : '?';
    const r = await call(base, 'GET', `${url}${sep}limit=500${cursor ? `&cursor=${cursor}` : ''}`);
    if (r.status !== 200) throw new Error(`${url}: ${r.status} ${r.text}`);
    out.push(...(r.json()[key] as T[]));
    cursor = r.json().next_cursor;
  } while (cursor);
  return out;
}

const order = (number: string, quantity = 1) => ({
  order_number: number,
  order_date: '2026-11-20T10:15:00Z',
  ship_to: { name: 'Ann Buyer', street1: '1 Main St', city: 'Springfield', state: 'IL', country: 'US' },
  items: [{ sku: 'SKU-1', name: 'Widget', quantity, unit_price: '10.25' }],
});

/** Runs `send` on `workers` loops until `enough()`, then kills the server with requests in flight. */
async function loadThenKill(
  server: ServerProcess,
  workers: number,
  send: (i: number) => Promise<void>,
  enough: () => boolean,
): Promise<void> {
  let next = 0;
  let killed = false;
  const loop = async () => {
    while (!killed) {
      const i = next++;
      try {
        await send(i);
      } catch {
        // A request cut by the kill: never answered, so never acknowledged.
      }
      if (!killed && enough()) {
        killed = true;
        await kill9(server);
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, loop));
}

/** A fresh target, the server started on it, and the merchant `k9`. */
async function begin(t: Teardown & { equal(a: unknown, b: unknown): void }, engine: 'pglite' | 'postgres') {
  const target = await freshTarget(t, engine);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const first = await start(t, target, port);
  t.equal((await call(base, 'POST', '/v1/merchants', { code: 'k9', name: 'Kill Nine' })).status, 201);
  return { target, port, base, first };
}

/** How many times each key occurs. */
function countBy<T>(xs: readonly T[], key: (x: T) => string): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of xs) m.set(key(x), (m.get(key(x)) ?? 0) + 1);
  return m;
}

// Two server starts per test, four tests: more than the default file timeout on a busy machine.
t.setTimeout(900_000);

// One engine per pass: PostgreSQL when DATABASE_URL is set, else the embedded database.
const engines: ('pglite' | 'postgres')[] = process.env.DATABASE_URL ? ['postgres'] : ['pglite'];

for (const engine of engines) {
  // On the embedded database the notices test below is the sample (its restart also finishes the
  // notices the dead process left half-done); the batch one runs on PostgreSQL.
  const skip = engine === 'pglite' && 'kill -9 during batches runs on PostgreSQL (set DATABASE_URL)';
  t.test(`${engine}: kill -9 during batch ingestion loses no acknowledged order`, { skip }, async (t) => {
    const { target, port, base, first } = await begin(t, engine);

    const acknowledged = new Set<string>();
    await loadThenKill(
      first,
      2,
      async (b) => {
        const numbers = Array.from({ length: 50 }, (_, i) => `B${b}-${i}`);
        const r = await call(base, 'POST', '/v1/merchants/k9/orders', {
          orders: numbers.map((n) => order(n)),
        });
        if (r.status !== 200) return;
        for (const res of r.json().results as { index: number; result: string }[]) {
          if (res.result === 'created' || res.result === 'duplicate') acknowledged.add(numbers[res.index]!);
        }
      },
      () => acknowledged.size >= 200,
    );
    t.ok(acknowledged.size >= 200, `${acknowledged.size} orders acknowledged before the kill`);

    await start(t, target, port);
    const stored = await listAll<{ order_number: string }>(base, '/v1/merchants/k9/orders', 'orders');
    const counts = countBy(stored, (o) => o.order_number);
    const missing = [...acknowledged].filter((n) => counts.get(n) !== 1);
    t.same(missing, [], 'every acknowledged order is stored exactly once');
    t.ok(
      [...counts.values()].every((c) => c === 1),
      'no order is stored twice',
    );
  });

  t.test(`${engine}: kill -9 during shipment notices loses no acknowledged notice`, async (t) => {
    const { target, port, base, first } = await begin(t, engine);
    const s = await call(base, 'POST', '/v1/merchants/k9/stores', { name: 'Main' });
    t.equal(s.status, 201);
    const { username, password } = s.json().shipstation as { username: string; password: string };
    const storeAuth = {
      authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`,
      'content-type': 'text/xml',
    };
    const ORDERS = 20;
    const batch = await call(base, 'POST', '/v1/merchants/k9/orders', {
      orders: Array.from({ length: ORDERS }, (_, i) => order(`N-${i}`, 1000)),
    });
    t.equal(batch.status, 200);

    const acknowledged = new Set<string>();
    await loadThenKill(
      first,
      4,
      async (i) => {
        const number = `N-${i % ORDERS}`;
        const tracking = `TRK-${i}`;
        const q = new URLSearchParams({
          action: 'shipnotify',
          order_number: number,
          carrier: 'UPS',
          tracking_number: tracking,
        });
        const body = noticeXml({ orderNumber: number, tracking, items: [{ sku: 'SKU-1', quantity: 1 }] });
        const r = await call(base, 'POST', `/shipstation?${q}`, body, storeAuth);
        if (r.status === 200) acknowledged.add(tracking);
      },
      () => acknowledged.size >= 60,
    );
    t.ok(acknowledged.size >= 60, `${acknowledged.size} notices acknowledged before the kill`);

    await start(t, target, port);
    const notices = await listAll<{ tracking_number: string; status: string }>(
      base,
      '/v1/merchants/k9/shipnotices?status=all',
      'shipnotices',
    );
    const shipments = await listAll<{ tracking_number: string }>(
      base,
      '/v1/merchants/k9/shipments?status=all',
      'shipments',
    );
    const noticeCounts = countBy(notices, (n) => n.tracking_number);
    const shipmentCounts = countBy(shipments, (x) => x.tracking_number);
    t.same(
      [...acknowledged].filter((k) => noticeCounts.get(k) !== 1),
      [],
      'every acknowledged notice is stored exactly once',
    );
    t.same(
      [...acknowledged].filter((k) => shipmentCounts.get(k) !== 1),
      [],
      'every acknowledged notice made exactly one shipment',
    );
    t.ok(
      [...shipmentCounts.values()].every((c) => c === 1),
      'no notice made two shipments',
    );
    if (engine === 'pglite') {
      // One process per folder: every notice the dead process left half-done is finished at start-up.
      t.same(
        notices.filter((n) => n.status === 'received'),
        [],
        'no notice is left received after the restart',
      );
    }
  });
}
