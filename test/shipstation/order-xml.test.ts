import assert from 'node:assert/strict';
import fc from 'fast-check';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import t from 'tap';
import type { NormalizedOrder } from '../../src/orders/types.js';
import {
  type ExportAddress,
  type ExportItem,
  type ExportOrder,
  ORDERS_TAIL,
  renderOrder,
  renderOrdersHead,
  renderOrdersPage,
  toExportOrder,
} from '../../src/shipstation/order-xml.js';
import { errorXml } from '../../src/shipstation/error-xml.js';
import { cdata, charLength, clean, esc, truncateChars } from '../../src/shipstation/xml.js';
import { expectedText, oracleOrdersPage } from '../helpers/order-xml-oracle.js';
import { validateManyOrdersXml, validateOrdersXml } from '../helpers/xsd.js';

// ------------------------------------------------------------------------------------------------
// Parsing helpers: both renderers' output is compared as parsed trees.

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  cdataPropName: '#cdata',
  ignoreDeclaration: true,
  isArray: (name) => name === 'Order' || name === 'Item' || name === 'Option',
});

/** Parsed tree with CDATA unified: an element holding only CDATA becomes { cdata: joined text }. */
function tree(xml: string): unknown {
  const unify = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(unify);
    if (v === null || typeof v !== 'object') return v;
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === '#cdata') {
      const c = o['#cdata'];
      const text = Array.isArray(c) ? c.join('') : c;
      // An empty CDATA section and an empty element mean the same (xmlbuilder2 drops the former).
      return text === '' ? '' : { cdata: text };
    }
    return Object.fromEntries(keys.map((k) => [k, unify(o[k])]));
  };
  return unify(parser.parse(xml));
}

type Tree = { Orders: { '@pages': string; Order?: Record<string, unknown>[] } };
const ordersOf = (xml: string) => (tree(xml) as Tree).Orders.Order ?? [];
const cd = (v: unknown) => (v === '' ? '' : (v as { cdata: string } | undefined)?.cdata);

/**
 * Validates orders in ONE xmllint call, one order per line so an error's line names the order.
 * Returns undefined when valid, else the first errors and the culprit.
 */
async function xsdProblem(orders: ExportOrder[], zone = 'UTC'): Promise<string | undefined> {
  const rendered = orders.map((o) => renderOrder(o, zone));
  const xml = renderOrdersHead(1) + '\n' + rendered.join('\n') + '\n' + ORDERS_TAIL;
  const r = await validateOrdersXml(xml);
  if (r.valid) return undefined;
  // Orders start on line 3; CDATA may hold line breaks, so count them.
  const line = Number(/^document\.xml:(\d+):/.exec(r.raw[0] ?? '')?.[1] ?? 0);
  let first = 3;
  const index = rendered.findIndex((x) => {
    const last = first + (x.match(/\n/g)?.length ?? 0);
    if (line <= last) return true;
    first = last + 1;
    return false;
  });
  return `${r.errors.slice(0, 3).join(' | ')} — culprit: ${JSON.stringify(orders[index])}`;
}

