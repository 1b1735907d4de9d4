import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createWriteStream, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import type { DB, Store } from '../src/db/schema.js';
import { createLogger } from '../src/lib/logger.js';
import { SecretHasher } from '../src/lib/secrets.js';
import type { NormalizedItem, NormalizedOrder } from '../src/orders/types.js';
import {
  basic,
  closedLoop,
  HttpClient,
  type LoadResult,
  openLoop,
  pct,
  type Req,
  type Res,
  RssSampler,
  CpuMeter,
  type CpuTimes,
} from './load.js';
import { applyOutboxMode, outboxMode } from './outbox.js';
import {
  fmt,
  judge,
  markdownTable,
  metricsTable,
  SizeResults,
  sizeLabel,
  type TargetRow,
  writeReport,
} from './report.js';
import {
  BENCH_SECRET_KEY,
  type Dataset,
  ensureSeeded,
  type MerchantDef,
  type StoreDef,
  seedDetails,
} from './seed.js';
import { noticeXml } from './shipnotice.js';

/**
 * `npm run bench`: seeds (or reuses) one database per size, starts the service as a child process
 * on each, drives it at fixed rates from here, measures the limits side by side, and writes
 * bench/results.md. Env knobs: BENCH_SIZES (10000,1000000), BENCH_SECONDS (5), BENCH_RUNS (3),
 * BENCH_ONLY (comma-separated scenario names), BENCH_PORT (3999), DATABASE_URL.
 *
 * Mutating scenarios (export pins orders, notices ship them, ingestion adds orders, re-routing
 * moves them) restore the rows they touched after each run (a checkpoint of the touched orders,
 * lines and stores, and deletion of every row appended after it), so every run measures the same
 * work on the same data and the seeded database can be reused.
 */

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const BASE_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SIZES = (process.env['BENCH_SIZES'] ?? '10000,1000000').split(',').map((s) => Number(s.trim()));
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);
const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const ONLY = process.env['BENCH_ONLY']?.split(',').map((s) => s.trim());
const PORT = Number(process.env['BENCH_PORT'] ?? 3999);
const SERVER_LOG = path.join(os.tmpdir(), 'shipbridge-bench-server.log');
/** BENCH_COLD=1: the "cold statistics" pass — data sets seeded without ANALYZE (databases of their own). */
const COLD = process.env['BENCH_COLD'] === '1';
/** BENCH_OUTBOX (unset, `off`, `subscribed`, `written`): the webhook outbox variants, see bench/outbox.ts. */
const OUTBOX = outboxMode();
/** Where the report goes (BENCH_OUT, default bench/results.md). */
const OUT = process.env['BENCH_OUT'] ?? path.join(HERE, 'results.md');

const log = (line: string) =>
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const enabled = (name: string) => !ONLY || ONLY.includes(name);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.floor(s.length / 2)]!;
};

// ---------------------------------------------------------------------------------------------------
// The service under test

interface Server {
  pid: number;
  url: string;
  stop(): Promise<void>;
}

/**
 * The service as production runs it: compiled JavaScript (an esbuild bundle of src/server.ts with the
 * packages external, in node_modules/.cache/shipbridge-bench/, out of biome's way), with source maps like `npm start`. BENCH_SERVER=tsx runs the
 * TypeScript through the tsx loader instead (about 60 MB more resident memory).
 */
/**
 * Extra Node/V8 flags for the service (BENCH_NODE_FLAGS, none by default: `npm start` and the
 * Dockerfile pass none), e.g. `--max-semi-space-size=4` to weigh memory against CPU.
 */
const NODE_FLAGS = (process.env['BENCH_NODE_FLAGS'] ?? '').split(' ').filter(Boolean);

function serverArgs(): string[] {
  if (process.env['BENCH_SERVER'] === 'tsx') return [...NODE_FLAGS, '--import', 'tsx', 'src/server.ts'];
  const out = path.join(ROOT, 'node_modules', '.cache', 'shipbridge-bench', 'server.mjs');
  execFileSync(
    path.join(ROOT, 'node_modules', '.bin', 'esbuild'),
    [
      'src/server.ts',
      '--bundle',
      '--platform=node',
      '--format=esm',
      '--packages=external',
      '--target=node20',
      `--outfile=${out}`,
      '--sourcemap',
      '--log-level=warning',
    ],
    { cwd: ROOT, stdio: 'inherit' },
  );
  const prof = process.env['BENCH_CPU_PROF'] ? ['--cpu-prof', `--cpu-prof-dir=${PROF_DIR}`] : [];
  return [...prof, ...NODE_FLAGS, '--enable-source-maps', out];
}

const PROF_DIR = path.join(os.tmpdir(), 'shipbridge-bench-prof');

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** The service's CPU profile (BENCH_CPU_PROF=1): self time by function, the top 25. */
function summariseProfile(since: number): string | undefined {
  let files: string[] = [];
  try {
    files = readdirSync(PROF_DIR)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => path.join(PROF_DIR, f))
      .filter((f) => statSync(f).mtimeMs >= since);
  } catch {
    return undefined;
  }
  const file = files.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  if (!file) return undefined;
  const prof = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: ProfileNode[];
    startTime: number;
    endTime: number;
    samples: number[];
  };
  const per = (prof.endTime - prof.startTime) / 1000 / Math.max(1, prof.samples.length);
  const self = new Map<string, number>();
  let total = 0;
  for (const n of prof.nodes) {
    const hits = n.hitCount ?? 0;
    if (!hits) continue;
    const url = n.callFrame.url
      .replace(/^.*node_modules\//, '')
      .replace(/^file:\/\/.*\/(src|bench)\//, '$1/');
    const k = `${n.callFrame.functionName || '(anonymous)'}  ${url}:${n.callFrame.lineNumber + 1}`;
    self.set(k, (self.get(k) ?? 0) + hits * per);
    total += hits * per;
  }
  const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 25);
  return [
    `${file} — ${fmt(total / 1000)} s of samples`,
    ...top.map(([k, ms]) => `${fmt((100 * ms) / total).padStart(6)} %  ${fmt(ms).padStart(8)} ms  ${k}`),
  ].join('\n');
}

