import type { InjectOptions } from 'fastify';
import { sql } from 'kysely';
import t from 'tap';
import { basic, buildTestApp, seedAccounts } from '../helpers/app.js';
import { createStore } from '../shipments/helpers.js';

/**
 * The log lines operators rely on: failed sign-ins at every door (REST API, console sign-in,
 * ShipStation's Custom Store calls) at `warn` with the client address and the username tried, cut
 * or dropped, never the secret; 5xx at `error`; the error code on every error line.
 */

type Attempt = (username: string, secret: string, ip: string) => Promise<{ statusCode: number }>;

t.test('failed sign-ins at every door', async (t) => {
  const { app, logs, rawLogs } = await buildTestApp(t);
  const acc = await seedAccounts(app, 'lg');
  await createStore(app, acc.merchant);

  const doors: [string, 'api' | 'console' | 'shipstation', Attempt][] = [
    [
      'REST API (Basic)',
      'api',
      (u, s, ip) =>
        app.inject({
          method: 'GET',
          url: '/v1/merchants',
          headers: { ...basic(u, s), 'x-forwarded-for': ip },
        }),
    ],
    [
      "REST API, an operator's route",
      'api',
      (u, s, ip) =>
        app.inject({
          method: 'GET',
          url: '/v1/warehouses',
          headers: { ...basic(u, s), 'x-forwarded-for': ip },
        }),
    ],
    [
      'console sign-in',
      'console',
      (u, s, ip) =>
        app.inject({
          method: 'POST',
          url: '/console/api/session',
          headers: { 'x-forwarded-for': ip },
          payload: { api_user: u, api_key: s },
        }),
    ],
    [
      'ShipStation Custom Store (Basic)',
      'shipstation',
      (u, s, ip) =>
        app.inject({
          method: 'GET',
          url: '/shipstation?action=export',
          headers: { ...basic(u, s), 'x-forwarded-for': ip },
        }),
    ],
    [
      'ShipStation Custom Store (SS-UserName, SS-Password)',
      'shipstation',
      (u, s, ip) =>
        app.inject({
          method: 'GET',
          url: `/shipstation?${new URLSearchParams({ action: 'export', 'SS-UserName': u, 'SS-Password': s })}`,
          headers: { 'x-forwarded-for': ip },
        }),
    ],
  ];
  const long = 'warehouse manager '.repeat(8).trim();
  const pasted = 'Zm9vYmFyYmF6cXV1eDEyMzQ1Njc4OTA';
  const usernames: [string, string, string | undefined][] = [
    ['the username tried', 'mc_typo', 'mc_typo'],
    ['a long username, cut to 64 characters', long, `${long.slice(0, 64)}…`],
    ['a username that looks like a key, dropped', pasted, '[dropped: looks like a secret]'],
  ];
  const secrets: string[] = [];
  let n = 0;
  for (const [door, where, attempt] of doors) {
    t.test(door, async (t) => {
      for (const [what, username, logged] of usernames) {
        n++;
        const ip = `203.0.113.${n}`;
        const secret = `the-secret-${n}-${where}`;
        secrets.push(secret);
        const before = logs.length;
        const r = await attempt(username, secret, ip);
        t.equal(r.statusCode, 401, what);
        const line = logs.slice(before).find((l) => l.msg === 'failed sign-in');
        t.match(
          line,
          { level: 40, where, client: ip, username: logged, code: 'unauthorized' },
          `${what}: at warn, with the address`,
        );
      }
    });
  }
  t.test('never the secret, nor a username that looks like one', async (t) => {
    const raw = rawLogs();
    t.ok(secrets.length >= 15);
    for (const s of secrets) t.notOk(raw.includes(s), `${s} is nowhere in the logs`);
    t.notOk(raw.includes(pasted), 'the pasted key is nowhere, not even in a logged URL');
  });
  t.test('a blocked console sign-in is a failed sign-in too', async (t) => {
    const { app, logs } = await buildTestApp(t, { AUTH_FAILURE_LIMIT: '1' });
    const signIn = () =>
      app.inject({
        method: 'POST',
        url: '/console/api/session',
        headers: { 'x-forwarded-for': '198.51.100.9' },
        payload: { api_user: 'mc_someone', api_key: 'wrong-key-here' },
      });
    t.equal((await signIn()).statusCode, 401);
    t.equal((await signIn()).statusCode, 429);
    const blocked = logs.find((l) => l.msg === 'failed sign-in' && l.reason === 'too many failures');
    t.match(blocked, { level: 40, where: 'console', client: '198.51.100.9', username: 'mc_someone' });
  });
});

