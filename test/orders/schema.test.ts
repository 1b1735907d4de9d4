import fc from 'fast-check';
import t from 'tap';
import { countryCode, inferCountry, regionCode } from '../../src/orders/address.js';
import { canonicalJson, contentHash, sameJson } from '../../src/orders/content.js';
import { parseOrder } from '../../src/orders/schema.js';
import { sampleOrder } from './fixtures.js';

type Obj = Record<string, unknown>;

function ok(input: unknown) {
  const r = parseOrder(input, 'create');
  if (!r.ok) throw new Error(`expected valid: ${JSON.stringify(r.details)}`);
  return r.value;
}

/** Parses and returns the error paths. */
function paths(input: unknown, prefix: (string | number)[] = []): string[] {
  const r = parseOrder(input, 'create', prefix);
  return r.ok ? [] : r.details.map((d) => d.path);
}

const withItem = (item: Obj) => {
  const o = sampleOrder(1);
  const items = o.items as Obj[];
  return { ...o, items: [{ ...items[0], ...item }, items[1]] };
};
const withShipTo = (addr: Obj) => ({
  ...sampleOrder(1),
  ship_to: { ...(sampleOrder(1).ship_to as Obj), ...addr },
});

t.test('the sample normalises', async (t) => {
  const p = ok(sampleOrder(7));
  t.equal(p.status, 'new');
  const o = p.order;
  t.equal(o.order_source, 'api', 'order_source defaults to api');
  t.equal(o.order_date, '2026-11-20T09:15:00.000Z', 'order_date in UTC');
  t.equal(o.currency, 'USD', 'currency upper-cased');
  t.equal(o.ship_to.country, 'US', 'country name converted');
  t.equal(o.ship_to.state, 'IL', 'state name converted');
  t.equal(o.tax_amount, '1.50');
  t.equal(o.shipping_amount, '4.00');
  t.equal(o.items[0]!.unit_price, '10.25');
  t.equal(o.items[0]!.weight, '4.00');
  t.equal(o.order_total, '31.00', '2×10.25 + 5 + 1.50 + 4.00');
  t.same(o.bill_to, {
    name: null,
    company: null,
    street1: null,
    street2: null,
    street3: null,
    city: null,
    state: null,
    postal_code: null,
    country: null,
    phone: null,
    email: null,
  });
  t.equal(o.gift, false);
  t.same(o.custom_fields, []);
  t.equal(o.items[1]!.weight, null, 'absent values are null');
  t.equal(o.items[1]!.adjustment, false);
});

t.test('order_total: given wins; computed includes adjustments, tax and shipping', async (t) => {
  t.equal(ok({ ...sampleOrder(1), order_total: '99.9' }).order.order_total, '99.90');
  const withAdj = {
    ...sampleOrder(1),
    tax_amount: null,
    shipping_amount: null,
    items: [
      { name: 'A', quantity: 3, unit_price: '0.10' },
      { name: 'Coupon', quantity: 1, unit_price: -0.05, adjustment: true },
    ],
  };
  t.equal(ok(withAdj).order.order_total, '0.25', 'exact: 3×0.10 − 0.05');
  const big = { ...sampleOrder(1), items: [{ name: 'A', quantity: 99999, unit_price: 9999999.99 }] };
  t.same(paths(big), ['order_total'], 'computed total beyond decimal(9,2)');
  t.equal(ok({ ...big, order_total: 1 }).order.order_total, '1.00');
});