async function startServer(ds: Dataset, extraEnv: Record<string, string> = {}): Promise<Server> {
  const out = createWriteStream(SERVER_LOG, { flags: 'a' });
  const child: ChildProcess = spawn(process.execPath, serverArgs(), {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: ds.url,
      SECRET_KEY: BENCH_SECRET_KEY,
      LOG_LEVEL: 'warn',
      PORT: String(PORT),
      HOST: '127.0.0.1',
      PUBLIC_URL: `http://127.0.0.1:${PORT}`,
      AUTH_FAILURE_LIMIT: '100000',
      NODE_ENV: 'production',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  const url = `http://127.0.0.1:${PORT}`;
  const client = new HttpClient(url, 2);
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`the service exited with ${child.exitCode}: see ${SERVER_LOG}`);
    try {
      const r = await client.request({ method: 'GET', path: '/healthz' }, 2000);
      if (r.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the service did not start in 60 s: see ${SERVER_LOG}`);
    await sleep(200);
  }
  client.close();
  log(`service started (pid ${child.pid}) on ${ds.dbName}; log in ${SERVER_LOG}`);
  return {
    pid: child.pid!,
    url,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(15_000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** True when the route exists (anything but fastify's "Route … not found" 404). */
async function routeExists(http: HttpClient, req: Req): Promise<boolean> {
  try {
    const r = await http.request(req);
    return !(r.status === 404 && /Route .* not found/.test(r.body.toString()));
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------
// Restoring what a scenario changed

interface Marks {
  [table: string]: number;
}

const APPENDED = [
  'shipments',
  'ship_notices',
  'alerts',
  'order_events',
  'export_snapshots',
  'export_log',
  'orders',
];

class Checkpoint {
  private constructor(
    private readonly pool: pg.Pool,
    private readonly merchants: number[],
    private readonly marks: Marks,
  ) {}

  /** Saves the touched orders (`where` over alias o), their lines and all stores; marks the id sequences. */
  static async take(
    pool: pg.Pool,
    merchants: number[],
    where: string,
    params: unknown[] = [],
  ): Promise<Checkpoint> {
    const c = await pool.connect();
    try {
      await c.query('drop table if exists bench.cp_orders, bench.cp_lines, bench.cp_stores');
      await c.query(
        `create unlogged table bench.cp_orders as select o.merchant_id, o.id, o.status, o.held_from, o.store_id,
           o.routing_reason, o.served_store_id, o.served_at, o.last_modified, o.updated_at
         from orders o where ${where}`,
        params,
      );
      await c.query(
        `create unlogged table bench.cp_lines as select l.merchant_id, l.id, l.shipped_quantity
         from order_lines l join bench.cp_orders c on l.merchant_id = c.merchant_id and l.order_id = c.id`,
      );
      await c.query('create unlogged table bench.cp_stores as select * from stores');
      await c.query('analyze bench.cp_orders, bench.cp_lines');
      const marks: Marks = {};
      for (const t of APPENDED) {
        const r = await c.query(
          `select coalesce(pg_sequence_last_value(pg_get_serial_sequence($1, 'id')::regclass), 0)::bigint as v`,
          [t],
        );
        marks[t] = Number(r.rows[0].v);
      }
      return new Checkpoint(pool, merchants, marks);
    } finally {
      c.release();
    }
  }

  async restore(): Promise<void> {
    const c = await this.pool.connect();
    try {
      await c.query('begin');
      const m = this.merchants;
      // Without foreign-key triggers (the deleted rows are the bench's own and consistent): deleting
      // order lines otherwise checks shipment_lines (merchant_id, order_line_id), which has no index,
      // with a scan of the merchant's shipment lines per deleted line — minutes at 1 M. The cascades
      // are done by hand instead.
      await c.query("set local session_replication_role = 'replica'");
      await c.query('delete from shipment_lines where merchant_id = any($1::bigint[]) and shipment_id > $2', [
        m,
        this.marks['shipments'],
      ]);
      await c.query('delete from order_lines where merchant_id = any($1::bigint[]) and order_id > $2', [
        m,
        this.marks['orders'],
      ]);
      await c.query(
        'delete from export_snapshot_orders where merchant_id = any($1::bigint[]) and snapshot_id > $2',
        [m, this.marks['export_snapshots']],
      );
      for (const t of APPENDED) {
        await c.query(`delete from ${t} where merchant_id = any($1::bigint[]) and id > $2`, [
          m,
          this.marks[t],
        ]);
      }
      await c.query(`
        update orders o set status = c.status, held_from = c.held_from, store_id = c.store_id,
          routing_reason = c.routing_reason, served_store_id = c.served_store_id, served_at = c.served_at,
          last_modified = c.last_modified, updated_at = c.updated_at
        from bench.cp_orders c
        where o.merchant_id = c.merchant_id and o.id = c.id
          and (o.status, o.held_from, o.store_id, o.routing_reason, o.served_store_id, o.served_at,
               o.last_modified, o.updated_at)
            is distinct from (c.status, c.held_from, c.store_id, c.routing_reason, c.served_store_id,
               c.served_at, c.last_modified, c.updated_at)`);
      await c.query(`
        update order_lines l set shipped_quantity = c.shipped_quantity from bench.cp_lines c
        where l.merchant_id = c.merchant_id and l.id = c.id and l.shipped_quantity <> c.shipped_quantity`);
      await c.query(`
        update stores s set name = c.name, order_sources = c.order_sources, include_tags = c.include_tags,
          exclude_tags = c.exclude_tags, priority = c.priority, page_size = c.page_size, timezone = c.timezone,
          lookback_minutes = c.lookback_minutes, order_number_prefix = c.order_number_prefix,
          password_hash = c.password_hash, retired_at = c.retired_at, updated_at = c.updated_at,
          last_export_at = c.last_export_at, last_window_start = c.last_window_start,
          last_window_end = c.last_window_end, last_notice_at = c.last_notice_at
        from bench.cp_stores c where s.merchant_id = c.merchant_id and s.id = c.id`);
      await c.query('delete from auth_failures');
      await c.query('commit');
    } catch (e) {
      await c.query('rollback');
      throw e;
    } finally {
      c.release();
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Export windows

interface ExportWindow {
  store: StoreDef;
  start: string;
  end: string;
  /** The instant the widened window starts at (for checkpoints). */
  from: Date;
  count: number;
}

const ssDate = (d: Date) => {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}`;
};
const floorMinute = (d: Date) => new Date(Math.floor(d.getTime() / 60_000) * 60_000);

/** The window of a store's newest `want` orders (all of them when it has fewer), as ShipStation asks for it. */
async function windowOf(pool: pg.Pool, store: StoreDef, want: number): Promise<ExportWindow> {
  const r = await pool.query(
    `select (select max(last_modified) from orders where store_id = $1) as hi,
       (select last_modified from orders where store_id = $1 order by last_modified desc, id desc
        offset $2 limit 1) as lo,
       (select min(last_modified) from orders where store_id = $1) as first`,
    [store.id, want - 1],
  );
  const hi = floorMinute(r.rows[0].hi as Date);
  const lo = floorMinute((r.rows[0].lo ?? r.rows[0].first) as Date);
  const lookback = (await pool.query('select lookback_minutes from stores where id = $1', [store.id])).rows[0]
    .lookback_minutes as number;
  const from = new Date(lo.getTime() - lookback * 60_000);
  const count = Number(
    (
      await pool.query(
        `select count(*) from orders where store_id = $1 and last_modified >= $2 and last_modified < $3`,
        [store.id, from, new Date(hi.getTime() + 60_000)],
      )
    ).rows[0].count,
  );
  return { store, start: ssDate(lo), end: ssDate(hi), from, count };
}

const exportReq = (w: ExportWindow, page: number, tag?: string): Req => ({
  method: 'GET',
  path:
    `/shipstation?action=export&start_date=${encodeURIComponent(w.start)}` +
    `&end_date=${encodeURIComponent(w.end)}&page=${page}`,
  headers: { authorization: basic(w.store.username, w.store.password) },
  ...(tag ? { tag } : {}),
});

function countOrders(body: Buffer): number {
  let n = 0;
  let i = body.indexOf('<Order>');
  while (i >= 0) {
    n += 1;
    i = body.indexOf('<Order>', i + 7);
  }
  return n;
}

const pagesOf = (body: Buffer) =>
  Number(/<Orders pages="(\d+)"/.exec(body.toString('utf8', 0, 200))?.[1] ?? 0);

const exportCheck = (_q: Req, res: Res) => ({ ok: res.status === 200, units: countOrders(res.body) });

async function setPageSize(pool: pg.Pool, storeIds: number[], size: number): Promise<void> {
  await pool.query('update stores set page_size = $2 where id = any($1::bigint[])', [storeIds, size]);
}

// ---------------------------------------------------------------------------------------------------
// Orders to ingest (already normalised, so the raw-insert limit stores exactly the same rows)

const NAMES = ['Zoë Ängström', 'José Núñez', '山田 太郎', 'Łukasz Żółć', 'Ольга Петрова', "Mary O'Brien"];
const PRODUCTS = [
  'Crème Brûlée Candle',
  'Matcha 抹茶 Tin',
  'Wireless Earbuds',
  'Merino Beanie',
  'Notebook A5',
];

function benchOrder(run: string, i: number): NormalizedOrder {
  const n = 1 + (i % 5);
  const items: NormalizedItem[] = [];
  for (let p = 1; p <= n; p++) {
    const adj = n >= 3 && p === n;
    items.push({
      line_id: adj ? null : `L${p}`,
      sku: adj ? null : `SKU-${(i * 7 + p) % 5000}-M`,
      name: adj ? 'Discount WELCOME10' : PRODUCTS[(i + p) % PRODUCTS.length]!,
      quantity: adj ? 1 : 1 + ((i + p) % 3),
      unit_price: adj ? '-5.00' : `${10 + ((i * 13 + p) % 90)}.50`,
      weight: adj ? null : '0.75',
      weight_unit: adj ? null : 'lb',
      image_url: null,
      location: adj ? null : `A-${p}-3`,
      upc: null,
      options: adj ? [] : [{ name: 'Size', value: ['S', 'M', 'L'][p % 3]!, weight: null }],
      adjustment: adj,
    });
  }
  const sub = items.reduce((a, it) => a + it.quantity * Number(it.unit_price), 0);
  const address = {
    name: NAMES[i % NAMES.length]!,
    company: null,
    street1: `${100 + (i % 900)} Hauptstraße`,
    street2: null,
    street3: null,
    city: 'Austin',
    state: 'TX',
    postal_code: '73301',
    country: 'US',
    phone: '+1 555-0100',
    email: `buyer${i}@example.com`,
  };
  return {
    order_source: ['shopify-us', 'amazon', 'shopify-eu', 'etsy', 'api'][i % 5]!,
    order_number: `BENCH-${run}-${i}`,
    order_date: new Date(Date.UTC(2026, 10, 21, 12, 0, i % 60)).toISOString(),
    currency: 'USD',
    tags: i % 4 === 0 ? ['gift', 'Übergröße'] : [],
    shipping_method: 'Ground',
    payment_method: 'credit_card',
    order_total: (sub + 4.99).toFixed(2),
    tax_amount: '0.00',
    shipping_amount: '4.99',
    amount_paid: (sub + 4.99).toFixed(2),
    customer_notes: i % 3 === 0 ? 'Bitte nicht knicken — merci !' : null,
    internal_notes: null,
    gift: false,
    gift_message: null,
    custom_fields: [],
    requested_warehouse: null,
    customer: { code: `C${i % 1000}`, email: `buyer${i}@example.com` },
    bill_to: address,
    ship_to: address,
    items,
  };
}

/** Merchants to post for, weighted by size (the 50 largest, each as often as its share). */
function weightedMerchants(ds: Dataset): MerchantDef[] {
  const top = ds.merchants.slice(0, 50);
  const min = top[top.length - 1]!.orders;
  const out: MerchantDef[] = [];
  for (const m of top) for (let k = 0; k < Math.max(1, Math.round(m.orders / min)); k++) out.push(m);
  // interleave
  return out
    .map((m, i) => ({ m, k: (i * 7919) % out.length }))
    .sort((a, b) => a.k - b.k)
    .map((x) => x.m);
}

const apiAuth = (m: MerchantDef) => ({
  authorization: basic(m.apiUser, m.apiKey),
  'content-type': 'application/json',
});

/** The raw limit: the same rows through plain multi-row INSERTs (orders, lines, a 'created' event each). */
async function rawInsert(c: pg.ClientBase, merchantId: number, orders: NormalizedOrder[]): Promise<void> {
  await c.query('begin');
  const ov: unknown[] = [];
  const orows: string[] = [];
  for (const o of orders) {
    const { items: _items, ...content } = o;
    const b = ov.length;
    orows.push(`(${Array.from({ length: 13 }, (_, k) => `$${b + k + 1}`).join(', ')})`);
    ov.push(
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
      o.amount_paid,
      JSON.stringify(content),
      String(o.order_number.length),
    );
  }
  const ins = await c.query(
    `insert into orders (merchant_id, order_source, order_number, status, order_date, currency, tags, order_total,
       tax_amount, shipping_amount, amount_paid, content, content_hash) values ${orows.join(', ')} returning id`,
    ov,
  );
  const lv: unknown[] = [];
  const lrows: string[] = [];
  ins.rows.forEach((row: { id: number }, k: number) => {
    orders[k]!.items.forEach((it, p) => {
      const b = lv.length;
      lrows.push(`(${Array.from({ length: 10 }, (_, j) => `$${b + j + 1}`).join(', ')})`);
      lv.push(
        merchantId,
        row.id,
        p + 1,
        it.line_id,
        it.sku,
        it.name,
        it.quantity,
        it.unit_price,
        it.adjustment,
        JSON.stringify(it),
      );
    });
  });
  for (let s = 0; s < lrows.length; s += 1000) {
    const part = lrows.slice(s, s + 1000);
    const first = s * 10;
    const vals = lv.slice(first, first + part.length * 10);
    const renum = part.map(
      (_, k) => `(${Array.from({ length: 10 }, (_, j) => `$${k * 10 + j + 1}`).join(', ')})`,
    );
    await c.query(
      `insert into order_lines (merchant_id, order_id, position, line_id, sku, name, quantity, unit_price, adjustment,
         content) values ${renum.join(', ')}`,
      vals,
    );
  }
  await c.query(
    `insert into order_events (merchant_id, order_id, type, to_status, actor_type, actor)
     select $1, id, 'created', 'new', 'credential', 'bench' from unnest($2::bigint[]) id`,
    [merchantId, ins.rows.map((r: { id: number }) => r.id)],
  );
  await c.query('commit');
}

// ---------------------------------------------------------------------------------------------------
// The limit of an export page: the endpoint's own SQL statements, replayed through pg

const INT8 = 20;
const DATE = 1082;
const NUMERIC = 1700;
const typeParsers: Record<number, (v: string) => unknown> = {
  [INT8]: (v) => Number(v),
  [DATE]: (v) => v,
  [NUMERIC]: (v) => v,
};
const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    const p = typeParsers[oid];
    if (p && format !== 'binary') return p;
    return (pg.types.getTypeParser as (o: number, f?: string) => (v: string) => unknown)(oid, format);
  },
};

interface InProcess {
  db: Kysely<DB>;
  captured: { sql: string; parameters: readonly unknown[]; ms: number }[] | undefined;
  inject: (req: Req) => Promise<{ status: number; body: string }>;
  close: () => Promise<void>;
}

/** The app built in this process over a Kysely that records every statement (for the limit only). */
async function inProcessApp(ds: Dataset): Promise<InProcess> {
  const { buildApp } = await import('../src/app.js');
  const pool = new pg.Pool({ connectionString: ds.url, max: 4, types: pgTypes });
  const state: InProcess = {
    captured: undefined,
    db: undefined as unknown as Kysely<DB>,
    inject: async () => ({ status: 0, body: '' }),
    close: async () => {},
  };
  const db = new Kysely<DB>({
    dialect: new PostgresDialect({ pool }),
    log: (event) => {
      if (state.captured) {
        state.captured.push({
          sql: event.query.sql,
          parameters: event.query.parameters,
          ms: event.queryDurationMillis,
        });
      }
    },
  });
  const config = loadConfig({
    DATABASE_URL: ds.url,
    SECRET_KEY: BENCH_SECRET_KEY,
    LOG_LEVEL: 'silent',
    AUTH_FAILURE_LIMIT: '100000',
  });
  const app = await buildApp({
    config,
    database: { db, engine: 'postgres', dataDir: undefined, close: () => db.destroy() },
    hasher: new SecretHasher(BENCH_SECRET_KEY),
    logger: createLogger('silent'),
  });
  await app.ready();
  state.db = db;
  state.inject = async (req) => {
    const r = await app.inject({
      method: req.method,
      url: req.path,
      headers: req.headers ?? {},
      ...(req.body !== undefined ? { payload: req.body } : {}),
    });
    return { status: r.statusCode, body: r.body };
  };
  state.close = async () => {
    await app.close();
    await db.destroy();
  };
  return state;
}

// ---------------------------------------------------------------------------------------------------
// Scenarios

interface Bench {
  ds: Dataset;
  pool: pg.Pool;
  http: HttpClient;
  server: Server;
  rss: RssSampler;
  cpu: CpuMeter;
  r: SizeResults;
  main: StoreDef;
}

/**
 * The CPU one request (or unit) cost the service, PostgreSQL and the generator over a scenario, and
 * the rate the 2 cores allow at that cost: the bound a throughput or latency target meets.
 */
function addCpu(b: Bench, key: string, used: CpuTimes, count: number, unit: string): void {
  if (count <= 0) return;
  const svc = used.serviceMs / count;
  const pgMs = used.postgresMs / count;
  const gen = used.generatorMs / count;
  b.r.add(`cpu.${key}.service`, `  CPU per ${unit}: service`, 'ms', svc);
  b.r.add(`cpu.${key}.postgres`, `  CPU per ${unit}: PostgreSQL (the rest of the machine)`, 'ms', pgMs);
  b.r.add(`cpu.${key}.generator`, `  CPU per ${unit}: load generator`, 'ms', gen);
  b.r.add(
    `cpu.${key}.bound`,
    `  2 cores ÷ that CPU (service + PostgreSQL + generator): the most this machine allows`,
    `${unit}s/s`,
    2000 / (svc + pgMs + gen),
  );
}

function describe(name: string, res: LoadResult): string {
  const s = res.latencies;
  return (
    `${name}: ${res.completed}/${res.sent} answered, ${res.errors} errors, p50 ${fmt(pct(s, 50))} ms, ` +
    `p99 ${fmt(pct(s, 99))} ms, ${fmt(res.achievedRps)} req/s` +
    (res.units ? `, ${fmt(res.units / Math.max(SECONDS, res.elapsedS))} units/s` : '') +
    (res.queued ? `, ${res.queued} queued at the in-flight bound` : '') +
    (res.abandoned ? `, ${res.abandoned} abandoned unanswered` : '') +
    (res.errorSamples.length ? `\n    e.g. ${res.errorSamples.slice(0, 2).join('\n    ')}` : '')
  );
}

/** Export of the largest store's busiest window: page 1, later pages at 50/s, full walk. */
async function scenarioExport(b: Bench, w: ExportWindow): Promise<void> {
  const { r, pool, http } = b;
  for (const ps of [100, 500]) {
    for (let run = 0; run < RUNS; run++) {
      await setPageSize(pool, [w.store.id], ps);
      const cp = await Checkpoint.take(
        pool,
        [w.store.merchantId],
        'o.store_id = $1 and o.last_modified >= $2',
        [w.store.id, w.from],
      );
      try {
        // Page 1 (builds the window's snapshot) at 2 requests/s.
        b.rss.start();
        const p1 = await openLoop(http, {
          rate: 2,
          seconds: SECONDS,
          maxInFlight: 8,
          make: () => exportReq(w, 1),
          check: exportCheck,
        });
        r.add(
          `export.page1.${ps}.p50`,
          `export page 1 (page size ${ps}), ${w.count}-order window, 2/s: p50`,
          'ms',
          pct(p1.latencies, 50),
        );
        r.add(`export.page1.${ps}.p99`, `export page 1 (page size ${ps}) p99`, 'ms', pct(p1.latencies, 99));
        r.add('rss.export', 'service peak RSS during export', 'MB', b.rss.stop());
        log(describe(`export page 1 ps=${ps} run ${run + 1}`, p1));
        await cp.restore();

        // Later pages at 50 pages/s, cycling through pages 2..N of one snapshot.
        const first = await http.request(exportReq(w, 1));
        const pages = pagesOf(first.body);
        b.rss.start();
        const laterCpu = b.cpu.start();
        const later = await openLoop(http, {
          rate: 50,
          seconds: SECONDS,
          maxInFlight: 32,
          make: (i) => exportReq(w, 2 + (i % Math.max(1, pages - 1))),
          check: exportCheck,
        });
        r.add(
          `export.later.${ps}.p50`,
          `export later page (page size ${ps}) at 50 pages/s: p50`,
          'ms',
          pct(later.latencies, 50),
        );
        r.add(
          `export.later.${ps}.p99`,
          `export later page (page size ${ps}) at 50 pages/s: p99`,
          'ms',
          pct(later.latencies, 99),
        );
        r.add(
          `export.later.${ps}.rps`,
          `export later page (page size ${ps}): achieved`,
          'pages/s',
          later.achievedRps,
        );
        r.add('rss.export', 'service peak RSS during export', 'MB', b.rss.stop());
        addCpu(b, `export.later.${ps}`, laterCpu(), later.completed, 'page');
        log(describe(`export later pages ps=${ps} run ${run + 1} (${pages} pages)`, later));
        await cp.restore();

        // A full walk of the window, page after page as ShipStation does.
        const t = performance.now();
        const one = await http.request(exportReq(w, 1));
        const n = pagesOf(one.body);
        let orders = countOrders(one.body);
        for (let p = 2; p <= n; p++) orders += countOrders((await http.request(exportReq(w, p))).body);
        const s = (performance.now() - t) / 1000;
        r.add(
          `export.walk.${ps}.s`,
          `export full walk of the ${w.count}-order window (page size ${ps})`,
          's',
          s,
        );
        r.add(
          `export.walk.${ps}.ops`,
          `export full walk (page size ${ps}): orders/s`,
          'orders/s',
          orders / s,
        );
        log(`export walk ps=${ps} run ${run + 1}: ${n} pages, ${orders} orders in ${fmt(s)} s`);
      } finally {
        await cp.restore();
      }
    }
  }
}

/** Many stores walking their windows at once (ShipStation polling every store of a warehouse). */
async function scenarioConcurrentStores(b: Bench): Promise<void> {
  const { r, pool, http, ds } = b;
  const since = new Date(ds.tEnd.getTime() - 2 * 86_400_000);
  const top = await pool.query(
    `select store_id, count(*)::int as n from orders
     where last_modified >= $1 and store_id is not null and merchant_id <> 1
     group by 1 order by 2 desc limit 40`,
    [since],
  );
  const stores = top.rows.map(
    (row: { store_id: number }) => ds.stores.find((s) => s.id === Number(row.store_id))!,
  );
  const windows: ExportWindow[] = stores.map((s) => ({
    store: s,
    start: ssDate(since),
    end: ssDate(floorMinute(ds.tEnd)),
    from: new Date(since.getTime() - 10 * 60_000),
    count: 0,
  }));
  const merchants = [...new Set(stores.map((s) => s.merchantId))];
  const total = top.rows.reduce((a: number, x: { n: number }) => a + x.n, 0);
  for (const ps of [100, 500]) {
    for (let run = 0; run < RUNS; run++) {
      await setPageSize(
        pool,
        stores.map((s) => s.id),
        ps,
      );
      const cp = await Checkpoint.take(
        pool,
        merchants,
        'o.store_id = any($1::bigint[]) and o.last_modified >= $2',
        [stores.map((s) => s.id), windows[0]!.from],
      );
      try {
        // 16 walkers; each walks one store's window page by page, then takes the next store.
        const cursor = new Map<number, { w: ExportWindow; page: number; pages: number }>();
        const owner = new WeakMap<Req, number>();
        let nextStore = 0;
        b.rss.start();
        const concurrentCpu = b.cpu.start();
        const res = await closedLoop(http, {
          concurrency: 16,
          seconds: SECONDS,
          make: (_i, worker) => {
            let c = cursor.get(worker);
            if (!c || c.page >= c.pages) {
              c = { w: windows[nextStore++ % windows.length]!, page: 0, pages: 1 };
              cursor.set(worker, c);
            }
            c.page += 1;
            const req = exportReq(c.w, c.page);
            owner.set(req, worker);
            return req;
          },
          check: (req, res) => {
            const c = cursor.get(owner.get(req) ?? -1);
            if (c && c.page === 1) c.pages = pagesOf(res.body) || 1;
            return exportCheck(req, res);
          },
        });
        const ops = res.units / res.elapsedS;
        r.add(
          `export.concurrent.${ps}.ops`,
          `export, 40 stores walked by 16 concurrent pollers (page size ${ps})`,
          'orders/s',
          ops,
        );
        r.add(
          `export.concurrent.${ps}.p99`,
          `export, concurrent stores (page size ${ps}): page p99`,
          'ms',
          pct(res.latencies, 99),
        );
        r.add('rss.export', 'service peak RSS during export', 'MB', b.rss.stop());
        addCpu(b, `export.concurrent.${ps}`, concurrentCpu(), res.units, 'order');
        log(
          describe(`export concurrent stores ps=${ps} run ${run + 1} (${total} orders in the windows)`, res) +
            `, ${fmt(ops)} orders/s`,
        );
      } finally {
        await cp.restore();
      }
    }
  }
}

/** Export memory against window size: page 1 (the snapshot fill) of ~1k, ~10k and ~100k windows. */
async function scenarioExportMemory(b: Bench): Promise<void> {
  const { r, pool, http } = b;
  const total = Number(
    (await pool.query('select count(*) from orders where store_id = $1', [b.main.id])).rows[0].count,
  );
  await setPageSize(pool, [b.main.id], 500);
  for (const want of [1000, 10_000, 100_000]) {
    if (want > total && want !== 1000) {
      r.notes.push(`export memory: no ${want}-order window at this size (largest store holds ${total})`);
      continue;
    }
    const w = await windowOf(pool, b.main, want);
    const cp = await Checkpoint.take(
      pool,
      [w.store.merchantId],
      'o.store_id = $1 and o.last_modified >= $2',
      [w.store.id, w.from],
    );
    try {
      const before = RssSampler.read(b.server.pid).rssMb;
      b.rss.start();
      const lat: number[] = [];
      for (let k = 0; k < RUNS; k++) {
        const t = performance.now();
        const res = await http.request(exportReq(w, 1));
        if (res.status !== 200)
          throw new Error(`export page 1 answered ${res.status}: ${res.body.toString().slice(0, 300)}`);
        lat.push(performance.now() - t);
        await cp.restore();
      }
      const peak = b.rss.stop();
      const label = want >= 100_000 ? '100k' : want >= 10_000 ? '10k' : '1k';
      r.add(
        `memory.window${label}.peak`,
        `service peak RSS, page 1 of a ${w.count}-order window (page size 500)`,
        'MB',
        peak,
      );
      r.add(
        `memory.window${label}.delta`,
        `service RSS growth over the idle level, ${w.count}-order window`,
        'MB',
        peak - before,
      );
      r.add(
        `memory.window${label}.page1`,
        `export page 1 of a ${w.count}-order window (page size 500)`,
        'ms',
        median(lat),
      );
      log(
        `export memory: window ${w.count}: page 1 ${fmt(median(lat))} ms, RSS ${fmt(before)} → peak ${fmt(peak)} MB`,
      );
    } finally {
      await cp.restore();
    }
  }
}

/** The limit: the endpoint's statements replayed through pg, and the XML render in-process. */
async function scenarioExportLimit(b: Bench, w: ExportWindow): Promise<void> {
  const { r, pool, http, ds } = b;
  const app = await inProcessApp(ds);
  const { readPage, renderPage } = await import('../src/shipstation/export.js');
  const replay = new pg.Client({ connectionString: ds.url });
  await replay.connect();
  const N = Math.max(9, RUNS * 5);
  try {
    for (const ps of [100, 500]) {
      await setPageSize(pool, [w.store.id], ps);
      const first = await http.request(exportReq(w, 1));
      if (first.status !== 200) throw new Error(`export page 1 answered ${first.status}`);
      const cp = await Checkpoint.take(
        pool,
        [w.store.merchantId],
        'o.store_id = $1 and o.last_modified >= $2',
        [w.store.id, w.from],
      );
      try {
        app.captured = [];
        const injected = await app.inject(exportReq(w, 2));
        const statements = app.captured;
        app.captured = undefined;
        const isControl = (q: string) => /^\s*(begin|commit|rollback|start transaction)\b/i.test(q);
        const control = statements.some((s) => isControl(s.sql));
        if (injected.status !== 200) throw new Error(`in-process export answered ${injected.status}`);
        await cp.restore();
        const endpoint: number[] = [];
        const sqlMs: number[] = [];
        const each: number[][] = statements.map(() => []);
        for (let k = 0; k < N; k++) {
          let t = performance.now();
          const res = await http.request(exportReq(w, 2));
          endpoint.push(performance.now() - t);
          if (res.status !== 200) throw new Error(`export page 2 answered ${res.status}`);
          await cp.restore();
          // The same statements, committed like the endpoint's transaction (then undone by the restore).
          t = performance.now();
          if (!control) await replay.query('begin');
          for (const [j, s] of statements.entries()) {
            const u = performance.now();
            await replay.query(s.sql, s.parameters as unknown[]);
            each[j]!.push(performance.now() - u);
          }
          if (!control) await replay.query('commit');
          sqlMs.push(performance.now() - t);
          await cp.restore();
        }
        // Which statements the time goes to, and the plan of the slowest one (in the same transaction).
        const oneLine = (q: string) => q.replace(/\s+/g, ' ').trim().slice(0, 150);
        const timings = statements.map((s, j) => ({ j, ms: median(each[j]!), sql: oneLine(s.sql) }));
        r.details.push({
          title: `export page 2, page size ${ps}: the endpoint's statements replayed through pg (median ms each)`,
          text: timings.map((x) => `${fmt(x.ms).padStart(8)} ms  #${x.j + 1} ${x.sql}`).join('\n'),
        });
        const slow = [...timings]
          .filter((x) => !isControl(x.sql))
          .sort((a, b) => b.ms - a.ms)
          .slice(0, 2);
        for (const sl of slow) {
          await replay.query('begin');
          for (let j = 0; j < sl.j; j++) {
            if (!isControl(statements[j]!.sql)) {
              await replay.query(statements[j]!.sql, statements[j]!.parameters as unknown[]);
            }
          }
          const plan = await replay.query(
            `explain (analyze, buffers) ${statements[sl.j]!.sql}`,
            statements[sl.j]!.parameters as unknown[],
          );
          await replay.query('rollback');
          r.details.push({
            title: `EXPLAIN (ANALYZE, BUFFERS) of statement #${sl.j + 1} (page size ${ps}, ${fmt(sl.ms)} ms)`,
            text: plan.rows.map((x: Record<string, string>) => x['QUERY PLAN']).join('\n'),
          });
        }
        await cp.restore();
        const store = (await app.db
          .selectFrom('stores')
          .selectAll()
          .where('id', '=', w.store.id)
          .executeTakeFirstOrThrow()) as Store;
        const snap = await pool.query(
          'select id, total from export_snapshots where store_id = $1 and page_size = $2 order by id desc limit 1',
          [w.store.id, ps],
        );
        const rows = await readPage(app.db, store, Number(snap.rows[0].id), 2);
        const pages = Math.ceil(Number(snap.rows[0].total) / ps);
        const renderMs: number[] = [];
        for (let k = 0; k < N; k++) {
          const t = performance.now();
          renderPage(store, rows, pages);
          renderMs.push(performance.now() - t);
        }
        const e = median(endpoint);
        const s = median(sqlMs);
        const x = median(renderMs);
        r.add(
          `limit.export.${ps}.endpoint`,
          `export page 2 (page size ${ps}), one at a time: endpoint`,
          'ms',
          e,
        );
        r.add(
          `limit.export.${ps}.sql`,
          `  the same page's ${statements.length} SQL statements (begin/commit included, if any) through pg`,
          'ms',
          s,
        );
        r.add(
          `limit.export.${ps}.render`,
          `  render of the same ${rows.length} orders in-process (renderPage)`,
          'ms',
          x,
        );
        r.add(`limit.export.${ps}.ratio`, `  endpoint ÷ (SQL + render), page size ${ps}`, '×', e / (s + x));
        log(
          `export limit ps=${ps}: endpoint ${fmt(e)} ms, SQL ${fmt(s)} ms (${statements.length} statements), render ${fmt(x)} ms, ratio ${fmt(e / (s + x))}`,
        );
      } finally {
        await cp.restore();
      }
    }
  } finally {
    await replay.end();
    await app.close();
  }
}

/**
 * Where the time of one request goes, for the other endpoints: the real request handled in this
 * process (app.inject, one at a time), its total time against the summed time of the SQL statements
 * it ran (as the pg client saw them). The rest is JavaScript in the service: validation, JSON, XML,
 * response schemas.
 */
async function scenarioProfile(b: Bench): Promise<void> {
  const { r, pool, ds } = b;
  const app = await inProcessApp(ds);
  const m = ds.merchants[0]!;
  const mids = ds.merchants.slice(0, 50).map((x) => x.id);
  const N = Math.max(10, RUNS * 5);
  const tag = Date.now().toString(36);
  const target = (
    await pool.query(
      `select o.id, o.order_number, o.store_id, o.merchant_id from orders o
       where o.merchant_id = $1 and o.status = 'at_wms' and o.store_id is not null order by o.id limit $2`,
      [m.id, N],
    )
  ).rows as { id: number; order_number: string; store_id: number; merchant_id: number }[];
  const cases: { key: string; label: string; make: (k: number) => Req | undefined }[] = [
    {
      key: 'listing',
      label: 'order listing, page of 100',
      make: () => ({ method: 'GET', path: `/v1/merchants/${m.code}/orders?limit=100`, headers: apiAuth(m) }),
    },
    {
      key: 'single',
      label: 'single-order POST',
      make: (k) => ({
        method: 'POST',
        path: `/v1/merchants/${m.code}/orders`,
        headers: apiAuth(m),
        body: JSON.stringify(benchOrder(`p${tag}`, k)),
      }),
    },
    {
      key: 'batch',
      label: 'batch of 500 orders',
      make: (k) => ({
        method: 'POST',
        path: `/v1/merchants/${m.code}/orders`,
        headers: apiAuth(m),
        body: JSON.stringify({
          orders: Array.from({ length: 500 }, (_, j) => benchOrder(`q${tag}`, k * 500 + j)),
        }),
      }),
    },
    {
      key: 'notice',
      label: 'whole-order shipment notice',
      make: (k) => {
        const t = target[k % Math.max(1, target.length)];
        if (!t) return undefined;
        const st = ds.stores.find((x) => x.id === Number(t.store_id))!;
        const tracking = `1ZP${tag}${k}`;
        return {
          method: 'POST',
          path: `/shipstation?action=shipnotify&order_number=${encodeURIComponent(t.order_number)}&carrier=UPS&service=&tracking_number=${tracking}`,
          headers: { authorization: basic(st.username, st.password), 'content-type': 'application/xml' },
          body: noticeXml({ ...t, lines: [] }, tracking, false),
        };
      },
    },
  ];
  try {
    for (const c of cases) {
      const cp = await Checkpoint.take(pool, mids, 'o.merchant_id = $1 and o.status = $2', [m.id, 'at_wms']);
      try {
        const total: number[] = [];
        const sqlMs: number[] = [];
        let count = 0;
        for (let k = 0; k < (c.key === 'batch' ? Math.max(3, RUNS) : N); k++) {
          const req = c.make(k);
          if (!req) break;
          app.captured = [];
          const t = performance.now();
          const res = await app.inject(req);
          total.push(performance.now() - t);
          const cap = app.captured;
          app.captured = undefined;
          if (res.status >= 300)
            throw new Error(`${c.label} answered ${res.status}: ${res.body.slice(0, 200)}`);
          sqlMs.push(cap.reduce((a, x) => a + x.ms, 0));
          count = cap.length;
        }
        const tt = median(total);
        const ss = median(sqlMs);
        r.add(`profile.${c.key}.total`, `in-process ${c.label}: total`, 'ms', tt);
        r.add(`profile.${c.key}.sql`, `  of which SQL (${count} statements, client-side time)`, 'ms', ss);
        r.add(`profile.${c.key}.js`, '  of which JavaScript (validation, JSON/XML, schemas)', 'ms', tt - ss);
        log(`profile ${c.label}: ${fmt(tt)} ms in-process, SQL ${fmt(ss)} ms in ${count} statements`);
      } finally {
        await cp.restore();
      }
    }
  } finally {
    await app.close();
  }
}

async function scenarioIngest(b: Bench): Promise<void> {
  const { r, pool, http, ds } = b;
  const merchants = weightedMerchants(ds);
  const mids = [...new Set(merchants.map((m) => m.id))];
  for (let run = 0; run < RUNS; run++) {
    const tag = `${Date.now().toString(36)}${run}`;
    const cp = await Checkpoint.take(pool, mids, 'false');
    try {
      // Single orders at 200/s.
      b.rss.start();
      const singleCpu = b.cpu.start();
      const single = await openLoop(http, {
        rate: 200,
        seconds: SECONDS,
        maxInFlight: 64,
        make: (i) => postOneOrder(merchants, `s${tag}`, i),
        check: (_q, res) => ({ ok: res.status === 201, units: 1 }),
      });
      r.add(
        'ingest.single.p50',
        'ingestion: single-order POST at 200/s: p50',
        'ms',
        pct(single.latencies, 50),
      );
      r.add(
        'ingest.single.p99',
        'ingestion: single-order POST at 200/s: p99',
        'ms',
        pct(single.latencies, 99),
      );
      r.add('ingest.single.rps', 'ingestion: single-order POST: achieved', 'orders/s', single.achievedRps);
      r.add('rss.ingest', 'service peak RSS during ingestion', 'MB', b.rss.stop());
      addCpu(b, 'ingest.single', singleCpu(), single.completed, 'order');
      log(describe(`ingest single run ${run + 1}`, single));

      // Batches of 500, two in flight (saturation).
      const batch = (i: number) => {
        const m = merchants[(i * 13) % merchants.length]!;
        return { m, orders: Array.from({ length: 500 }, (_, k) => benchOrder(`b${tag}`, i * 500 + k)) };
      };
      b.rss.start();
      const batchCpu = b.cpu.start();
      const batches = await closedLoop(http, {
        concurrency: 2,
        seconds: SECONDS,
        make: (i) => {
          const { m, orders } = batch(i);
          return {
            method: 'POST',
            path: `/v1/merchants/${m.code}/orders`,
            headers: apiAuth(m),
            body: JSON.stringify({ orders }),
          };
        },
        check: (_q, res) => {
          if (res.status !== 200) return { ok: false };
          const body = JSON.parse(res.body.toString()) as { results: { result: string }[] };
          const created = body.results.filter((x) => x.result === 'created').length;
          return { ok: created === body.results.length, units: created };
        },
      });
      const api = batches.units / batches.elapsedS;
      r.add('ingest.batch.ops', 'ingestion: batches of 500, 2 in flight', 'orders/s', api);
      r.add('ingest.batch.p50', 'ingestion: batch of 500: p50', 'ms', pct(batches.latencies, 50));
      r.add('rss.ingest', 'service peak RSS during ingestion', 'MB', b.rss.stop());
      addCpu(b, 'ingest.batch', batchCpu(), batches.units, 'order');
      log(describe(`ingest batches run ${run + 1}`, batches) + `, ${fmt(api)} orders/s`);

      // The same rows through plain multi-row INSERTs, two connections.
      const started = performance.now();
      const end = started + SECONDS * 1000;
      let rawOrders = 0;
      let i = 0;
      await Promise.all(
        [0, 1].map(async () => {
          const c = await pool.connect();
          try {
            while (performance.now() < end) {
              const { m, orders } = batch(100_000 + i++);
              await rawInsert(c, m.id, orders);
              rawOrders += orders.length;
            }
          } finally {
            c.release();
          }
        }),
      );
      const raw = rawOrders / ((performance.now() - started) / 1000);
      r.add(
        'ingest.raw.ops',
        'raw insert of the same rows (multi-row INSERT, 2 connections)',
        'orders/s',
        raw,
      );
      r.add('ingest.batch.pct_raw', 'ingestion API batches as % of raw insert', '%', (100 * api) / raw);
      log(`raw insert run ${run + 1}: ${fmt(raw)} orders/s; API ${fmt((100 * api) / raw)} % of it`);
    } finally {
      await cp.restore();
    }
  }
}

interface NoticeTarget {
  merchant_id: number;
  id: number;
  order_number: string;
  store_id: number;
  lines: { id: number; sku: string | null; name: string | null; q: number }[];
}

async function scenarioNotices(b: Bench): Promise<void> {
  const { r, pool, http, ds } = b;
  const want = Math.round(1000 * SECONDS * 0.7) + 100;
  const q = await pool.query(
    `select o.merchant_id, o.id, o.order_number, o.store_id,
       (select json_agg(json_build_object('id', l.id, 'sku', l.sku, 'name', l.name, 'q', l.quantity) order by l.position)
        from order_lines l where l.merchant_id = o.merchant_id and l.order_id = o.id and not l.adjustment) as lines
     from orders o where o.status in ('at_wms', 'new') and o.store_id is not null
     order by hashint8(o.id) limit $1`,
    [want],
  );
  const targets = (q.rows as NoticeTarget[]).filter((t) => t.lines && t.lines.length > 0);
  if (targets.length === 0) {
    r.missing('notices', 'no open orders to ship');
    return;
  }
  const storeById = new Map(ds.stores.map((s) => [s.id, s]));
  const merchants = [...new Set(targets.map((t) => Number(t.merchant_id)))];
  for (let run = 0; run < RUNS; run++) {
    const tag = `${Date.now().toString(36)}${run}`;
    const cp = await Checkpoint.take(
      pool,
      merchants,
      '(o.merchant_id, o.id) in (select * from unnest($1::bigint[], $2::bigint[]))',
      [targets.map((t) => t.merchant_id), targets.map((t) => t.id)],
    );
    try {
      const sent: Req[] = [];
      let nextTarget = 0;
      const noticesBefore = Number(
        (await pool.query('select coalesce(max(id), 0) as id from ship_notices')).rows[0].id,
      );
      b.rss.start();
      const noticeCpu = b.cpu.start();
      const res = await openLoop(http, {
        rate: 1000,
        seconds: SECONDS,
        maxInFlight: 64,
        make: (i) => {
          const kind = i % 10 < 4 ? 'whole' : i % 10 < 7 ? 'partial' : 'repeat';
          if (kind === 'repeat' && sent.length > 0) {
            const again = sent[(i * 7919) % sent.length]!;
            return { ...again, tag: 'repeat' };
          }
          const t = targets[nextTarget++ % targets.length]!;
          const store = storeById.get(Number(t.store_id))!;
          const tracking = `1ZB${tag}${i}`;
          const partial = kind === 'partial';
          const req: Req = {
            method: 'POST',
            path:
              `/shipstation?action=shipnotify&order_number=${encodeURIComponent(t.order_number)}` +
              `&carrier=UPS&service=&tracking_number=${tracking}`,
            headers: {
              authorization: basic(store.username, store.password),
              'content-type': 'application/xml',
            },
            body: noticeXml(t, tracking, partial),
            tag: partial ? 'partial' : 'whole',
          };
          sent.push(req);
          return req;
        },
        check: (_q, x) => ({ ok: x.status === 200, units: 1 }),
      });
      r.add(
        'notices.p50',
        'shipment notices at 1 000/s (40 % whole, 30 % partial, 30 % repeats): p50',
        'ms',
        pct(res.latencies, 50),
      );
      r.add('notices.p99', 'shipment notices at 1 000/s: p99', 'ms', pct(res.latencies, 99));
      r.add('notices.rps', 'shipment notices: achieved', 'notices/s', res.achievedRps);
      for (const kind of ['whole', 'partial', 'repeat']) {
        const v = res.byTag[kind] ?? [];
        r.add(`notices.${kind}.p99`, `  ${kind} notices: p99`, 'ms', pct(v, 99));
      }
      r.add('rss.notices', 'service peak RSS during notices', 'MB', b.rss.stop());
      // Notices stored by now (abandoned requests may still be in the service): CPU and count alike.
      const used = noticeCpu();
      const stored = Number(
        (await pool.query('select count(*) as n from ship_notices where id > $1', [noticesBefore])).rows[0].n,
      );
      addCpu(b, 'notices', used, stored, 'notice');
      log(describe(`notices run ${run + 1} (${targets.length} target orders)`, res));
    } finally {
      await cp.restore();
    }
  }
}

async function scenarioListing(b: Bench): Promise<void> {
  const { r, http, ds } = b;
  const m = ds.merchants[0]!;
  const cursors: (string | null)[] = [null];
  for (let k = 0; k < 60; k++) {
    const c = cursors[cursors.length - 1];
    const res = await http.request({
      method: 'GET',
      path: `/v1/merchants/${m.code}/orders?limit=100${c ? `&cursor=${encodeURIComponent(c)}` : ''}`,
      headers: apiAuth(m),
    });
    if (res.status !== 200)
      throw new Error(`listing answered ${res.status}: ${res.body.toString().slice(0, 200)}`);
    const next = (JSON.parse(res.body.toString()) as { next_cursor: string | null }).next_cursor;
    if (!next) break;
    cursors.push(next);
  }
  // One at a time (warm cache), for the growth ratio between sizes.
  const listReq = (i: number): Req => {
    const c = cursors[i % cursors.length];
    return {
      method: 'GET',
      path: `/v1/merchants/${m.code}/orders?limit=100${c ? `&cursor=${encodeURIComponent(c)}` : ''}`,
      headers: apiAuth(m),
    };
  };
  for (let run = 0; run < RUNS; run++) {
    const serial: number[] = [];
    for (let i = 0; i < 30; i++) {
      const t = performance.now();
      await http.request(listReq(i));
      serial.push(performance.now() - t);
    }
    r.add(
      'listing.serial.p50',
      'order listing, page of 100, one request at a time: p50',
      'ms',
      median(serial),
    );
  }
  for (let run = 0; run < RUNS; run++) {
    b.rss.start();
    const listingCpu = b.cpu.start();
    const res = await openLoop(http, {
      rate: 50,
      seconds: SECONDS,
      maxInFlight: 32,
      make: (i) => {
        const c = cursors[i % cursors.length];
        return {
          method: 'GET',
          path: `/v1/merchants/${m.code}/orders?limit=100${c ? `&cursor=${encodeURIComponent(c)}` : ''}`,
          headers: apiAuth(m),
        };
      },
    });
    r.add(
      'listing.p50',
      `order listing, page of 100 with cursor (largest merchant, ${m.orders} orders) at 50/s: p50`,
      'ms',
      pct(res.latencies, 50),
    );
    r.add('listing.p99', 'order listing, page of 100: p99', 'ms', pct(res.latencies, 99));
    r.add('rss.listing', 'service peak RSS during listing', 'MB', b.rss.stop());
    addCpu(b, 'listing', listingCpu(), res.completed, 'page');
    log(describe(`listing run ${run + 1} (${cursors.length} pages)`, res));
  }
}

async function scenarioReroute(b: Bench): Promise<void> {
  const { r, pool, http, ds } = b;
  const m = ds.merchants[0]!;
  const fallback = ds.stores.find((s) => s.merchantId === m.id && s.name === 'Fallback')!;
  const started = performance.now();
  for (let run = 0; run < RUNS; run++) {
    // At 1 M a run moves ~110 000 orders twice and restores them: keep the whole scenario near 2 min.
    if (run >= 2 && performance.now() - started > 90_000) {
      r.notes.push(`re-routing: ${run} runs only (each run took over 45 s)`);
      break;
    }
    const cp = await Checkpoint.take(pool, [m.id], 'o.merchant_id = $1', [m.id]);
    try {
      const patch = async (priority: number) => {
        const t = performance.now();
        const res = await http.request(
          {
            method: 'PATCH',
            path: `/v1/merchants/${m.code}/stores/${b.main.id}`,
            headers: apiAuth(m),
            body: JSON.stringify({ priority }),
          },
          300_000,
        );
        const s = (performance.now() - t) / 1000;
        if (res.status !== 200)
          throw new Error(`PATCH store answered ${res.status}: ${res.body.toString().slice(0, 300)}`);
        const body = JSON.parse(res.body.toString()) as { rerouted?: unknown };
        return { s, rerouted: body.rerouted };
      };
      const count = async () =>
        Number(
          (
            await pool.query('select count(*) from orders where merchant_id = $1 and store_id = $2', [
              m.id,
              fallback.id,
            ])
          ).rows[0].count,
        );
      const before = await count();
      b.rss.start();
      const away = await patch(40);
      const moved = (await count()) - before;
      const back = await patch(20);
      r.add(
        'reroute.away.s',
        'PATCH a store of the largest merchant (priority below its fallback): time to answer',
        's',
        away.s,
      );
      r.add('reroute.away.orders', '  orders re-routed by it', 'orders', moved);
      r.add('reroute.back.s', 'PATCH it back: time to answer', 's', back.s);
      r.add('reroute.ops', '  re-routing rate', 'orders/s', moved / away.s);
      r.add('rss.reroute', 'service peak RSS during re-routing', 'MB', b.rss.stop());
      log(
        `reroute run ${run + 1}: ${moved} orders moved in ${fmt(away.s)} s (answer: ${JSON.stringify(away.rerouted)}), back in ${fmt(back.s)} s`,
      );
    } finally {
      await cp.restore();
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// What users meet: single POSTs one at a time, a second merchant onboarding into the loaded
// database, and a mixed soak at fixed rates (issue #11).

/** Single-order POSTs one at a time (a merchant's integration posting as orders come in). */
async function scenarioSerial(b: Bench): Promise<void> {
  const { r, pool, http, ds } = b;
  const merchants = weightedMerchants(ds);
  const mids = [...new Set(merchants.map((m) => m.id))];
  for (let run = 0; run < RUNS; run++) {
    const tag = `${Date.now().toString(36)}${run}`;
    const cp = await Checkpoint.take(pool, mids, 'false');
    try {
      const res = await closedLoop(http, {
        concurrency: 1,
        seconds: SECONDS,
        make: (i) => postOneOrder(merchants, `u${tag}`, i),
        check: (_q, x) => ({ ok: x.status === 201, units: 1 }),
      });
      r.add('serial.p50', 'ingestion: single-order POST, one at a time: p50', 'ms', pct(res.latencies, 50));
      r.add('serial.p99', 'ingestion: single-order POST, one at a time: p99', 'ms', pct(res.latencies, 99));
      log(describe(`single POSTs one at a time run ${run + 1}`, res));
    } finally {
      await cp.restore();
    }
  }
}

/**
 * A new merchant onboarding into the loaded database: BENCH_ONBOARD_ORDERS (20 000) orders in
 * batches of 500, two in flight, as its first import. Reported: orders/s overall and over the first
 * and the last fifth of the batches (a statement bounded by the merchant's size slows down as the
 * merchant grows), and the same rows through the raw multi-row INSERT in the same run.
 */
async function scenarioOnboarding(b: Bench): Promise<void> {
  const { r, pool, http } = b;
  const total = Number(process.env['BENCH_ONBOARD_ORDERS'] ?? 20_000);
  const hasher = new SecretHasher(BENCH_SECRET_KEY);
  const tag = Date.now().toString(36);
  const code = `onboard-${tag}`;
  const apiUser = `bench_onboard_${tag}`;
  const apiKey = `key-${tag}-0123456789abcdef0123456789`;
  const created = await pool.query(
    `with m as (insert into merchants (code, name) values ($1, 'Onboarding merchant') returning id),
     c as (insert into credentials (api_user, key_hash, merchant_id, label, created_by)
       select $2, $3, id, 'bench', 'admin' from m),
     s as (insert into stores (merchant_id, name, username, password_hash)
       select id, 'Main', $4, $5 from m returning id)
     select (select id from m) as merchant_id, (select id from s) as store_id`,
    [code, apiUser, hasher.hash(apiKey), `ss_${tag}`, hasher.hash(`pw-${tag}`)],
  );
  const merchantId = Number(created.rows[0].merchant_id);
  const storeId = Number(created.rows[0].store_id);
  const auth = { authorization: basic(apiUser, apiKey), 'content-type': 'application/json' };
  const cp = await Checkpoint.take(pool, [merchantId], 'false');
  try {
    const batches = Math.ceil(total / 500);
    const times: { at: number; ms: number; n: number }[] = [];
    let next = 0;
    const started = performance.now();
    await Promise.all(
      [0, 1].map(async () => {
        while (next < batches) {
          const i = next++;
          const orders = Array.from({ length: 500 }, (_, k) => benchOrder(`o${tag}`, i * 500 + k));
          const t0 = performance.now();
          const res = await http.request({
            method: 'POST',
            path: `/v1/merchants/${code}/orders`,
            headers: auth,
            body: JSON.stringify({ orders }),
          });
          if (res.status !== 200)
            throw new Error(`onboarding batch ${i}: ${res.status} ${res.body.toString().slice(0, 200)}`);
          times.push({ at: i, ms: performance.now() - t0, n: orders.length });
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const api = (batches * 500) / seconds;
    // orders/s of a slice of batches, from their latencies (two in flight)
    const rate = (from: number, to: number) => {
      const slice = times.filter((t) => t.at >= from && t.at < to);
      return (2 * slice.reduce((a, t) => a + t.n, 0)) / (slice.reduce((a, t) => a + t.ms, 0) / 1000);
    };
    const fifth = Math.max(1, Math.floor(batches / 5));
    r.add(
      'onboard.ops',
      `onboarding: a new merchant's first ${batches * 500} orders, batches of 500`,
      'orders/s',
      api,
    );
    r.add('onboard.first', '  onboarding: first fifth of the batches', 'orders/s', rate(0, fifth));
    r.add(
      'onboard.last',
      '  onboarding: last fifth of the batches',
      'orders/s',
      rate(batches - fifth, batches),
    );
    log(
      `onboarding: ${fmt(api)} orders/s (first fifth ${fmt(rate(0, fifth))}, last ${fmt(rate(batches - fifth, batches))})`,
    );
    const rawStarted = performance.now();
    let i = 0;
    await Promise.all(
      [0, 1].map(async () => {
        const c = await pool.connect();
        try {
          while (i < batches) {
            const k = i++;
            await rawInsert(
              c,
              merchantId,
              Array.from({ length: 500 }, (_, j) => benchOrder(`r${tag}`, k * 500 + j)),
            );
          }
        } finally {
          c.release();
        }
      }),
    );
    const raw = (batches * 500) / ((performance.now() - rawStarted) / 1000);
    r.add('onboard.raw', '  raw insert of the same rows for the same merchant, same run', 'orders/s', raw);
    r.add('onboard.pct_raw', '  onboarding as % of raw insert', '%', (100 * api) / raw);
  } finally {
    await cp.restore();
    await pool.query('delete from stores where id = $1', [storeId]);
    await pool.query('delete from credentials where merchant_id = $1', [merchantId]);
    await pool.query('delete from merchants where id = $1', [merchantId]);
  }
}

/**
 * A mixed soak for BENCH_SOAK_SECONDS (180): single POSTs at 20/s, shipment notices at 5/s and
 * ShipStation walking the export window (page 1, then its later pages, again and again) at 10
 * pages/s, all at once. Reported: the export page time per minute (p50 and p99), so a plan that
 * degrades as the data moves under it shows as a rising line.
 */
async function scenarioSoak(b: Bench, w: ExportWindow): Promise<void> {
  const { r, pool, http, ds } = b;
  const seconds = Number(process.env['BENCH_SOAK_SECONDS'] ?? 180);
  const merchants = weightedMerchants(ds);
  const mids = [...new Set([...merchants.map((m) => m.id), w.store.merchantId])];
  const q = await pool.query(
    `select o.merchant_id, o.id, o.order_number, o.store_id,
       (select json_agg(json_build_object('id', l.id, 'sku', l.sku, 'name', l.name, 'q', l.quantity) order by l.position)
        from order_lines l where l.merchant_id = o.merchant_id and l.order_id = o.id and not l.adjustment) as lines
     from orders o where o.status in ('at_wms', 'new') and o.store_id is not null
       and o.merchant_id <> $2
     order by hashint8(o.id) limit $1`,
    [Math.ceil(seconds * 5) + 10, w.store.merchantId],
  );
  const targets = (q.rows as NoticeTarget[]).filter((t) => t.lines && t.lines.length > 0);
  const storeById = new Map(ds.stores.map((s) => [s.id, s]));
  const tag = Date.now().toString(36);
  const cp = await Checkpoint.take(
    pool,
    [...new Set([...mids, ...targets.map((t) => Number(t.merchant_id))])],
    '(o.store_id = $1 and o.last_modified >= $2) or (o.merchant_id, o.id) in (select * from unnest($3::bigint[], $4::bigint[]))',
    [w.store.id, w.from, targets.map((t) => t.merchant_id), targets.map((t) => t.id)],
  );
  try {
    // ShipStation walks one page at a time: page 1, then 2…N, again and again, at most 10 pages/s.
    const pageTimes: { at: number; ms: number }[] = [];
    const t0 = performance.now();
    const walker = new HttpClient(b.server.url, 2);
    const walk = (async () => {
      let p = 1;
      let n = 1;
      while (performance.now() - t0 < seconds * 1000) {
        const s0 = performance.now();
        const res = await walker.request(exportReq(w, p));
        if (res.status !== 200) throw new Error(`soak export page ${p}: ${res.status}`);
        pageTimes.push({ at: (s0 - t0) / 1000, ms: performance.now() - s0 });
        if (p === 1) n = Math.max(1, pagesOf(res.body));
        p = p >= n ? 1 : p + 1;
        await sleep(Math.max(0, 100 - (performance.now() - s0)));
      }
    })();
    const posts = openLoop(http, {
      rate: 20,
      seconds,
      maxInFlight: 32,
      make: (i) => postOneOrder(merchants, `k${tag}`, i),
      check: (_q, x) => ({ ok: x.status === 201, units: 1 }),
    });
    const notices = openLoop(http, {
      rate: 5,
      seconds,
      maxInFlight: 16,
      make: (i) => {
        const t = targets[i % targets.length]!;
        const store = storeById.get(Number(t.store_id))!;
        const tracking = `1ZS${tag}${i}`;
        return {
          method: 'POST',
          path:
            `/shipstation?action=shipnotify&order_number=${encodeURIComponent(t.order_number)}` +
            `&carrier=UPS&service=&tracking_number=${tracking}`,
          headers: {
            authorization: basic(store.username, store.password),
            'content-type': 'application/xml',
          },
          body: noticeXml(t, tracking, false),
        };
      },
      check: (_q, x) => ({ ok: x.status === 200, units: 1 }),
    });
    const [p, n] = await Promise.all([posts, notices, walk]);
    walker.close();
    const all = pageTimes.map((x) => x.ms).sort((a, c) => a - c);
    log(`soak export walk: ${all.length} pages, p50 ${fmt(pct(all, 50))} ms, p99 ${fmt(pct(all, 99))} ms`);
    log(describe('soak posts', p));
    log(describe('soak notices', n));
    r.add('soak.post.p50', `soak (${seconds} s): single POST at 20/s: p50`, 'ms', pct(p.latencies, 50));
    r.add('soak.notice.p50', 'soak: notices at 5/s: p50', 'ms', pct(n.latencies, 50));
    r.add('soak.export.p50', 'soak: export page (walking the window, ≤ 10 pages/s): p50', 'ms', pct(all, 50));
    r.add('soak.export.p99', 'soak: export page: p99', 'ms', pct(all, 99));
    const minutes = Math.ceil(seconds / 60);
    for (let m = 0; m < minutes; m++) {
      const v = pageTimes
        .filter((x) => x.at >= m * 60 && x.at < (m + 1) * 60)
        .map((x) => x.ms)
        .sort((a, c) => a - c);
      if (v.length === 0) continue;
      r.add(`soak.minute${m + 1}.p50`, `  soak: export page time, minute ${m + 1}: p50`, 'ms', pct(v, 50));
      r.add(`soak.minute${m + 1}.p99`, `  soak: export page time, minute ${m + 1}: p99`, 'ms', pct(v, 99));
    }
  } finally {
    await cp.restore();
  }
}

// ---------------------------------------------------------------------------------------------------

async function guarded(b: Bench, name: string, present: boolean, fn: () => Promise<void>): Promise<void> {
  if (!enabled(name)) return;
  if (!present) {
    b.r.missing(name, 'not measured: endpoint missing');
    log(`${name}: not measured: endpoint missing`);
    return;
  }
  const t = performance.now();
  try {
    await fn();
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    b.r.missing(name, `failed: ${msg.slice(0, 200)}`);
    log(`${name} failed: ${e instanceof Error ? e.stack : msg}`);
  }
  log(`${name}: ${fmt((performance.now() - t) / 1000)} s`);
}

async function benchSize(ds: Dataset): Promise<SizeResults> {
  const r = new SizeResults(ds.size);
  r.seed = await seedDetails(ds.url);
  const outbox = await applyOutboxMode(ds.url, OUTBOX, BENCH_SECRET_KEY);
  const serverStarted = Date.now();
  const server = await startServer(ds, outbox.env);
  const http = new HttpClient(server.url, 128);
  const pool = new pg.Pool({ connectionString: ds.url, max: 4 });
  const rss = new RssSampler(server.pid);
  const cpu = new CpuMeter(server.pid);
  const main = ds.stores.find((s) => s.merchantId === 1 && s.name === 'Main')!;
  const b: Bench = { ds, pool, http, server, rss, cpu, r, main };
  const load0 = os.loadavg()[0]!;
  try {
    const m = ds.merchants[0]!;
    const has = {
      export: await routeExists(http, { method: 'GET', path: '/shipstation?action=export' }),
      notify: await routeExists(http, { method: 'POST', path: '/shipstation?action=shipnotify', body: '' }),
      orders: await routeExists(http, {
        method: 'POST',
        path: `/v1/merchants/${m.code}/orders`,
        headers: apiAuth(m),
        body: '{}',
      }),
      list: await routeExists(http, {
        method: 'GET',
        path: `/v1/merchants/${m.code}/orders?limit=1`,
        headers: apiAuth(m),
      }),
      patch: await routeExists(http, {
        method: 'PATCH',
        path: `/v1/merchants/${m.code}/stores/${main.id}`,
        headers: apiAuth(m),
        body: '{}',
      }),
    };
    log(`endpoints present: ${JSON.stringify(has)}`);
    const w = await windowOf(pool, main, 10_000);
    r.notes.push(
      `export window: store ${main.id} (largest merchant's Main), ${w.start} – ${w.end} UTC, ${w.count} orders`,
    );
    log(`export window: ${w.start} – ${w.end}, ${w.count} orders`);
    // Warm the cache: one walk of the window and one listing page before measuring.
    await guarded(b, 'export', has.export, () => scenarioExport(b, w));
    await guarded(b, 'limit', has.export, () => scenarioExportLimit(b, w));
    await guarded(b, 'concurrent', has.export, () => scenarioConcurrentStores(b));
    await guarded(b, 'memory', has.export, () => scenarioExportMemory(b));
    await guarded(b, 'ingest', has.orders, () => scenarioIngest(b));
    await guarded(b, 'notices', has.notify, () => scenarioNotices(b));
    await guarded(b, 'listing', has.list, () => scenarioListing(b));
    await guarded(b, 'reroute', has.patch, () => scenarioReroute(b));
    await guarded(b, 'profile', has.orders && has.list && has.notify, () => scenarioProfile(b));
    await guarded(b, 'serial', has.orders, () => scenarioSerial(b));
    await guarded(b, 'onboarding', has.orders, () => scenarioOnboarding(b));
    await guarded(b, 'soak', has.export && has.orders && has.notify, () => scenarioSoak(b, w));
    const { hwmMb } = RssSampler.read(server.pid);
    r.add('rss.hwm', 'service peak RSS over the whole run (VmHWM)', 'MB', hwmMb);
    r.notes.push(
      `machine load average (1 min) ${fmt(load0)} at the start and ${fmt(os.loadavg()[0]!)} at the end of this ` +
        `size's measurements (2 cores; anything above ~1 means other work competed for the CPU)`,
    );
  } finally {
    http.close();
    await pool.end();
    await server.stop();
    const described = await outbox.describe();
    if (described) r.notes.push(described);
    await outbox.teardown();
  }
  const profile = process.env['BENCH_CPU_PROF'] ? summariseProfile(serverStarted) : undefined;
  if (profile)
    r.details.push({ title: "the service's CPU profile over the whole run (self time)", text: profile });
  return r;
}

async function machineInfo(): Promise<Record<string, string>> {
  const c = new pg.Client({ connectionString: BASE_URL });
  await c.connect();
  try {
    const v = (await c.query('show server_version')).rows[0].server_version as string;
    const sb = (await c.query('show shared_buffers')).rows[0].shared_buffers as string;
    const jit = (await c.query('show jit')).rows[0].jit as string;
    return {
      cores: `${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}`,
      memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
      node: process.version,
      postgresql: `${v} (shared_buffers ${sb}, jit ${jit}), same machine`,
      os: `${os.type()} ${os.release()}`,
    };
  } finally {
    await c.end();
  }
}

function targets(results: SizeResults[]): TargetRow[] {
  const big = results[results.length - 1];
  const small = results[0];
  const rows: TargetRow[] = [];
  const at = big ? ` @${sizeLabel(big.size)}` : '';
  rows.push(
    judge(
      big,
      `export later page of 100: p50 ≤ 10 ms at 50 pages/s${at}`,
      'export.later.100.p50',
      '<=',
      10,
      'ms',
    ),
  );
  rows.push(
    judge(
      big,
      `export later page of 100: p99 ≤ 30 ms at 50 pages/s${at}`,
      'export.later.100.p99',
      '<=',
      30,
      'ms',
    ),
  );
  const windowOk = big?.notes.some(
    (n) => /, (\d+) orders$/.test(n) && Number(/, (\d+) orders$/.exec(n)![1]) >= 10_000,
  );
  const why = windowOk ? undefined : 'no 10 000-order window at this size';
  rows.push(
    windowOk
      ? judge(
          big,
          `export page 1 of a 10 000-order window: p50 ≤ 150 ms${at}`,
          'export.page1.100.p50',
          '<=',
          150,
          'ms',
        )
      : {
          target: 'export page 1 of a 10 000-order window: p50 ≤ 150 ms',
          figure: '—',
          verdict: 'not measured',
          note: why,
        },
  );
  rows.push(
    windowOk
      ? judge(
          big,
          `export full walk of 10 000 at page size 500 ≤ 2 s${at}`,
          'export.walk.500.s',
          '<=',
          2,
          's',
        )
      : {
          target: 'export full walk of 10 000 at page size 500 ≤ 2 s',
          figure: '—',
          verdict: 'not measured',
          note: why,
        },
  );
  rows.push(
    judge(
      big,
      `export throughput, concurrent stores ≥ 10 000 orders/s (page size 100)${at}`,
      'export.concurrent.100.ops',
      '>=',
      10_000,
      'orders/s',
    ),
  );
  rows.push(
    judge(
      big,
      `export page ÷ (SQL + render) ≤ 1.5 (page of 100)${at}`,
      'limit.export.100.ratio',
      '<=',
      1.5,
      '×',
    ),
  );
  for (const [key, label] of [
    ['limit.export.100.endpoint', 'export later page of 100, one at a time (warm)'],
    ['listing.serial.p50', 'listing page of 100, one at a time (warm)'],
  ] as const) {
    const a = small?.median(key);
    const z = big?.median(key);
    if (results.length < 2 || a === undefined || z === undefined) {
      rows.push({
        target: `${label}: ${sizeLabel(big?.size ?? 0)} ÷ ${sizeLabel(small?.size ?? 0)} ≤ 1.2`,
        figure: '—',
        verdict: 'not measured',
        note: results.length < 2 ? 'one size only' : 'missing figure',
      });
    } else {
      const ratio = z / a;
      rows.push({
        target: `${label}: ${sizeLabel(big!.size)} ÷ ${sizeLabel(small!.size)} ≤ 1.2`,
        figure: `${fmt(ratio)} (${fmt(z)} ms ÷ ${fmt(a)} ms)`,
        verdict: ratio <= 1.2 ? 'met' : 'missed',
      });
    }
  }
  rows.push(
    judge(big, `ingestion, batches of 500 ≥ 5 000 orders/s${at}`, 'ingest.batch.ops', '>=', 5000, 'orders/s'),
  );
  rows.push(
    judge(big, `ingestion, batches ≥ 50 % of raw insert${at}`, 'ingest.batch.pct_raw', '>=', 50, '%'),
  );
  rows.push(judge(big, `single-order POST at 200/s: p50 ≤ 5 ms${at}`, 'ingest.single.p50', '<=', 5, 'ms'));
  rows.push(judge(big, `single-order POST at 200/s: p99 ≤ 25 ms${at}`, 'ingest.single.p99', '<=', 25, 'ms'));
  rows.push(judge(big, `shipment notices ≥ 1 000/s${at}`, 'notices.rps', '>=', 990, 'notices/s'));
  rows.push(judge(big, `shipment notices p99 ≤ 25 ms${at}`, 'notices.p99', '<=', 25, 'ms'));
  rows.push(judge(big, `order listing, page of 100: p50 ≤ 10 ms${at}`, 'listing.p50', '<=', 10, 'ms'));
  const reroutedBig = (big?.median('reroute.away.orders') ?? 0) >= 100_000;
  rows.push(
    judge(
      big,
      `re-routing ${reroutedBig ? '100 000' : `${fmt(big?.median('reroute.away.orders') ?? 0)}`} orders ≤ 10 s${at}`,
      'reroute.away.s',
      '<=',
      10,
      's',
    ),
  );
  const peak = Math.max(...results.map((x) => x.median('rss.hwm') ?? 0));
  rows.push({
    target: 'service peak RSS ≤ 250 MB through the whole run',
    figure: peak > 0 ? `${fmt(peak)} MB` : '—',
    verdict: peak > 0 ? (peak <= 250 ? 'met' : 'missed') : 'not measured',
  });
  const d1 = big?.median('memory.window1k.delta');
  const d10 = big?.median('memory.window10k.delta');
  const d100 = big?.median('memory.window100k.delta');
  const largest = d100 ?? d10;
  if (d1 === undefined || largest === undefined) {
    rows.push({ target: 'export memory independent of window size', figure: '—', verdict: 'not measured' });
  } else {
    rows.push({
      target: 'export memory independent of window size (RSS growth, 1k vs largest window)',
      figure: `${fmt(d1)} MB vs ${fmt(largest)} MB`,
      verdict: largest - d1 <= 20 ? 'met' : 'missed',
    });
  }
  return rows;
}

async function main(): Promise<void> {
  const started = performance.now();
  const machine = await machineInfo();
  log(
    `machine: ${JSON.stringify(machine)}; sizes ${SIZES.join(', ')}, ${SECONDS} s per scenario, ${RUNS} runs`,
  );
  const results: SizeResults[] = [];
  const seedSeconds: Record<number, number> = {};
  for (const size of SIZES) {
    const ds = await ensureSeeded(BASE_URL, size, log, COLD);
    seedSeconds[size] = ds.seconds;
    results.push(await benchSize(ds));
    // Written after every size, so a long run leaves its results behind as it goes.
    const rows = targets(results);
    const done = results.length === SIZES.length;
    writeReport(OUT, render(machine, results, rows, started, seedSeconds, done));
    if (done) {
      const minutes = (performance.now() - started) / 60_000;
      process.stdout.write(
        `\n${markdownTable(rows)}\n\nFull report: bench/results.md (${fmt(minutes)} min)\n`,
      );
    }
  }
}

function render(
  machine: Record<string, string>,
  results: SizeResults[],
  rows: TargetRow[],
  started: number,
  seedSeconds: Record<number, number>,
  done: boolean,
): string {
  const minutes = (performance.now() - started) / 60_000;
  const seeded = Object.entries(seedSeconds)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${sizeLabel(Number(k))} seeded in ${fmt(v)} s`);
  return [
    '# shipbridge benchmark results',
    '',
    `Written by \`npm run bench\` on ${new Date().toISOString()} after ${fmt(minutes)} min ` +
      `(BENCH_SIZES=${SIZES.join(',')}, BENCH_SECONDS=${SECONDS}, BENCH_RUNS=${RUNS}` +
      `${COLD ? ', BENCH_COLD=1: cold statistics, never analysed' : ''}` +
      `${OUTBOX === 'default' ? '' : `, BENCH_OUTBOX=${OUTBOX}`})` +
      `${seeded.length ? `, of which ${seeded.join(', ')}` : ', on reused data sets'}` +
      `${done ? '' : ' — PARTIAL: later sizes still running'}. How it works: bench/README.md.`,
    '',
    '## Machine',
    '',
    ...Object.entries(machine).map(([k, v]) => `- ${k}: ${v}`),
    '- the service, PostgreSQL and the load generator share these cores',
    '',
    '## Data sets',
    '',
    ...results.map((r) => `- ${sizeLabel(r.size)} orders: ${JSON.stringify(r.seed)}`),
    '',
    '## Targets',
    '',
    markdownTable(rows),
    '',
    '## Every figure (median over the runs [min–max])',
    '',
    metricsTable(results),
    '',
    '## Where the time goes',
    '',
    ...results.flatMap((r) =>
      r.details.flatMap((d) => [`### ${sizeLabel(r.size)}: ${d.title}`, '', '```', d.text, '```', '']),
    ),
    '## Notes and scenarios not measured',
    '',
    ...results.flatMap((r) => [
      ...r.notes.map((n) => `- ${sizeLabel(r.size)}: ${n}`),
      ...[...r.notMeasured].map(([k, v]) => `- ${sizeLabel(r.size)}: ${k}: ${v}`),
    ]),
    '',
  ].join('\n');
}

main().catch((e) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});

/** One single-order POST for the open-loop scenarios: orders spread over the merchants in turn. */
function postOneOrder(merchants: readonly Parameters<typeof apiAuth>[0][], prefix: string, i: number) {
  const m = merchants[i % merchants.length]!;
  return {
    method: 'POST' as const,
    path: `/v1/merchants/${m.code}/orders`,
    headers: apiAuth(m),
    body: JSON.stringify(benchOrder(prefix, i)),
  };
}
