import fc from 'fast-check';
import t from 'tap';
import { parseOrder } from '../../src/orders/schema.js';
import { formatPacific, readPacific } from '../../src/sources/dates.js';
import { money, ssOrderSchema, toOrderInput } from '../../src/sources/mapping.js';
import { carrierCode, reactionTo, tagFilterAccepts, takes } from '../../src/sources/model.js';
import { pacific } from '../helpers/shipstation-api-sim.js';

t.test('Pacific dates: offsets, the autumn ambiguity and the spring gap', async (t) => {
  t.equal(
    readPacific('2026-07-01T12:30:05.1230000')?.toISOString(),
    '2026-07-01T19:30:05.123Z',
    'daylight: UTC−7',
  );
  t.equal(
    readPacific('2026-12-01T12:00:00.0000000')?.toISOString(),
    '2026-12-01T20:00:00.000Z',
    'standard: UTC−8',
  );
  t.equal(
    readPacific('2026-11-01T01:30:00.0000000')?.toISOString(),
    '2026-11-01T08:30:00.000Z',
    'a wall time the autumn change repeats is its earlier instant',
  );
  t.equal(
    readPacific('2026-03-08T02:30:00')?.toISOString(),
    '2026-03-08T10:30:00.000Z',
    'the spring gap: standard offset',
  );
  t.equal(readPacific('2026-12-01 08:00:00')?.toISOString(), '2026-12-01T16:00:00.000Z', 'filter format');
  t.equal(readPacific('2026-12-01T08:00:00Z'), null, 'not a ShipStation date');
  t.equal(formatPacific(new Date('2026-07-01T19:30:05.900Z')), '2026-07-01 12:30:05');
});

t.test('every instant survives ShipStation formatting, up to the repeated autumn hour', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(
        fc.date({
          min: new Date('2000-01-01T00:00:00Z'),
          max: new Date('2040-01-01T00:00:00Z'),
          noInvalidDate: true,
        }),
        (d) => {
          const back = readPacific(pacific(d));
          if (!back) return false;
          const diff = d.getTime() - back.getTime();
          // The second pass of the repeated hour reads as the first (an hour earlier), never later.
          return (diff === 0 || diff === 3_600_000) && pacific(back) === pacific(d);
        },
      ),
      { numRuns: 2000 },
    ),
  );
});

const word = fc.stringMatching(/^[A-Za-z][A-Za-z0-9 ]{0,18}[A-Za-z0-9]$/);
const cents = (max: number) => fc.integer({ min: 0, max });
const states = ['CA', 'NY', 'TX', 'WA', 'IL'];

const ssItem = fc.record({
  orderItemId: fc.integer({ min: 1, max: 1e9 }),
  lineItemKey: fc.option(word, { nil: null }),
  sku: fc.option(word, { nil: null }),
  name: word,
  imageUrl: fc.constant(null),
  weight: fc.option(
    fc.record({
      value: cents(100_000).map((c) => c / 100),
      units: fc.constantFrom('pounds', 'ounces', 'grams'),
    }),
    { nil: null },
  ),
  quantity: fc.integer({ min: 1, max: 99_999 }),
  unitCents: cents(1_000_000),
  warehouseLocation: fc.option(word, { nil: null }),
  options: fc.array(fc.record({ name: word, value: word }), { maxLength: 4 }),
  adjustment: fc.boolean(),
  upc: fc.constant(null),
});

const ssOrder = fc.record({
  orderId: fc.integer({ min: 1, max: 2e9 }),
  orderNumber: word,
  orderDate: fc.date({
    min: new Date('2020-01-01T00:00:00Z'),
    max: new Date('2035-01-01T00:00:00Z'),
    noInvalidDate: true,
  }),
  orderStatus: fc.constantFrom('awaiting_payment', 'awaiting_shipment', 'on_hold'),
  customerUsername: fc.option(word, { nil: null }),
  customerEmail: fc.option(fc.constantFrom('a@example.com', 'b.c@example.org'), { nil: null }),
  shipName: word,
  street: word,
  city: word,
  state: fc.constantFrom(...states),
  // ShipStation's orderItemId is unique within an order (it becomes our line_id, which must be).
  items: fc.uniqueArray(ssItem, { minLength: 1, maxLength: 5, selector: (it) => it.orderItemId }),
  totalCents: cents(10_000_000),
  taxCents: cents(100_000),
  shipCents: cents(100_000),
  gift: fc.boolean(),
  customFields: fc.tuple(
    fc.option(word, { nil: null }),
    fc.option(word, { nil: null }),
    fc.option(word, { nil: null }),
  ),
  warehouseId: fc.option(fc.integer({ min: 1, max: 1e6 }), { nil: null }),
  tagIds: fc.option(fc.uniqueArray(fc.integer({ min: 1, max: 8 }), { maxLength: 5 }), { nil: null }),
});

