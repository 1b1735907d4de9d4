import t from 'tap';
import { sql } from 'kysely';
import { buildTestApp, seedAccounts } from '../helpers/app.js';
import { SecretHasher } from '../../src/lib/secrets.js';
import { isPrivateHost } from '../../src/stores/public-url.js';
import { insertOrders, merchantId, routingOf } from './helpers.js';

const hasher = new SecretHasher('test-secret-key-0123456789abcdef0123456789');

t.test('store connections API', async (t) => {
  const { app, db, rawLogs } = await buildTestApp(t);
  const s = await seedAccounts(app);
  const base = `/v1/merchants/${s.merchant.code}/stores`;

  let storeId = 0;
  let password = '';
  let username = '';

  t.test('create answers the store and the ShipStation form', async (t) => {
    const r = await app.inject({
      method: 'POST',
      url: base,
      headers: s.merchant.auth,
      payload: { name: 'Shopify US', order_sources: ['shopify-us'], exclude_tags: ['HOLD', 'HOLD'] },
    });
    t.equal(r.statusCode, 201, r.body);
    const body = r.json();
    t.match(body.store, {
      name: 'Shopify US',
      order_sources: ['shopify-us'],
      include_tags: [],
      exclude_tags: ['HOLD'],
      priority: 100,
      page_size: 100,
      timezone: 'UTC',
      lookback_minutes: 10,
      order_number_prefix: '',
      retired_at: null,
    });
    t.type(body.store.id, 'number');
    t.type(body.store.created_at, 'string');
    t.same(body.shipstation, {
      url: 'https://shipbridge.example.com/shipstation',
      warnings: [],
      username: body.shipstation.username,
      password: body.shipstation.password,
      unpaid_status: 'await_payment',
      paid_status: 'new,at_wms',
      shipped_status: 'shipped,confirmed',
      cancelled_status: 'canceled',
      on_hold_status: 'on_hold',
    });
    t.match(body.shipstation.username, /^ss_[a-z0-9]{12}$/);
    t.ok(Buffer.from(body.shipstation.password, 'base64url').length >= 16, 'at least 128 random bits');
    const row = await db.db
      .selectFrom('stores')
      .select(['username', 'password_hash'])
      .where('id', '=', body.store.id)
      .executeTakeFirstOrThrow();
    t.equal(row.username, body.shipstation.username);
    t.ok(hasher.verify(body.shipstation.password, row.password_hash), 'stored as the HMAC of the password');
    t.notOk(row.password_hash.toString('utf8').includes(body.shipstation.password));
    storeId = body.store.id;
    password = body.shipstation.password;
    username = body.shipstation.username;
  });

  t.test('every setting is taken and validated, errors name the field', async (t) => {
    const ok = await app.inject({
      method: 'POST',
      url: base,
      headers: s.warehouse.auth,
      payload: {
        name: 'EU',
        order_sources: ['shopify-eu'],
        include_tags: ['VIP'],
        priority: 5,
        page_size: 500,
        timezone: 'Europe/Berlin',
        lookback_minutes: 0,
        order_number_prefix: 'EU-',
      },
    });
    t.equal(ok.statusCode, 201, 'the merchant’s warehouse may create stores');
    t.match(ok.json().store, {
      priority: 5,
      page_size: 500,
      timezone: 'Europe/Berlin',
      lookback_minutes: 0,
      order_number_prefix: 'EU-',
      include_tags: ['VIP'],
    });
    t.not(ok.json().shipstation.username, username, 'usernames are unique');

    const cases: [Record<string, unknown>, string][] = [
      [{ name: '' }, 'name'],
      [{ name: 'x'.repeat(101) }, 'name'],
      [{}, 'name'],
      [{ name: 'a', page_size: 0 }, 'page_size'],
      [{ name: 'a', page_size: 501 }, 'page_size'],
      [{ name: 'a', lookback_minutes: 1441 }, 'lookback_minutes'],
      [{ name: 'a', lookback_minutes: -1 }, 'lookback_minutes'],
      [{ name: 'a', priority: 1.5 }, 'priority'],
      [{ name: 'a', timezone: 'Mars/Olympus' }, 'timezone'],
      [{ name: 'a', order_number_prefix: 'x'.repeat(21) }, 'order_number_prefix'],
      [{ name: 'a', order_sources: [''] }, 'order_sources[0]'],
      [{ name: 'a', order_sources: ['ok', 'x'.repeat(51)] }, 'order_sources[1]'],
      [{ name: 'a', include_tags: ['x'.repeat(101)] }, 'include_tags[0]'],
      [{ name: 'a', exclude_tags: 'HOLD' }, 'exclude_tags'],
    ];
    for (const [payload, path] of cases) {
      const r = await app.inject({ method: 'POST', url: base, headers: s.merchant.auth, payload });
      t.equal(r.statusCode, 400, `${JSON.stringify(payload).slice(0, 60)} is refused`);
      t.equal(r.json().error.code, 'invalid_request');
      t.ok(
        r.json().error.details.some((d: { path: string }) => d.path === path),
        `${path} named: ${JSON.stringify(r.json().error.details)}`,
      );
    }
    const unknown = await app.inject({
      method: 'POST',
      url: base,
      headers: s.merchant.auth,
      payload: { name: 'a', exclude_tag: ['HOLD'] },
    });
    t.equal(unknown.statusCode, 400, 'a misspelt field is refused, not ignored');
    t.match(unknown.body, /exclude_tag/);
    const count = await db.db
      .selectFrom('stores')
      .select(sql<number>`count(*)::int`.as('n'))
      .executeTakeFirstOrThrow();
    t.equal(count.n, 2, 'nothing half-stored');
  });

  t.test('read with health, list, patch', async (t) => {
    const mid = await merchantId(db.db, s.merchant.code);
    await db.db
      .insertInto('alerts')
      .values([
        { merchant_id: mid, kind: 'export_gap', message: 'gap', store_id: storeId },
        { merchant_id: mid, kind: 'export_gap', message: 'old', store_id: storeId, dismissed_at: new Date() },
      ])
      .execute();
    await sql`update stores set last_export_at = now(), last_window_start = '2026-11-01T00:00:00Z',
      last_window_end = '2026-11-01T01:00:00Z' where id = ${storeId}`.execute(db.db);
    const r = await app.inject({ method: 'GET', url: `${base}/${storeId}`, headers: s.merchant.auth });
    t.equal(r.statusCode, 200);
    t.equal(r.json().store.id, storeId);
    t.notOk('password' in r.json().store);
    t.notOk('password' in r.json().shipstation, 'the form values again, never the password');
    t.match(r.json().health, {
      last_window: { start: '2026-11-01T00:00:00.000Z', end: '2026-11-01T01:00:00.000Z' },
      last_notice_at: null,
      open_alerts: 1,
    });
    t.type(r.json().health.last_export_at, 'string');

    const list = await app.inject({ method: 'GET', url: `${base}?limit=1`, headers: s.merchant.auth });
    t.equal(list.json().stores.length, 1);
    t.equal(list.json().stores[0].id, storeId);
    const p2 = await app.inject({
      method: 'GET',
      url: `${base}?limit=1&cursor=${list.json().next_cursor}`,
      headers: s.merchant.auth,
    });
    t.equal(p2.json().stores.length, 1);
    t.equal(p2.json().next_cursor, null);

    const patch = await app.inject({
      method: 'PATCH',
      url: `${base}/${storeId}`,
      headers: s.merchant.auth,
      payload: { name: 'Shopify (US)', timezone: 'america/new_york', page_size: 50 },
    });
    t.equal(patch.statusCode, 200, patch.body);
    t.match(patch.json().store, { name: 'Shopify (US)', timezone: 'America/New_York', page_size: 50 });
    t.notOk('shipstation' in patch.json());
    const bad = await app.inject({
      method: 'PATCH',
      url: `${base}/${storeId}`,
      headers: s.merchant.auth,
      payload: { timezone: 'Nowhere/City' },
    });
    t.equal(bad.statusCode, 400);
    t.equal(bad.json().error.details[0].path, 'timezone');
    const missing = await app.inject({ method: 'GET', url: `${base}/999999`, headers: s.merchant.auth });
    t.equal(missing.statusCode, 404);
  });

  t.test('another merchant sees none of it', async (t) => {
    const asSolo = await app.inject({ method: 'GET', url: `${base}/${storeId}`, headers: s.solo.auth });
    t.equal(asSolo.statusCode, 404);
    const soloStore = await app.inject({
      method: 'GET',
      url: `/v1/merchants/${s.solo.code}/stores/${storeId}`,
      headers: s.solo.auth,
    });
    t.equal(soloStore.statusCode, 404, 'a store id of another merchant is not found under mine');
    const patch = await app.inject({
      method: 'PATCH',
      url: `/v1/merchants/${s.solo.code}/stores/${storeId}`,
      headers: s.solo.auth,
      payload: { priority: 1 },
    });
    t.equal(patch.statusCode, 404);
    const asWh = await app.inject({
      method: 'GET',
      url: `/v1/merchants/${s.solo.code}/stores`,
      headers: s.warehouse.auth,
    });
    t.equal(asWh.statusCode, 404, 'a warehouse cannot reach a merchant outside it');
  });

  t.test('rotate password: new one in the same block, old one stops matching', async (t) => {
    const r = await app.inject({
      method: 'POST',
      url: `${base}/${storeId}/rotate-password`,
      headers: s.merchant.auth,
    });
    t.equal(r.statusCode, 200, r.body);
    const ss = r.json().shipstation;
    t.equal(ss.username, username);
    t.not(ss.password, password);
    t.equal(ss.paid_status, 'new,at_wms');
    t.equal(ss.url, 'https://shipbridge.example.com/shipstation');
    t.type(r.json().store.password_rotated_at, 'string');
    const row = await db.db
      .selectFrom('stores')
      .select('password_hash')
      .where('id', '=', storeId)
      .executeTakeFirstOrThrow();
    t.ok(hasher.verify(ss.password, row.password_hash));
    t.notOk(hasher.verify(password, row.password_hash));
    t.notOk(rawLogs().includes(ss.password), 'the password never reaches the logs');
    t.notOk(rawLogs().includes(password));
  });

  t.test('retire: kept with retired_at, its orders re-routed, idempotent', async (t) => {
    const mid = await merchantId(db.db, s.merchant.code);
    const [id] = await insertOrders(db.db, mid, [{ order_source: 'shopify-us' }]);
    await sql`update orders set store_id = ${storeId} where id = ${id!}`.execute(db.db);
    const r = await app.inject({ method: 'DELETE', url: `${base}/${storeId}`, headers: s.merchant.auth });
    t.equal(r.statusCode, 200, r.body);
    t.type(r.json().store.retired_at, 'string');
    t.equal(r.json().rerouted, 1);
    const o = await routingOf(db.db, id!);
    t.equal(o.store_id, null);
    t.match(o.routing_reason, /order_source 'shopify-us' not in \[shopify-eu\]/);
    const again = await app.inject({ method: 'DELETE', url: `${base}/${storeId}`, headers: s.merchant.auth });
    t.equal(again.statusCode, 200);
    t.equal(again.json().store.retired_at, r.json().store.retired_at, 'retiring again changes nothing');
    const list = await app.inject({ method: 'GET', url: base, headers: s.merchant.auth });
    t.ok(
      list.json().stores.some((x: { id: number }) => x.id === storeId),
      'listed by default',
    );
    const live = await app.inject({
      method: 'GET',
      url: `${base}?include_retired=false`,
      headers: s.merchant.auth,
    });
    t.notOk(live.json().stores.some((x: { id: number }) => x.id === storeId));
    const row = await db.db
      .selectFrom('stores')
      .select(['username', 'password_hash'])
      .where('id', '=', storeId)
      .executeTakeFirstOrThrow();
    t.equal(row.username, username, 'credentials kept for ShipStation');
  });
});