/** Walks a parsed tree: at(o, 'Customer.ShipTo.Name'). */
function at(node: unknown, path: string): unknown {
  let cur = node;
  for (const k of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}
const itemsOf = (o: unknown) => (at(o, 'Items.Item') ?? []) as unknown[];

// ------------------------------------------------------------------------------------------------
// Fixtures

const address = (over: Partial<ExportAddress> = {}): ExportAddress => ({
  name: null,
  company: null,
  street1: null,
  street2: null,
  street3: null,
  city: null,
  state: null,
  postalCode: null,
  country: null,
  phone: null,
  email: null,
  ...over,
});

const item = (over: Partial<ExportItem> = {}): ExportItem => ({
  lineItemId: '11',
  lineId: 'ln-1',
  sku: 'MUG-BLU-12',
  name: 'Ceramic mug',
  imageUrl: null,
  weight: null,
  weightUnit: null,
  quantity: 1,
  unitPrice: '18.00',
  location: null,
  adjustment: false,
  options: [],
  ...over,
});

const order = (over: Partial<ExportOrder> = {}): ExportOrder => ({
  orderId: '184227',
  orderNumber: 'R-10442',
  orderDate: new Date('2025-07-14T18:03:27Z'),
  lastModified: new Date('2025-07-15T09:41:59Z'),
  status: 'new',
  shippingMethod: null,
  paymentMethod: null,
  orderTotal: '44.80',
  taxAmount: null,
  shippingAmount: null,
  customerNotes: null,
  internalNotes: null,
  gift: false,
  giftMessage: null,
  customFields: [],
  requestedWarehouse: null,
  source: null,
  customer: { code: null, email: null },
  billTo: address({ name: 'Jane Doe' }),
  shipTo: address({
    name: 'Jane Doe',
    street1: '221 Elm St',
    city: 'Springfield',
    postalCode: '62704',
    country: 'US',
  }),
  items: [item()],
  ...over,
});

const FULL = order({
  shippingMethod: 'Ground (3-5 days)',
  paymentMethod: 'Card',
  taxAmount: '4.9',
  shippingAmount: '7.50',
  customerNotes: 'Leave with the concierge & ring twice',
  internalNotes: 'Fragile: double box',
  gift: true,
  giftMessage: 'Happy birthday, Zoë!',
  customFields: ['B2C', null, 'promo: SUMMER10'],
  requestedWarehouse: 'Reno DC',
  source: 'web',
  customer: { code: 'cust-7', email: 'jane.doe@example.com' },
  billTo: address({ name: 'Jane Doe', phone: '+1 555 0100', email: 'jane@example.com' }),
  shipTo: address({
    name: 'Jane Doe',
    company: 'Acme "East" Ltd.',
    street1: '221 Elm St <rear>',
    street2: 'Apt 4',
    street3: 'Back door',
    city: 'Springfield',
    state: 'IL',
    postalCode: '62704',
    country: 'us',
    phone: '+1 555 0101',
  }),
  items: [
    item({
      imageUrl: 'https://cdn.example.com/p/mug-blu.jpg',
      weight: '14.5',
      weightUnit: 'oz',
      quantity: 2,
      location: 'A-03-2',
      options: [
        { name: 'Colour', value: 'Blue', weight: null },
        { name: 'Engraving', value: 'J & D', weight: '0.2' },
      ],
    }),
    item({
      lineItemId: '12',
      lineId: 'ln-2',
      sku: 'TEA',
      name: 'Green tea',
      weight: '0.1',
      weightUnit: 'kg',
      unitPrice: '0',
    }),
    item({
      lineItemId: '13',
      lineId: null,
      sku: 'SUMMER10',
      name: 'Coupon',
      unitPrice: '-3.60',
      adjustment: true,
    }),
  ],
});

// ------------------------------------------------------------------------------------------------

t.test('a full order: exact output, XSD-valid, same tree as the oracle', async (t) => {
  const xml = renderOrdersPage([FULL], 3);
  t.ok(xml.startsWith('<?xml version="1.0" encoding="utf-8"?>\n<Orders pages="3"><Order>'));
  t.ok(xml.endsWith('</Order></Orders>\n'));
  const o = renderOrder(FULL);
  t.equal(
    o,
    '<Order><OrderID><![CDATA[184227]]></OrderID><OrderNumber><![CDATA[R-10442]]></OrderNumber>' +
      '<OrderDate>07/14/2025 18:03</OrderDate><OrderStatus><![CDATA[new]]></OrderStatus>' +
      '<LastModified>07/15/2025 09:41</LastModified>' +
      '<ShippingMethod><![CDATA[Ground (3-5 days)]]></ShippingMethod><PaymentMethod><![CDATA[Card]]></PaymentMethod>' +
      '<OrderTotal>44.80</OrderTotal><TaxAmount>4.90</TaxAmount><ShippingAmount>7.50</ShippingAmount>' +
      '<CustomerNotes><![CDATA[Leave with the concierge & ring twice]]></CustomerNotes>' +
      '<InternalNotes><![CDATA[Fragile: double box]]></InternalNotes><Gift>true</Gift>' +
      '<GiftMessage><![CDATA[Happy birthday, Zoë!]]></GiftMessage><CustomField1><![CDATA[B2C]]></CustomField1>' +
      '<CustomField3><![CDATA[promo: SUMMER10]]></CustomField3>' +
      '<RequestedWarehouse><![CDATA[Reno DC]]></RequestedWarehouse><Source><![CDATA[web]]></Source>' +
      '<Customer><CustomerCode><![CDATA[cust-7]]></CustomerCode>' +
      '<BillTo><Name><![CDATA[Jane Doe]]></Name><Phone><![CDATA[+1 555 0100]]></Phone>' +
      '<Email><![CDATA[jane@example.com]]></Email></BillTo>' +
      '<ShipTo><Name><![CDATA[Jane Doe]]></Name><Company><![CDATA[Acme "East" Ltd.]]></Company>' +
      '<Address1><![CDATA[221 Elm St <rear>]]></Address1><Address2><![CDATA[Apt 4, Back door]]></Address2>' +
      '<City><![CDATA[Springfield]]></City><State><![CDATA[IL]]></State>' +
      '<PostalCode><![CDATA[62704]]></PostalCode><Country>US</Country><Phone><![CDATA[+1 555 0101]]></Phone>' +
      '</ShipTo></Customer><Items>' +
      '<Item><LineItemID><![CDATA[11]]></LineItemID><SKU><![CDATA[MUG-BLU-12]]></SKU>' +
      '<Name><![CDATA[Ceramic mug]]></Name><ImageUrl><![CDATA[https://cdn.example.com/p/mug-blu.jpg]]></ImageUrl>' +
      '<Weight>14.5</Weight><WeightUnits>Ounces</WeightUnits><Quantity>2</Quantity><UnitPrice>18.00</UnitPrice>' +
      '<Location><![CDATA[A-03-2]]></Location><Options>' +
      '<Option><Name><![CDATA[Colour]]></Name><Value><![CDATA[Blue]]></Value></Option>' +
      '<Option><Name><![CDATA[Engraving]]></Name><Value><![CDATA[J & D]]></Value><Weight>0.2</Weight></Option>' +
      '</Options></Item>' +
      '<Item><LineItemID><![CDATA[12]]></LineItemID><SKU><![CDATA[TEA]]></SKU><Name><![CDATA[Green tea]]></Name>' +
      '<Weight>100</Weight><WeightUnits>Grams</WeightUnits><Quantity>1</Quantity><UnitPrice>0.00</UnitPrice></Item>' +
      '<Item><LineItemID><![CDATA[13]]></LineItemID><SKU><![CDATA[SUMMER10]]></SKU><Name><![CDATA[Coupon]]></Name>' +
      '<Quantity>1</Quantity><UnitPrice>-3.60</UnitPrice><Adjustment>true</Adjustment></Item>' +
      '</Items></Order>',
  );
  t.notMatch(xml, /CurrencyCode|UPC/, 'never CurrencyCode or UPC');
  t.same(tree(xml), tree(oracleOrdersPage([FULL], 3)));
  t.equal(await xsdProblem([FULL]), undefined, 'valid against the XSD');
});

t.test('page framing, streaming pieces and pages', async (t) => {
  const empty = renderOrdersPage([], 0);
  t.equal(empty, '<?xml version="1.0" encoding="utf-8"?>\n<Orders pages="0"></Orders>\n');
  const r = await validateOrdersXml(empty);
  t.ok(r.valid, 'an empty page is valid');
  const orders = [FULL, order(), order({ orderId: '9' })];
  t.equal(
    renderOrdersHead(7) + orders.map((o) => renderOrder(o)).join('') + ORDERS_TAIL,
    renderOrdersPage(orders, 7),
    'head + renderOrder… + tail is the page',
  );
  t.throws(() => renderOrdersPage([], 32768), RangeError, 'pages is xs:short');
  t.throws(() => renderOrdersPage([], -1), RangeError);
  t.throws(() => renderOrdersPage([], 1.5), RangeError);
  t.doesNotThrow(() => renderOrdersPage([], 32767));
});

t.test('dates in the store zone', async (t) => {
  const o = order({
    orderDate: new Date('2026-11-01T05:30:00Z'),
    lastModified: new Date('2026-11-01T06:30:00Z'),
  });
  const x = renderOrder(o, 'America/New_York');
  t.match(x, /<OrderDate>11\/01\/2026 01:30<\/OrderDate>/);
  t.match(x, /<LastModified>11\/01\/2026 01:30<\/LastModified>/);
  t.match(renderOrder(o), /<OrderDate>11\/01\/2026 05:30<\/OrderDate>/, 'UTC by default');
});

t.test('money: two decimals, never empty, clamped to decimal(9,2)', async (t) => {
  const field = (over: Partial<ExportOrder>, name: string) =>
    new RegExp(`<${name}>([^<]*)</${name}>`).exec(renderOrder(order(over)))?.[1];
  t.equal(field({ orderTotal: '5' }, 'OrderTotal'), '5.00');
  t.equal(field({ orderTotal: '5.5' }, 'OrderTotal'), '5.50');
  t.equal(field({ orderTotal: '-0' }, 'OrderTotal'), '0.00');
  t.equal(field({ orderTotal: '007.10' }, 'OrderTotal'), '7.10');
  t.equal(field({ orderTotal: 'abc' }, 'OrderTotal'), '0.00', 'unreadable → 0.00');
  t.equal(field({ orderTotal: '' }, 'OrderTotal'), '0.00');
  t.equal(field({ orderTotal: '12345678.00' }, 'OrderTotal'), '9999999.99', 'clamped');
  t.equal(field({ orderTotal: '-12345678.00' }, 'OrderTotal'), '-9999999.99');
  t.equal(field({ shippingAmount: null }, 'ShippingAmount'), '0.00', 'required: 0.00 when absent');
  t.equal(field({ taxAmount: null }, 'TaxAmount'), undefined, 'TaxAmount omitted when absent');
  t.equal(field({ taxAmount: '0' }, 'TaxAmount'), '0.00');
  const price = (unitPrice: string) =>
    /<UnitPrice>([^<]*)</.exec(renderOrder(order({ items: [item({ unitPrice })] })))?.[1];
  t.equal(price('0'), '0.00', 'a free item has 0.00, not an empty UnitPrice');
  t.equal(price('-3.6'), '-3.60');
});

t.test('weights and units', async (t) => {
  const w = (over: Partial<ExportItem>) => {
    const x = renderOrder(order({ items: [item(over)] }));
    return {
      weight: /<Item>.*?<Weight>([^<]*)<\/Weight>/.exec(x)?.[1],
      unit: /<WeightUnits>([^<]*)</.exec(x)?.[1],
      options: [...x.matchAll(/<Option>.*?<\/Option>/g)].map((m) => /<Weight>([^<]*)</.exec(m[0])?.[1]),
    };
  };
  t.same(w({ weight: '14.50', weightUnit: 'oz' }), { weight: '14.5', unit: 'Ounces', options: [] });
  t.same(w({ weight: '2', weightUnit: 'lb' }), { weight: '2', unit: 'Pounds', options: [] });
  t.same(
    w({ weight: '250.125', weightUnit: 'g' }),
    { weight: '250.13', unit: 'Grams', options: [] },
    'half-up',
  );
  t.same(w({ weight: '1.5', weightUnit: 'kg' }), { weight: '1500', unit: 'Grams', options: [] });
  t.same(
    w({ weight: '0.0004', weightUnit: 'kg' }),
    { weight: '0.4', unit: 'Grams', options: [] },
    'kg precision kept',
  );
  t.same(w({ weight: '0.123456', weightUnit: 'kg' }), { weight: '123.46', unit: 'Grams', options: [] });
  t.same(
    w({ weight: '9999.99999', weightUnit: 'kg' }),
    { weight: '9999999.99', unit: 'Grams', options: [] },
    'largest in grams',
  );
  t.same(
    w({ weight: '10000', weightUnit: 'kg' }),
    { weight: '22046.23', unit: 'Pounds', options: [] },
    'too big in grams → Pounds',
  );
  t.same(
    w({ weight: '99999999', weightUnit: 'lb' }),
    { weight: undefined, unit: undefined, options: [] },
    'too big → omitted',
  );
  t.same(
    w({ weight: '1', weightUnit: null }),
    { weight: undefined, unit: undefined, options: [] },
    'no unit → omitted',
  );
  t.same(w({ weight: null, weightUnit: 'oz' }), { weight: undefined, unit: undefined, options: [] });
  t.same(
    w({ weight: '-1', weightUnit: 'oz' }),
    { weight: undefined, unit: undefined, options: [] },
    'negative → omitted',
  );
  t.same(w({ weight: 'heavy', weightUnit: 'oz' }), { weight: undefined, unit: undefined, options: [] });
  const opts = [
    { name: 'A', value: 'a', weight: '0.25' },
    { name: 'B', value: 'b', weight: null },
    { name: 'C', value: 'c', weight: '0.0001' },
  ];
  t.same(w({ weight: '1.2', weightUnit: 'kg', options: opts }), {
    weight: '1200',
    unit: 'Grams',
    options: ['250', undefined, '0.1'],
  });
  t.same(
    w({ weight: '1', weightUnit: 'kg', options: [{ name: 'Crate', value: 'yes', weight: '20000' }] }),
    { weight: '2.2', unit: 'Pounds', options: ['44092.45'] },
    'an option too heavy in grams switches the whole item to Pounds',
  );
  t.same(w({ weight: '3', weightUnit: 'oz', options: opts }), {
    weight: '3',
    unit: 'Ounces',
    options: ['0.25', undefined, '0'],
  });
  t.same(
    w({ weight: null, weightUnit: 'oz', options: opts }),
    { weight: undefined, unit: undefined, options: [undefined, undefined, undefined] },
    'option weights need the item weight',
  );
});

t.test('required fields fall back; blank optional fields are omitted', async (t) => {
  const bare = order({
    orderNumber: '  ',
    status: '',
    customer: { code: null, email: 'buyer@example.com' },
    billTo: address(),
    shipTo: address({ company: 'Acme', street2: 'Unit 4', country: 'GBR' }),
    items: [
      item({ sku: null, name: null, lineId: 'L-9' }),
      item({ sku: '\u0001', name: '', lineId: null, adjustment: true }),
    ],
    customFields: ['', '   ', null],
    customerNotes: '\u0000\u0001',
  });
  const [o] = ordersOf(renderOrdersPage([bare], 1)) as unknown[];
  t.equal(cd(at(o, 'OrderNumber')), '184227', 'OrderNumber → OrderID');
  t.equal(cd(at(o, 'OrderStatus')), 'unknown');
  t.equal(cd(at(o, 'Customer.CustomerCode')), 'buyer@example.com', 'CustomerCode → customer email');
  t.equal(cd(at(o, 'Customer.BillTo.Name')), 'buyer@example.com', 'BillTo name → … → customer email');
  t.equal(cd(at(o, 'Customer.BillTo.Email')), 'buyer@example.com', 'BillTo email → customer email');
  t.equal(cd(at(o, 'Customer.ShipTo.Name')), 'Acme', 'ShipTo name → company');
  t.equal(cd(at(o, 'Customer.ShipTo.Address1')), 'Unit 4', 'the first non-blank street line');
  t.equal(at(o, 'Customer.ShipTo.Address2'), undefined);
  t.equal(cd(at(o, 'Customer.ShipTo.City')), '(no city)');
  t.equal(cd(at(o, 'Customer.ShipTo.PostalCode')), '', 'PostalCode always present, may be empty');
  t.equal(at(o, 'Customer.ShipTo.Country'), 'ZZ', 'no valid country → ZZ');
  t.equal(at(o, 'CustomField1'), undefined);
  t.equal(at(o, 'CustomField2'), undefined, 'blank → omitted');
  t.equal(at(o, 'CustomerNotes'), undefined, 'only illegal characters → omitted');
  const items = itemsOf(o);
  t.equal(cd(at(items[0], 'SKU')), 'L-9', 'SKU → merchant line id');
  t.equal(cd(at(items[0], 'Name')), 'L-9', 'Name → SKU');
  t.equal(cd(at(items[1], 'SKU')), 'ADJUSTMENT');
  t.equal(cd(at(items[1], 'Name')), 'ADJUSTMENT');
  const nothing = order({
    orderNumber: 'N',
    customer: { code: null, email: null },
    billTo: address(),
    shipTo: address(),
  });
  const [n] = ordersOf(renderOrdersPage([nothing], 1)) as unknown[];
  t.equal(cd(at(n, 'Customer.CustomerCode')), 'N', 'CustomerCode → order number at last');
  t.equal(cd(at(n, 'Customer.BillTo.Name')), '(no name)');
  t.equal(cd(at(n, 'Customer.ShipTo.Name')), '(no name)');
  t.equal(cd(at(n, 'Customer.ShipTo.Address1')), '(no address)');
  const phones = order({
    billTo: address({ name: 'B', phone: '111', country: 'ca' }),
    shipTo: address({ name: 'S' }),
  });
  const [p] = ordersOf(renderOrdersPage([phones], 1)) as unknown[];
  t.equal(cd(at(p, 'Customer.ShipTo.Phone')), '111', 'ShipTo phone → BillTo phone');
  t.equal(at(p, 'Customer.ShipTo.Country'), 'CA', 'country → bill-to country, upper-cased');
  t.equal(await xsdProblem([bare, nothing, phones]), undefined, 'valid against the XSD');
});

t.test('addresses: street3 joins Address2 within 200 characters', async (t) => {
  const long = 'x'.repeat(150);
  const x = renderOrder(
    order({
      shipTo: address({ name: 'A', street1: 'S1', street2: long, street3: long, city: 'C', country: 'US' }),
    }),
  );
  const a2 = /<Address2><!\[CDATA\[(.*?)\]\]><\/Address2>/.exec(x)?.[1];
  t.equal(a2, `${long}, ${'x'.repeat(48)}`);
  t.equal(a2?.length, 200);
});

t.test('free text: CDATA, ]]> split, illegal characters, truncation by characters', async (t) => {
  const nasty =
    'a]]>b]]]>c &amp; <tag> "q" \u0000\u0008\u000B\u000C\u001F\uFFFE\uFFFF\uD800x\uDC00y\r\nz\rw 😀';
  const x = renderOrder(order({ customerNotes: nasty }));
  t.match(
    x,
    /<CustomerNotes><!\[CDATA\[a\]\]\]\]><!\[CDATA\[>b\]\]\]\]\]><!\[CDATA\[>c &amp; <tag> "q" xy\nz\nw 😀\]\]><\/CustomerNotes>/,
  );
  const [o] = ordersOf(renderOrdersPage([order({ customerNotes: nasty })], 1)) as unknown[];
  t.equal(cd(at(o, 'CustomerNotes')), 'a]]>b]]]>c &amp; <tag> "q" xy\nz\nw 😀');
  const emoji = '😀'.repeat(1200);
  const [e] = ordersOf(
    renderOrdersPage([order({ customerNotes: emoji, source: 'é'.repeat(60) })], 1),
  ) as unknown[];
  t.equal(
    cd(at(e, 'CustomerNotes')),
    '😀'.repeat(1000),
    '1000 characters, not 1000 UTF-16 units; no pair split',
  );
  t.equal(cd(at(e, 'Source')), 'é'.repeat(50));
  t.equal(
    await xsdProblem([order({ customerNotes: nasty }), order({ customerNotes: emoji })]),
    undefined,
    'valid against the XSD',
  );
});

