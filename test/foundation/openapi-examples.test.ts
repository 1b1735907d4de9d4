import t from 'tap';
import { buildTestApp, seedAccounts } from '../helpers/app.js';

interface Operation {
  requestBody?: { content: Record<string, { examples?: Record<string, { value: unknown }> }> };
}

/**
 * Every request body example in /docs posts as shown: sent in document order with the admin token,
 * path parameters filled from what the earlier examples created.
 */
t.test('the request body examples of the OpenAPI document work as shown', async (t) => {
  const { app, admin } = await buildTestApp(t);
  const s = await seedAccounts(app, 'ex');
  const doc = app.swagger() as { paths: Record<string, Record<string, Operation>> };
  const params: Record<string, string> = {
    merchant: s.merchant.code,
    warehouse: s.warehouse.code,
    notice: '999999',
  };
  // What each example must answer; anything else must at least not be a 400 (bad input).
  const expected: Record<string, number> = {
    'POST /v1/warehouses': 201,
    'POST /v1/merchants': 201,
    'POST /v1/merchants/{merchant}/credentials': 201,
    'POST /v1/warehouses/{warehouse}/credentials': 201,
    'POST /v1/merchants/{merchant}/stores': 201,
    'PATCH /v1/merchants/{merchant}/stores/{store}': 200,
    'PUT /v1/merchants/{merchant}/orders/{order}': 200,
    'POST /v1/merchants/{merchant}/orders/{order}/hold': 200,
    'POST /v1/merchants/{merchant}/orders/{order}/release': 200,
    'POST /v1/merchants/{merchant}/orders/{order}/cancel': 200,
    'POST /v1/merchants/{merchant}/shipments/confirm': 200,
    'POST /v1/merchants/{merchant}/shipnotices/{notice}/apply': 404,
  };
  // Lifecycle examples act on the order the create example made, in this order.
  const order = ['put', 'pay', 'hold', 'release', 'cancel'];
  const ops = Object.entries(doc.paths)
    .flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })))
    .filter(({ op }) => op.requestBody?.content['application/json']?.examples)
    .sort((a, b) => {
      const rank = (p: string, m: string) =>
        p.includes('{order}') ? 1 + order.indexOf(m === 'put' ? 'put' : p.split('/').at(-1)!) : 0;
      return rank(a.path, a.method) - rank(b.path, b.method);
    });
  t.ok(ops.length >= 14, 'every body route has examples');
  for (const { path, method, op } of ops) {
    const key = `${method.toUpperCase()} ${path}`;
    for (const [name, example] of Object.entries(op.requestBody!.content['application/json']!.examples!)) {
      const url = path.replace(/\{(\w+)\}/g, (_, p: string) => params[p] ?? `{${p}}`);
      const r = await app.inject({
        method: method.toUpperCase() as 'POST',
        url,
        headers: admin,
        payload: example.value as object,
      });
      t.not(r.statusCode, 400, `${key} (${name}): ${r.body.slice(0, 300)}`);
      t.ok(r.statusCode < 500, `${key} (${name})`);
      if (expected[key] !== undefined)
        t.equal(r.statusCode, expected[key], `${key} (${name}): ${r.body.slice(0, 200)}`);
      if (key === 'POST /v1/merchants/{merchant}/stores') params.store = String(r.json().store.id);
      if (key === 'POST /v1/merchants/{merchant}/orders') {
        t.ok(r.statusCode === 201 || r.statusCode === 200, `${key} (${name}) stored`);
        if (name === 'order') params.order = String(r.json().id);
        else
          t.ok(
            r.json().results.every((x: { result: string }) => x.result === 'created'),
            'batch all created',
          );
      }
    }
  }
});
