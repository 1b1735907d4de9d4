import t from 'tap';
import { basic, buildTestApp, seedAccounts } from '../helpers/app.js';
import { sampleOrder } from '../orders/fixtures.js';
import { merchantId, seedStore } from '../shipstation/seed.js';

/**
 * The door of the API: text PostgreSQL cannot store never reaches it (400 naming the field, 401 in
 * credentials, 404 in a path), ShipStation's login limit counts such attempts too, and a caller is
 * authorised on the path before its body is looked at.
 */
t.test('text PostgreSQL cannot store is refused at the door', async (t) => {
  const { app, db, logs } = await buildTestApp(t, { AUTH_FAILURE_LIMIT: '3' });
  const s = await seedAccounts(app, 'door');
  const m = await merchantId(db.db, s.merchant.code);
  const store = await seedStore(db.db, m);
  const json = { 'content-type': 'application/json' };

  t.test('in REST credentials: 401, without asking the database', async (t) => {
    for (const [user, pass] of [
      ['a\u0000b', 'x'],
      [s.merchant.credential.api_user, 'k\u0000'],
      ['a\ud800', 'x'],
    ] as const) {
      const r = await app.inject({ method: 'GET', url: '/v1/merchants', headers: basic(user, pass) });
      t.equal(r.statusCode, 401, JSON.stringify(user));
      t.equal(r.json().error.code, 'unauthorized');
    }
  });

  t.test('in ShipStation credentials: 401, and counted by the login limit', async (t) => {
    const exportUrl =
      '/shipstation?action=export&start_date=01%2F10%2F2026%2009%3A00&end_date=01%2F10%2F2026%2011%3A00';
    const viaHeader = (ip: string) =>
      app.inject({
        method: 'GET',
        url: exportUrl,
        headers: { ...basic('a\u0000b', 'x'), 'x-forwarded-for': ip },
      });
    const viaQuery = (ip: string) =>
      app.inject({
        method: 'GET',
        url: `${exportUrl}&SS-UserName=a%00b&SS-Password=x`,
        headers: { 'x-forwarded-for': ip },
      });
    for (const call of [viaHeader, viaQuery]) {
      const ip = call === viaHeader ? '10.1.0.1' : '10.1.0.2';
      for (let i = 0; i < 3; i++) {
        const r = await call(ip);
        t.equal(r.statusCode, 401);
        t.match(r.body, /<Code>unauthorized<\/Code>/);
      }
      const paced = await call(ip);
      t.equal(paced.statusCode, 429, 'the fourth attempt is paced');
      t.ok(paced.headers['retry-after']);
    }
    // A real store user with a password holding NUL: a failed attempt like any other.
    for (let i = 0; i < 3; i++) {
      const r = await app.inject({
        method: 'GET',
        url: exportUrl,
        headers: { ...basic(store.username, 'pw\u0000'), 'x-forwarded-for': '10.1.0.3' },
      });
      t.equal(r.statusCode, 401);
    }
    const paced = await app.inject({
      method: 'GET',
      url: exportUrl,
      headers: { ...basic(store.username, store.password), 'x-forwarded-for': '10.1.0.3' },
    });
    t.equal(paced.statusCode, 429, 'even the right password waits after three failures');
  });

  t.test('in bodies: 400 naming the field', async (t) => {
    const cases: [string, string, unknown, string][] = [
      ['POST', '/v1/warehouses', { code: 'w-nul', name: 'a\u0000b' }, 'name'],
      ['POST', '/v1/merchants', { code: 'm-nul', name: 'a\ud800b' }, 'name'],
      ['POST', `/v1/merchants/${s.merchant.code}/credentials`, { label: 'x\u0000' }, 'label'],
      ['POST', `/v1/warehouses/${s.warehouse.code}/credentials`, { label: '\udc00' }, 'label'],
      ['POST', `/v1/merchants/${s.merchant.code}/stores`, { name: 'a\u0000' }, 'name'],
      [
        'POST',
        `/v1/merchants/${s.merchant.code}/stores`,
        { name: 'ok', include_tags: ['VIP', 'a\u0000'] },
        'include_tags[1]',
      ],
      [
        'POST',
        `/v1/merchants/${s.merchant.code}/stores`,
        { name: 'ok', order_sources: ['\u0000'] },
        'order_sources[0]',
      ],
      [
        'PATCH',
        `/v1/merchants/${s.merchant.code}/stores/1`,
        { order_number_prefix: 'P\u0000' },
        'order_number_prefix',
      ],
      ['POST', `/v1/merchants/${s.merchant.code}/stores`, { name: 'ok', 'x\u0000': 1 }, '(root)'],
    ];
    for (const [method, url, payload, path] of cases) {
      const r = await app.inject({
        method: method as 'POST',
        url,
        headers: {
          ...(url === '/v1/warehouses'
            ? { authorization: 'Bearer test-admin-token-0123456789' }
            : s.warehouse.auth),
          ...json,
        },
        payload: JSON.stringify(payload),
      });
      t.equal(r.statusCode, 400, `${method} ${url} ${path}`);
      t.equal(r.json().error.code, 'invalid_request');
      t.equal(r.json().error.details?.[0]?.path, path);
      t.match(r.json().error.details?.[0]?.message, /NUL/);
    }
  });

  t.test('in the query: 400 naming the parameter; in the path: 404', async (t) => {
    for (const q of ['order_number=a%00b', 'order_source=%00', 'status=new&order_number=x%00']) {
      const r = await app.inject({
        method: 'GET',
        url: `/v1/merchants/${s.merchant.code}/orders?${q}`,
        headers: s.merchant.auth,
      });
      t.equal(r.statusCode, 400, q);
      t.match(r.json().error.details[0].path, /^query\.order_(number|source)$/);
    }
    const bad = await app.inject({
      method: 'DELETE',
      url: '/v1/credentials/a%00b',
      headers: s.warehouse.auth,
    });
    t.equal(bad.statusCode, 404);
    t.equal(bad.json().error.code, 'not_found');
    const merchant = await app.inject({
      method: 'GET',
      url: '/v1/merchants/a%00b/orders',
      headers: s.warehouse.auth,
    });
    t.equal(merchant.statusCode, 404);
  });

  t.test('orders keep their per-order check (a batch is not refused as a whole)', async (t) => {
    const r = await app.inject({
      method: 'POST',
      url: `/v1/merchants/${s.merchant.code}/orders`,
      headers: { ...s.merchant.auth, ...json },
      payload: JSON.stringify({
        orders: [sampleOrder('nul-1'), sampleOrder('nul-2', { customer_notes: 'a\u0000' })],
      }),
    });
    t.equal(r.statusCode, 200);
    t.same(
      r.json().results.map((x: { result: string }) => x.result),
      ['created', 'invalid'],
    );
    t.equal(r.json().results[1].error.details[0].path, 'orders[1].customer_notes');
  });

  t.test('nothing reached PostgreSQL: no error was logged', async (t) => {
    t.same(
      logs.filter((l) => (l.level as number) >= 50),
      [],
    );
  });
});