const TAGS = new Map([
  [1, 'Warehouse'],
  [2, 'warehouse'],
  [3, 'Rush'],
  [4, 'Dropship'],
  [5, 'B2B'],
]);

t.test("ShipStation's order JSON becomes the same order in our shape", async (t) => {
  fc.assert(
    fc.property(ssOrder, (g) => {
      const json = {
        orderId: g.orderId,
        orderNumber: g.orderNumber,
        orderKey: 'k',
        orderDate: pacific(g.orderDate),
        createDate: pacific(g.orderDate),
        modifyDate: pacific(g.orderDate),
        orderStatus: g.orderStatus,
        customerId: 5,
        customerUsername: g.customerUsername,
        customerEmail: g.customerEmail,
        billTo: {
          name: g.shipName,
          company: null,
          street1: null,
          city: null,
          state: null,
          postalCode: null,
          country: null,
          phone: null,
        },
        shipTo: {
          name: g.shipName,
          company: null,
          street1: g.street,
          street2: null,
          street3: null,
          city: g.city,
          state: g.state,
          postalCode: '12345',
          country: 'US',
          phone: null,
          residential: true,
        },
        items: g.items.map((it) => ({
          ...it,
          unitPrice: ((it.adjustment ? -1 : 1) * it.unitCents) / 100,
          unitCents: undefined,
        })),
        orderTotal: g.totalCents / 100,
        amountPaid: g.totalCents / 100,
        taxAmount: g.taxCents / 100,
        shippingAmount: g.shipCents / 100,
        gift: g.gift,
        giftMessage: null,
        paymentMethod: 'Credit Card',
        requestedShippingService: 'USPS Priority Mail',
        advancedOptions: {
          warehouseId: g.warehouseId,
          storeId: 101,
          customField1: g.customFields[0],
          customField2: g.customFields[1],
          customField3: g.customFields[2],
          mergedOrSplit: false,
          mergedIds: [],
          parentId: null,
        },
        tagIds: g.tagIds,
        someFieldShipStationAddsLater: { x: 1 },
      };
      const ss = ssOrderSchema.parse(json);
      const input = toOrderInput(ss, 'ss-main', TAGS);
      const r = parseOrder(input, 'create');
      if (!r.ok) throw new Error(JSON.stringify(r.details));
      const o = r.value.order;
      t.equal(o.order_source, 'ss-main');
      t.equal(o.order_number, g.orderNumber);
      const instant = readPacific(pacific(g.orderDate))!;
      t.equal(o.order_date, instant.toISOString(), 'the date with its zone');
      const statuses: Record<string, string> = { awaiting_payment: 'await_payment', on_hold: 'on_hold' };
      t.equal(r.value.status, statuses[g.orderStatus] ?? 'new');
      t.equal(o.order_total, (g.totalCents / 100).toFixed(2));
      t.equal(o.tax_amount, (g.taxCents / 100).toFixed(2));
      t.equal(o.shipping_amount, (g.shipCents / 100).toFixed(2));
      t.same(o.tags, [...new Set((g.tagIds ?? []).filter((id) => TAGS.has(id)).map((id) => TAGS.get(id)!))]);
      const cf = [...g.customFields.map((f) => f ?? '')];
      while (cf.length > 0 && cf.at(-1) === '') cf.pop();
      t.same(o.custom_fields, cf, 'custom fields keep their places');
      t.equal(o.requested_warehouse, g.warehouseId === null ? null : String(g.warehouseId));
      t.equal(o.ship_to.state, g.state);
      t.equal(o.ship_to.country, 'US');
      t.equal(o.customer.email, g.customerEmail);
      t.equal(o.items.length, g.items.length);
      g.items.forEach((it, i) => {
        const line = o.items[i]!;
        t.equal(line.line_id, String(it.orderItemId));
        t.equal(line.sku, it.sku);
        t.equal(line.quantity, it.quantity);
        t.equal(line.adjustment, it.adjustment);
        t.equal(line.unit_price, (((it.adjustment ? -1 : 1) * it.unitCents) / 100).toFixed(2));
        t.same(
          (line.options ?? []).map((op) => [op.name, op.value]),
          it.options.map((op) => [op.name, op.value]),
        );
        if (it.weight) {
          t.equal(line.weight_unit, { pounds: 'lb', ounces: 'oz', grams: 'g' }[it.weight.units]);
          t.equal(line.weight, it.weight.value.toFixed(2));
        } else t.equal(line.weight, null);
      });
      return true;
    }),
    { numRuns: 150 },
  );
});

