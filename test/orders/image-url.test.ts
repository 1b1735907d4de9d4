import t from 'tap';
import { buildTestApp, seedAccounts } from '../helpers/app.js';
import { api, sampleOrder } from './fixtures.js';

// The ShipStation export can only carry an absolute http(s) URL: anything else is refused at the
// door rather than stored and silently left out of the export.
t.test('POST refuses an image_url the export could not carry, naming the item', async (t) => {
  const { app } = await buildTestApp(t);
  const s = await seedAccounts(app);
  const o = api(app, s.merchant);
  const items = (image_url: string) => [
    { name: 'Mug', quantity: 1, unit_price: 5 },
    { name: 'Cup', quantity: 1, unit_price: 5, image_url },
  ];
  for (const bad of [
    '/img/cup.png',
    'img.example.com/cup.png',
    'ftp://img.example.com/cup.png',
    'javascript:alert(1)',
    'https://img.example.com/a cup.png',
    'https://img.example.com/"cup".png',
  ]) {
    const r = await o.post(sampleOrder('img-bad', { items: items(bad) }));
    t.equal(r.statusCode, 400, bad);
    t.same(
      r.json().error.details.map((d: { path: string }) => d.path),
      ['items[1].image_url'],
      bad,
    );
    t.match(r.json().error.details[0].message, /http/);
  }
  t.equal((await o.list()).json().orders.length, 0, 'nothing stored');

  const ok = await o.post(
    sampleOrder('img-ok', { items: items('  https://img.example.com/cup%20a.png?s=2#x  ') }),
  );
  t.equal(ok.statusCode, 201, ok.body);
  t.equal(ok.json().items[1].image_url, 'https://img.example.com/cup%20a.png?s=2#x');
  const empty = await o.post(sampleOrder('img-empty', { items: items('') }));
  t.equal(empty.statusCode, 201, 'empty still means none');
  t.equal(empty.json().items[1].image_url, null);
});
