import { readFileSync } from 'node:fs';
import { METHODS } from 'node:http';
import path from 'node:path';
import fc from 'fast-check';
import type { FastifyInstance, HTTPMethods } from 'fastify';
import t, { type Test } from 'tap';
import { createJobRunner } from '../../src/background.js';
import { SecretHasher } from '../../src/lib/secrets.js';
import {
  INGEST_RESULTS,
  Metrics,
  NOTICE_OUTCOMES,
  SOURCE_PULL_OUTCOMES,
  UNMATCHED_ROUTE,
  WEBHOOK_OUTCOMES,
} from '../../src/metrics/metrics.js';
import { buildTestApp, seedAccounts, TEST_SECRET_KEY } from '../helpers/app.js';
import { createTestDb } from '../helpers/db.js';
import { startSim } from '../helpers/shipstation-api-sim.js';
import { createOrder, createStore, noticeXml, notify, serve, setup } from '../shipments/helpers.js';
import { requestPull } from '../sources/helpers.js';

const TOKEN = 'metrics-token-0123456789';

/** The value of one sample line of a scrape, e.g. `shipbridge_orders_ingested_total{result="created"}`. */
function sample(scrape: string, series: string): number | undefined {
  const line = scrape.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** A scrape with the token: 200, in Prometheus' text format. */
async function scrapeOf(t: Test, app: FastifyInstance): Promise<string> {
  const r = await app.inject({
    method: 'GET',
    url: '/metrics',
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  t.equal(r.statusCode, 200);
  t.match(r.headers['content-type'], /^text\/plain/);
  return r.body;
}

t.test('GET /metrics is off without METRICS_TOKEN', async (t) => {
  const { app } = await buildTestApp(t);
  const r = await app.inject({
    method: 'GET',
    url: '/metrics',
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  t.equal(r.statusCode, 404);
});

t.test('GET /metrics with METRICS_TOKEN', async (t) => {
  const ctx = await setup(t);
  // setup() builds an app without the token; build one with it on the same database.
  const { app } = await buildTestApp(t, { METRICS_TOKEN: TOKEN }, { db: ctx.testDb });
  const scrape = () => scrapeOf(t, app);

  const none = await app.inject({ method: 'GET', url: '/metrics' });
  t.equal(none.statusCode, 401);
  const wrong = await app.inject({
    method: 'GET',
    url: '/metrics',
    headers: { authorization: 'Bearer nope' },
  });
  t.equal(wrong.statusCode, 401);

  const before = await scrape();
  t.equal(sample(before, 'shipbridge_orders_ingested_total{result="created"}'), 0, 'label values exist at 0');
  t.equal(sample(before, 'shipbridge_webhook_deliveries_total{outcome="delivered"}'), 0);
  t.equal(sample(before, 'shipbridge_source_pulls_total{outcome="failed"}'), 0);
  t.match(before, /nodejs_eventloop_lag_seconds /);

  const store = await createStore(app, ctx.merchant);
  const order = await createOrder(app, ctx.merchant, { number: 'M-1' });
  await createOrder(app, ctx.merchant, { number: 'M-2' });
  const dup = await app.inject({
    method: 'POST',
    url: `/v1/merchants/${ctx.merchant.code}/orders`,
    headers: ctx.merchant.auth,
    payload: { orders: [{ order_number: 'bad' }] },
  });
  t.equal(dup.statusCode, 200);
  const page = await app.inject({
    method: 'GET',
    url: '/shipstation?action=export&start_date=01/01/2020%2000:00&end_date=12/31/2030%2000:00',
    headers: store.auth,
  });
  t.equal(page.statusCode, 200);
  await serve(ctx.db, order.id, store.id);
  const n = await notify(app, store, {
    body: noticeXml({
      orderId: order.id,
      orderNumber: 'M-1',
      tracking: 'T',
      items: [{ lineItemId: order.lines[0]!, quantity: 2 }],
    }),
  });
  t.equal(n.statusCode, 200, n.body);
  await notify(app, store, { body: noticeXml({ orderNumber: 'NOPE', tracking: 'X' }) });
  await app.inject({
    method: 'GET',
    url: `/v1/no/such/route/${ctx.merchant.code}`,
    headers: ctx.merchant.auth,
  });

  const after = await scrape();
  t.equal(sample(after, 'shipbridge_orders_ingested_total{result="created"}'), 2);
  t.equal(sample(after, 'shipbridge_orders_ingested_total{result="invalid"}'), 1);
  t.equal(sample(after, 'shipbridge_export_pages_total'), 1);
  t.equal(sample(after, 'shipbridge_export_orders_total'), 2);
  t.equal(sample(after, 'shipbridge_shipnotices_total{outcome="applied"}'), 1);
  t.equal(sample(after, 'shipbridge_shipnotices_total{outcome="unmatched"}'), 1);
  t.ok(
    (sample(
      after,
      'shipbridge_http_request_duration_seconds_count{method="POST",route="/v1/merchants/:merchant/orders",status="201"}',
    ) ?? 0) >= 2,
    'requests are labelled by route template',
  );
  t.ok(
    sample(
      after,
      'shipbridge_http_request_duration_seconds_count{method="GET",route="unmatched",status="404"}',
    ),
  );
  t.notOk(after.includes(ctx.merchant.code), 'no merchant code in any label');
  t.notOk(after.includes('/v1/no/such'), 'no raw URL in any label');
  if (ctx.testDb.engine === 'postgres') {
    t.match(after, /shipbridge_db_pool_connections_in_use \d+/);
  }
});

/** Every sample line of a scrape: its series name, its labels and its value. */
function samples(scrape: string): { name: string; labels: Record<string, string>; line: string }[] {
  return scrape
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((line) => {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? \S+$/.exec(line);
      if (!m) throw new Error(`not a sample line: ${line}`);
      const labels: Record<string, string> = {};
      for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
      return { name: m[1]!, labels, line };
    });
}

/** The series the contract lists, by what it says they measure. */
const CONTRACT_SERIES: [string, string][] = [
  ['shipbridge_http_request_duration_seconds', 'request durations by route template and status'],
  ['shipbridge_export_pages_total', 'export pages served'],
  ['shipbridge_export_orders_total', 'orders served'],
  ['shipbridge_orders_ingested_total', 'orders ingested by result'],
  ['shipbridge_shipnotices_total', 'notices by outcome'],
  ['shipbridge_webhook_deliveries_total', 'webhook deliveries by outcome'],
  ['shipbridge_source_pulls_total', 'source pulls by outcome'],
  ['nodejs_eventloop_lag_seconds', 'event-loop lag'],
];
/** The database pool: only PostgreSQL has one (the embedded database is one connection). */
const POOL_SERIES = [
  'shipbridge_db_pool_connections_in_use',
  'shipbridge_db_pool_connections',
  'shipbridge_db_pool_waiting',
];

/** What each label of our series may be: fixed lists, route templates, status codes. */
function boundedLabel(app: FastifyInstance, series: string, name: string, value: string, method: string) {
  switch (name) {
    case 'method':
      return METHODS.includes(value);
    case 'route':
      return value === UNMATCHED_ROUTE || app.hasRoute({ method: method as HTTPMethods, url: value });
    case 'status':
      return /^[1-5]\d\d$/.test(value);
    case 'le':
      return value === '+Inf' || Number.isFinite(Number(value));
    case 'result':
      return (
        series.startsWith('shipbridge_orders_ingested') &&
        (INGEST_RESULTS as readonly string[]).includes(value)
      );
    case 'outcome': {
      const fixed: Record<string, readonly string[]> = {
        shipbridge_shipnotices_total: NOTICE_OUTCOMES,
        shipbridge_webhook_deliveries_total: WEBHOOK_OUTCOMES,
        shipbridge_source_pulls_total: SOURCE_PULL_OUTCOMES,
      };
      return fixed[series]?.includes(value) ?? false;
    }
    default:
      return false;
  }
}

t.test('a scrape has every series of the contract, each label bounded, whatever is requested', async (t) => {
  const sim = await startSim(t);
  const testDb = await createTestDb(t);
  // One registry for the app and the jobs runner, as server.ts shares it.
  const metrics = new Metrics(testDb.poolStats);
  const { app } = await buildTestApp(
    t,
    { METRICS_TOKEN: TOKEN, SECRET_KEY: TEST_SECRET_KEY, SHIPSTATION_API_URL: sim.url },
    { db: testDb, metrics },
  );
  const acc = await seedAccounts(app, 'mx');
  const runner = createJobRunner(
    testDb.db,
    { webhookAllowPrivate: true, shipstationApiUrl: sim.url },
    new SecretHasher(TEST_SECRET_KEY).box,
    undefined,
    {},
    metrics,
  );
  const scrape = () => scrapeOf(t, app);

  t.test('source pulls are counted by outcome when they end', async (t) => {
    sim.addOrder({ orderNumber: 'MX-1' });
    const created = await app.inject({
      method: 'POST',
      url: `/v1/merchants/${acc.merchant.code}/sources`,
      headers: acc.merchant.auth,
      payload: { type: 'shipstation', name: 'mx-src', api_key: sim.apiKey, api_secret: sim.apiSecret },
    });
    t.equal(created.statusCode, 201, created.body);
    const sourceId = created.json().source.id as number;
    await requestPull(app, acc.merchant, sourceId);
    await runner.runDue();
    let after = await scrape();
    t.equal(sample(after, 'shipbridge_source_pulls_total{outcome="ok"}'), 1, 'a pull that finished');
    t.equal(sample(after, 'shipbridge_source_pulls_total{outcome="failed"}'), 0);

    sim.inject({ status: 500 });
    await requestPull(app, acc.merchant, sourceId);
    await runner.runDue();
    after = await scrape();
    t.equal(sample(after, 'shipbridge_source_pulls_total{outcome="failed"}'), 1, 'a pull that failed');
    t.equal(sample(after, 'shipbridge_source_pulls_total{outcome="ok"}'), 1);
  });

  t.test('every series the contract lists is in the scrape', async (t) => {
    const text = await scrape();
    for (const [series, what] of CONTRACT_SERIES) t.match(text, new RegExp(`^# TYPE ${series} `, 'm'), what);
    for (const series of POOL_SERIES) {
      if (testDb.engine === 'postgres') t.match(text, new RegExp(`^${series} \\d+$`, 'm'), 'database pool');
      else t.notOk(text.includes(series), 'no pool to report on the embedded database');
    }
  });

  t.test('labels stay bounded: random paths, ids and codes never become label values', async (t) => {
    const segment = fc.stringMatching(/^[A-Za-z0-9._~-]{1,16}$/);
    const prefix = fc.constantFrom(
      '/',
      '/v1/',
      `/v1/merchants/${acc.merchant.code}/`,
      `/v1/merchants/${acc.merchant.code}/orders/`,
      '/v1/warehouses/',
      '/shipstation/',
      '/console/',
      '/wp-admin/',
    );
    await fc.assert(
      fc.asyncProperty(
        prefix,
        fc.array(segment, { maxLength: 3 }),
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'),
        fc.nat(99999),
        async (pre, segs, method, n) => {
          // A marker that no route template contains, in the path and in the query.
          const marker = `zz-${n}-`;
          await app.inject({
            method,
            url: `${pre}${[marker, ...segs].map(encodeURIComponent).join('/')}?q=${marker}`,
            headers: acc.merchant.auth,
          });
        },
      ),
      { numRuns: 60 },
    );
    // Real routes with real ids and codes in their paths.
    await app.inject({
      method: 'GET',
      url: `/v1/merchants/${acc.merchant.code}/orders/123456789`,
      headers: acc.merchant.auth,
    });
    await app.inject({
      method: 'GET',
      url: `/v1/merchants/${acc.solo.code}/stores`,
      headers: acc.merchant.auth,
    });

    const text = await scrape();
    t.notOk(text.includes('zz-'), 'no requested path or query in any label');
    for (const code of [acc.merchant.code, acc.solo.code, acc.warehouse.code])
      t.notOk(text.includes(code), `no account code (${code}) in any label`);
    const ours = samples(text).filter((s) => s.name.startsWith('shipbridge_'));
    t.ok(ours.length > 20);
    const unbounded = ours.flatMap((s) =>
      Object.entries(s.labels)
        .filter(
          ([k, v]) =>
            !boundedLabel(app, s.name.replace(/_(bucket|sum|count)$/, ''), k, v, s.labels.method ?? ''),
        )
        .map(([k, v]) => `${s.name} ${k}="${v}"`),
    );
    t.same(unbounded, [], 'every label value is from a fixed set or a route template');
    const routes = new Set(ours.map((s) => s.labels.route).filter((r) => r !== undefined));
    t.ok(routes.has(UNMATCHED_ROUTE), 'unmatched requests share one label');
    t.ok(routes.has('/v1/merchants/:merchant/orders/:order'), 'matched ones are labelled by template');
  });

  t.test("the README's sample scrape names real series and labels", async (t) => {
    const readme = readFileSync(path.resolve('README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('\n## Metrics'));
    const block = /```text\n([\s\S]*?)```/.exec(section)?.[1];
    t.ok(block, 'the Metrics section has a sample scrape');
    const documented = samples(
      block!
        .split('\n')
        .filter((l) => !l.startsWith('$'))
        .join('\n'),
    );
    t.ok(documented.length >= 10);
    const real = samples(await scrape());
    for (const d of documented) {
      if (testDb.engine !== 'postgres' && POOL_SERIES.includes(d.name)) continue;
      const keys = Object.keys(d.labels).sort().join(',');
      t.ok(
        real.some((r) => r.name === d.name && Object.keys(r.labels).sort().join(',') === keys),
        `${d.name} {${keys}} is a real series with these labels`,
      );
      if (d.name.startsWith('shipbridge_') && !d.name.startsWith('shipbridge_db_pool')) {
        const series = d.name.replace(/_(bucket|sum|count)$/, '');
        for (const [k, v] of Object.entries(d.labels))
          t.ok(
            boundedLabel(app, series, k, v, d.labels.method ?? ''),
            `${d.name} ${k}="${v}" is a value it can take`,
          );
      }
    }
  });
});
