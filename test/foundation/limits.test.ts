import t from 'tap';
import { MAX_DEPTH, MAX_ELEMENTS, MAX_KEYS, scanJson } from '../../src/http/input.js';
import { parseOrder } from '../../src/orders/schema.js';
import { buildTestApp, seedAccounts } from '../helpers/app.js';
import { sampleOrder } from '../orders/fixtures.js';

/** `{"k0":1,"k1":1,…}`; a million keys make 8.5 MB. */
const objectOfKeys = (n: number, prefix = 'k') =>
  `{${Array.from({ length: n }, (_, i) => `"${prefix}${i.toString(36)}":1`).join(',')}}`;

t.test('the JSON scan refuses structure no route takes where it meets it', async (t) => {
  const million = objectOfKeys(1_000_000);
  const r = scanJson(million);
  t.equal(r.ok, false);
  if (!r.ok) {
    t.equal(r.detail.path, '(root)');
    t.match(r.detail.message, `more than ${MAX_KEYS} fields`);
    t.ok(r.scanned < 10_000, `stopped after ${r.scanned} of ${million.length} characters`);
  }
  const longArray = JSON.stringify({ orders: [{}, { items: new Array(MAX_ELEMENTS + 1).fill(0) }] });
  const a = scanJson(longArray);
  t.same(a.ok ? undefined : a.detail.path, 'orders[1].items');
  let deep = 'null';
  for (let i = 0; i < 100_000; i++) deep = `[${deep}]`;
  const d = scanJson(deep);
  t.equal(d.ok, false);
  if (!d.ok) t.ok(d.scanned <= MAX_DEPTH, 'stops at the first level too deep');
  t.same(scanJson(JSON.stringify({ a: '[[[[{{{{"', b: 'x\\"]]]' })), { ok: true, suspect: false }, 'strings');
  t.same(scanJson(JSON.stringify({ a: 'x\u0000' })), { ok: true, suspect: true });
  t.same(scanJson(JSON.stringify({ orders: [sampleOrder(1)] })), { ok: true, suspect: false });
  t.same(scanJson(objectOfKeys(MAX_KEYS)), { ok: true, suspect: false }, 'up to the limit is fine');
});

t.test('order validation stops early instead of checking every junk item', async (t) => {
  // Items that count how many of them the validator opened.
  const opened = new Set<number>();
  const items = Array.from(
    { length: 1000 },
    (_, i) =>
      new Proxy(
        {},
        {
          get: (target, key) => {
            opened.add(i);
            return Reflect.get(target, key);
          },
          ownKeys: (target) => {
            opened.add(i);
            return Reflect.ownKeys(target);
          },
        },
      ),
  );
  const r = parseOrder({ ...sampleOrder(1), items }, 'create');
  t.equal(r.ok, false);
  if (r.ok) return;
  t.equal(r.details.length, 100, 'the first 100 errors');
  t.match(r.message, /errors found before checking stopped; the first 100 are listed/);
  t.ok(opened.size < 50, `${opened.size} of 1000 items opened`);
});

t.test('every field error of an order in one answer', async (t) => {
  const order = sampleOrder(1, {
    order_date: 'yesterday',
    ship_to: { name: 'Jane', street1: '1 Main', city: 'X', country: 'Atlantis' },
    items: [{ name: 'Mug', quantity: 0, unit_price: '1.00' }],
  });
  const r = parseOrder(order, 'create');
  t.equal(r.ok, false);
  if (!r.ok) {
    t.same(r.details.map((d) => d.path).sort(), ['items[0].quantity', 'order_date', 'ship_to.country']);
  }
});

t.test('over HTTP', async (t) => {
  const { app } = await buildTestApp(t);
  const s = await seedAccounts(app, 'lim');
  const json = { ...s.merchant.auth, 'content-type': 'application/json' };
  const orders = `/v1/merchants/${s.merchant.code}/orders`;

  t.test('a million unknown keys: a short 400', async (t) => {
    const r = await app.inject({
      method: 'POST',
      url: orders,
      headers: json,
      payload: objectOfKeys(1_000_000),
    });
    t.equal(r.statusCode, 400);
    t.ok(r.body.length < 1000, `${r.body.length} bytes`);
    t.same(r.json().error.details, [
      { path: '(root)', message: `has more than ${MAX_KEYS} fields; no request takes that many` },
    ]);
    const h = await app.inject({ method: 'GET', url: '/healthz' });
    t.equal(h.statusCode, 200);
  });

  t.test('unknown keys within the limit: the first 100 and how many there are', async (t) => {
    const body = { ...sampleOrder('many'), ...JSON.parse(objectOfKeys(150)) };
    const r = await app.inject({ method: 'POST', url: orders, headers: json, payload: JSON.stringify(body) });
    t.equal(r.statusCode, 400);
    t.equal(r.json().error.details.length, 100);
    t.match(r.json().error.message, /^invalid order \(150 errors.*; the first 100 are listed\)$/);
    t.same(r.json().error.details[0], { path: 'k0', message: 'unknown field' });
    const store = await app.inject({
      method: 'POST',
      url: `/v1/merchants/${s.merchant.code}/stores`,
      headers: json,
      payload: JSON.stringify({ name: 'x', ...JSON.parse(objectOfKeys(150)) }),
    });
    t.equal(store.statusCode, 400);
    t.equal(store.json().error.details.length, 100);
    t.equal(store.json().error.message, 'invalid body (150 errors; the first 100 are listed)');
    t.same(store.json().error.details[0], r.json().error.details[0], 'the same shape on every route');
  });

  t.test('a batch of 500 orders of unknown keys: at most 1000 details in all', async (t) => {
    const junk = JSON.parse(objectOfKeys(150, 'x'));
    const batch = { orders: Array.from({ length: 500 }, (_, i) => ({ ...sampleOrder(`b${i}`), ...junk })) };
    const r = await app.inject({
      method: 'POST',
      url: orders,
      headers: json,
      payload: JSON.stringify(batch),
    });
    t.equal(r.statusCode, 200);
    const results = r.json().results as { result: string; error: { details: unknown[] } }[];
    t.equal(results.length, 500);
    t.ok(results.every((x) => x.result === 'invalid'));
    const total = results.reduce((n, x) => n + x.error.details.length, 0);
    t.ok(total <= 1000 + 500, `${total} details`);
    t.ok(results.every((x) => x.error.details.length >= 1 && x.error.details.length <= 100));
  });

  t.test('JSON sent as text/plain is 415, like no content type', async (t) => {
    for (const type of ['text/plain', 'text/plain; charset=utf-8', undefined]) {
      const r = await app.inject({
        method: 'POST',
        url: orders,
        headers: { ...s.merchant.auth, ...(type ? { 'content-type': type } : {}) },
        payload: JSON.stringify(sampleOrder('plain')),
      });
      t.equal(r.statusCode, 415, String(type));
      t.equal(r.json().error.code, 'unsupported_media_type');
    }
  });

  t.test('an order answers every field error at once', async (t) => {
    const r = await app.inject({
      method: 'POST',
      url: orders,
      headers: json,
      payload: JSON.stringify(
        sampleOrder('all', {
          ship_to: { name: 'Jane', street1: '1 Main', city: 'X', state: 'Nowhere', country: 'US' },
          items: [{ name: 'Mug', quantity: 1, unit_price: 'free' }],
          colour: 'red',
        }),
      ),
    });
    t.equal(r.statusCode, 400);
    t.same(
      r
        .json()
        .error.details.map((d: { path: string }) => d.path)
        .sort(),
      ['colour', 'items[0].unit_price', 'ship_to.state'],
    );
  });
});