t.test('money', async (t) => {
  for (const good of [5, '5', '5.1', '5.10', 0.1, '-0', '+3.5', ' 7.25 ', 9999999.99, '-9999999.99']) {
    t.ok(ok({ ...sampleOrder(1), order_total: 0, tax_amount: good }), `accepts ${JSON.stringify(good)}`);
  }
  t.equal(ok({ ...sampleOrder(1), tax_amount: '-0' }).order.tax_amount, '0.00');
  for (const bad of ['5.123', 1.005, 'abc', '', '1e3', 1e21, '10000000', 10000000.0, true, [], {}, '1,5']) {
    t.same(paths({ ...sampleOrder(1), tax_amount: bad }), ['tax_amount'], `refuses ${JSON.stringify(bad)}`);
  }
  for (const field of ['order_total', 'shipping_amount', 'amount_paid']) {
    t.same(paths({ ...sampleOrder(1), [field]: '1.001' }), [field]);
  }
  t.same(paths(withItem({ unit_price: '1.001' })), ['items[0].unit_price']);
  t.same(paths(withItem({ unit_price: undefined })), ['items[0].unit_price'], 'unit_price is required');
  t.same(paths(withItem({ unit_price: -1 })), ['items[0].unit_price'], 'negative only on adjustments');
  t.same(
    paths(withItem({ unit_price: 1, adjustment: true })),
    ['items[0].unit_price'],
    'adjustment must be ≤ 0',
  );
  t.ok(ok(withItem({ unit_price: 0, adjustment: true })), 'a zero adjustment is fine');
});

t.test('lengths are counted in code points and refused at the door', async (t) => {
  const s = (n: number, ch = 'a') => ch.repeat(n);
  const emoji = (n: number) => '😀'.repeat(n); // 2 UTF-16 units each
  t.ok(ok({ ...sampleOrder(1), order_number: emoji(50) }), '50 emoji is 50 characters');
  const cases: [string, Obj, string][] = [
    ['order_number', { ...sampleOrder(1), order_number: s(51) }, 'order_number'],
    ['order_source', { ...sampleOrder(1), order_source: emoji(51) }, 'order_source'],
    ['payment_method', { ...sampleOrder(1), payment_method: s(51) }, 'payment_method'],
    ['shipping_method', { ...sampleOrder(1), shipping_method: s(101) }, 'shipping_method'],
    ['requested_warehouse', { ...sampleOrder(1), requested_warehouse: s(101) }, 'requested_warehouse'],
    ['customer_notes', { ...sampleOrder(1), customer_notes: s(1001) }, 'customer_notes'],
    ['internal_notes', { ...sampleOrder(1), internal_notes: s(1001) }, 'internal_notes'],
    ['gift_message', { ...sampleOrder(1), gift_message: s(1001) }, 'gift_message'],
    ['custom field', { ...sampleOrder(1), custom_fields: ['a', s(101)] }, 'custom_fields[1]'],
    ['tag', { ...sampleOrder(1), tags: [s(101)] }, 'tags[0]'],
    ['customer code', { ...sampleOrder(1), customer: { code: s(101) } }, 'customer.code'],
    ['customer email', { ...sampleOrder(1), customer: { email: s(101) } }, 'customer.email'],
    ['ship_to name', withShipTo({ name: s(101) }), 'ship_to.name'],
    ['ship_to company', withShipTo({ company: s(101) }), 'ship_to.company'],
    ['ship_to street1', withShipTo({ street1: s(201) }), 'ship_to.street1'],
    ['ship_to street2', withShipTo({ street2: s(201) }), 'ship_to.street2'],
    ['ship_to street3', withShipTo({ street3: s(201) }), 'ship_to.street3'],
    ['ship_to city', withShipTo({ city: s(101) }), 'ship_to.city'],
    ['ship_to postal_code', withShipTo({ postal_code: s(51) }), 'ship_to.postal_code'],
    ['ship_to phone', withShipTo({ phone: s(51) }), 'ship_to.phone'],
    ['ship_to email', withShipTo({ email: s(101) }), 'ship_to.email'],
    [
      'bill_to state',
      { ...sampleOrder(1), bill_to: { name: 'x', country: 'DE', state: s(101) } },
      'bill_to.state',
    ],
    ['line_id', withItem({ line_id: s(51) }), 'items[0].line_id'],
    ['sku', withItem({ sku: s(101) }), 'items[0].sku'],
    ['item name', withItem({ name: s(201) }), 'items[0].name'],
    ['location', withItem({ location: s(101) }), 'items[0].location'],
    ['upc', withItem({ upc: s(13) }), 'items[0].upc'],
    ['image_url', withItem({ image_url: `https://x/${s(500)}` }), 'items[0].image_url'],
    ['option name', withItem({ options: [{ name: s(101), value: 'v' }] }), 'items[0].options[0].name'],
    ['option value', withItem({ options: [{ name: 'n', value: s(101) }] }), 'items[0].options[0].value'],
  ];
  for (const [what, input, path] of cases) t.same(paths(input), [path], what);
  // exactly at the limit is fine
  t.ok(ok({ ...withItem({ name: s(200), sku: s(100), line_id: s(50) }), customer_notes: s(1000) }));
  const opts = Array.from({ length: 101 }, (_, i) => ({ name: `n${i}`, value: 'v' }));
  t.same(paths(withItem({ options: opts })), ['items[0].options']);
  t.ok(ok(withItem({ options: opts.slice(0, 100) })), '100 options are fine');
  t.same(paths({ ...sampleOrder(1), custom_fields: ['a', 'b', 'c', 'd'] }), ['custom_fields']);
  t.same(paths({ ...sampleOrder(1), order_source: '' }), ['order_source'], 'order_source 1–50');
  t.same(paths({ ...sampleOrder(1), order_number: '  ' }), ['order_number'], 'blank order_number');
});

