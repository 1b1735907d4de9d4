/**
 * `DATABASE_URL=postgres://postgres@127.0.0.1:5432/shipbridge_bench_1m npx tsx bench/hot-explain.ts`
 *
 * Where the database time of the hot requests goes, statement by statement, on a seeded benchmark
 * database (bench/seed.ts), without changing it: the service runs in this process on ONE connection
 * inside ONE transaction that is rolled back at the end (the service's own transactions become
 * savepoints). Every statement the service sends is first run under `EXPLAIN (ANALYZE, BUFFERS)`
 * twice, each time rolled back to a savepoint (the first as the request meets the data, the second
 * with what the first brought into the cache), then for real, so the next statements see its rows.
 *
 * Requests: single-order POSTs for HOT_MERCHANTS (default the ranks 1, 3 and 12 of the seed), then
 * shipment notices to open orders of HOT_NOTICES distinct stores (default 3): whole order (no
 * Items), partial (one unit of the first line), and the partial again (a repeat), as the `notices`
 * scenario of run.ts sends them. Prints per statement planning and execution time, shared buffers
 * hit / read / dirtied (planning included) and the triggers' time; HOT_EXPLAIN_OUT (default
 * $TMPDIR/hot-explain-<database>.txt) gets every plan in full.
 *
 * With HOT_LOAD=N nothing is explained: N single-order POSTs (the 50 largest merchants weighted by
 * size, as run.ts's ingest scenario) and then N notices to random open orders (40 % whole, 30 %
 * partial, 30 % repeats) run one after the other, each batch in a transaction of its own, rolled
 * back, after a warm-up of the same kind, as named prepared statements like the service's pool;
 * printed per request: the CPU of the database backend
 * serving them (/proc), blocks hit and read (pg_stat_database of this database, so other sessions
 * on it count too), WAL records, full-page images and bytes (pg_stat_wal: the whole server) and
 * buffers written by backends (pg_stat_bgwriter). Repeat with HOT_ROUNDS (default 3) for medians.
 * HOT_SETUP runs its statements first in every such transaction (e.g. DDL to try, rolled back with
 * it: it holds its locks on the benchmark database meanwhile).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { statementName } from '../src/db/prepared.js';
import type { DB } from '../src/db/schema.js';
import { createLogger } from '../src/lib/logger.js';
import { SecretHasher } from '../src/lib/secrets.js';
import { basic } from './load.js';
import { median } from './scratch.js';
import { BENCH_SECRET_KEY, merchantDefs, storeDefs } from './seed.js';
import { noticeXml } from './shipnotice.js';

const url = process.env.DATABASE_URL ?? '';
if (!/\/shipbridge_bench_/.test(url)) {
  console.error('set DATABASE_URL to a seeded benchmark database, e.g. …/shipbridge_bench_1m');
  process.exit(2);
}
const RANKS = (process.env.HOT_MERCHANTS ?? '1,3,12').split(',').map(Number);
const NOTICE_STORES = Number(process.env.HOT_NOTICES ?? 3);
const LOAD = Number(process.env.HOT_LOAD ?? 0);
const ROUNDS = Number(process.env.HOT_ROUNDS ?? 3);

interface PlanJson {
  Plan: Record<string, unknown>;
  Planning?: Record<string, number>;
  'Planning Time': number;
  'Execution Time': number;
  Triggers?: { 'Trigger Name': string; Relation?: string; Time: number; Calls: number }[];
}

interface Explained {
  request: string;
  sql: string;
  params: readonly unknown[];
  cold: PlanJson | undefined;
  warmText: string;
  ms: number;
  error?: string;
}

const oneLine = (s: string, n = 110) => s.replace(/\s+/g, ' ').trim().slice(0, n);
const DATA = /^\s*(with|select|insert|update|delete)\b/i;

async function main() {
  const client = new pg.Client({
    connectionString: url,
    options: '-c jit=off -c plan_cache_mode=force_custom_plan',
  });
  await client.connect();
  const dbName = (await client.query('select current_database() as d')).rows[0].d as string;
  const size = Number(
    (await client.query('select size from bench.seed_info order by seeded_at desc limit 1')).rows[0].size,
  );
  await client.query('begin');
  const explained: Explained[] = [];
  let request: string | undefined;

  // The service's transactions become savepoints of ours; every data statement is explained first.
  const query = async (text: string, values?: unknown[]) => {
    const t = text.trim().toLowerCase();
    if (t === 'begin' || t.startsWith('start transaction')) return client.query('savepoint app_tx');
    if (t === 'commit') return client.query('release savepoint app_tx');
    if (t === 'rollback') return client.query('rollback to savepoint app_tx');
    if (LOAD > 0) {
      // As the service's pool runs them (src/db/prepared.ts): named, parsed once per connection.
      const name = values === undefined ? undefined : statementName(text);
      return name === undefined ? client.query(text, values) : client.query({ name, text, values });
    }
    if (request === undefined || !DATA.test(text)) return client.query(text, values);
    const e: Explained = { request, sql: text, params: values ?? [], cold: undefined, warmText: '', ms: 0 };
    try {
      await client.query('savepoint explain');
      const cold = await client.query(`explain (analyze, buffers, format json) ${text}`, values);
      e.cold = (cold.rows[0]['QUERY PLAN'] as PlanJson[])[0];
      await client.query('rollback to savepoint explain');
      const warm = await client.query(`explain (analyze, buffers) ${text}`, values);
      e.warmText = warm.rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
      await client.query('rollback to savepoint explain');
    } catch (err) {
      e.error = String(err);
      await client.query('rollback to savepoint explain');
    }
    explained.push(e);
    const t0 = performance.now();
    const r = await client.query(text, values);
    e.ms = performance.now() - t0;
    return r;
  };
  const pool = {
    connect: async () => ({ query, release: () => {} }),
    end: async () => {},
  };
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: pool as unknown as pg.Pool }) });
  const config = loadConfig({
    DATABASE_URL: url,
    SECRET_KEY: BENCH_SECRET_KEY,
    LOG_LEVEL: 'silent',
    AUTH_FAILURE_LIMIT: '100000',
  });
  const app = await buildApp({
    config,
    database: { db, engine: 'postgres', dataDir: undefined, close: async () => {} },
    hasher: new SecretHasher(BENCH_SECRET_KEY),
    logger: createLogger('silent'),
  });
  await app.ready();
  const merchants = merchantDefs(size);
  const stores = storeDefs(merchants);
  const tag = Date.now().toString(36);
  if (LOAD > 0) {
    try {
      await load(client, app, merchants, stores, tag, size);
    } finally {
      await app.close();
      await client.query('rollback');
      await client.end();
    }
    return;
  }

  try {
    for (const rank of RANKS) {
      const m = merchants[rank - 1]!;
      for (const k of [0, 1]) {
        request = `POST order, merchant rank ${rank} (${m.orders} orders)${k === 0 ? '' : ', second'}`;
        const r = await app.inject({
          method: 'POST',
          url: `/v1/merchants/${m.code}/orders`,
          headers: { authorization: basic(m.apiUser, m.apiKey), 'content-type': 'application/json' },
          payload: JSON.stringify(orderBody(`HX-${tag}-${rank}-${k}`, k)),
        });
        request = undefined;
        if (r.statusCode !== 201) throw new Error(`POST answered ${r.statusCode}: ${r.body.slice(0, 300)}`);
      }
    }

    const targets = (
      await client.query(
        `select distinct on (o.store_id) o.merchant_id, o.id, o.order_number, o.store_id,
           (select json_agg(json_build_object('id', l.id, 'sku', l.sku, 'name', l.name) order by l.position)
            from order_lines l where l.merchant_id = o.merchant_id and l.order_id = o.id and not l.adjustment) as lines
         from (select * from orders where status = 'at_wms' and store_id is not null
               order by hashint8(id) limit 2000) o
         order by o.store_id, o.id limit $1`,
        [NOTICE_STORES * 2],
      )
    ).rows as { merchant_id: number; id: number; order_number: string; store_id: number; lines: Line[] }[];
    let n = 0;
    for (const t of targets.slice(0, NOTICE_STORES * 2)) {
      const st = stores.find((s) => s.id === Number(t.store_id))!;
      const notice = async (kind: string, tracking: string, partial: boolean) => {
        request = `notice ${kind}, order ${t.id} (store ${st.id}, merchant ${t.merchant_id})`;
        const r = await app.inject({
          method: 'POST',
          url:
            `/shipstation?action=shipnotify&order_number=${encodeURIComponent(t.order_number)}` +
            `&carrier=UPS&service=&tracking_number=${tracking}`,
          headers: { authorization: basic(st.username, st.password), 'content-type': 'application/xml' },
          payload: noticeXml(t, tracking, partial),
        });
        request = undefined;
        if (r.statusCode !== 200) throw new Error(`notice answered ${r.statusCode}: ${r.body.slice(0, 300)}`);
      };
      // Even targets: a whole-order notice; odd ones: a partial notice and its repeat.
      if (n++ % 2 === 0) await notice('whole', `1ZHX${tag}${n}`, false);
      else {
        await notice('partial', `1ZHX${tag}${n}`, true);
        await notice('repeat', `1ZHX${tag}${n}`, true);
      }
    }
  } finally {
    await app.close();
    await client.query('rollback');
    await client.end();
  }

  // ---- report
  const out: string[] = [];
  let last = '';
  for (const e of explained) {
    if (e.request !== last) {
      console.log(`\n== ${e.request}`);
      console.log(
        '   plan ms  exec ms  real ms   hit  read dirt | plan hit read | triggers                          | statement',
      );
      last = e.request;
    }
    const p = e.cold;
    const b = (k: string) => String((p?.Plan[k] as number | undefined) ?? 0);
    const pb = (k: string) => String(p?.Planning?.[k] ?? 0);
    const trig = (p?.Triggers ?? [])
      .map(
        (x) =>
          `${x['Trigger Name'].replace(/^RI_ConstraintTrigger_/, 'RI_')} ${x.Time.toFixed(2)}/${x.Calls}`,
      )
      .join(', ');
    console.log(
      `${(p?.['Planning Time'] ?? Number.NaN).toFixed(3).padStart(10)} ${(p?.['Execution Time'] ?? Number.NaN)
        .toFixed(3)
        .padStart(
          8,
        )} ${e.ms.toFixed(3).padStart(8)} ${b('Shared Hit Blocks').padStart(5)} ${b('Shared Read Blocks').padStart(5)} ${b(
        'Shared Dirtied Blocks',
      ).padStart(
        4,
      )} | ${pb('Shared Hit Blocks').padStart(8)} ${pb('Shared Read Blocks').padStart(4)} | ${trig.padEnd(33).slice(0, 60)} | ${oneLine(e.sql, 80)}${e.error ? `  ERROR ${e.error}` : ''}`,
    );
    out.push(
      `==== ${e.request}\n${oneLine(e.sql, 100000)}\n-- params: ${oneLine(JSON.stringify(e.params), 2000)}\n` +
        `-- first run: planning ${p?.['Planning Time']} ms, execution ${p?.['Execution Time']} ms, ` +
        `buffers hit ${b('Shared Hit Blocks')} read ${b('Shared Read Blocks')} dirtied ${b('Shared Dirtied Blocks')}; ` +
        `planning hit ${pb('Shared Hit Blocks')} read ${pb('Shared Read Blocks')}; triggers ${trig || 'none'}\n` +
        `-- second run:\n${e.warmText}${e.error ? `\n-- ERROR ${e.error}` : ''}\n`,
    );
  }
  const file = process.env.HOT_EXPLAIN_OUT ?? path.join(tmpdir(), `hot-explain-${dbName}.txt`);
  writeFileSync(file, out.join('\n'));
  console.log(`\nevery plan in full: ${file}`);
}

type App = Awaited<ReturnType<typeof buildApp>>;
type Merchants = ReturnType<typeof merchantDefs>;
type Stores = ReturnType<typeof storeDefs>;

function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

/** HOT_LOAD: requests one after the other, per request CPU of the backend, blocks and WAL. */
async function load(
  client: pg.Client,
  app: App,
  merchants: Merchants,
  stores: Stores,
  tag: string,
  size: number,
) {
  await client.query('rollback');
  const pid = Number((await client.query('select pg_backend_pid() as p')).rows[0].p);
  const monitor = new pg.Client({ connectionString: url });
  await monitor.connect();
  const stats = async () => {
    const r = await monitor.query(`select d.blks_hit::float8 as hit, d.blks_read::float8 as read,
        w.wal_records::float8 as records, w.wal_fpi::float8 as fpi, w.wal_bytes::float8 as bytes,
        b.buffers_backend::float8 as backend_writes
      from pg_stat_database d, pg_stat_wal w, pg_stat_bgwriter b where d.datname = current_database()`);
    const s: Record<string, number> = { ...(r.rows[0] as Record<string, number>) };
    s.cpu = cpuMs(pid);
    s.at = performance.now();
    return s;
  };
  const top = merchants.slice(0, 50);
  const min = top[top.length - 1]!.orders;
  const weighted: Merchants = [];
  for (const m of top) for (let k = 0; k < Math.max(1, Math.round(m.orders / min)); k++) weighted.push(m);
  const mix = weighted.map((m, i) => ({ m, k: (i * 7919) % weighted.length })).sort((a, b) => a.k - b.k);
  const want = Math.ceil(LOAD * 0.7) * (ROUNDS + 1) + 10;
  const targets = (
    await client.query(
      `select o.merchant_id, o.id, o.order_number, o.store_id,
         (select json_agg(json_build_object('id', l.id, 'sku', l.sku, 'name', l.name) order by l.position)
          from order_lines l where l.merchant_id = o.merchant_id and l.order_id = o.id and not l.adjustment) as lines
       from orders o tablesample system (${size >= 1_000_000 ? 2 : 100}) repeatable (${Date.now() % 100000})
       where o.status = 'at_wms' and o.store_id is not null
       order by hashint8(o.id) limit $1`,
      [want],
    )
  ).rows as { merchant_id: number; id: number; order_number: string; store_id: number; lines: Line[] }[];
  const usable = targets.filter((t) => t.lines && t.lines.length > 0);
  if (usable.length < want - 10) console.log(`only ${usable.length} open orders sampled (wanted ${want})`);
  let nextTarget = 0;
  let seq = 0;

  const post = async () => {
    const i = seq++;
    const m = mix[i % mix.length]!.m;
    const r = await app.inject({
      method: 'POST',
      url: `/v1/merchants/${m.code}/orders`,
      headers: { authorization: basic(m.apiUser, m.apiKey), 'content-type': 'application/json' },
      payload: JSON.stringify(orderBody(`HL-${tag}-${i}`, i)),
    });
    if (r.statusCode !== 201) throw new Error(`POST answered ${r.statusCode}: ${r.body.slice(0, 300)}`);
  };
  const sent: { url: string; headers: Record<string, string>; payload: string }[] = [];
  const notice = async () => {
    const i = seq++;
    const kind = i % 10 < 4 ? 'whole' : i % 10 < 7 ? 'partial' : 'repeat';
    let req = kind === 'repeat' && sent.length > 0 ? sent[(i * 7919) % sent.length]! : undefined;
    if (req === undefined) {
      const t = usable[nextTarget++ % usable.length]!;
      const st = stores.find((s) => s.id === Number(t.store_id))!;
      const tracking = `1ZHL${tag}${i}`;
      req = {
        url:
          `/shipstation?action=shipnotify&order_number=${encodeURIComponent(t.order_number)}` +
          `&carrier=UPS&service=&tracking_number=${tracking}`,
        headers: { authorization: basic(st.username, st.password), 'content-type': 'application/xml' },
        payload: noticeXml(t, tracking, kind === 'partial'),
      };
      sent.push(req);
    }
    const r = await app.inject({ method: 'POST', ...req });
    if (r.statusCode !== 200) throw new Error(`notice answered ${r.statusCode}: ${r.body.slice(0, 300)}`);
  };

  const io = async () => {
    const r =
      await monitor.query(`select relname || coalesce('.' || indexrelname, '') as rel, blks_read::float8 as read
      from (select relname, null as indexrelname, heap_blks_read as blks_read from pg_statio_user_tables
            union all select relname, indexrelname, idx_blks_read from pg_statio_user_indexes) x`);
    return new Map(r.rows.map((x: { rel: string; read: number }) => [x.rel, x.read]));
  };
  const reads = new Map<string, Map<string, number>>();
  const phase = async (name: string, n: number, one: () => Promise<void>) => {
    await client.query('begin');
    // HOT_SETUP: statements (e.g. DDL to try) run first in each batch's transaction, rolled back with it.
    if (process.env.HOT_SETUP) await client.query(process.env.HOT_SETUP);
    await monitor.query('select pg_stat_force_next_flush()');
    const a = await stats();
    const ioA = await io();
    try {
      for (let k = 0; k < n; k++) await one();
    } finally {
      await client.query('rollback');
    }
    await client.query('select pg_stat_force_next_flush()');
    await client.query('select 1');
    await new Promise((r) => setTimeout(r, 50));
    const b = await stats();
    const ioB = await io();
    const mine = reads.get(name) ?? new Map<string, number>();
    for (const [rel, v] of ioB) mine.set(rel, (mine.get(rel) ?? 0) + (v - (ioA.get(rel) ?? 0)) / n);
    reads.set(name, mine);
    const per = (k: string) => (b[k]! - a[k]!) / n;
    return {
      name,
      cpu: per('cpu'),
      ms: per('at'),
      hit: per('hit'),
      read: per('read'),
      records: per('records'),
      fpi: per('fpi'),
      kb: per('bytes') / 1024,
      bw: per('backend_writes'),
    };
  };
  const results: Awaited<ReturnType<typeof phase>>[] = [];
  await phase('warm-up POSTs', Math.min(LOAD, 100), post);
  await phase('warm-up notices', Math.min(LOAD, 100), notice);
  for (let round = 0; round < ROUNDS; round++) {
    results.push(await phase('POST', LOAD, post));
    results.push(await phase('notice', LOAD, notice));
  }
  await monitor.end();
  const line = (label: string, rs: typeof results) =>
    `${label.padEnd(26)} backend CPU ${median(rs.map((r) => r.cpu)).toFixed(2)} ms [${rs.map((r) => r.cpu.toFixed(2)).join(' ')}]` +
    `  wall ${median(rs.map((r) => r.ms)).toFixed(2)} ms  blocks hit ${median(rs.map((r) => r.hit)).toFixed(1)} read ${median(rs.map((r) => r.read)).toFixed(2)}` +
    `  WAL ${median(rs.map((r) => r.records)).toFixed(1)} records ${median(rs.map((r) => r.fpi)).toFixed(2)} FPI ${median(rs.map((r) => r.kb)).toFixed(1)} kB` +
    `  backend writes ${median(rs.map((r) => r.bw)).toFixed(2)}`;
  console.log(
    `${LOAD} requests per batch, ${ROUNDS} rounds (medians over rounds, per request), ${usable.length} notice targets`,
  );
  console.log(
    line(
      'single-order POST',
      results.filter((r) => r.name === 'POST'),
    ),
  );
  console.log(
    line(
      'notice (40/30/30 mix)',
      results.filter((r) => r.name === 'notice'),
    ),
  );
  for (const name of ['POST', 'notice']) {
    const top = [...(reads.get(name) ?? new Map<string, number>())]
      .map(([rel, v]) => [rel, v / ROUNDS] as const)
      .filter(([, v]) => v >= 0.05)
      .sort((x, y) => y[1] - x[1]);
    console.log(
      `  ${name}: blocks read per request by relation: ${top.map(([rel, v]) => `${rel} ${v.toFixed(2)}`).join(', ')}`,
    );
  }
}