t.test('money from float noise, and what validation then refuses', async (t) => {
  t.equal(money(0.1 + 0.2), '0.30');
  t.equal(money(-5), '-5.00');
  t.equal(money(null), null);
  const ss = ssOrderSchema.parse({
    orderId: 1,
    orderNumber: 'X1',
    orderDate: '2026-12-01T08:00:00.0000000',
    modifyDate: '2026-12-01T08:00:00.0000000',
    orderStatus: 'awaiting_shipment',
    shipTo: { name: 'A', street1: 'B', city: 'C', state: 'CA', postalCode: '1', country: 'US' },
    items: [{ orderItemId: 9, name: 'Thing', quantity: 0, unitPrice: 1 }],
  });
  const r = parseOrder(toOrderInput(ss, 's', new Map()), 'create');
  t.equal(r.ok, false, 'a quantity of 0 is refused by our validation, naming the field');
  if (!r.ok) t.match(r.details, [{ path: 'items[0].quantity' }]);
});

t.test('the take filters', async (t) => {
  const base = { orderStatuses: ['awaiting_shipment'], storeId: null, tag: null, earliestOrderDate: null };
  const facts = {
    status: 'awaiting_shipment',
    storeId: 101,
    tagIds: [7],
    orderDate: new Date('2026-12-01T00:00:00Z'),
  };
  t.ok(takes(base, null, facts));
  t.notOk(takes(base, null, { ...facts, status: 'awaiting_payment' }), 'status filter');
  t.notOk(takes({ ...base, storeId: 102 }, null, facts), 'store filter');
  t.ok(takes({ ...base, storeId: 101 }, null, facts));
  t.notOk(takes({ ...base, earliestOrderDate: new Date('2026-12-02T00:00:00Z') }, null, facts), 'too old');
  const include = { mode: 'include' as const, name: 'Warehouse' };
  const exclude = { mode: 'exclude' as const, name: 'Warehouse' };
  t.ok(tagFilterAccepts(include, 7, [7]));
  t.notOk(tagFilterAccepts(include, 7, [8]));
  t.notOk(tagFilterAccepts(include, null, [7]), 'include: a tag the account lacks takes nothing');
  t.notOk(tagFilterAccepts(exclude, 7, [7]));
  t.ok(tagFilterAccepts(exclude, 7, []));
  t.ok(tagFilterAccepts(exclude, null, [7]), 'exclude: a tag the account lacks excludes nothing');
});

t.test('what a change of ShipStation status does here', async (t) => {
  const open = { status: 'at_wms' as const, served: true, heldBySource: false };
  t.match(reactionTo('awaiting_shipment', 'cancelled', open), { kind: 'transition', event: 'cancel' });
  t.match(reactionTo('awaiting_shipment', 'cancelled', { ...open, status: 'shipped' }), {
    kind: 'alert',
    alert: 'source_cancel_after_ship',
  });
  t.match(reactionTo('awaiting_shipment', 'cancelled', { ...open, status: 'canceled' }), { kind: 'none' });
  t.match(reactionTo('awaiting_shipment', 'on_hold', open), { kind: 'transition', event: 'hold' });
  t.match(reactionTo('on_hold', 'awaiting_shipment', { ...open, status: 'on_hold', heldBySource: true }), {
    kind: 'transition',
    event: 'release',
  });
  t.match(
    reactionTo('on_hold', 'awaiting_shipment', { ...open, status: 'on_hold' }),
    { kind: 'none' },
    "a person's hold stays",
  );
  t.match(reactionTo('awaiting_payment', 'awaiting_shipment', { ...open, status: 'await_payment' }), {
    kind: 'transition',
    event: 'pay',
  });
  t.match(reactionTo('awaiting_shipment', 'shipped', { ...open, served: false, status: 'new' }), {
    kind: 'transition',
    event: 'cancel',
  });
  t.match(reactionTo('awaiting_shipment', 'shipped', open), {
    kind: 'alert',
    alert: 'source_shipped_elsewhere',
  });
  t.match(
    reactionTo('awaiting_shipment', 'shipped', { ...open, status: 'shipped' }),
    { kind: 'none' },
    'our own markasshipped',
  );
});

t.test("carrier codes ShipStation's markasshipped takes", async (t) => {
  t.equal(carrierCode('USPS'), 'usps');
  t.equal(carrierCode('UPS'), 'ups');
  t.equal(carrierCode('FedEx'), 'fedex');
  t.equal(carrierCode('Fed Ex'), 'fedex');
  t.equal(carrierCode('DHL Express'), 'dhl_express');
  t.equal(carrierCode('DHL eCommerce'), 'dhl_global_mail');
  t.equal(carrierCode('Canada Post'), 'canada_post');
  t.equal(carrierCode('Pigeon Express'), 'other');
  t.equal(carrierCode(null), 'other');
});