t.test('quantities', async (t) => {
  for (const q of [0, -1, 1.5, 100000, '2', null]) {
    t.same(paths(withItem({ quantity: q })), ['items[0].quantity'], `refuses ${JSON.stringify(q)}`);
  }
  t.equal(ok(withItem({ quantity: 99999 })).order.items[0]!.quantity, 99999);
  t.same(paths(withItem({ quantity: 0 }), ['orders', 3]), ['orders[3].items[0].quantity'], 'batch prefix');
});

t.test('countries and states', async (t) => {
  t.equal(countryCode('de'), 'DE');
  t.equal(countryCode('Germany'), 'DE');
  t.equal(countryCode('united kingdom'), 'GB');
  t.equal(countryCode('UK'), 'GB');
  t.equal(countryCode('Cote d’Ivoire'), 'CI');
  t.equal(countryCode('The Netherlands'), 'NL');
  t.equal(countryCode('USA'), 'US');
  t.equal(countryCode('Narnia'), undefined);
  t.equal(countryCode('XX'), undefined);
  t.equal(regionCode('US', 'new york'), 'NY');
  t.equal(regionCode('CA', 'Québec'), 'QC');
  t.equal(regionCode('US', 'ON'), undefined);
  t.same(inferCountry('ON'), { country: 'CA', state: 'ON' });
  t.same(inferCountry('tx'), { country: 'US', state: 'TX' });
  t.equal(inferCountry('Bavaria'), undefined);

  const de = ok(withShipTo({ country: 'germany', state: 'Bayern' })).order.ship_to;
  t.equal(de.country, 'DE');
  t.equal(de.state, 'Bayern', 'states outside US/CA are free text');
  const inferred = ok(withShipTo({ country: null, state: 'qc' })).order.ship_to;
  t.same([inferred.country, inferred.state], ['CA', 'QC'], 'country inferred from a province');
  const inferredName = ok(withShipTo({ country: undefined, state: 'California' })).order.ship_to;
  t.same([inferredName.country, inferredName.state], ['US', 'CA']);
  t.same(paths(withShipTo({ country: 'Narnia' })), ['ship_to.country']);
  t.same(paths(withShipTo({ country: 'ZZ' })), ['ship_to.country']);
  t.same(paths(withShipTo({ country: null, state: 'Bavaria' })), ['ship_to.country'], 'cannot infer');
  t.same(paths(withShipTo({ country: null, state: null })), ['ship_to.country'], 'ship_to needs a country');
  t.same(paths(withShipTo({ country: 'US', state: 'Ontario' })), ['ship_to.state'], 'unknown US state');
  t.same(paths(withShipTo({ country: 'CA', state: 'ZZ' })), ['ship_to.state'], 'unknown province');
  t.same(paths(withShipTo({ state: null })), ['ship_to.state'], 'US ship_to needs a state');
  t.same(paths(withShipTo({ name: null })), ['ship_to.name']);
  t.same(paths(withShipTo({ street1: '' })), ['ship_to.street1']);
  t.same(paths(withShipTo({ city: undefined })), ['ship_to.city']);
  t.same(paths({ ...sampleOrder(1), ship_to: undefined }), ['ship_to']);
  // bill_to: optional, country may stay unknown, but what is given is checked
  const bill = ok({ ...sampleOrder(1), bill_to: { name: 'B', state: 'Bavaria' } }).order.bill_to;
  t.same([bill.country, bill.state], [null, 'Bavaria']);
  t.equal(ok({ ...sampleOrder(1), bill_to: { name: 'B', state: 'nj' } }).order.bill_to.country, 'US');
  t.same(paths({ ...sampleOrder(1), bill_to: { country: 'Atlantis' } }), ['bill_to.country']);
  t.same(paths({ ...sampleOrder(1), bill_to: { country: 'US', state: 'Nowhere' } }), ['bill_to.state']);
});