t.test('image URLs and options', async (t) => {
  const url = (imageUrl: string) =>
    /<ImageUrl><!\[CDATA\[(.*?)\]\]>/.exec(renderOrder(order({ items: [item({ imageUrl })] })))?.[1];
  t.equal(url('https://cdn.example.com/a b.jpg'), undefined, 'whitespace → omitted');
  t.equal(url('ftp://x/y'), undefined);
  t.equal(url('/relative.jpg'), undefined);
  t.equal(url(`https://x.example/${'a'.repeat(500)}`), undefined, 'too long → omitted, not cut');
  t.equal(url(' http://x.example/ä.png '), 'http://x.example/ä.png');
  const options = Array.from({ length: 105 }, (_, i) => ({
    name: `n${i}`,
    value: i === 1 ? ' ' : `v${i}`,
    weight: null,
  }));
  const x = renderOrder(order({ items: [item({ options })] }));
  t.equal([...x.matchAll(/<Option>/g)].length, 100, 'at most 100 options');
  t.notMatch(x, /n1\]\]/, 'an option with a blank value is skipped');
  t.notMatch(
    renderOrder(order({ items: [item({ options: [{ name: '', value: 'v', weight: '1' }] })] })),
    /<Options>/,
    'no empty Options element',
  );
  const q = (quantity: number) =>
    /<Quantity>(\d+)</.exec(renderOrder(order({ items: [item({ quantity })] })))?.[1];
  t.equal(q(3), '3');
  t.equal(q(0), '1', 'clamped (defensive)');
  t.equal(q(123456), '99999');
  t.equal(q(2.6), '3');
  t.equal(renderOrder(order({ items: [] })).includes('<Items></Items>'), true, 'Items always present');
});