t.test('without PUBLIC_URL the URL comes from the request', async (t) => {
  const { app } = await buildTestApp(t, { PUBLIC_URL: '' });
  const s = await seedAccounts(app);
  const r = await app.inject({
    method: 'POST',
    url: `/v1/merchants/${s.merchant.code}/stores`,
    headers: { ...s.merchant.auth, host: 'bridge.local:8080', 'x-forwarded-proto': 'https' },
    payload: { name: 'All' },
  });
  t.equal(r.statusCode, 201, r.body);
  t.equal(r.json().shipstation.url, 'https://bridge.local:8080/shipstation');
});

t.test('isPrivateHost: this machine and private networks, not the internet', async (t) => {
  for (const h of [
    'localhost',
    'api.localhost',
    '127.0.0.1',
    '127.8.9.1',
    '[::1]',
    '::1',
    '10.2.3.4',
    '172.16.0.9',
    '172.31.255.255',
    '192.168.1.20',
    '169.254.1.1',
    '100.64.0.1',
    '0.0.0.0',
    '[fd00::1]',
    '[fe80::1]',
    '[::ffff:127.0.0.1]',
    '[::ffff:7f00:1]',
    'myhost',
    'printer.local',
    'db.internal',
    'box.lan',
  ]) {
    t.ok(isPrivateHost(h), h);
  }
  for (const h of ['ship.example.com', '8.8.8.8', '172.32.0.1', '[2001:db8::1]', '[::ffff:8.8.8.8]']) {
    t.notOk(isPrivateHost(h), h);
  }
});

