import t from 'tap';
import { buildTestApp, seedAccounts } from '../helpers/app.js';
import { startSim } from '../helpers/shipstation-api-sim.js';
import { sourceTest } from './helpers.js';

t.test(
  'source routes: create, read, list, change, retire; the secret never answered or logged',
  async (t) => {
    const s = await sourceTest(t);
    const base = `/v1/merchants/${s.acc.merchant.code}/sources`;
    const auth = s.acc.merchant.auth;

    const bad = await s.app.inject({
      method: 'POST',
      url: base,
      headers: auth,
      payload: {
        type: 'shipstation',
        name: '',
        api_key: 'k',
        api_secret: 's',
        order_statuses: ['awaiting_shipment', 'lost'],
        tag: { mode: 'only', name: 'x' },
        poll_minutes: 2,
        earliest_order_date: '2026-12-01',
      },
    });
    t.equal(bad.statusCode, 400);
    const paths = bad.json().error.details.map((d: { path: string }) => d.path);
    for (const p of ['name', 'order_statuses[1]', 'tag.mode', 'poll_minutes', 'earliest_order_date'])
      t.ok(paths.includes(p), `names ${p}: ${JSON.stringify(paths)}`);

    const c = await s.app.inject({
      method: 'POST',
      url: base,
      headers: auth,
      payload: {
        type: 'shipstation',
        name: 'ss-main',
        api_key: s.sim.apiKey,
        api_secret: s.sim.apiSecret,
        tag: { mode: 'include', name: 'Warehouse' },
        store_id: 101,
        earliest_order_date: '2026-11-01T00:00:00-08:00',
      },
    });
    t.equal(c.statusCode, 201, c.body);
    const src = c.json().source;
    t.match(src, {
      type: 'shipstation',
      name: 'ss-main',
      merchant: s.acc.merchant.code,
      api_key: s.sim.apiKey,
      store_id: 101,
      order_statuses: ['awaiting_shipment'],
      tag: { mode: 'include', name: 'Warehouse' },
      poll_minutes: 15,
      earliest_order_date: '2026-11-01T08:00:00.000Z',
      enabled: true,
      health: { orders_taken: 0, open_alerts: 0 },
    });
    t.ok(src.health.next_pull_at, 'the first pull is scheduled');
    t.notMatch(c.body, s.sim.apiSecret, 'the secret is not answered');

    const row = await s.db.db
      .selectFrom('sources')
      .selectAll()
      .where('id', '=', src.id)
      .executeTakeFirstOrThrow();
    t.notMatch(row.api_secret.toString('latin1'), s.sim.apiSecret, 'stored encrypted');
    t.ok(row.api_secret_key_id, 'with the id of its key');
    const again = await s.app.inject({
      method: 'POST',
      url: base,
      headers: auth,
      payload: { type: 'shipstation', name: 'ss-main', api_key: 'k', api_secret: 'other-secret' },
    });
    t.equal(again.statusCode, 409, 'names are unique per merchant');

    const g = await s.app.inject({ method: 'GET', url: `${base}/${src.id}`, headers: auth });
    t.equal(g.statusCode, 200);
    t.notMatch(g.body, s.sim.apiSecret);
    const list = await s.app.inject({ method: 'GET', url: base, headers: s.acc.warehouse.auth });
    t.equal(list.json().sources.length, 1, 'the warehouse acts on its merchant');
    t.equal(
      (await s.app.inject({ method: 'GET', url: `${base}/${src.id}`, headers: s.acc.solo.auth })).statusCode,
      404,
      'another merchant gets 404',
    );

    const rename = await s.app.inject({
      method: 'PATCH',
      url: `${base}/${src.id}`,
      headers: auth,
      payload: { name: 'other' },
    });
    t.equal(rename.statusCode, 409);
    t.match(rename.json().error.details, [{ path: 'name' }]);
    const p = await s.app.inject({
      method: 'PATCH',
      url: `${base}/${src.id}`,
      headers: auth,
      payload: {
        tag: { mode: 'exclude', name: 'Dropship' },
        poll_minutes: 30,
        store_id: null,
        name: 'ss-main',
      },
    });
    t.equal(p.statusCode, 200, p.body);
    t.match(p.json().source, {
      tag: { mode: 'exclude', name: 'Dropship' },
      poll_minutes: 30,
      store_id: null,
    });

    const test = await s.app.inject({ method: 'POST', url: `${base}/${src.id}/test`, headers: auth });
    t.equal(test.statusCode, 200);
    t.match(test.json(), {
      ok: true,
      error: null,
      stores: [{ id: 101, name: 'Amazon US' }, { id: 102 }],
      tag_found: false,
    });

    const pull = await s.app.inject({ method: 'POST', url: `${base}/${src.id}/pull`, headers: auth });
    t.equal(pull.statusCode, 202);
    t.equal(pull.json().pull.source_id, src.id);

    // A wrong secret: the test says so, and nothing of it reaches the logs.
    const wrong = 'wrong-secret-never-logged-42';
    const w = await s.app.inject({
      method: 'PATCH',
      url: `${base}/${src.id}`,
      headers: auth,
      payload: { api_secret: wrong },
    });
    t.equal(w.statusCode, 200);
    t.notMatch(w.body, wrong);
    const failed = await s.app.inject({ method: 'POST', url: `${base}/${src.id}/test`, headers: auth });
    t.match(failed.json(), { ok: false, error: /401/ });
    t.notMatch(s.rawLogs(), wrong, 'the secret never appears in the logs');
    t.notMatch(s.rawLogs(), s.sim.apiSecret, 'nor the first one');

    const del = await s.app.inject({ method: 'DELETE', url: `${base}/${src.id}`, headers: auth });
    t.equal(del.statusCode, 204);
    t.equal((await s.app.inject({ method: 'GET', url: `${base}/${src.id}`, headers: auth })).statusCode, 404);
    t.equal((await s.app.inject({ method: 'GET', url: base, headers: auth })).json().sources.length, 0);
  },
);