t.test('toExportOrder from the normalised order', async (t) => {
  const addr = {
    name: 'Jane',
    company: null,
    street1: '1 Main',
    street2: null,
    street3: 'Rear',
    city: 'Reno',
    state: 'NV',
    postal_code: '89501',
    country: 'US',
    phone: null,
    email: 'j@example.com',
  };
  const normalized: NormalizedOrder = {
    order_source: 'shopify',
    order_number: '1001',
    order_date: '2026-11-22T10:15:00.000Z',
    currency: 'USD',
    tags: ['vip'],
    shipping_method: 'Ground',
    payment_method: null,
    order_total: '10.00',
    tax_amount: '0.50',
    shipping_amount: null,
    amount_paid: '10.00',
    customer_notes: null,
    internal_notes: 'n',
    gift: true,
    gift_message: 'hi',
    custom_fields: ['a', 'b'],
    requested_warehouse: 'Reno DC',
    customer: { code: 'c1', email: 'j@example.com' },
    bill_to: addr,
    ship_to: { ...addr, name: 'Ship Name' },
    items: [],
  };
  const line = {
    line_id: 'L1',
    sku: 'S',
    name: 'N',
    quantity: 2,
    unit_price: '4.75',
    weight: '1.5',
    weight_unit: 'kg' as const,
    image_url: null,
    location: 'B-1',
    upc: '123456789012',
    options: [{ name: 'Size', value: 'L', weight: '0.1' }],
    adjustment: false,
  };
  const e = toExportOrder({
    id: 42n,
    status: 'at_wms',
    lastModified: new Date('2026-11-22T11:00:00Z'),
    order: { ...normalized, items: [{ ...line, line_item_id: 7 }] },
    orderNumberPrefix: 'SB-',
  });
  t.equal(e.orderId, '42');
  t.equal(e.orderNumber, 'SB-1001', 'prefix applied');
  t.same(e.orderDate, new Date('2026-11-22T10:15:00Z'));
  t.equal(e.status, 'at_wms');
  t.equal(e.source, 'shopify');
  t.equal(e.shipTo.postalCode, '89501');
  t.equal(e.shipTo.name, 'Ship Name');
  t.same(e.items[0], {
    lineItemId: '7',
    lineId: 'L1',
    sku: 'S',
    name: 'N',
    imageUrl: null,
    weight: '1.5',
    weightUnit: 'kg',
    quantity: 2,
    unitPrice: '4.75',
    location: 'B-1',
    adjustment: false,
    options: [{ name: 'Size', value: 'L', weight: '0.1' }],
  });
  const x = renderOrder(e);
  t.match(x, /<OrderNumber><!\[CDATA\[SB-1001\]\]><\/OrderNumber>/);
  t.match(x, /<Address2><!\[CDATA\[Rear\]\]><\/Address2>/, 'street3 becomes Address2 when street2 is empty');
  t.notMatch(x, /UPC|123456789012|USD/, 'UPC and currency are not exported');
  t.equal(
    toExportOrder({ id: 1, status: 'new', lastModified: new Date(), order: { ...normalized, items: [] } })
      .orderNumber,
    '1001',
    'no prefix',
  );
  t.equal(await xsdProblem([e]), undefined, 'valid against the XSD');
});