t.test('a store URL ShipStation cannot reach comes with a warning', async (t) => {
  const { app, logs } = await buildTestApp(t, { PUBLIC_URL: '' });
  const s = await seedAccounts(app, 'reach');
  const create = (host: string) =>
    app.inject({
      method: 'POST',
      url: `/v1/merchants/${s.merchant.code}/stores`,
      headers: { ...s.merchant.auth, host },
      payload: { name: `via ${host}` },
    });
  for (const host of ['localhost:3000', '127.0.0.1:3000', '[::1]:3000', '192.168.1.20']) {
    const r = await create(host);
    t.equal(r.statusCode, 201, r.body);
    const ss = r.json().shipstation;
    t.equal(ss.url, `http://${host}/shipstation`);
    t.equal(ss.warnings.length, 1, host);
    t.match(ss.warnings[0], /cannot reach.*set PUBLIC_URL/);
  }
  const warned = logs.filter((l) => l.level === 40 && /set PUBLIC_URL/.test(String(l.msg)));
  t.equal(warned.length, 4, 'each one is logged as a warning');

  const pub = await create('ship.example.com');
  t.same(pub.json().shipstation.warnings, [], 'a public name: no warning');

  const storeId = (await create('localhost')).json().store.id;
  const test = await app.inject({
    method: 'POST',
    url: `/v1/merchants/${s.merchant.code}/stores/${storeId}/test`,
    headers: { ...s.merchant.auth, host: 'localhost:3000' },
  });
  t.equal(test.statusCode, 200, test.body);
  t.equal(test.json().warnings.length, 1, 'the store test says it too');
  const rotate = await app.inject({
    method: 'POST',
    url: `/v1/merchants/${s.merchant.code}/stores/${storeId}/rotate-password`,
    headers: { ...s.merchant.auth, host: '10.0.0.7:3000' },
  });
  t.equal(rotate.json().shipstation.warnings.length, 1, 'and the new password block');
});

t.test('PUBLIC_URL set: no warning, whatever host the API was called on', async (t) => {
  const { app } = await buildTestApp(t, { PUBLIC_URL: 'https://ship.example.com/' });
  const s = await seedAccounts(app, 'pub');
  const r = await app.inject({
    method: 'POST',
    url: `/v1/merchants/${s.merchant.code}/stores`,
    headers: { ...s.merchant.auth, host: 'localhost:3000' },
    payload: { name: 'All' },
  });
  t.equal(r.json().shipstation.url, 'https://ship.example.com/shipstation');
  t.same(r.json().shipstation.warnings, []);
  const test = await app.inject({
    method: 'POST',
    url: `/v1/merchants/${s.merchant.code}/stores/${r.json().store.id}/test`,
    headers: { ...s.merchant.auth, host: 'localhost:3000' },
  });
  t.same(test.json().warnings, []);
});