interface Line {
  id: number;
  sku: string | null;
  name: string | null;
}

/** An order like run.ts's single POSTs: 2–3 lines, tags on one in two. */
function orderBody(number: string, k: number) {
  const line = (p: number) => ({
    line_id: `L${p}`,
    sku: `SKU-${p}-M`,
    name: `Product ${p}`,
    quantity: 1 + (p % 3),
    unit_price: `${10 + p}.50`,
    weight: '0.75',
    weight_unit: 'lb',
    location: `A-${p}-3`,
    options: [{ name: 'Size', value: 'M' }],
  });
  const items = k % 2 === 0 ? [line(1), line(2)] : [line(1), line(2), line(3)];
  const address = {
    name: 'Zoë Ängström',
    street1: '100 Hauptstraße',
    city: 'Austin',
    state: 'TX',
    postal_code: '73301',
    country: 'US',
    phone: '+1 555-0100',
  };
  return {
    order_source: ['shopify-us', 'amazon', 'shopify-eu', 'etsy', 'api'][k % 5],
    order_number: number,
    order_date: '2026-11-21T12:00:00Z',
    currency: 'USD',
    tags: k % 2 === 0 ? ['gift'] : [],
    shipping_method: 'Ground',
    payment_method: 'credit_card',
    tax_amount: '0.00',
    shipping_amount: '4.99',
    customer: { code: `C-${k}`, email: 'buyer@example.com' },
    ship_to: address,
    bill_to: address,
    items,
  };
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
