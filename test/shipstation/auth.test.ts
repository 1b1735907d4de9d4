import { request } from 'node:http';
import { sql } from 'kysely';
import t, { type Test } from 'tap';
import { buildTestApp, seedAccounts } from '../helpers/app.js';
import {
  basicHeader,
  exportCall,
  listen,
  merchantId,
  parseOrders,
  seedOrder,
  seedStore,
  ssDate,
} from './seed.js';

const START = '01/10/2026 09:00';
const END = '01/10/2026 11:00';

t.test('ShipStation endpoint authentication', async (t) => {
  const { app, db, rawLogs, logs } = await buildTestApp(t, {
    AUTH_FAILURE_LIMIT: '3',
    AUTH_FAILURE_WINDOW_SECONDS: '300',
  });
  const s = await seedAccounts(app);
  const m = await merchantId(db.db, s.merchant.code);
  const store = await seedStore(db.db, m);
  const other = await seedStore(db.db, m);
  const orderId = await seedOrder(db.db, m, { store: store.id, lastModified: '2026-01-10T10:00:00Z' });
  const base = await listen(app);
  const url = (extra = '') =>
    `${base}/shipstation?action=export&start_date=${ssDate(START)}&end_date=${ssDate(END)}${extra}`;

  const expectXmlError = (
    t: Test,
    r: { status: number; headers: Headers; body: string },
    status: number,
    code: string,
  ) => {
    t.equal(r.status, status);
    t.equal(r.headers.get('content-type'), 'text/xml; charset=utf-8');
    t.match(r.body, /^<\?xml version="1.0" encoding="utf-8"\?>/);
    t.match(r.body, new RegExp(`<Error><Code>${code}</Code><Message>[^<]{10,}</Message></Error>`));
  };

  t.test('FM8: 401 with WWW-Authenticate, never an empty 200', async (t) => {
    const wrong = await exportCall(base, { ...store, password: 'not-the-password' }, START, END, 1);
    expectXmlError(t, wrong, 401, 'unauthorized');
    t.equal(wrong.headers.get('www-authenticate'), 'Basic realm="shipbridge"');
    t.match(wrong.body, /password/);

    const unknown = await exportCall(base, { username: 'nobody-here', password: 'x' }, START, END, 1);
    expectXmlError(t, unknown, 401, 'unauthorized');
    t.equal(unknown.body, wrong.body, 'an unknown user answers exactly like a wrong password');

    const none = await fetch(url());
    const noneBody = await none.text();
    expectXmlError(t, { status: none.status, headers: none.headers, body: noneBody }, 401, 'unauthorized');
    t.equal(none.headers.get('www-authenticate'), 'Basic realm="shipbridge"');
    t.match(noneBody, /SS-UserName/, 'says how to send credentials');

    const malformed = await fetch(url(), { headers: { authorization: 'Basic !!!not-base64' } });
    t.equal(malformed.status, 401);
  });

  t.test('FM8: Basic header and SS-UserName/SS-Password query parameters both work', async (t) => {
    const header = await exportCall(base, store, START, END, 1, 'header');
    t.equal(header.status, 200);
    t.same(parseOrders(header.body).ids, [orderId]);
    const query = await exportCall(base, store, START, END, 1, 'query');
    t.equal(query.status, 200);
    t.same(parseOrders(query.body).ids, [orderId]);

    const variant = await fetch(
      url(
        `&SS-Username=${encodeURIComponent(store.username)}&SS-Password=${encodeURIComponent(store.password)}`,
      ),
    );
    t.equal(variant.status, 200, 'the SS-Username spelling is accepted');

    const headerFirst = await fetch(url('&SS-UserName=nobody&SS-Password=wrong'), {
      headers: { authorization: basicHeader(store.username, store.password) },
    });
    t.equal(headerFirst.status, 200, 'the header is used first, whatever the query says');

    const otherStore = await exportCall(base, other, START, END, 1);
    t.equal(otherStore.status, 200);
    t.same(parseOrders(otherStore.body).ids, [], "another store's credentials select that store's orders");
  });

  t.test('request log names the store; secrets never reach the logs', async (t) => {
    const line = logs.filter((l) => l.msg === 'request' && String(l.url).startsWith('/shipstation')).at(-1);
    t.ok(line);
    t.equal(line?.store, other.id);
    t.equal(line?.merchant, m);
    const raw = rawLogs();
    for (const st of [store, other]) {
      t.notOk(raw.includes(st.password), 'the password never appears');
      t.notOk(raw.includes(basicHeader(st.username, st.password).slice(6)), 'nor the Basic credentials');
      t.notOk(raw.includes(encodeURIComponent(st.password)), 'nor the form-encoded password');
    }
    t.match(raw, /SS-Password=\[REDACTED\]/);
  });

  t.test('failed attempts are limited per (username, address), never per address alone', async (t) => {
    const from = (ip: string, user: string, pass: string) =>
      fetch(url(), { headers: { authorization: basicHeader(user, pass), 'x-forwarded-for': ip } });
    for (let i = 0; i < 3; i++) t.equal((await from('10.0.0.1', store.username, 'wrong')).status, 401);
    const locked = await from('10.0.0.1', store.username, store.password);
    const lockedBody = await locked.text();
    expectXmlError(
      t,
      { status: locked.status, headers: locked.headers, body: lockedBody },
      429,
      'rate_limited',
    );
    t.ok(Number(locked.headers.get('retry-after')) >= 1, 'Retry-After in seconds');
    t.ok(Number(locked.headers.get('retry-after')) <= 300);
    t.match(lockedBody, /wait \d+ seconds/);

    t.equal(
      (await from('10.0.0.1', other.username, other.password)).status,
      200,
      'another tenant on the address',
    );
    t.equal(
      (await from('10.0.0.2', store.username, store.password)).status,
      200,
      'same user, another address',
    );

    const row = await db.db
      .selectFrom('auth_failures')
      .selectAll()
      .where('username', '=', store.username)
      .where('client', '=', '10.0.0.1')
      .executeTakeFirstOrThrow();
    t.equal(row.failures, 3, 'kept in PostgreSQL, so every instance agrees');

    await sql`update auth_failures set window_start = now() - interval '301 seconds'
      where username = ${store.username}`.execute(db.db);
    t.equal(
      (await from('10.0.0.1', store.username, store.password)).status,
      200,
      'allowed once the window passed',
    );
    t.equal(
      (
        await db.db
          .selectFrom('auth_failures')
          .select('failures')
          .where('username', '=', store.username)
          .execute()
      ).length,
      0,
      'a success resets the pair',
    );

    for (let i = 0; i < 2; i++) await from('10.0.0.3', store.username, 'wrong');
    t.equal((await from('10.0.0.3', store.username, store.password)).status, 200);
    for (let i = 0; i < 2; i++) t.equal((await from('10.0.0.3', store.username, 'wrong')).status, 401);
    t.equal(
      (await from('10.0.0.3', store.username, store.password)).status,
      200,
      'the count restarted at the success',
    );
  });

  t.test('a second instance on the same database sees the same failure count', async (t) => {
    const second = await buildTestApp(t, { AUTH_FAILURE_LIMIT: '3' }, { db });
    const base2 = await listen(second.app);
    const from = (b: string, pass: string) =>
      fetch(`${b}/shipstation?action=export&start_date=${ssDate(START)}&end_date=${ssDate(END)}`, {
        headers: { authorization: basicHeader(other.username, pass), 'x-forwarded-for': '10.9.9.9' },
      });
    await from(base, 'wrong');
    await from(base2, 'wrong');
    await from(base, 'wrong');
    t.equal((await from(base2, other.password)).status, 429);
  });

  t.test('a retired store still authenticates and serves its pinned orders', async (t) => {
    const retiring = await seedStore(db.db, m);
    const pinned = await seedOrder(db.db, m, {
      store: retiring.id,
      served: true,
      status: 'at_wms',
      lastModified: '2026-01-10T10:30:00Z',
    });
    await sql`update stores set retired_at = now() where id = ${retiring.id}`.execute(db.db);
    const r = await exportCall(base, retiring, START, END, 1);
    t.equal(r.status, 200);
    t.same(parseOrders(r.body).ids, [pinned]);
  });

  t.test('FM9: routed on the raw action parameter; other actions are XML errors', async (t) => {
    const auth = { authorization: basicHeader(store.username, store.password) };
    const noAction = await fetch(`${base}/shipstation?start_date=${ssDate(START)}&end_date=${ssDate(END)}`, {
      headers: auth,
    });
    expectXmlError(
      t,
      { status: noAction.status, headers: noAction.headers, body: await noAction.text() },
      400,
      'invalid_request',
    );
    const weird = await fetch(`${base}/shipstation?action=EXPORT`, { headers: auth });
    const weirdBody = await weird.text();
    expectXmlError(
      t,
      { status: weird.status, headers: weird.headers, body: weirdBody },
      400,
      'invalid_request',
    );
    t.match(weirdBody, /action=export/);
    const getNotify = await fetch(`${base}/shipstation?action=shipnotify`, { headers: auth });
    t.equal(getNotify.status, 400);
    t.match(await getNotify.text(), /POST/);
    const postExport = await fetch(`${base}/shipstation?action=export`, {
      method: 'POST',
      headers: auth,
      body: 'x',
    });
    t.equal(postExport.status, 400);
    t.match(await postExport.text(), /GET/);
    const unauth = await fetch(`${base}/shipstation?action=nothing`);
    t.equal(unauth.status, 401, 'authentication comes first');
  });

  t.test(
    'shipnotify: any content type (or none) reaches the notice handler; 1 MB limit is an XML 413',
    async (t) => {
      const auth = { authorization: basicHeader(store.username, store.password) };
      const target = `${base}/shipstation?action=shipnotify&order_number=NOPE&carrier=UPS&service=&tracking_number=1Z`;
      for (const type of [
        'application/xml',
        'text/xml; charset=utf-8',
        'application/x-www-form-urlencoded',
        'application/json',
        undefined,
      ]) {
        const headers: Record<string, string> = { ...auth };
        if (type) headers['content-type'] = type;
        const r = await fetch(target, {
          method: 'POST',
          headers,
          body: '<ShipNotice><OrderNumber>NOPE</OrderNumber></ShipNotice>',
        });
        t.not(r.status, 401, `content type ${type ?? '(none)'}`);
        t.not(r.status, 415);
        t.equal(r.headers.get('content-type'), 'text/xml; charset=utf-8');
        t.match(await r.text(), /^<\?xml/);
      }
      // fetch always labels a string body: send one with no Content-Type header at all.
      const bare = await new Promise<{ status: number; type: string | undefined }>((resolve, reject) => {
        const req = request(
          target,
          { method: 'POST', headers: { ...auth, 'content-length': '11' } },
          (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'] }));
          },
        );
        req.on('error', reject);
        req.end('<ShipNotice');
      });
      t.not(bare.status, 415, 'no Content-Type at all is read too');
      t.not(bare.status, 401);
      t.equal(bare.type, 'text/xml; charset=utf-8');
      const big = await fetch(target, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/xml' },
        body: `<ShipNotice>${'x'.repeat(1024 * 1024 + 10)}</ShipNotice>`,
      });
      expectXmlError(
        t,
        { status: big.status, headers: big.headers, body: await big.text() },
        413,
        'payload_too_large',
      );
    },
  );

  t.test('bad export parameters are 400 XML errors naming the parameter', async (t) => {
    const auth = { authorization: basicHeader(store.username, store.password) };
    const get = async (q: string) => {
      const r = await fetch(`${base}/shipstation?action=export${q}`, { headers: auth });
      return { status: r.status, headers: r.headers, body: await r.text() };
    };
    const cases: [string, RegExp][] = [
      [`&start_date=yesterday&end_date=${ssDate(END)}`, /start_date/],
      [`&start_date=${ssDate(START)}&end_date=13%2f45%2f2026+10%3a00`, /end_date/],
      [`&end_date=${ssDate(END)}`, /start_date/],
      [`&start_date=${ssDate(END)}&end_date=${ssDate(START)}`, /start_date .*after end_date/],
      [`&start_date=${ssDate(START)}&end_date=${ssDate(END)}&page=0`, /page/],
      [`&start_date=${ssDate(START)}&end_date=${ssDate(END)}&page=1.5`, /page/],
      [`&start_date=${ssDate(START)}&end_date=${ssDate(END)}&page=-1`, /page/],
      [`&start_date=${ssDate(START)}&end_date=${ssDate(END)}&page=two`, /page/],
    ];
    for (const [q, re] of cases) {
      const r = await get(q);
      expectXmlError(t, r, 400, 'invalid_request');
      t.match(r.body, re, q);
    }
  });
});