t.test('5xx at error, and every error line carries its code', async (t) => {
  const { app, db, logs } = await buildTestApp(t, { METRICS_TOKEN: 'metrics-token-0123456789' });
  const acc = await seedAccounts(app, 'le');
  const store = await createStore(app, acc.merchant);
  const admin = { authorization: `Bearer ${'test-admin-token-0123456789'}` };

  // One of each failure, at each door; the code each answer's body names.
  const failures: { name: string; req: InjectOptions; status: number }[] = [
    {
      name: 'bad input',
      req: { method: 'POST', url: '/v1/warehouses', headers: admin, payload: { code: '' } },
      status: 400,
    },
    { name: 'no credentials', req: { method: 'GET', url: '/v1/merchants' }, status: 401 },
    {
      name: 'not allowed',
      req: { method: 'GET', url: '/v1/warehouses', headers: acc.merchant.auth },
      status: 403,
    },
    {
      name: 'no such merchant',
      req: { method: 'GET', url: '/v1/merchants/nobody', headers: admin },
      status: 404,
    },
    { name: 'no such route', req: { method: 'GET', url: '/v1/nowhere', headers: admin }, status: 404 },
    { name: 'HEAD of no route', req: { method: 'HEAD', url: '/nowhere' }, status: 404 },
    {
      name: 'a code taken',
      req: {
        method: 'POST',
        url: '/v1/warehouses',
        headers: admin,
        payload: { code: 'le-3pl', name: 'again' },
      },
      status: 409,
    },
    {
      name: 'not JSON',
      req: {
        method: 'POST',
        url: '/v1/warehouses',
        headers: { ...admin, 'content-type': 'text/plain' },
        payload: 'x',
      },
      status: 415,
    },
    { name: 'metrics without the token', req: { method: 'GET', url: '/metrics' }, status: 401 },
    { name: 'console: not signed in', req: { method: 'GET', url: '/console/api/session' }, status: 401 },
    {
      name: 'console: missing fields',
      req: { method: 'POST', url: '/console/api/session', payload: {} },
      status: 400,
    },
    {
      name: 'ShipStation: unknown action',
      req: { method: 'GET', url: '/shipstation?action=frobnicate', headers: store.auth },
      status: 400,
    },
    {
      name: 'ShipStation: no credentials',
      req: { method: 'GET', url: '/shipstation?action=export' },
      status: 401,
    },
  ];
  for (const f of failures) {
    const before = logs.length;
    const r = await app.inject(f.req);
    t.equal(r.statusCode, f.status, `${f.name}: ${r.body.slice(0, 200)}`);
    const line = logs.slice(before).find((l) => l.msg === 'request');
    t.equal(line?.status, f.status, f.name);
    t.equal(line?.level, 30, `${f.name}: a 4xx is the request's own story, at info`);
    t.match(line?.code, /^[a-z_]+$/, `${f.name}: the line carries its code`);
    if (r.body) {
      const named = /"code":"([a-z_]+)"|<Code>([a-z_]+)<\/Code>/.exec(r.body);
      t.equal(line?.code, named?.[1] ?? named?.[2], `${f.name}: the code the answer names`);
    }
  }

  // Genuine internal errors at the REST API and at the ShipStation endpoint: a broken table.
  await sql`alter table stores rename to stores_away`.execute(db.db);
  let rest: number;
  let ss: number;
  try {
    rest = (
      await app.inject({
        method: 'GET',
        url: `/v1/merchants/${acc.merchant.code}/stores`,
        headers: acc.merchant.auth,
      })
    ).statusCode;
    ss = (await app.inject({ method: 'GET', url: '/shipstation?action=export', headers: store.auth }))
      .statusCode;
  } finally {
    await sql`alter table stores_away rename to stores`.execute(db.db);
  }
  t.equal(rest, 500);
  t.equal(ss, 500);
  const fiveHundreds = logs.filter((l) => l.msg === 'request' && l.status === 500);
  t.equal(fiveHundreds.length, 2);
  for (const l of fiveHundreds)
    t.match(l, { level: 50, code: 'internal' }, `${String(l.url)}: at error, with its code`);

  const errorLines = logs.filter((l) => Number(l.level) >= 50);
  t.ok(errorLines.length >= 4, 'the 500s and the errors behind them');
  t.same(
    errorLines.filter((l) => typeof l.code !== 'string').map((l) => l.msg),
    [],
    'every line at error carries a code',
  );
  t.same(
    logs
      .filter((l) => l.msg === 'request' && Number(l.status) >= 400 && typeof l.code !== 'string')
      .map((l) => l.url),
    [],
    'every failed request line carries a code',
  );
});