t.test('the XSD catches drift: order, types and undeclared elements', async (t) => {
  const good = renderOrdersPage([FULL], 1);
  const cases: [string, string][] = [
    [
      'swapped OrderDate/OrderNumber',
      good.replace(/(<OrderNumber>.*?<\/OrderNumber>)(<OrderDate>.*?<\/OrderDate>)/, '$2$1'),
    ],
    [
      'Adjustment before Quantity',
      good.replace(
        '<Quantity>1</Quantity><UnitPrice>-3.60</UnitPrice><Adjustment>true</Adjustment>',
        '<Adjustment>true</Adjustment><Quantity>1</Quantity><UnitPrice>-3.60</UnitPrice>',
      ),
    ],
    ['CurrencyCode', good.replace('<OrderTotal>', '<CurrencyCode>USD</CurrencyCode><OrderTotal>')],
    ['UPC', good.replace('<Quantity>2</Quantity>', '<UPC>1</UPC><Quantity>2</Quantity>')],
    ['empty UnitPrice', good.replace('<UnitPrice>18.00</UnitPrice>', '<UnitPrice></UnitPrice>')],
    ['one-decimal money', good.replace('<UnitPrice>18.00</UnitPrice>', '<UnitPrice>18.0</UnitPrice>')],
    ['fractional quantity', good.replace('<Quantity>2</Quantity>', '<Quantity>0.375</Quantity>')],
    ['zero quantity', good.replace('<Quantity>2</Quantity>', '<Quantity>0</Quantity>')],
    ['Kilograms', good.replace('<WeightUnits>Grams</WeightUnits>', '<WeightUnits>Kilograms</WeightUnits>')],
    ['three decimals of weight', good.replace('<Weight>14.5</Weight>', '<Weight>14.125</Weight>')],
    [
      'ISO date',
      good.replace('<OrderDate>07/14/2025 18:03</OrderDate>', '<OrderDate>2025-07-14T18:03:00Z</OrderDate>'),
    ],
    ['Gift True', good.replace('<Gift>true</Gift>', '<Gift>True</Gift>')],
    ['Gift 1', good.replace('<Gift>true</Gift>', '<Gift>1</Gift>')],
    ['country USA', good.replace('<Country>US</Country>', '<Country>USA</Country>')],
    ['empty SKU', good.replace('<SKU><![CDATA[TEA]]></SKU>', '<SKU><![CDATA[]]></SKU>')],
    [
      '101-character SKU',
      good.replace('<SKU><![CDATA[TEA]]></SKU>', `<SKU><![CDATA[${'S'.repeat(101)}]]></SKU>`),
    ],
    ['missing PostalCode', good.replace(/<PostalCode>.*?<\/PostalCode>/, '')],
    ['extra page attribute', good.replace('<Orders pages="1">', '<Orders pages="1" page="1">')],
    ['pages beyond xs:short', good.replace('<Orders pages="1">', '<Orders pages="40000">')],
  ];
  const results = await validateManyOrdersXml([...cases.map(([, xml]) => xml), good]);
  for (const [i, [name]] of cases.entries()) t.notOk(results[i]!.valid, `rejected: ${name}`);
  t.ok(results[cases.length]!.valid, 'while the original is valid');
});

