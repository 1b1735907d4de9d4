import { XMLParser } from 'fast-xml-parser';
import t from 'tap';
import { buildTestApp, seedAccounts } from '../helpers/app.js';
import { validateOrdersXml } from '../helpers/xsd.js';
import { api } from '../orders/fixtures.js';
import { exportCall, fmtUtc, listen } from './seed.js';

/**
 * Every field the orders API accepts, at its longest, through a real export request: nothing
 * accepted may be cut on its way to ShipStation (a cut SKU breaks ShipStation's product match and
 * the matching of shipment notices). Lengths count characters, so the values use characters
 * outside the BMP (two UTF-16 units each) and accented letters.
 */
const fill = (n: number, unit: string) =>
  Array.from({ length: n }, (_, i) => (i % 7 === 3 ? unit : 'x')).join('');
const E = '😀';

const parser = new XMLParser({
  parseTagValue: false,
  trimValues: false,
  cdataPropName: '#cdata',
  ignoreDeclaration: true,
  ignoreAttributes: false,
  isArray: (name) => name === 'Order' || name === 'Item' || name === 'Option',
});
/** The text of an element, CDATA or not. */
const text = (v: unknown): string | undefined => {
  if (v === undefined || typeof v === 'string') return v;
  const c = (v as { '#cdata'?: unknown })['#cdata'];
  return Array.isArray(c) ? c.join('') : (c as string | undefined);
};

