import t from 'tap';
import { redactUrl } from '../../src/lib/logger.js';
import { ADMIN_TOKEN, buildTestApp, seedAccounts } from '../helpers/app.js';
import { rawConnect } from '../helpers/raw-http.js';
import { basicHeader, listen, merchantId, seedStore } from '../shipstation/seed.js';

t.test('redactUrl masks secret parameters by their decoded name', async (t) => {
  const cases: [string, string][] = [
    ['/s?a=1&SS-Password=pw1&b=2', '/s?a=1&SS-Password=[REDACTED]&b=2'],
    ['/s?SS%2DPassword=pw2', '/s?SS%2DPassword=[REDACTED]'],
    ['/s?%53S-Password=pw3', '/s?%53S-Password=[REDACTED]'],
    ['/s?%73%73%2d%70%61%73%73%77%6f%72%64=pw4#frag', '/s?%73%73%2d%70%61%73%73%77%6f%72%64=[REDACTED]#frag'],
    ['/s?sS-pAsSwOrD=pw5&SS-Password=pw6', '/s?sS-pAsSwOrD=[REDACTED]&SS-Password=[REDACTED]'],
    ['/s?x=1&api_key=k&token=t', '/s?x=1&api_key=[REDACTED]&token=[REDACTED]'],
    ['/s?SS-UserName=u&bad=%E0%A4%A', '/s?SS-UserName=u&bad=%E0%A4%A'],
    // A store password pasted into the username field: dropped like the username of a failed sign-in.
    [
      '/s?SS-UserName=Zm9vYmFyYmF6cXV1eDEyMzQ1Njc4OTA&SS-Password=x',
      '/s?SS-UserName=[REDACTED]&SS-Password=[REDACTED]',
    ],
    ['/s?ss%2Dusername=Zm9vYmFyYmF6cXV1eDEyMzQ1Njc4OTA', '/s?ss%2Dusername=[REDACTED]'],
    ['/s?SS-UserName=ss_abcdefghijkm', '/s?SS-UserName=ss_abcdefghijkm'],
    ['/plain', '/plain'],
  ];
  for (const [url, want] of cases) t.equal(redactUrl(url), want, url);
});