t.test('dates, currency, statuses, weights, misc', async (t) => {
  t.equal(
    ok({ ...sampleOrder(1), order_date: '2026-01-02T03:04:05.678-05:00' }).order.order_date,
    '2026-01-02T08:04:05.678Z',
  );
  t.equal(
    ok({ ...sampleOrder(1), order_date: '2026-01-02 03:04+0530' }).order.order_date,
    '2026-01-01T21:34:00.000Z',
  );
  for (const d of [
    '2026-01-02T03:04:05',
    '2026-01-02',
    'yesterday',
    '2026-02-30T00:00:00Z',
    '2026-13-01T00:00Z',
    5,
  ]) {
    t.same(paths({ ...sampleOrder(1), order_date: d }), ['order_date'], `refuses ${d}`);
  }
  t.same(paths({ ...sampleOrder(1), order_date: undefined }), ['order_date'], 'order_date required');
  for (const c of ['US', 'USDX', 'U$D', 12])
    t.same(paths({ ...sampleOrder(1), currency: c }), ['currency'], `${c}`);
  t.equal(ok({ ...sampleOrder(1), currency: null }).order.currency, null);
  for (const s of ['new', 'await_payment', 'on_hold'])
    t.equal(ok({ ...sampleOrder(1), status: s }).status, s);
  for (const s of ['at_wms', 'shipped', 'confirmed', 'canceled', 'paid']) {
    t.same(paths({ ...sampleOrder(1), status: s }), ['status'], `status ${s} refused on create`);
  }
  t.same(paths(withItem({ weight_unit: 'stone' })), ['items[0].weight_unit']);
  t.equal(ok(withItem({ weight_unit: 'KG' })).order.items[0]!.weight_unit, 'kg');
  t.same(paths(withItem({ weight_unit: null })), ['items[0].weight_unit'], 'a weight needs its unit');
  t.same(paths(withItem({ weight: -1 })), ['items[0].weight']);
  t.same(paths(withItem({ weight: '1.234' })), ['items[0].weight']);
  t.same(
    paths(withItem({ weight: null, weight_unit: null, options: [{ name: 'a', value: 'b', weight: 1 }] })),
    ['items[0].weight_unit'],
    'option weights need the unit too',
  );
  t.same(paths(withItem({ options: [{ name: 'a', value: 'b', weight: -2 }] })), [
    'items[0].options[0].weight',
  ]);
  t.same(paths(withItem({ options: [{ name: '', value: 'b' }] })), ['items[0].options[0].name']);
  t.same(paths(withItem({ name: undefined })), ['items[0].name'], 'item name required');
  t.same(paths(withItem({ line_id: 'L2' })), ['items[1].line_id'], 'line ids are unique in an order');
  t.same(paths({ ...sampleOrder(1), items: [] }), ['items']);
  t.same(paths({ ...sampleOrder(1), gift: 'yes' }), ['gift']);
  t.same(paths({ ...sampleOrder(1), tags: 'vip' }), ['tags']);
  t.same(paths({ ...sampleOrder(1), shipto: {} }), ['shipto'], 'unknown fields are refused, by name');
  t.same(paths(withItem({ colour: 'red' })), ['items[0].colour']);
  t.same(paths(withShipTo({ zip: '1' })), ['ship_to.zip']);
  t.same(paths('not an order'), ['(root)']);
  t.same(paths([1]), ['(root)']);
  t.same(paths(5, ['orders', 2]), ['orders[2]']);
  t.same(ok({ ...sampleOrder(1), tags: ['a', 'b', 'a'] }).order.tags, ['a', 'b'], 'tags de-duplicated');
  t.equal(ok({ ...sampleOrder(1), internal_notes: '  ' }).order.internal_notes, null, 'blank → null');
  // read-only answer fields are ignored
  const answer = { ...sampleOrder(1), id: 5, merchant: 'x', routing: {}, last_modified: 'x' };
  t.same(ok(answer).order, ok(sampleOrder(1)).order);
});