t.test('escaping primitives', async (t) => {
  t.equal(esc('a & b < c > d " e \' f'), 'a &amp; b &lt; c &gt; d &quot; e &apos; f');
  t.equal(esc('plain'), 'plain');
  t.equal(esc('x\u0000y\uFFFFz\uD83D'), 'xyz', 'illegal characters and a lone high surrogate go');
  t.equal(clean('\uDE00a\uD83D\uDE00b\uDBFF'), 'a😀b', 'pairs stay, lone halves go');
  t.equal(clean('a\r\nb\rc\td'), 'a\nb\nc\td');
  t.equal(cdata(']]>'), '<![CDATA[]]]]><![CDATA[>]]>');
  t.equal(cdata('a]]>]]>b'), '<![CDATA[a]]]]><![CDATA[>]]]]><![CDATA[>b]]>');
  t.equal(cdata(''), '<![CDATA[]]>');
  t.equal(truncateChars('😀😀😀', 2), '😀😀');
  t.equal(truncateChars('ab', 5), 'ab');
  t.equal(charLength('a😀é'), 3);
  const r = tree(`<R>${cdata('x]]>y&<\u0001')}</R>`) as { R: unknown };
  t.same(r.R, { cdata: 'x]]>y&<' });
});

t.test('error bodies', async (t) => {
  const x = errorXml('unauthorized', 'Wrong user name or password for "store" <a&b> \u0001]]>');
  t.equal(
    x,
    '<?xml version="1.0" encoding="utf-8"?><Error><Code>unauthorized</Code>' +
      '<Message>Wrong user name or password for "store" &lt;a&amp;b&gt; ]]&gt;</Message></Error>',
  );
  t.equal(XMLValidator.validate(x), true);
  t.same(new XMLParser({ parseTagValue: false }).parse(x).Error, {
    Code: 'unauthorized',
    Message: 'Wrong user name or password for "store" <a&b> ]]>',
  });
});