t.test('on PostgreSQL a source needs SECRET_KEY from the environment', async (t) => {
  const sim = await startSim(t);
  const { app, db } = await buildTestApp(t, { SHIPSTATION_API_URL: sim.url });
  const acc = await seedAccounts(app, `sk${process.pid % 10000}`);
  const r = await app.inject({
    method: 'POST',
    url: `/v1/merchants/${acc.merchant.code}/sources`,
    headers: acc.merchant.auth,
    payload: { type: 'shipstation', name: 'ss', api_key: 'k', api_secret: 's' },
  });
  if (db.engine === 'postgres') {
    t.equal(r.statusCode, 409);
    t.match(r.json().error.message, /SECRET_KEY/);
  } else t.equal(r.statusCode, 201, 'the embedded database keeps its key beside it, not in it');
});

t.test('the ShipStation source type: what a form may offer is what the API does', async (t) => {
  const s = await sourceTest(t);
  const url = '/v1/source-types/shipstation';
  t.equal((await s.app.inject({ method: 'GET', url })).statusCode, 401, 'a credential is needed');
  const r = await s.app.inject({ method: 'GET', url, headers: s.acc.warehouse.auth });
  t.equal(r.statusCode, 200, r.body);
  const type = r.json();
  t.same(
    type,
    await (await s.app.inject({ method: 'GET', url, headers: s.acc.merchant.auth })).json(),
    'the same for every caller',
  );
  t.equal(type.type, 'shipstation');

  const plain = await s.createSource();
  t.same(
    plain.order_statuses,
    type.default_order_statuses,
    'a source made without statuses takes the default',
  );
  t.equal(plain.poll_minutes, type.poll_minutes.default, 'and the default poll interval');
  const every = await s.createSource({
    order_statuses: type.order_statuses,
    poll_minutes: type.poll_minutes.max,
  });
  t.same(every.order_statuses, type.order_statuses, 'every status offered is accepted');
  const base = `/v1/merchants/${s.acc.merchant.code}/sources/${every.id}`;
  for (const poll_minutes of [type.poll_minutes.min - 1, type.poll_minutes.max + 1]) {
    const p = await s.app.inject({
      method: 'PATCH',
      url: base,
      headers: s.acc.merchant.auth,
      payload: { poll_minutes },
    });
    t.equal(p.statusCode, 400, `poll_minutes ${poll_minutes} is outside the bounds answered`);
  }
  const other = await s.app.inject({
    method: 'PATCH',
    url: base,
    headers: s.acc.merchant.auth,
    payload: { order_statuses: ['awaiting_shipment', 'lost'] },
  });
  t.equal(other.statusCode, 400, 'a status not offered is refused');
  t.notOk(type.order_statuses.includes('lost'));
});