t.test('transport hardening', async (t) => {
  const { app, db, logs, rawLogs } = await buildTestApp(t);
  const s = await seedAccounts(app, 'hard');
  const m = await merchantId(db.db, s.merchant.code);
  const store = await seedStore(db.db, m);

  t.test('a percent-encoded password parameter name never brings the password to the log', async (t) => {
    const variants = ['SS%2DPassword', '%53S-Password', 'ss-%50ASSWORD'];
    for (const [i, name] of variants.entries()) {
      const id = `redact-${i}`;
      await app.inject({
        method: 'GET',
        url: `/shipstation?action=export&SS-UserName=${store.username}&${name}=${store.password}`,
        headers: { 'x-request-id': id },
      });
      const line = logs.find((l) => l.reqId === id && l.msg === 'request');
      t.ok(line, `request line for ${name}`);
      t.notMatch(String(line?.url), store.password, name);
    }
    t.notOk(rawLogs().includes(store.password), 'the password is nowhere in the log');
  });

  t.test('a URL logged in any field is redacted', async (t) => {
    app.log.info({
      url: `/x?SS%2dPassword=${store.password}`,
      req: { url: `/y?password=${store.password}` },
    });
    t.notOk(rawLogs().includes(store.password));
    t.match(rawLogs(), /"url":"\/y\?password=\[REDACTED\]"/);
  });

  t.test('x-request-id is echoed only when it is short and plain; otherwise a fresh id', async (t) => {
    const bad = ['<script>alert(1)</script>', 'x'.repeat(8000), 'a b', 'é', ''];
    for (const given of bad) {
      const r = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': given } });
      const id = String(r.headers['x-request-id']);
      t.match(id, /^[0-9a-f-]{36}$/, `fresh id instead of ${given.slice(0, 20)}`);
      const line = logs.find((l) => l.reqId === id && l.msg === 'request');
      t.ok(line, 'the log line carries the fresh id');
    }
    t.notOk(rawLogs().includes('<script>'), 'the refused id never reaches the log');
    t.notOk(rawLogs().includes('x'.repeat(200)));
    const ok = await app.inject({
      method: 'GET',
      url: '/healthz',
      headers: { 'x-request-id': 'trace-1.2:3_4' },
    });
    t.equal(ok.headers['x-request-id'], 'trace-1.2:3_4');
    const long = 'a'.repeat(128);
    const r128 = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': long } });
    t.equal(r128.headers['x-request-id'], long, '128 characters is the limit');
  });

  const base = await listen(app);
  const port = Number(new URL(base).port);

  t.test('/shipstation answers 401 before reading the body, and closes the connection', async (t) => {
    const c = await rawConnect(port);
    c.write(
      'POST /shipstation?action=shipnotify HTTP/1.1\r\nHost: localhost\r\n' +
        'Content-Type: text/xml\r\nContent-Length: 100000\r\n\r\n<ShipNotice>',
    );
    const r = await c.response();
    t.equal(r.status, 401, 'answered while 99 988 bytes of the body are still to come');
    t.equal(r.headers.connection, 'close');
    t.match(r.body, /<Code>unauthorized<\/Code>/);
    await c.closed;
    t.pass('the server closed the connection');

    const wrong = await rawConnect(port);
    wrong.write(
      'POST /shipstation?action=shipnotify HTTP/1.1\r\nHost: localhost\r\n' +
        `Authorization: ${basicHeader(store.username, 'wrong-password')}\r\n` +
        'Content-Length: 100000\r\n\r\n',
    );
    t.equal((await wrong.response()).status, 401, 'a wrong password too');
    await wrong.closed;
  });

  t.test('a notice still posts with its body once authenticated', async (t) => {
    const r = await fetch(`${base}/shipstation?action=shipnotify&order_number=NOPE-1`, {
      method: 'POST',
      headers: { authorization: basicHeader(store.username, store.password), 'content-type': 'text/xml' },
      body: '<ShipNotice><OrderNumber>NOPE-1</OrderNumber></ShipNotice>',
    });
    t.equal(r.status, 404, 'authenticated, read and stored as unmatched');
    t.match(await r.text(), /stored as notice \d+/);
  });

  t.test('an entity-heavy notice is refused with an XML error, and still stored', async (t) => {
    const body = `<ShipNotice><OrderNumber>ENT-1</OrderNumber><CustomerNotes>${'&amp;'.repeat(200_000)}</CustomerNotes></ShipNotice>`;
    const r = await fetch(`${base}/shipstation?action=shipnotify`, {
      method: 'POST',
      headers: { authorization: basicHeader(store.username, store.password), 'content-type': 'text/xml' },
      body,
    });
    const xml = await r.text();
    t.equal(r.status, 400);
    t.match(xml, /<Code>invalid_request<\/Code><Message>[^<]*more than 2000 entity or character references/);
    const id = Number(/stored as notice (\d+)/.exec(xml)?.[1]);
    const row = await db.db
      .selectFrom('ship_notices')
      .select(['status', 'reason', 'body'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    t.equal(row.status, 'unmatched');
    t.match(row.reason, /more than 2000/);
    t.equal(row.body, body, 'the raw notice is kept as it came');
  });

  t.test('security headers on every answer', async (t) => {
    const answers = [
      await app.inject({ method: 'GET', url: '/healthz' }),
      await app.inject({ method: 'GET', url: '/v1/nothing' }),
      await app.inject({ method: 'GET', url: '/v1/merchants' }),
      await app.inject({ method: 'GET', url: '/shipstation?action=export' }),
      await app.inject({ method: 'GET', url: '/docs/' }),
    ];
    for (const r of answers) {
      t.equal(r.headers['x-content-type-options'], 'nosniff', `${r.statusCode}`);
      t.equal(r.headers['x-frame-options'], 'DENY');
      t.match(r.headers['content-security-policy'], /frame-ancestors 'none'/);
      t.match(r.headers['strict-transport-security'], /max-age=\d+/, 'PUBLIC_URL is https');
    }
    const docs = answers[4]!;
    t.match(docs.headers['content-security-policy'], /script-src 'self'/, 'swagger-ui loads its own scripts');
    t.match(docs.headers['content-security-policy'], /img-src 'self' data:/);
    t.match(docs.body, /<script src="[^"]+swagger-ui-bundle\.js"/, 'and has no inline script to block');
  });

  t.test('414 for a URL over 8 KB, in the error shape', async (t) => {
    const r = await fetch(`${base}/v1/merchants?q=${'x'.repeat(9000)}`);
    t.equal(r.status, 414);
    t.same(Object.keys(((await r.json()) as { error: object }).error), ['code', 'message']);
    t.equal(r.headers.get('x-content-type-options'), 'nosniff');
  });

  t.test('431 for a request head over 16 KB, in the error shape, with the headers', async (t) => {
    const c = await rawConnect(port);
    c.write(`GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'b'.repeat(20000)}\r\n\r\n`);
    const r = await c.response();
    t.equal(r.status, 431);
    t.match(r.headers['content-type'], /^application\/json/);
    t.match(JSON.parse(r.body), { error: { code: 'headers_too_large', message: /16 KB/ } });
    t.equal(r.headers['x-content-type-options'], 'nosniff');
    t.equal(r.headers['x-frame-options'], 'DENY');
    await c.closed;
  });
});

t.test('no HSTS when PUBLIC_URL is http', async (t) => {
  const { app } = await buildTestApp(t, { PUBLIC_URL: 'http://shipbridge.internal' });
  const r = await app.inject({ method: 'GET', url: '/healthz' });
  t.equal(r.headers['strict-transport-security'], undefined);
  t.equal(r.headers['x-content-type-options'], 'nosniff');
});

t.test(
  'a request whose head or body does not arrive in time gets 408 and its connection closed',
  async (t) => {
    const { app } = await buildTestApp(t, { REQUEST_TIMEOUT_MS: '1500', HEADERS_TIMEOUT_MS: '1000' });
    const port = Number(new URL(await listen(app)).port);

    const slowHead = await rawConnect(port);
    slowHead.write('GET /healthz HTTP/1.1\r\nHost: local');
    const a = await slowHead.response();
    t.equal(a.status, 408);
    t.match(JSON.parse(a.body), { error: { code: 'request_timeout' } });
    await slowHead.closed;

    const slowBody = await rawConnect(port);
    slowBody.write(
      `POST /v1/warehouses HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"code":',
    );
    const b = await slowBody.response();
    t.equal(b.status, 408);
    t.match(JSON.parse(b.body), { error: { code: 'request_timeout' } });
    await slowBody.closed;
  },
);
