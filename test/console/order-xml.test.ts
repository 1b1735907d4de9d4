import t from 'tap';
import { buildTestApp, seedAccounts } from '../helpers/app.js';
import { api, sampleOrder } from '../orders/fixtures.js';

/** ShipStation's date format for an export window, in UTC. */
const ssDate = (d: Date) => {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}`;
};
const orderElement = (xml: string) => /<Order>[\s\S]*<\/Order>/.exec(xml)?.[0];

t.test("an order's XML is what the store's export serves", async (t) => {
  const { app } = await buildTestApp(t);
  const s = await seedAccounts(app, 'ox');
  const orders = api(app, s.merchant);

  const unrouted = await orders.post(sampleOrder(1));
  t.equal(unrouted.statusCode, 201);
  const before = await app.inject({
    method: 'GET',
    url: `${orders.base}/${unrouted.json().id}/xml`,
    headers: s.merchant.auth,
  });
  t.equal(before.statusCode, 409, 'unrouted: no store exports it');
  t.match(before.json().error.message, /unrouted/);

  const store = await app.inject({
    method: 'POST',
    url: `/v1/merchants/${s.merchant.code}/stores`,
    headers: s.merchant.auth,
    payload: { name: 'Main', order_number_prefix: 'BB-' },
  });
  t.equal(store.statusCode, 201);
  const ss = store.json().shipstation as { username: string; password: string };
  const read = await app.inject({
    method: 'GET',
    url: `/v1/merchants/${s.merchant.code}/stores/${store.json().store.id}`,
    headers: s.merchant.auth,
  });
  const { password: _shownOnce, ...form } = store.json().shipstation;
  t.same(
    read.json().shipstation,
    form,
    "reading a store answers ShipStation's form values again, all but the password",
  );
  t.notOk('password' in read.json().shipstation);
  const id = unrouted.json().id as number;
  const url = `${orders.base}/${id}/xml`;

  const preview = await app.inject({ method: 'GET', url, headers: s.merchant.auth });
  t.equal(preview.statusCode, 200);
  t.match(preview.headers['content-type'], /application\/xml/);
  t.match(preview.body, /^<\?xml version="1.0" encoding="utf-8"\?>/);
  t.match(preview.body, /<OrderNumber><!\[CDATA\[BB-SO-1\]\]><\/OrderNumber>/);
  t.match(preview.body, /<OrderStatus><!\[CDATA\[at_wms\]\]><\/OrderStatus>/, 'served as at_wms');
  t.equal((await orders.get(id)).json().status, 'new', 'reading the XML changes nothing');

  const now = new Date();
  const auth = `Basic ${Buffer.from(`${ss.username}:${ss.password}`).toString('base64')}`;
  const exported = await app.inject({
    method: 'GET',
    url: `/shipstation?action=export&start_date=${encodeURIComponent(ssDate(new Date(now.getTime() - 3600_000)))}&end_date=${encodeURIComponent(ssDate(new Date(now.getTime() + 120_000)))}&page=1`,
    headers: { authorization: auth },
  });
  t.equal(exported.statusCode, 200);
  t.equal(orderElement(preview.body), orderElement(exported.body), 'the same <Order> as the export page');
  const after = await app.inject({ method: 'GET', url, headers: s.merchant.auth });
  t.equal(orderElement(after.body), orderElement(exported.body), 'and after it was served');

  const other = await app.inject({
    method: 'GET',
    url: `/v1/merchants/${s.solo.code}/orders/${id}/xml`,
    headers: s.solo.auth,
  });
  t.equal(other.statusCode, 404, "another merchant's order is not found");
});
