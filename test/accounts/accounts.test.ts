import t from 'tap';
import { basic, buildTestApp, seedAccounts } from '../helpers/app.js';

t.test('accounts, credentials and scopes', async (t) => {
  const { app, rawLogs } = await buildTestApp(t);
  const s = await seedAccounts(app);

  t.test('admin routes need the bearer token', async (t) => {
    const none = await app.inject({
      method: 'POST',
      url: '/v1/warehouses',
      payload: { code: 'x', name: 'x' },
    });
    t.equal(none.statusCode, 401);
    t.equal(none.json().error.code, 'unauthorized');
    t.match(none.headers['www-authenticate'], /Basic realm="shipbridge"/);
    const wrong = await app.inject({
      method: 'POST',
      url: '/v1/warehouses',
      headers: { authorization: 'Bearer not-the-token-at-all' },
      payload: { code: 'x', name: 'x' },
    });
    t.equal(wrong.statusCode, 401);
    const asWarehouse = await app.inject({
      method: 'POST',
      url: '/v1/warehouses',
      headers: s.warehouse.auth,
      payload: { code: 'x', name: 'x' },
    });
    t.equal(asWarehouse.statusCode, 403, 'a valid credential on an admin route is 403');
    t.equal(asWarehouse.json().error.code, 'forbidden');
  });

  t.test('wrong key is 401 in the error shape', async (t) => {
    const r = await app.inject({
      method: 'GET',
      url: '/v1/merchants',
      headers: basic(s.merchant.credential.api_user, 'wrong-key'),
    });
    t.equal(r.statusCode, 401);
    t.same(Object.keys(r.json()), ['error']);
    t.equal(r.json().error.code, 'unauthorized');
    t.type(r.json().error.message, 'string');
    t.ok(r.headers['x-request-id']);
    const unknown = await app.inject({
      method: 'GET',
      url: '/v1/merchants',
      headers: basic('mc_nobody', 'x'),
    });
    t.equal(unknown.statusCode, 401);
    const noAuth = await app.inject({ method: 'GET', url: '/v1/merchants' });
    t.equal(noAuth.statusCode, 401);
  });

  t.test('merchant listing follows scope', async (t) => {
    const asWh = await app.inject({ method: 'GET', url: '/v1/merchants', headers: s.warehouse.auth });
    t.same(
      asWh.json().merchants.map((m: { code: string }) => m.code),
      [s.merchant.code],
    );
    t.equal(asWh.json().merchants[0].warehouse, s.warehouse.code);
    const asAdmin = await app.inject({
      method: 'GET',
      url: '/v1/merchants?limit=1',
      headers: { authorization: 'Bearer test-admin-token-0123456789' },
    });
    t.equal(asAdmin.json().merchants.length, 1);
    t.type(asAdmin.json().next_cursor, 'string');
    const page2 = await app.inject({
      method: 'GET',
      url: `/v1/merchants?limit=1&cursor=${asAdmin.json().next_cursor}`,
      headers: { authorization: 'Bearer test-admin-token-0123456789' },
    });
    t.equal(page2.json().merchants.length, 1);
    t.not(page2.json().merchants[0].code, asAdmin.json().merchants[0].code);
    t.equal(page2.json().next_cursor, null);
    const bad = await app.inject({
      method: 'GET',
      url: '/v1/merchants?cursor=zzz',
      headers: s.merchant.auth,
    });
    t.equal(bad.statusCode, 400);
    t.equal(bad.json().error.details[0].path, 'query.cursor');
  });

  t.test("a merchant's credential on another merchant is 404", async (t) => {
    const r = await app.inject({
      method: 'POST',
      url: `/v1/merchants/${s.solo.code}/credentials`,
      headers: s.merchant.auth,
    });
    t.equal(r.statusCode, 404);
    t.equal(r.json().error.code, 'not_found');
    const missing = await app.inject({
      method: 'POST',
      url: '/v1/merchants/does-not-exist/credentials',
      headers: s.merchant.auth,
    });
    t.equal(missing.statusCode, 404);
    t.equal(missing.json().error.message, r.json().error.message.replace(s.solo.code, 'does-not-exist'));
    const whOnSolo = await app.inject({
      method: 'POST',
      url: `/v1/merchants/${s.solo.code}/credentials`,
      headers: s.warehouse.auth,
    });
    t.equal(whOnSolo.statusCode, 404, 'a warehouse cannot act on a merchant outside it');
  });

  t.test('credentials: create, list without keys, revoke', async (t) => {
    const created = await app.inject({
      method: 'POST',
      url: `/v1/merchants/${s.merchant.code}/credentials`,
      headers: s.warehouse.auth,
      payload: { label: 'shopify connector' },
    });
    t.equal(created.statusCode, 201);
    const cred = created.json();
    t.match(cred, { api_user: /^mc_/, api_key: String });
    t.ok(Buffer.from(cred.api_key, 'base64url').length >= 16, 'at least 128 random bits');
    const works = await app.inject({
      method: 'GET',
      url: '/v1/merchants',
      headers: basic(cred.api_user, cred.api_key),
    });
    t.equal(works.statusCode, 200);

    const list = await app.inject({ method: 'GET', url: '/v1/credentials', headers: s.warehouse.auth });
    t.equal(list.statusCode, 200);
    const users = list.json().credentials.map((c: { api_user: string }) => c.api_user);
    t.ok(users.includes(cred.api_user));
    t.ok(users.includes(s.warehouse.credential.api_user));
    t.notOk(users.includes(s.solo.credential.api_user), 'no credentials of other merchants');
    t.notMatch(list.body, cred.api_key);
    t.notMatch(list.body, /api_key|key_hash/);

    const soloCannot = await app.inject({
      method: 'DELETE',
      url: `/v1/credentials/${cred.api_user}`,
      headers: s.solo.auth,
    });
    t.equal(soloCannot.statusCode, 404);
    const revoke = await app.inject({
      method: 'DELETE',
      url: `/v1/credentials/${cred.api_user}`,
      headers: s.merchant.auth,
    });
    t.equal(revoke.statusCode, 204);
    const revoked = await app.inject({
      method: 'GET',
      url: '/v1/merchants',
      headers: basic(cred.api_user, cred.api_key),
    });
    t.equal(revoked.statusCode, 401, 'revoked credential is 401');
  });

  t.test('warehouse credentials', async (t) => {
    const r = await app.inject({
      method: 'POST',
      url: `/v1/warehouses/${s.warehouse.code}/credentials`,
      headers: s.warehouse.auth,
    });
    t.equal(r.statusCode, 201);
    t.match(r.json().api_user, /^wh_/);
    const asMerchant = await app.inject({
      method: 'POST',
      url: `/v1/warehouses/${s.warehouse.code}/credentials`,
      headers: s.merchant.auth,
    });
    t.equal(asMerchant.statusCode, 404);
  });

  t.test('merchant creation rules', async (t) => {
    const dup = await app.inject({
      method: 'POST',
      url: '/v1/merchants',
      headers: s.warehouse.auth,
      payload: { code: s.merchant.code, name: 'again' },
    });
    t.equal(dup.statusCode, 409);
    const bad = await app.inject({
      method: 'POST',
      url: '/v1/merchants',
      headers: s.warehouse.auth,
      payload: { code: 'has space', name: '' },
    });
    t.equal(bad.statusCode, 400);
    t.same(
      bad
        .json()
        .error.details.map((d: { path: string }) => d.path)
        .sort(),
      ['code', 'name'],
    );
    const byMerchant = await app.inject({
      method: 'POST',
      url: '/v1/merchants',
      headers: s.merchant.auth,
      payload: { code: 'zz', name: 'zz' },
    });
    t.equal(byMerchant.statusCode, 403);
    const otherWh = await app.inject({
      method: 'POST',
      url: '/v1/merchants',
      headers: s.warehouse.auth,
      payload: { code: 'zz', name: 'zz', warehouse: 'other' },
    });
    t.equal(otherWh.statusCode, 400);
    t.equal(otherWh.json().error.details[0].path, 'warehouse');
  });

  t.test('secrets never appear in logs', async (t) => {
    for (const c of [s.warehouse.credential, s.merchant.credential, s.solo.credential]) {
      t.notOk(rawLogs().includes(c.api_key), 'api key not logged');
    }
    t.notOk(rawLogs().includes('test-admin-token-0123456789'), 'admin token not logged');
    t.notOk(
      rawLogs().includes(
        Buffer.from(`${s.merchant.credential.api_user}:${s.merchant.credential.api_key}`).toString('base64'),
      ),
    );
  });
});

t.test('admin routes say they are off when ADMIN_TOKEN is unset', async (t) => {
  const { app } = await buildTestApp(t, { ADMIN_TOKEN: undefined });
  for (const headers of [{ authorization: 'Bearer anything-goes-here' }, {}]) {
    const r = await app.inject({
      method: 'POST',
      url: '/v1/warehouses',
      headers,
      payload: { code: 'x', name: 'x' },
    });
    t.equal(r.statusCode, 403);
    t.equal(r.json().error.code, 'forbidden');
    t.equal(r.json().error.message, 'admin routes are off: ADMIN_TOKEN is not set on this server');
  }
  const bearer = await app.inject({
    method: 'GET',
    url: '/v1/merchants',
    headers: { authorization: 'Bearer anything-goes-here' },
  });
  t.equal(bearer.statusCode, 401);
  t.match(bearer.json().error.message, /ADMIN_TOKEN is not set/);
});
