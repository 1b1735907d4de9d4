import t from 'tap';
import { buildTestApp, seedAccounts } from '../helpers/app.js';
import { validateOrdersXml } from '../helpers/xsd.js';
import { api, sampleOrder } from '../orders/fixtures.js';
import { exportCall, fmtUtc, listen, parseOrders } from './seed.js';

/** The export end to end through the real APIs: stores and orders created as merchants do. */
t.test('export through the real store and order APIs', async (t) => {
  const { app } = await buildTestApp(t);
  const s = await seedAccounts(app);
  const base = await listen(app);
  const o = api(app, s.merchant);

  const created = await app.inject({
    method: 'POST',
    url: `/v1/merchants/${s.merchant.code}/stores`,
    headers: s.merchant.auth,
    payload: { name: 'Main', page_size: 2, order_number_prefix: 'M-' },
  });
  t.equal(created.statusCode, 201, created.body);
  const { store, shipstation } = created.json() as {
    store: { id: number };
    shipstation: { url: string; username: string; password: string };
  };
  t.equal(shipstation.url, 'https://shipbridge.example.com/shipstation');
  const creds = { username: shipstation.username, password: shipstation.password };

  const ids: number[] = [];
  for (const [i, status] of (['new', 'await_payment', 'on_hold'] as const).entries()) {
    const r = await o.post({ ...sampleOrder(`api-${i}`), status });
    t.equal(r.statusCode, 201, r.body);
    ids.push(r.json().id);
  }
  const before = await Promise.all(ids.map(async (id) => (await o.get(id)).json()));

  const now = new Date();
  const start = fmtUtc(new Date(now.getTime() - 5 * 60_000));
  const end = fmtUtc(new Date(now.getTime() + 60_000));
  const p1 = await exportCall(base, creds, start, end, 1);
  const p2 = await exportCall(base, creds, start, end, 2, 'query');
  for (const p of [p1, p2]) {
    t.equal(p.status, 200, p.body);
    const v = await validateOrdersXml(p.body);
    t.ok(v.valid, v.errors.join('; '));
  }
  const got = [...parseOrders(p1.body).ids, ...parseOrders(p2.body).ids];
  t.same(got, ids, 'every status, in (last_modified, id) order, over two pages');
  t.equal(parseOrders(p1.body).pages, 2);
  t.match(p1.body, /<OrderNumber><!\[CDATA\[M-SO-api-0\]\]><\/OrderNumber>/);
  t.match(p1.body, /<State><!\[CDATA\[IL\]\]><\/State>/);
  t.match(p1.body, /<Country>(<!\[CDATA\[)?US(\]\]>)?<\/Country>/);

  const after = await Promise.all(ids.map(async (id) => (await o.get(id)).json()));
  t.same(
    after.map((a) => [a.routing.store_id, a.routing.served_store_id]),
    ids.map(() => [store.id, store.id]),
    'routed by the routing API to this store, and pinned to it by the export',
  );
  t.same(
    after.map((a) => a.status),
    ['at_wms', 'await_payment', 'on_hold'],
  );
  t.same(
    after.map((a) => a.last_modified),
    before.map((b) => b.last_modified),
    'FM3: exporting never moves LastModified (as the API reports it)',
  );
  const events = (await o.events(ids[0]!)).json().events as { type: string; actor_type: string }[];
  t.ok(events.some((e) => e.type === 'exported' && e.actor_type === 'store'));

  // FM10: a cancel through the API moves last_modified: the next window carries the canceled status.
  const cancel = await o.act(ids[1]!, 'cancel');
  t.equal(cancel.statusCode, 200);
  const later = await exportCall(base, creds, start, fmtUtc(new Date(Date.now() + 60_000)), 1);
  const laterAll = [later, await exportCall(base, creds, start, fmtUtc(new Date(Date.now() + 60_000)), 2)];
  const statuses = new Map<number, string>();
  for (const p of laterAll) {
    const parsed = parseOrders(p.body);
    for (const [i, id] of parsed.ids.entries()) statuses.set(id, parsed.statuses[i]!);
  }
  t.equal(statuses.get(ids[1]!), 'canceled', 'FM10: canceled orders still exported');
});