t.test('the path is authorised before the body is validated', async (t) => {
  const { app } = await buildTestApp(t);
  const s = await seedAccounts(app, 'order');
  const json = { 'content-type': 'application/json' };
  // The merchant credential of acme-m1 on the standalone merchant's routes, with invalid bodies.
  const foreign = `/v1/merchants/${s.solo.code}`;
  const cases: [string, string, string][] = [
    ['POST', `${foreign}/orders`, '{"items": 5}'],
    ['PUT', `${foreign}/orders/1`, '{"items": 5}'],
    ['POST', `${foreign}/orders/1/cancel`, '{"reason": 5}'],
    ['POST', `${foreign}/stores`, '{"name": 5}'],
    ['PATCH', `${foreign}/stores/1`, '{"page_size": "big"}'],
    ['POST', `${foreign}/credentials`, '{"label": 5}'],
    ['POST', `${foreign}/shipments/confirm`, '{"shipment_ids": "all"}'],
    ['POST', `${foreign}/shipnotices/1/apply`, '{}'],
    ['POST', `${foreign}/orders`, '{"not json'],
    ['POST', `${foreign}/orders`, `{${Array.from({ length: 5000 }, (_, i) => `"k${i}":1`).join(',')}}`],
    ['POST', `/v1/warehouses/${s.warehouse.code}/credentials`, '{"label": 5}'],
    ['POST', '/v1/warehouses/no-such-warehouse/credentials', '{"label": 5}'],
  ];
  for (const [method, url, payload] of cases) {
    const r = await app.inject({
      method: method as 'POST',
      url,
      headers: { ...s.merchant.auth, ...json },
      payload,
    });
    t.equal(r.statusCode, 404, `${method} ${url} ${payload.slice(0, 20)}`);
    t.equal(r.json().error.code, 'not_found');
  }
  // The same bodies on the caller's own merchant are validated (400).
  const own = await app.inject({
    method: 'POST',
    url: `/v1/merchants/${s.merchant.code}/stores`,
    headers: { ...s.merchant.auth, ...json },
    payload: '{"name": 5}',
  });
  t.equal(own.statusCode, 400);
});