t.test('content hash: canonical, status-blind, content-sensitive', async (t) => {
  const a = ok(sampleOrder(1)).order;
  const reordered = Object.fromEntries(Object.entries(sampleOrder(1)).reverse());
  t.equal(contentHash(ok(reordered).order), contentHash(a), 'field order does not matter');
  t.equal(contentHash(ok({ ...sampleOrder(1), status: 'on_hold' }).order), contentHash(a), 'status ignored');
  t.equal(contentHash(ok({ ...sampleOrder(1), tax_amount: 1.5 }).order), contentHash(a), 'money normalised');
  t.not(contentHash(ok({ ...sampleOrder(1), tax_amount: 1.51 }).order), contentHash(a));
  t.equal(canonicalJson({ b: 1, a: [{ d: null, c: 'x' }] }), '{"a":[{"c":"x","d":null}],"b":1}');
});

t.test('sameJson answers whether two values have the same canonical JSON', async (t) => {
  const same = (a: unknown, b: unknown) => sameJson(a, b) === (canonicalJson(a) === canonicalJson(b));
  t.ok(sameJson({ b: 1, a: [null, 'x'] }, { a: [null, 'x'], b: 1 }), 'key order does not matter');
  t.notOk(sameJson({ a: null }, {}), 'a null value is not a missing key');
  t.ok(sameJson({ a: undefined, b: 1 }, { b: 1 }), 'an undefined value is a missing key');
  t.notOk(sameJson({ a: 1 }, null));
  t.notOk(sameJson([1, 2], { 0: 1, 1: 2 }));
  t.notOk(sameJson({ toString: 1 }, {}), 'only own keys count');
  fc.assert(
    fc.property(
      fc.jsonValue(),
      fc.jsonValue(),
      (a, b) => same(a, b) && same(a, a) && same(a, structuredClone(a)),
    ),
  );
  // Near misses: one value changed somewhere inside a copy.
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 3 }), fc.jsonValue({ maxDepth: 1 }), fc.nat(), (a, v, pick) => {
      const b = structuredClone(a);
      const slots: [Record<string, unknown>, string][] = [];
      const walk = (x: unknown) => {
        if (x === null || typeof x !== 'object') return;
        for (const k of Object.keys(x)) {
          slots.push([x as Record<string, unknown>, k]);
          walk((x as Record<string, unknown>)[k]);
        }
      };
      walk(b);
      const slot = slots[pick % Math.max(1, slots.length)];
      if (slot) slot[0][slot[1]] = v;
      return same(a, b);
    }),
  );
});

t.test('text that PostgreSQL cannot store is refused, not a 500', async (t) => {
  t.same(paths({ ...sampleOrder(1), customer_notes: 'a\u0000b' }), ['customer_notes']);
  t.same(paths(withItem({ sku: 'x\ud800' })), ['items[0].sku'], 'lone surrogate');
  t.same(paths({ ...sampleOrder(1), tags: ['ok', '\udc00'] }), ['tags[1]']);
  t.same(paths({ ...sampleOrder(1), custom_fields: ['\u0000'] }), ['custom_fields[0]']);
  t.ok(ok({ ...sampleOrder(1), customer_notes: 'emoji 😀 and ümlauts' }));
});