t.test('every accepted field at its longest reaches the export uncut, XSD-valid', async (t) => {
  const { app } = await buildTestApp(t);
  const s = await seedAccounts(app, 'lim');
  const base = await listen(app);
  const PREFIX = fill(20, 'é');
  const created = await app.inject({
    method: 'POST',
    url: `/v1/merchants/${s.merchant.code}/stores`,
    headers: s.merchant.auth,
    payload: { name: 'Limits', order_number_prefix: PREFIX },
  });
  t.equal(created.statusCode, 201, created.body);
  const creds = created.json().shipstation as { username: string; password: string };

  const longest = {
    order_source: fill(50, E),
    order_number: fill(50, E),
    order_date: '2026-11-20T10:15:00Z',
    shipping_method: fill(100, E),
    payment_method: fill(50, E),
    tax_amount: '999.99',
    shipping_amount: '99.99',
    customer_notes: fill(1000, E),
    internal_notes: fill(1000, 'é'),
    gift: true,
    gift_message: fill(1000, E),
    custom_fields: [fill(100, E), fill(100, 'é'), fill(100, '漢')],
    requested_warehouse: fill(100, E),
    customer: { code: fill(100, E), email: `${fill(88, 'x')}@example.com` },
    bill_to: {
      name: fill(100, E),
      company: fill(100, 'é'),
      phone: fill(50, '1'),
      email: `${fill(88, 'b')}@example.com`,
    },
    ship_to: {
      name: fill(100, 'é'),
      company: fill(100, E),
      street1: fill(200, E),
      street2: fill(99, 'é'),
      street3: fill(99, E),
      city: fill(100, E),
      state: fill(100, 'é'),
      postal_code: fill(50, '9'),
      country: 'FR',
      phone: fill(50, '2'),
    },
    items: [
      {
        line_id: fill(50, 'l'),
        sku: fill(100, E),
        name: fill(200, E),
        quantity: 99_999,
        unit_price: '99.99',
        weight: '9999999.99',
        weight_unit: 'lb',
        image_url: `https://img.example.com/${'a'.repeat(476)}`,
        location: fill(100, E),
        options: Array.from({ length: 100 }, (_, i) => ({
          name: `${i}`.padStart(3, '0') + fill(97, E),
          value: fill(100, 'é'),
          weight: '1.25',
        })),
      },
      // No SKU: the merchant's line id (50) stands in for it.
      { line_id: fill(50, E), name: fill(200, 'é'), quantity: 1, unit_price: '0.00' },
    ],
  };
  const o = api(app, s.merchant);
  const r = await o.post(longest);
  t.equal(r.statusCode, 201, r.body);
  const id = r.json().id as number;
  // The same prefix on a number short enough for both: the prefix is kept.
  const short = await o.post({ ...longest, order_number: fill(30, E), items: [longest.items[1]] });
  t.equal(short.statusCode, 201, short.body);

  const now = Date.now();
  const page = await exportCall(
    base,
    creds,
    fmtUtc(new Date(now - 5 * 60_000)),
    fmtUtc(new Date(now + 60_000)),
  );
  t.equal(page.status, 200, page.body.slice(0, 500));
  const v = await validateOrdersXml(page.body);
  t.ok(v.valid, v.errors.slice(0, 5).join('; '));

  const orders = parser.parse(page.body).Orders.Order as Record<string, unknown>[];
  t.equal(orders.length, 2);
  // biome-ignore lint/suspicious/noExplicitAny: a parsed XML tree, read by element names
  const [x, y] = orders as [Record<string, any>, Record<string, any>];
  const c = x['Customer'];
  const [i1, i2] = x['Items']['Item'];
  const expected: [string, unknown, unknown][] = [
    ['OrderID', x['OrderID'], String(id)],
    ['OrderNumber (prefix + 50 would pass 50: the number alone)', x['OrderNumber'], longest.order_number],
    ['OrderNumber (prefix + 30 fits)', y['OrderNumber'], PREFIX + fill(30, E)],
    ['ShippingMethod', x['ShippingMethod'], longest.shipping_method],
    ['PaymentMethod', x['PaymentMethod'], longest.payment_method],
    ['OrderTotal', x['OrderTotal'], '9999999.99'],
    ['TaxAmount', x['TaxAmount'], '999.99'],
    ['ShippingAmount', x['ShippingAmount'], '99.99'],
    ['CustomerNotes', x['CustomerNotes'], longest.customer_notes],
    ['InternalNotes', x['InternalNotes'], longest.internal_notes],
    ['Gift', x['Gift'], 'true'],
    ['GiftMessage', x['GiftMessage'], longest.gift_message],
    ['CustomField1', x['CustomField1'], longest.custom_fields[0]],
    ['CustomField2', x['CustomField2'], longest.custom_fields[1]],
    ['CustomField3', x['CustomField3'], longest.custom_fields[2]],
    ['RequestedWarehouse', x['RequestedWarehouse'], longest.requested_warehouse],
    ['Source', x['Source'], longest.order_source],
    ['CustomerCode', c['CustomerCode'], longest.customer.code],
    ['BillTo/Name', c['BillTo']['Name'], longest.bill_to.name],
    ['BillTo/Company', c['BillTo']['Company'], longest.bill_to.company],
    ['BillTo/Phone', c['BillTo']['Phone'], longest.bill_to.phone],
    ['BillTo/Email', c['BillTo']['Email'], longest.bill_to.email],
    ['ShipTo/Name', c['ShipTo']['Name'], longest.ship_to.name],
    ['ShipTo/Company', c['ShipTo']['Company'], longest.ship_to.company],
    ['ShipTo/Address1', c['ShipTo']['Address1'], longest.ship_to.street1],
    ['ShipTo/Address2', c['ShipTo']['Address2'], `${longest.ship_to.street2}, ${longest.ship_to.street3}`],
    ['ShipTo/City', c['ShipTo']['City'], longest.ship_to.city],
    ['ShipTo/State', c['ShipTo']['State'], longest.ship_to.state],
    ['ShipTo/PostalCode', c['ShipTo']['PostalCode'], longest.ship_to.postal_code],
    ['ShipTo/Country', c['ShipTo']['Country'], 'FR'],
    ['ShipTo/Phone', c['ShipTo']['Phone'], longest.ship_to.phone],
    ['Item/SKU', i1['SKU'], longest.items[0]!.sku],
    ['Item/Name', i1['Name'], longest.items[0]!.name],
    ['Item/ImageUrl', i1['ImageUrl'], longest.items[0]!.image_url],
    ['Item/Weight', i1['Weight'], '9999999.99'],
    ['Item/WeightUnits', i1['WeightUnits'], 'Pounds'],
    ['Item/Quantity', i1['Quantity'], '99999'],
    ['Item/UnitPrice', i1['UnitPrice'], '99.99'],
    ['Item/Location', i1['Location'], longest.items[0]!.location],
    ['Item/Options count', String(i1['Options']['Option'].length), '100'],
    ['second Item/SKU (its line id)', i2['SKU'], longest.items[1]!.line_id],
    ['second Item/Name', i2['Name'], longest.items[1]!.name],
  ];
  for (const [name, got, want] of expected) t.equal(text(got), want, name);
  const options = i1['Options']['Option'] as Record<string, unknown>[];
  const opts = longest.items[0]!.options!;
  t.same(
    options.map((op) => [text(op['Name']), text(op['Value']), text(op['Weight'])]),
    opts.map((op) => [op.name, op.value, '1.25']),
    'every option name, value and weight',
  );
});

t.test('street2 and street3 that would not fit ShipStation’s one second line are refused', async (t) => {
  const { app } = await buildTestApp(t);
  const s = await seedAccounts(app, 'lim2');
  const r = await api(app, s.merchant).post({
    order_number: 'A2-1',
    order_date: '2026-11-20T10:15:00Z',
    ship_to: {
      name: 'N',
      street1: 'S1',
      street2: fill(100, E),
      street3: fill(99, E),
      city: 'C',
      country: 'FR',
    },
    items: [{ sku: 'S', name: 'N', quantity: 1, unit_price: 1 }],
  });
  t.equal(r.statusCode, 400);
  t.match(r.json().error.details, [
    { path: 'ship_to.street3', message: /together with street2 at most 198 characters/ },
  ]);
});