t.test('ids are plain decimal digits, offsets are real ones', async (t) => {
  const { app } = await buildTestApp(t);
  const s = await seedAccounts(app, 'ids');
  const json = { ...s.merchant.auth, 'content-type': 'application/json' };
  const base = `/v1/merchants/${s.merchant.code}`;
  const created = await app.inject({
    method: 'POST',
    url: `${base}/orders`,
    headers: json,
    payload: JSON.stringify(sampleOrder('ids-1')),
  });
  t.equal(created.statusCode, 201);
  const id = created.json().id as number;
  const ok = await app.inject({ method: 'GET', url: `${base}/orders/${id}`, headers: s.merchant.auth });
  t.equal(ok.statusCode, 200);

  const loose = ['0x1', '1e3', '1.0', '+1', '%201', '0', '-1', '99999999999999999999', 'abc'];
  for (const bad of loose) {
    for (const path of [
      `${base}/orders/${bad}`,
      `${base}/orders/${bad}/events`,
      `${base}/stores/${bad}`,
      `${base}/shipments/${bad}`,
      `${base}/shipnotices/${bad}`,
    ]) {
      const r = await app.inject({ method: 'GET', url: path, headers: s.merchant.auth });
      t.equal(r.statusCode, 404, path);
      t.equal(r.json().error.code, 'not_found');
    }
    const write = await app.inject({
      method: 'POST',
      url: `${base}/alerts/${bad}/dismiss`,
      headers: s.merchant.auth,
    });
    t.equal(write.statusCode, 404, `dismiss alert ${bad}`);
  }
  const query = await app.inject({
    method: 'GET',
    url: `${base}/shipments?order_id=0x1`,
    headers: s.merchant.auth,
  });
  t.equal(query.statusCode, 400, 'a loose id in a query is a bad filter');
  t.equal(query.json().error.details[0].path, 'query.order_id');
  const body = await app.inject({
    method: 'POST',
    url: `${base}/shipments/confirm`,
    headers: json,
    payload: JSON.stringify({ shipment_ids: ['0x1', 2] }),
  });
  t.equal(body.statusCode, 400);
  t.equal(body.json().error.details[0].path, 'shipment_ids[0]');

  for (const date of [
    '2026-01-01T10:00:00+99:99',
    '2026-01-01T10:00:00+14:30',
    '2026-01-01T10:00:00-13:00',
    '2026-01-01T10:00:00+05:60',
  ]) {
    const r = await app.inject({
      method: 'POST',
      url: `${base}/orders`,
      headers: json,
      payload: JSON.stringify(sampleOrder(`off-${date}`, { order_date: date })),
    });
    t.equal(r.statusCode, 400, date);
    t.equal(r.json().error.details[0].path, 'order_date');
    const list = await app.inject({
      method: 'GET',
      url: `${base}/orders?updated_since=${encodeURIComponent(date)}`,
      headers: s.merchant.auth,
    });
    t.equal(list.statusCode, 400, `updated_since ${date}`);
  }
  for (const date of ['2026-01-01T10:00:00+14:00', '2026-01-01T10:00:00-12:00', '2026-01-01T10:00:00+0545']) {
    const r = await app.inject({
      method: 'POST',
      url: `${base}/orders`,
      headers: json,
      payload: JSON.stringify(sampleOrder(`off-${date}`, { order_date: date })),
    });
    t.equal(r.statusCode, 201, date);
  }
});
