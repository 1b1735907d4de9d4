import t from 'tap';
import { buildTestApp } from '../helpers/app.js';
import { createOrder, createStore, noticeXml, notify, serve, setup } from '../shipments/helpers.js';

const TOKEN = 'metrics-token-0123456789';

/** The value of one sample line of a scrape, e.g. `shipbridge_orders_ingested_total{result="created"}`. */
function sample(scrape: string, series: string): number | undefined {
  const line = scrape.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
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
  const scrape = async () => {
    const r = await app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    t.equal(r.statusCode, 200);
    t.match(r.headers['content-type'], /^text\/plain/);
    return r.body;
  };

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
