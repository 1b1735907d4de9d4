import fc from 'fast-check';
import t from 'tap';
import { HTTP_URL } from '../../src/orders/schema.js';
import { CA_PROVINCES, US_STATES } from '../../src/orders/address.js';
import { parseOrder } from '../../src/orders/schema.js';
import { type OrderView, viewToNormalized } from '../../src/orders/view.js';
import { buildTestApp, seedAccounts } from '../helpers/app.js';
import { api } from './fixtures.js';

type Obj = Record<string, unknown>;

const RUNS = 40;
let serial = 0;

/** Text of 1..max code points with something visible in it (so it survives trimming). */
const text = (max: number) =>
  fc
    .string({ unit: 'grapheme-composite', minLength: 1, maxLength: Math.min(max, 30) })
    .filter((s) => s.trim().length > 0 && !s.includes('\u0000') && [...s].length <= max);
const optText = (max: number) => fc.option(text(max), { nil: undefined });

const money = (maxCents: number, min = 0) =>
  fc
    .integer({ min, max: maxCents })
    .chain((c) =>
      fc.constantFrom<number | string>(
        c / 100,
        (c / 100).toFixed(2),
        String(c / 100),
        `${Math.trunc(c / 100)}`,
      ),
    );

const address = fc.oneof(
  fc.record({
    country: fc.constantFrom('US', 'us', 'United States', undefined),
    state: fc.constantFrom(...Object.keys(US_STATES), ...Object.values(US_STATES).slice(0, 10)),
  }),
  fc.record({
    country: fc.constantFrom('CA', 'Canada', undefined),
    state: fc.constantFrom(...Object.keys(CA_PROVINCES)),
  }),
  fc.record({
    country: fc.constantFrom('DE', 'fr', 'Japan', 'United Kingdom', 'BR', 'Côte d’Ivoire'),
    state: optText(100),
  }),
);

const shipTo = fc
  .record({
    name: text(100),
    company: optText(100),
    street1: text(200),
    street2: optText(200),
    city: text(100),
    postal_code: optText(50),
    phone: optText(50),
    email: optText(100),
  })
  .chain((a) => address.map((c) => ({ ...a, ...c })));

const item = (i: number) =>
  fc
    .record(
      {
        line_id: fc.option(fc.constant(`line-${i}`), { nil: undefined }),
        sku: optText(100),
        name: text(200),
        quantity: fc.integer({ min: 1, max: 999 }),
        unit_price: money(100_000),
        weight: fc.option(money(10_000), { nil: undefined }),
        image_url: fc.option(
          // fc.webUrl() also makes URLs with quotes, which the export cannot carry and POST refuses.
          fc.webUrl().filter((u) => u.length <= 500 && HTTP_URL.test(u)),
          { nil: undefined },
        ),
        location: optText(100),
        upc: fc.option(fc.stringMatching(/^\d{12}$/), { nil: undefined }),
        options: fc.option(fc.array(fc.record({ name: text(100), value: text(100) }), { maxLength: 3 }), {
          nil: undefined,
        }),
      },
      { requiredKeys: ['name', 'quantity', 'unit_price'] },
    )
    .map((it) => (it.weight !== undefined ? { ...it, weight_unit: 'lb' } : it));

const adjustment = fc.record({
  name: text(200),
  quantity: fc.constant(1),
  unit_price: money(0, -5000),
  adjustment: fc.constant(true),
});

const validOrder = fc
  .record(
    {
      order_source: fc.constantFrom('api', 'shopify-us', 'amazon', 'ébay ✓'),
      order_date: fc
        .date({
          min: new Date('2000-01-01T00:00:00Z'),
          max: new Date('2099-12-31T00:00:00Z'),
          noInvalidDate: true,
        })
        .chain((d) =>
          fc.constantFrom(
            d.toISOString(),
            d.toISOString().replace('Z', '+00:00'),
            `${d.toISOString().slice(0, 19)}-07:00`,
          ),
        ),
      status: fc.constantFrom('new', 'await_payment', 'on_hold'),
      currency: fc.constantFrom('USD', 'eur', 'Jpy'),
      tags: fc.array(text(100), { maxLength: 4 }),
      shipping_method: optText(100),
      payment_method: optText(50),
      tax_amount: money(10_000),
      shipping_amount: money(10_000),
      amount_paid: money(1_000_000),
      customer_notes: optText(1000),
      internal_notes: optText(1000),
      gift: fc.boolean(),
      gift_message: optText(1000),
      custom_fields: fc.array(
        fc.string({ maxLength: 20 }).filter((s) => !s.includes('\u0000')),
        { maxLength: 3 },
      ),
      requested_warehouse: optText(100),
      customer: fc.record({ code: optText(100), email: optText(100) }, { requiredKeys: [] }),
      ship_to: shipTo,
      bill_to: fc.option(shipTo, { nil: undefined }),
      line_count: fc.integer({ min: 1, max: 4 }),
      with_adjustment: fc.boolean(),
      order_total: fc.option(money(1_000_000), { nil: undefined }),
    },
    { requiredKeys: ['order_date', 'ship_to', 'line_count', 'with_adjustment'] },
  )
  .chain(({ line_count, with_adjustment, ...o }) =>
    fc
      .tuple(
        ...Array.from({ length: line_count }, (_, i) => item(i)),
        fc.option(adjustment, { nil: undefined }),
      )
      .map((parts) => {
        const adj = parts.pop();
        const items = parts as Obj[];
        if (with_adjustment && adj) items.push(adj as Obj);
        return { ...o, order_number: `P-${++serial}`, items } as Obj;
      }),
  );