// ------------------------------------------------------------------------------------------------
// Property tests

/** Text that stresses XML: markup characters, CDATA terminators, controls, lone surrogates, astral. */
const nastyChar = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      ']]>',
      ']]',
      ']',
      '>',
      '&',
      '<',
      '"',
      "'",
      '&amp;',
      '\r\n',
      '\r',
      '\n',
      '\t',
      ' ',
    ),
  },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '\u0000',
      '\u0001',
      '\u000B',
      '\uFFFE',
      '\uFFFF',
      '\uD800',
      '\uDFFF',
      '😀',
      'é',
    ),
  },
);
const nastyText = (maxLength: number) => fc.array(nastyChar, { maxLength }).map((a) => a.join(''));
const freeText = fc.oneof(
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.constant('') },
  { weight: 6, arbitrary: nastyText(12) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 40, maxLength: 1100 }) },
);
const moneyText = fc.oneof(
  fc.integer({ min: -999_999_999, max: 999_999_999 }).map((c) => (c / 100).toFixed(2)),
  fc.constantFrom(
    '0',
    '5',
    '5.5',
    '-0',
    '00012.30',
    '123456789.99',
    '-99999999',
    'abc',
    '',
    ' 1.00 ',
    '1.234',
  ),
);
const weightText = fc.oneof(
  fc.constant(null),
  fc
    .tuple(fc.nat({ max: 99_999 }), fc.nat({ max: 999_999 }))
    .map(([w, f]) => `${w}.${String(f).padStart(6, '0')}`),
  fc.constantFrom('0', '0.0004', '10000', '9999.99999', '123456789', '-1', 'x', '.5', '5.'),
);
const addressArb: fc.Arbitrary<ExportAddress> = fc.record({
  name: freeText,
  company: freeText,
  street1: freeText,
  street2: freeText,
  street3: freeText,
  city: freeText,
  state: freeText,
  postalCode: freeText,
  country: fc.oneof(fc.constantFrom('US', 'gb', ' de ', 'USA', '', null, 'U1'), freeText),
  phone: freeText,
  email: freeText,
});
const itemArb: fc.Arbitrary<ExportItem> = fc.record({
  lineItemId: fc.oneof(fc.nat().map(String), freeText),
  lineId: freeText,
  sku: freeText,
  name: freeText,
  imageUrl: fc.oneof(
    freeText,
    fc.webUrl(),
    nastyText(8).map((s) => `https://img.example/${s}`),
  ),
  weight: weightText,
  weightUnit: fc.constantFrom('oz', 'lb', 'g', 'kg', null),
  quantity: fc.oneof(fc.integer({ min: 1, max: 99_999 }), fc.constantFrom(0, -3, 100_000, 2.5)),
  unitPrice: moneyText,
  location: freeText,
  adjustment: fc.boolean(),
  options: fc.array(
    fc.record({
      name: freeText.map((v) => v ?? ''),
      value: freeText.map((v) => v ?? ''),
      weight: weightText,
    }),
    {
      maxLength: 3,
    },
  ),
});
const dateArb = fc.date({
  min: new Date('2000-01-01T00:00:00Z'),
  max: new Date('2099-12-31T00:00:00Z'),
  noInvalidDate: true,
});
const orderArb: fc.Arbitrary<ExportOrder> = fc.record({
  orderId: fc.oneof(
    fc.nat().map(String),
    freeText.map((v) => v ?? ''),
  ),
  orderNumber: freeText.map((v) => v ?? ''),
  orderDate: dateArb,
  lastModified: dateArb,
  status: fc.oneof(
    fc.constantFrom('new', 'at_wms', 'canceled'),
    freeText.map((v) => v ?? ''),
  ),
  shippingMethod: freeText,
  paymentMethod: freeText,
  orderTotal: moneyText,
  taxAmount: fc.oneof(fc.constant(null), moneyText),
  shippingAmount: fc.oneof(fc.constant(null), moneyText),
  customerNotes: freeText,
  internalNotes: freeText,
  gift: fc.boolean(),
  giftMessage: freeText,
  customFields: fc.array(freeText, { maxLength: 4 }),
  requestedWarehouse: freeText,
  source: freeText,
  customer: fc.record({ code: freeText, email: freeText }),
  billTo: addressArb,
  shipTo: addressArb,
  items: fc.array(itemArb, { maxLength: 3 }),
});
const zoneArb = fc.constantFrom('UTC', 'America/New_York', 'Europe/London', 'Asia/Kolkata');

