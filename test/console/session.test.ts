import { sql } from 'kysely';
import t from 'tap';
import { ADMIN_TOKEN, buildTestApp, seedAccounts } from '../helpers/app.js';

type Injected = { headers: Record<string, string | string[] | number | undefined>; json(): unknown };

/** The session cookie's name=value pair and its Set-Cookie line. */
function sessionCookie(r: Injected): { pair: string; line: string } {
  const raw = r.headers['set-cookie'];
  const line = String(Array.isArray(raw) ? raw[0] : raw);
  return { pair: line.split(';')[0]!, line };
}

t.test('console sessions', async (t) => {
  const { app, db, rawLogs } = await buildTestApp(t, { AUTH_FAILURE_LIMIT: '3' });
  const s = await seedAccounts(app, 'cs');

  async function signIn(payload: Record<string, string>, ip = '198.51.100.7') {
    const r = await app.inject({
      method: 'POST',
      url: '/console/api/session',
      headers: { 'x-forwarded-for': ip },
      payload,
    });
    return r;
  }
  async function session(payload: Record<string, string>) {
    const r = await signIn(payload);
    if (r.statusCode !== 200) throw new Error(`sign-in: ${r.statusCode} ${r.body}`);
    const body = r.json() as { csrf_token: string; user: { kind: string } };
    const { pair, line } = sessionCookie(r);
    return { cookie: pair, line, csrf: body.csrf_token, body };
  }
  const api = (
    sess: { cookie: string; csrf: string },
    url: string,
    method: 'GET' | 'POST' | 'PATCH' = 'GET',
    payload?: Record<string, unknown>,
  ) =>
    app.inject({
      method,
      url,
      headers: { cookie: sess.cookie, 'x-csrf-token': sess.csrf },
      ...(payload ? { payload } : {}),
    });

  t.test('a credential signs in; the cookie is HttpOnly, SameSite=Strict, Secure', async (t) => {
    const sess = await session(s.warehouse.credential);
    t.match(sess.line, /^__Host-shipbridge_session=[A-Za-z0-9_-]{43};/);
    t.match(sess.line, /HttpOnly/);
    t.match(sess.line, /SameSite=Strict/);
    t.match(sess.line, /Secure/);
    t.match(sess.line, /Path=\//);
    t.same(sess.body.user, {
      kind: 'warehouse',
      name: s.warehouse.credential.api_user,
      merchant: null,
      warehouse: 'cs-3pl',
    });
    t.notOk(JSON.stringify(sess.body).includes(sess.cookie.split('=')[1]!), 'the id is never in the body');

    const r = await api(sess, '/v1/merchants');
    t.equal(r.statusCode, 200);
    t.same(
      (r.json() as { merchants: { code: string }[] }).merchants.map((m) => m.code),
      ['cs-m1'],
    );
    const again = await app.inject({
      method: 'GET',
      url: '/console/api/session',
      headers: { cookie: sess.cookie },
    });
    t.equal(again.statusCode, 200);
    t.equal((again.json() as { csrf_token: string }).csrf_token, sess.csrf);

    // Only the id's HMAC is stored.
    const id = sess.cookie.split('=')[1]!;
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from console_sessions where encode(id_hash, 'escape') like ${`%${id}%`}
        or encode(id_hash, 'base64') like ${`%${id}%`}`.execute(db.db);
    t.equal(rows[0]!.n, 0);
  });

  t.test('the cookie alone, or with a wrong CSRF token, is refused', async (t) => {
    const sess = await session(s.merchant.credential);
    const bare = await app.inject({ method: 'GET', url: '/v1/merchants', headers: { cookie: sess.cookie } });
    t.equal(bare.statusCode, 401);
    t.match((bare.json() as { error: { message: string } }).error.message, /x-csrf-token/);
    const other = await session(s.solo.credential);
    const crossed = await api({ cookie: sess.cookie, csrf: other.csrf }, '/v1/merchants');
    t.equal(crossed.statusCode, 401, "another session's token does not fit");
    const cors = await app.inject({
      method: 'OPTIONS',
      url: '/v1/merchants',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
    });
    t.notOk(cors.headers['access-control-allow-origin'], 'no CORS');
  });

  t.test('a merchant session sees its merchant only, and not admin routes', async (t) => {
    const sess = await session(s.merchant.credential);
    t.equal((await api(sess, '/v1/merchants/cs-m1/orders')).statusCode, 200);
    t.equal((await api(sess, '/v1/merchants/cs-solo/orders')).statusCode, 404);
    const admin = await app.inject({
      method: 'POST',
      url: '/v1/warehouses',
      headers: { cookie: sess.cookie, 'x-csrf-token': sess.csrf },
      payload: { code: 'nope', name: 'nope' },
    });
    t.equal(admin.statusCode, 403);
  });

  t.test('sign-out ends the session', async (t) => {
    const sess = await session(s.merchant.credential);
    const noToken = await app.inject({
      method: 'DELETE',
      url: '/console/api/session',
      headers: { cookie: sess.cookie },
    });
    t.equal(noToken.statusCode, 401, 'sign-out needs the CSRF token too');
    const out = await app.inject({
      method: 'DELETE',
      url: '/console/api/session',
      headers: { cookie: sess.cookie, 'x-csrf-token': sess.csrf },
    });
    t.equal(out.statusCode, 204);
    t.match(sessionCookie(out).line, /Expires=Thu, 01 Jan 1970/);
    t.equal((await api(sess, '/v1/merchants')).statusCode, 401);
    const read = await app.inject({
      method: 'GET',
      url: '/console/api/session',
      headers: { cookie: sess.cookie },
    });
    t.equal(read.statusCode, 401);
  });

  t.test("revoking the session's credential ends it", async (t) => {
    const cred = await app.inject({
      method: 'POST',
      url: '/v1/merchants/cs-m1/credentials',
      headers: s.warehouse.auth,
      payload: { label: 'console user' },
    });
    const sess = await session(cred.json() as { api_user: string; api_key: string });
    t.equal((await api(sess, '/v1/merchants')).statusCode, 200);
    const del = await app.inject({
      method: 'DELETE',
      url: `/v1/credentials/${(cred.json() as { api_user: string }).api_user}`,
      headers: s.warehouse.auth,
    });
    t.equal(del.statusCode, 204);
    t.equal((await api(sess, '/v1/merchants')).statusCode, 401);
  });

  t.test("a disabled merchant's sessions answer 401; its warehouse's do not", async (t) => {
    const cred = await app.inject({
      method: 'POST',
      url: '/v1/merchants/cs-m1/credentials',
      headers: s.warehouse.auth,
      payload: { label: 'console user' },
    });
    const sess = await session(cred.json() as { api_user: string; api_key: string });
    const wh = await session(s.warehouse.credential);
    const setDisabled = (disabled: boolean) =>
      api(wh, '/v1/merchants/cs-m1', 'PATCH', { disabled }).then((r) => r.statusCode);
    t.equal(await setDisabled(true), 200);
    t.equal((await api(sess, '/v1/merchants')).statusCode, 401);
    const read = await app.inject({
      method: 'GET',
      url: '/console/api/session',
      headers: { cookie: sess.cookie },
    });
    t.equal(read.statusCode, 401);
    t.equal(
      (await api(wh, '/v1/merchants/cs-m1')).statusCode,
      200,
      'the warehouse still acts on it, as over REST',
    );
    t.equal(await setDisabled(false), 200);
    t.equal((await api(sess, '/v1/merchants')).statusCode, 200, 'accepted again once enabled');
  });

  t.test('idle and absolute expiry', async (t) => {
    const idle = await session(s.merchant.credential);
    const max = await session(s.solo.credential);
    t.equal((await api(idle, '/v1/merchants')).statusCode, 200);
    const all = await db.db.selectFrom('console_sessions').select(['id_hash', 'credential_id']).execute();
    const idOfCred = async (apiUser: string) =>
      (
        await db.db
          .selectFrom('credentials')
          .select('id')
          .where('api_user', '=', apiUser)
          .executeTakeFirstOrThrow()
      ).id;
    const idleCred = await idOfCred(s.merchant.credential.api_user);
    const maxCred = await idOfCred(s.solo.credential.api_user);
    t.ok(all.length > 0);
    await sql`update console_sessions set last_seen_at = now() - interval '3 hours'
      where credential_id = ${idleCred}`.execute(db.db);
    await sql`update console_sessions set expires_at = now() - interval '1 second'
      where credential_id = ${maxCred}`.execute(db.db);
    t.equal((await api(idle, '/v1/merchants')).statusCode, 401, 'idle too long');
    t.equal((await api(max, '/v1/merchants')).statusCode, 401, 'past its absolute end');
  });

  t.test(
    'a session lives in the database: another instance serves it, and signing out there ends it',
    async (t) => {
      const sess = await session(s.merchant.credential);
      const other = await buildTestApp(t, {}, { db });
      const on = (a: typeof app) =>
        a
          .inject({
            method: 'GET',
            url: '/v1/merchants',
            headers: { cookie: sess.cookie, 'x-csrf-token': sess.csrf },
          })
          .then((r) => r.statusCode);
      t.equal(await on(other.app), 200, 'the other instance knows the session');
      const out = await other.app.inject({
        method: 'DELETE',
        url: '/console/api/session',
        headers: { cookie: sess.cookie, 'x-csrf-token': sess.csrf },
      });
      t.equal(out.statusCode, 204);
      t.equal(await on(app), 401, 'signed out everywhere');
    },
  );

  t.test('the admin token signs in; a changed ADMIN_TOKEN ends the session', async (t) => {
    const sess = await session({ admin_token: ADMIN_TOKEN });
    t.equal(sess.body.user.kind, 'admin');
    const wh = await app.inject({
      method: 'POST',
      url: '/v1/warehouses',
      headers: { cookie: sess.cookie, 'x-csrf-token': sess.csrf },
      payload: { code: 'cs-admin-made', name: 'Made in the console' },
    });
    t.equal(wh.statusCode, 201);
    const next = await buildTestApp(t, { ADMIN_TOKEN: 'another-admin-token-0123456789' }, { db });
    const r = await next.app.inject({
      method: 'GET',
      url: '/v1/merchants',
      headers: { cookie: sess.cookie, 'x-csrf-token': sess.csrf },
    });
    t.equal(r.statusCode, 401);
    const off = await buildTestApp(t, { ADMIN_TOKEN: undefined }, { db });
    const r2 = await off.app.inject({
      method: 'GET',
      url: '/v1/merchants',
      headers: { cookie: sess.cookie, 'x-csrf-token': sess.csrf },
    });
    t.equal(r2.statusCode, 401, 'admin routes off: admin sessions end too');
  });

  t.test('a bad sign-in names its field', async (t) => {
    const r = await signIn({ api_user: s.merchant.credential.api_user });
    t.equal(r.statusCode, 400);
    t.same((r.json() as { error: { details: unknown } }).error.details, [
      { path: 'api_key', message: 'enter your api_key' },
    ]);
    const wrong = await signIn(
      { api_user: s.merchant.credential.api_user, api_key: 'not-the-key' },
      '203.0.113.50',
    );
    t.equal(wrong.statusCode, 401);
    t.equal((wrong.json() as { error: { details: { path: string }[] } }).error.details[0]!.path, 'api_key');
    t.notOk(wrong.headers['set-cookie']);
  });

  t.test('failed sign-ins are limited per (user, address), like ShipStation logins', async (t) => {
    const user = s.solo.credential.api_user;
    const ip = '192.0.2.99';
    for (let i = 0; i < 3; i++) {
      t.equal((await signIn({ api_user: user, api_key: `wrong-${i}` }, ip)).statusCode, 401);
    }
    const blocked = await signIn(s.solo.credential, ip);
    t.equal(blocked.statusCode, 429, 'even the right key waits once the limit is reached');
    t.ok(Number(blocked.headers['retry-after']) > 0);
    t.equal(
      (await signIn(s.solo.credential, '192.0.2.100')).statusCode,
      200,
      'another address is not throttled',
    );
    t.equal((await signIn(s.merchant.credential, ip)).statusCode, 200, 'another user is not throttled');
    const admin = await signIn({ admin_token: 'wrong-admin-token-xxxxxxxx' }, ip);
    t.equal(admin.statusCode, 401);
    t.match(rawLogs(), /"where":"console".*"msg":"failed sign-in"/);
    t.notOk(rawLogs().includes('wrong-admin-token-xxxxxxxx'), 'never the secret in the logs');
    t.notOk(rawLogs().includes('wrong-1'), 'never the key in the logs');
  });

  t.test('the cookie lasts until the absolute end the answer names', async (t) => {
    const before = Date.now();
    const sess = await session(s.merchant.credential);
    const expires = new Date(/Expires=([^;]+)/.exec(sess.line)![1]!).getTime();
    const answered = new Date((sess.body as unknown as { expires_at: string }).expires_at).getTime();
    t.ok(Math.abs(expires - answered) < 1000, 'the cookie expires with the session');
    const hours = (answered - before) / 3600_000;
    t.ok(hours > 11.9 && hours < 12.1, `12 hours after sign-in (${hours.toFixed(3)})`);
  });

  t.test('using a session keeps it alive: the idle limit counts from the last use', async (t) => {
    const sess = await session(s.merchant.credential);
    const cred = await db.db
      .selectFrom('credentials')
      .select('id')
      .where('api_user', '=', s.merchant.credential.api_user)
      .executeTakeFirstOrThrow();
    // Every session of this credential one minute short of the idle limit.
    await sql`update console_sessions set last_seen_at = now() - interval '119 minutes'
      where credential_id = ${cred.id}`.execute(db.db);
    t.equal((await api(sess, '/v1/merchants')).statusCode, 200, 'still alive');
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from console_sessions
      where credential_id = ${cred.id} and last_seen_at > now() - interval '1 minute'`.execute(db.db);
    t.equal(rows[0]!.n, 1, 'the one used has its last use moved to now');
  });

  t.test("a disabled merchant's credential cannot sign in, and is not counted as a wrong key", async (t) => {
    const wh = await session(s.warehouse.credential);
    const setDisabled = (disabled: boolean) =>
      api(wh, '/v1/merchants/cs-m1', 'PATCH', { disabled }).then((r) => r.statusCode);
    t.equal(await setDisabled(true), 200);
    t.teardown(() => setDisabled(false));
    const ip = '198.51.100.77';
    for (let i = 0; i < 4; i++) {
      const r = await signIn(s.merchant.credential, ip);
      t.equal(r.statusCode, 401);
      t.match((r.json() as { error: { message: string } }).error.message, /disabled/);
      t.notOk(r.headers['set-cookie'], 'no session');
    }
    t.equal(await setDisabled(false), 200);
    t.equal((await signIn(s.merchant.credential, ip)).statusCode, 200, 'signs in once enabled');
  });

  t.test('wrong admin tokens are limited too', async (t) => {
    const ip = '192.0.2.150';
    for (let i = 0; i < 3; i++)
      t.equal((await signIn({ admin_token: `wrong-admin-token-${i}-xxxxxx` }, ip)).statusCode, 401);
    t.equal((await signIn({ admin_token: ADMIN_TOKEN }, ip)).statusCode, 429, 'even the right token waits');
    t.equal((await signIn({ admin_token: ADMIN_TOKEN }, '192.0.2.151')).statusCode, 200);
  });

  t.test('no CORS: no answer lets another origin read it', async (t) => {
    const origin = 'https://evil.example';
    const sess = await session(s.merchant.credential);
    const answers = [
      await app.inject({
        method: 'GET',
        url: '/v1/merchants',
        headers: { origin, cookie: sess.cookie, 'x-csrf-token': sess.csrf },
      }),
      await app.inject({
        method: 'GET',
        url: '/console/api/session',
        headers: { origin, cookie: sess.cookie },
      }),
      await app.inject({ method: 'GET', url: '/console', headers: { origin } }),
      await app.inject({
        method: 'OPTIONS',
        url: '/console/api/session',
        headers: { origin, 'access-control-request-method': 'POST' },
      }),
      await app.inject({
        method: 'OPTIONS',
        url: '/v1/merchants/cs-m1/orders',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'x-csrf-token',
        },
      }),
    ];
    t.same(
      answers.slice(0, 3).map((r) => r.statusCode),
      [200, 200, 200],
    );
    for (const r of answers) {
      const cors = Object.keys(r.headers).filter((h) => h.startsWith('access-control-'));
      t.same(cors, [], `${r.statusCode}: no access-control-* header`);
    }
  });

  t.test('the console page: strict headers, no inline script', async (t) => {
    const page = await app.inject({ method: 'GET', url: '/console' });
    t.equal(page.statusCode, 200);
    t.match(page.headers['content-type'], /text\/html/);
    const csp = String(page.headers['content-security-policy']);
    t.match(csp, /script-src 'self'/);
    t.match(csp, /frame-ancestors 'none'/);
    t.notOk(csp.includes('unsafe-inline'));
    t.notOk(csp.includes('unsafe-eval'));
    t.equal(page.headers['x-content-type-options'], 'nosniff');
    t.notOk(/<script(?![^>]*\bsrc=)[^>]*>/i.test(page.body), 'every script tag has a src');
    const vendor = await app.inject({ method: 'GET', url: '/console/vendor/preact-htm.js' });
    t.equal(vendor.statusCode, 200);
    t.match(vendor.headers['content-type'], /javascript/);
    t.match(vendor.body, /export\s*\{/);
  });
});

t.test('without https, the cookie is not Secure', async (t) => {
  const { app } = await buildTestApp(t, { PUBLIC_URL: 'http://localhost:3000' });
  const s = await seedAccounts(app, 'ch');
  const r = await app.inject({ method: 'POST', url: '/console/api/session', payload: s.merchant.credential });
  t.equal(r.statusCode, 200);
  const { line } = sessionCookie(r);
  t.match(line, /^shipbridge_session=/);
  t.notMatch(line, /Secure/);
  t.match(line, /HttpOnly/);
});