/** One field made invalid: [the path it must be reported at, the change]. */
const invalidations: [string, (o: Obj) => Obj | undefined][] = [
  ['order_number', (o) => ({ ...o, order_number: 'x'.repeat(51) })],
  ['order_number', (o) => ({ ...o, order_number: '' })],
  ['order_source', (o) => ({ ...o, order_source: 's'.repeat(51) })],
  ['order_date', (o) => ({ ...o, order_date: '2026-01-01T10:00:00' })],
  ['status', (o) => ({ ...o, status: 'shipped' })],
  ['currency', (o) => ({ ...o, currency: 'DOLLARS' })],
  ['tax_amount', (o) => ({ ...o, tax_amount: '1.234' })],
  ['order_total', (o) => ({ ...o, order_total: 10_000_000 })],
  ['custom_fields', (o) => ({ ...o, custom_fields: ['a', 'b', 'c', 'd'] })],
  ['gift_message', (o) => ({ ...o, gift_message: 'g'.repeat(1001) })],
  ['ship_to.country', (o) => ({ ...o, ship_to: { ...(o.ship_to as Obj), country: 'Atlantis' } })],
  ['ship_to.name', (o) => ({ ...o, ship_to: { ...(o.ship_to as Obj), name: null } })],
  ['ship_to.street1', (o) => ({ ...o, ship_to: { ...(o.ship_to as Obj), street1: 'x'.repeat(201) } })],
  ['ship_to.phone', (o) => ({ ...o, ship_to: { ...(o.ship_to as Obj), phone: '1'.repeat(51) } })],
  ['ship_to.fax', (o) => ({ ...o, ship_to: { ...(o.ship_to as Obj), fax: '1' } })],
  ['items[0].quantity', (o) => withItem0(o, { quantity: 100_000 })],
  ['items[0].quantity', (o) => withItem0(o, { quantity: 2.5 })],
  ['items[0].unit_price', (o) => withItem0(o, { unit_price: 'ten' })],
  ['items[0].sku', (o) => withItem0(o, { sku: 'k'.repeat(101) })],
  ['items[0].name', (o) => withItem0(o, { name: 'n'.repeat(201) })],
  ['items[0].weight_unit', (o) => withItem0(o, { weight: 1, weight_unit: 'stone' })],
  ['items[0].upc', (o) => withItem0(o, { upc: '1234567890123' })],
  [
    'items[0].options',
    (o) => withItem0(o, { options: Array.from({ length: 101 }, () => ({ name: 'a', value: 'b' })) }),
  ],
  ['items[0].name', (o) => withItem0(o, { name: 'bad\u0000name' })],
  ['items', (o) => ({ ...o, items: [] })],
  ['surprise', (o) => ({ ...o, surprise: 1 })],
];

function withItem0(o: Obj, change: Obj): Obj {
  const items = o.items as Obj[];
  return { ...o, items: [{ ...items[0], ...change }, ...items.slice(1)] };
}

t.test('property: valid orders round-trip; invalid fields are named', async (t) => {
  const { app } = await buildTestApp(t);
  const s = await seedAccounts(app);
  const o = api(app, s.merchant);

  t.test('create → get answers the normalised form; posting it again is a duplicate', async (t) => {
    await fc.assert(
      fc.asyncProperty(validOrder, async (input) => {
        const parsed = parseOrder(input, 'create');
        if (!parsed.ok) throw new Error(`generator made an invalid order: ${JSON.stringify(parsed.details)}`);
        const created = await o.post(input);
        if (created.statusCode !== 201) throw new Error(`${created.statusCode} ${created.body}`);
        const got = await o.get(created.json().id);
        const normalized = viewToNormalized(got.json() as OrderView);
        t.same(normalized, parsed.value.order);
        t.equal(got.json().status, parsed.value.status);
        const again = await o.post({ ...normalized, status: 'new' });
        t.equal(again.statusCode, 200, 'the normalised form is the same order');
        t.equal(again.json().id, created.json().id);
      }),
      { numRuns: RUNS },
    );
  });

  t.test('any single invalid field: 400 naming that field, never a 500', async (t) => {
    await fc.assert(
      fc.asyncProperty(
        validOrder,
        fc.integer({ min: 0, max: invalidations.length - 1 }),
        async (input, k) => {
          const [path, change] = invalidations[k]!;
          const bad = change(input);
          const r = await o.post(bad);
          t.equal(r.statusCode, 400, path);
          t.same(
            r.json().error.details.map((d: Obj) => d.path),
            [path],
          );
          const batch = await o.post({ orders: [input, bad] });
          const results = batch.json().results as Obj[];
          t.same(
            results.map((x) => x.result),
            ['created', 'invalid'],
          );
          t.same(
            ((results[1]!.error as Obj).details as Obj[]).map((d) => d.path),
            [`orders[1].${path}`],
          );
        },
      ),
      { numRuns: RUNS },
    );
  });
});