t.test('property: same tree as the oracle, well-formed, text reads back cleaned', async (t) => {
  fc.assert(
    fc.property(
      fc.array(orderArb, { maxLength: 3 }),
      fc.nat({ max: 32767 }),
      zoneArb,
      (orders, pages, zone) => {
        const xml = renderOrdersPage(orders, pages, zone);
        const wellFormed = XMLValidator.validate(xml);
        if (wellFormed !== true) throw new Error(`not well-formed: ${JSON.stringify(wellFormed)}`);
        assert.deepStrictEqual(
          tree(xml),
          tree(oracleOrdersPage(orders, pages, zone)),
          'same tree as the oracle',
        );
        const parsed = ordersOf(xml) as unknown[];
        if (parsed.length !== orders.length) throw new Error('order count differs');
        orders.forEach((o, i) => {
          const p = parsed[i]!;
          const checks: [unknown, string | undefined][] = [
            [at(p, 'ShippingMethod'), expectedText(o.shippingMethod, 100)],
            [at(p, 'PaymentMethod'), expectedText(o.paymentMethod, 50)],
            [at(p, 'CustomerNotes'), expectedText(o.customerNotes, 1000)],
            [at(p, 'InternalNotes'), expectedText(o.internalNotes, 1000)],
            [at(p, 'GiftMessage'), expectedText(o.giftMessage, 1000)],
            [at(p, 'CustomField1'), expectedText(o.customFields[0], 100)],
            [at(p, 'CustomField2'), expectedText(o.customFields[1], 100)],
            [at(p, 'CustomField3'), expectedText(o.customFields[2], 100)],
            [at(p, 'RequestedWarehouse'), expectedText(o.requestedWarehouse, 100)],
            [at(p, 'Source'), expectedText(o.source, 50)],
            [at(p, 'Customer.BillTo.Company'), expectedText(o.billTo.company, 100)],
            [at(p, 'Customer.BillTo.Phone'), expectedText(o.billTo.phone, 50)],
            [at(p, 'Customer.ShipTo.Company'), expectedText(o.shipTo.company, 100)],
            [at(p, 'Customer.ShipTo.State'), expectedText(o.shipTo.state, 100)],
          ];
          const items = (at(p, 'Items.Item') ?? []) as unknown[];
          o.items.forEach((it, j) => {
            checks.push([at(items[j], 'Location'), expectedText(it.location, 100)]);
            const name = expectedText(it.name, 200);
            if (name !== undefined) checks.push([at(items[j], 'Name'), name]);
            const sku = expectedText(it.sku, 100);
            if (sku !== undefined) checks.push([at(items[j], 'SKU'), sku]);
          });
          for (const [got, want] of checks) {
            if (cd(got) !== want)
              throw new Error(`read back ${JSON.stringify(cd(got))}, expected ${JSON.stringify(want)}`);
          }
        });
      },
    ),
    { numRuns: 200 },
  );
  t.pass('200 random pages: same tree as the oracle, well-formed, free text reads back cleaned');
});

t.test('property: every random page is valid against our XSD', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(orderArb, { minLength: 1, maxLength: 12 }), zoneArb, async (orders, zone) => {
      const r = await validateOrdersXml(renderOrdersPage(orders, 1, zone));
      if (!r.valid) throw new Error(r.errors.slice(0, 3).join(' | '));
    }),
    { numRuns: 20 },
  );
  t.pass('20 random pages of up to 12 orders');
  // And one big batch in a single xmllint call (one order per line to name a culprit).
  t.equal(
    await xsdProblem(fc.sample(orderArb, { numRuns: 400, seed: Date.now() })),
    undefined,
    'valid against the XSD',
  );
});
