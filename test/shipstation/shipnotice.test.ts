import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import t from 'tap';
import {
  MAX_ATTRIBUTES,
  MAX_REFERENCES,
  parseShipNotice,
  type ShipNotice,
} from '../../src/shipstation/shipnotice.js';
import { validateShipNoticeXml } from '../helpers/xsd.js';

// The sample notice of the protocol research (shared/reference/shipstation-custom-store.md), kept as a
// fixture so the suite does not depend on anything outside the repository.
const SAMPLE = readFileSync(new URL('../fixtures/shipnotice-sample.xml', import.meta.url), 'utf8');

function ok(body: string): ShipNotice {
  const r = parseShipNotice(body);
  if (!r.ok) throw new Error(`expected a notice, got: ${r.error}`);
  if (r.notice === null) throw new Error('expected a notice, got none');
  return r.notice;
}

function error(body: string): string {
  const r = parseShipNotice(body);
  if (r.ok) throw new Error('expected an error');
  return r.error;
}

const wrap = (inner: string) => `<?xml version="1.0" encoding="utf-8"?><ShipNotice>${inner}</ShipNotice>`;

t.test('the reference sample', async (t) => {
  t.ok(SAMPLE, 'sample found in the reference note');
  const r = parseShipNotice(SAMPLE);
  t.ok(r.ok);
  if (!r.ok) return;
  t.same(r.warnings, []);
  t.same(r.notice, {
    orderId: 'wms-000184227',
    orderNumber: 'R-10442',
    customerCode: 'jane.doe@example.com',
    customerNotes: 'Leave with the concierge & ring twice',
    internalNotes: null,
    notesToCustomer: null,
    notifyCustomer: false,
    labelCreateDate: new Date('2025-07-15T16:20:00Z'),
    shipDate: '2025-07-16',
    carrier: 'UPS',
    service: 'UPS Ground',
    trackingNumber: '1Z999AA10123456784',
    shippingCost: '9.12',
    customFields: ['B2C', 'promo: SUMMER10', null],
    requestedWarehouse: null,
    recipient: {
      name: 'Jane Doe',
      company: 'Acme "East" Ltd.',
      address1: '221 Elm St <rear>',
      address2: 'Apt 4',
      address3: null,
      city: 'Springfield',
      state: 'IL',
      postalCode: '62704',
      country: 'US',
      phone: null,
      email: null,
    },
    items: [{ lineItemId: 'ln-1', sku: 'MUG-BLU-12', name: 'Ceramic mug, blue, 12 oz', quantity: 1 }],
  });
  const xsd = await validateShipNoticeXml(SAMPLE);
  t.ok(xsd.valid, 'the sample is valid against our ShipNotice schema');
  const bad = await validateShipNoticeXml(wrap('<Items><Item><Quantity>1.5</Quantity></Item></Items>'));
  t.notOk(bad.valid, 'the schema documents the integer quantity too');
});

t.test('an empty body means no body', async (t) => {
  for (const body of ['', '   \n', '\uFEFF']) {
    t.same(parseShipNotice(body), { ok: true, notice: null, warnings: [] });
  }
});

t.test('CDATA, entities, numeric references, illegal characters, leading zeros', async (t) => {
  const n = ok(
    wrap(
      '<OrderID>000123</OrderID><OrderNumber><![CDATA[A&B <1>]]></OrderNumber>' +
        '<CustomerCode>x &amp; y &lt;z&gt; &#65;&#x42;</CustomerCode>' +
        '<CustomerNotes><![CDATA[a]]]]><![CDATA[>b]]></CustomerNotes>' +
        '<InternalNotes>bad&#1;char</InternalNotes><TrackingNumber>  1Z 9  </TrackingNumber>',
    ),
  );
  t.equal(n.orderId, '000123', 'numbers stay strings');
  t.equal(n.orderNumber, 'A&B <1>');
  t.equal(n.customerCode, 'x & y <z> AB');
  t.equal(n.customerNotes, 'a]]>b');
  t.equal(n.internalNotes, 'badchar');
  t.equal(n.trackingNumber, '1Z 9', 'trimmed');
  t.equal(n.items, null, 'no Items element');
  t.equal(n.recipient, null);
});

t.test('DOCTYPE, XXE and entity expansion are refused', async (t) => {
  const xxe =
    '<?xml version="1.0"?><!DOCTYPE ShipNotice [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>' +
    '<ShipNotice><OrderID>&xxe;</OrderID></ShipNotice>';
  t.match(error(xxe), /DOCTYPE and ENTITY declarations are not accepted/);
  const laughs =
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' +
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">' +
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>' +
    '<ShipNotice><OrderID>&lol3;</OrderID></ShipNotice>';
  t.match(error(laughs), /not accepted/);
  t.match(error('<!doctype ShipNotice><ShipNotice/>'), /not accepted/, 'any case');
  t.match(error('<ShipNotice><!ENTITY x "y"></ShipNotice>'), /not accepted/, 'a stray ENTITY too');
  const undefinedEntity = parseShipNotice(wrap('<OrderID>&xxe;</OrderID>'));
  t.ok(undefinedEntity.ok, 'an undefined entity without a DTD is just text');
  if (undefinedEntity.ok) t.equal(undefinedEntity.notice?.orderId, '&xxe;', 'and is never expanded');
});

t.test('single Item, many Items, empty Items, missing Items', async (t) => {
  const one = ok(wrap('<Items><Item><SKU>A</SKU><Quantity>2</Quantity></Item></Items>'));
  t.same(one.items, [{ lineItemId: null, sku: 'A', name: null, quantity: 2 }], 'a single Item is an array');
  const many = ok(
    wrap(
      '<Items><Item><LineItemID>7</LineItemID><Quantity>1</Quantity></Item>' +
        '<Item><SKU>B</SKU><Name>Bee</Name><Quantity>+0003</Quantity><UPC>123</UPC></Item></Items>',
    ),
  );
  t.same(many.items, [
    { lineItemId: '7', sku: null, name: null, quantity: 1 },
    { lineItemId: null, sku: 'B', name: 'Bee', quantity: 3 },
  ]);
  t.equal(ok(wrap('<Items></Items>')).items, null, 'empty Items');
  t.equal(ok(wrap('<Items/>')).items, null, 'self-closed Items');
  t.equal(ok(wrap('<Items>  </Items>')).items, null, 'blank Items');
  t.equal(ok(wrap('<OrderID>1</OrderID>')).items, null, 'missing Items');
});

t.test('bad quantities are errors naming the item', async (t) => {
  const q = (v: string) => error(wrap(`<Items><Item><Quantity>1</Quantity></Item><Item>${v}</Item></Items>`));
  t.match(
    q('<Quantity>1.5</Quantity>'),
    /Items\/Item\[2\]\/Quantity must be an integer from 1 to 99999, got "1.5"/,
  );
  t.match(q('<Quantity>0</Quantity>'), /Item\[2\]\/Quantity must be an integer/);
  t.match(q('<Quantity>100000</Quantity>'), /Item\[2\]\/Quantity must be an integer/);
  t.match(q('<Quantity>-1</Quantity>'), /Item\[2\]\/Quantity must be an integer/);
  t.match(q('<Quantity>two</Quantity>'), /got "two"/);
  t.match(q('<Quantity>1e3</Quantity>'), /got "1e3"/);
  t.match(q('<SKU>A</SKU>'), /Item\[2\]\/Quantity is required/);
  t.match(q(''), /Item\[2\]\/Quantity is required/);
  t.ok(parseShipNotice(wrap('<Items><Item><Quantity>99999</Quantity></Item></Items>')).ok, '99999 is fine');
});

t.test('NotifyCustomer', async (t) => {
  for (const [v, expected] of [
    ['true', true],
    ['TRUE', true],
    ['yes', true],
    ['Yes', true],
    ['1', true],
    ['false', false],
    ['no', false],
    ['0', false],
    ['', false],
  ] as const) {
    t.equal(ok(wrap(`<NotifyCustomer>${v}</NotifyCustomer>`)).notifyCustomer, expected, `"${v}"`);
  }
  t.equal(ok(wrap('')).notifyCustomer, false, 'absent');
});

t.test('dates and cost: readable, or null with a warning', async (t) => {
  const good = ok(
    wrap(
      '<LabelCreateDate>12/8/2011 12:56 PM</LabelCreateDate><ShipDate>7/4/25</ShipDate><ShippingCost>7.5</ShippingCost>',
    ),
  );
  t.same(good.labelCreateDate, new Date('2011-12-08T12:56:00Z'));
  t.equal(good.shipDate, '2025-07-04');
  t.equal(good.shippingCost, '7.50');
  const r = parseShipNotice(
    wrap(
      '<LabelCreateDate>yesterday</LabelCreateDate><ShipDate>02/30/2025</ShipDate>' +
        '<ShippingCost>9,12</ShippingCost><Carrier>UPS</Carrier>',
    ),
  );
  t.ok(r.ok);
  if (!r.ok || !r.notice) return;
  t.equal(r.notice.labelCreateDate, null);
  t.equal(r.notice.shipDate, null);
  t.equal(r.notice.shippingCost, null);
  t.equal(r.notice.carrier, 'UPS', 'the rest is still read');
  t.equal(r.warnings.length, 3);
  t.match(
    r.warnings.join('\n'),
    /LabelCreateDate "yesterday"[\s\S]*ShipDate "02\/30\/2025"[\s\S]*ShippingCost "9,12"/,
  );
  for (const cost of ['-1.00', '1.234', 'abc']) {
    const c = parseShipNotice(wrap(`<ShippingCost>${cost}</ShippingCost>`));
    t.ok(c.ok && c.notice?.shippingCost === null && c.warnings.length === 1, `cost ${cost}`);
  }
  const zoned = parseShipNotice(
    wrap('<LabelCreateDate>07/15/2025 16:20</LabelCreateDate>'),
    'America/New_York',
  );
  t.ok(zoned.ok && zoned.notice?.labelCreateDate?.toISOString() === '2025-07-15T20:20:00.000Z', 'store zone');
});

t.test('garbage and structural errors', async (t) => {
  t.match(error('not xml at all'), /not well-formed XML|root element/);
  t.match(error('<ShipNotice><OrderID>1</ShipNotice>'), /not well-formed XML \(line 1/);
  t.match(error('<ShipNotice>'), /not well-formed/);
  t.match(error('{"ShipNotice": {}}'), /not well-formed|root element/);
  t.match(error('<Orders pages="1"/>'), /root element must be ShipNotice, got Orders/);
  t.match(
    error(wrap('<OrderID>1</OrderID><OrderID>2</OrderID>')),
    /ShipNotice\/OrderID appears more than once/,
  );
  t.match(error(wrap('<OrderID><x>1</x></OrderID>')), /ShipNotice\/OrderID must be text/);
  t.match(error(wrap('<Recipient>text</Recipient>')), /Recipient must contain elements/);
  t.match(error(wrap('<Items><Item>3</Item></Items>')), /Item\[1\] must contain elements/);
  t.match(error('<ShipNotice>text</ShipNotice>'), /must contain elements/);
  const empty = ok('<ShipNotice/>');
  t.equal(empty.orderId, null, 'an empty ShipNotice is a notice with nothing in it');
  const extra = ok(wrap('<Unknown><Deep>1</Deep></Unknown><OrderID>9</OrderID>'));
  t.equal(extra.orderId, '9', 'unknown elements are ignored');
  const attrs = ok('<ShipNotice version="2"><OrderID kind="x">5</OrderID></ShipNotice>');
  t.equal(attrs.orderId, '5', 'attributes are ignored');
});

t.test('the fast readers give exactly what fast-xml-parser gives, or step aside', async (t) => {
  const { XMLValidator } = await import('fast-xml-parser');
  const { fullParse, simpleParse } = await import('../../src/shipstation/shipnotice.js');
  const decl = '<?xml version="1.0" encoding="utf-8"?>\n';
  const bodies = [
    SAMPLE,
    SAMPLE.replace(/\r/g, ''),
    wrap(''),
    '<ShipNotice/>',
    '<ShipNotice></ShipNotice>',
    '<ShipNotice> \n </ShipNotice>',
    '<ShipNotice>text</ShipNotice>',
    `${decl}<ShipNotice>\n  <OrderNumber> 123 </OrderNumber>\n  <Carrier/>\n  <Service></Service>\n  <TrackingNumber>   </TrackingNumber>\n</ShipNotice>\n`,
    wrap('<OrderNumber>1</OrderNumber><OrderNumber>2</OrderNumber><OrderNumber>3</OrderNumber>'),
    wrap('<Items/>'),
    wrap('<Items></Items>'),
    wrap('<Items><Item/></Items>'),
    wrap('<Items><Item></Item><Item> </Item></Items>'),
    wrap('<Items><Item><SKU>A</SKU><Quantity>1</Quantity></Item></Items>'),
    wrap(
      '<Items><Item><SKU>A</SKU></Item><Item><SKU>B</SKU><SKU>C</SKU></Item><Item><SKU>D</SKU></Item></Items>',
    ),
    wrap('<Items><Item><SKU>A</SKU></Item></Items><Items><Item><SKU>B</SKU></Item></Items>'),
    wrap('<Item><SKU>A</SKU></Item>'),
    wrap('<Recipient><Name>Jane</Name><Address1>1 > 0 St</Address1></Recipient>'),
    wrap('<Recipient><Name>Jane</Name>stray text</Recipient>'),
    wrap('<Recipient>stray<Name>Jane</Name></Recipient>'),
    wrap('<Carrier>\u00a0UPS\u2028</Carrier><Service>\u00a0</Service><Name>Zoë 🚚 東京</Name>'),
    wrap('<Carrier >UPS</Carrier ><Service\n/><Name\t>x</Name>'),
    wrap('<Carrier a="1">UPS</Carrier>'),
    wrap('<ns:Carrier>UPS</ns:Carrier>'),
    wrap('<Carrier><!-- c -->UPS</Carrier>'),
    wrap('<Carrier><![CDATA[U<P>S]]></Carrier>'),
    wrap('<Carrier>UPS</Carrier><?pi x?>'),
    wrap('<Carrier>A &amp; B &#65; &eacute;</Carrier>'),
    wrap('<Carrier>A\r\nB</Carrier>'),
    wrap('<constructor>x</constructor>'),
    wrap('<prototype>x</prototype>'),
    wrap('<toString>y</toString><hasOwnProperty/><valueOf>1</valueOf>'),
    wrap('<isPrototypeOf>1</isPrototypeOf>'),
    wrap('<Deep><A><B><C>1</C><C>2</C></B><B/></A></Deep>'),
    `  ${decl}<ShipNotice><OrderID>1</OrderID></ShipNotice>  `,
    `${decl}\n\n<ShipNotice><OrderID>1</OrderID></ShipNotice>\n\n`,
    '<?xml-stylesheet href="a.xsl"?><ShipNotice><OrderID>1</OrderID></ShipNotice>',
    wrap(`${'<D>'.repeat(15)}x${'</D>'.repeat(15)}`),
    wrap(`${'<D>'.repeat(120)}x${'</D>'.repeat(120)}`),
  ];
  let fast = 0;
  for (const [n, body] of bodies.entries()) {
    if (XMLValidator.validate(body) !== true) continue;
    const simple = simpleParse(body);
    let full: unknown;
    try {
      full = fullParse(body, true);
    } catch {
      t.equal(simple, undefined, `body ${n}: fast-xml-parser refuses it, and simpleParse leaves it to it`);
      continue;
    }
    if (simple !== undefined) {
      fast += 1;
      t.same(simple, full, `body ${n}: simpleParse = fast-xml-parser`);
      t.equal(JSON.stringify(simple), JSON.stringify(full), `body ${n}: the same keys in the same order`);
    }
    if (!body.includes('&'))
      t.same(fullParse(body, false), full, `body ${n}: without &, the entity table changes nothing`);
    const viaEntities = parseShipNotice(body.replace('<ShipNotice>', '<ShipNotice><X>&#65;</X>'));
    const direct = parseShipNotice(body.replace('<ShipNotice>', '<ShipNotice><X>A</X>'));
    t.same(viaEntities, direct, `body ${n}: a character reference reads as the character`);
  }
  t.ok(fast >= 15, `most bodies take the fast path (${fast})`);
  const plainSample = SAMPLE.replace(/\r/g, '').replace(/&[a-z]+;/g, '-');
  t.not(simpleParse(plainSample), undefined, 'the reference sample does, once without &');
  t.same(parseShipNotice(plainSample), parseShipNotice(SAMPLE.replace(/&[a-z]+;/g, '-')));
});

t.test(
  'property: on any notice-shaped document, simpleParse is fast-xml-parser or steps aside',
  async (t) => {
    const { XMLValidator } = await import('fast-xml-parser');
    const { fullParse, simpleParse } = await import('../../src/shipstation/shipnotice.js');
    const name = fc.constantFrom(
      'OrderID',
      'OrderNumber',
      'Carrier',
      'Items',
      'Item',
      'SKU',
      'Quantity',
      'x_1',
      'A',
    );
    // Text that may hold the characters the fast path must notice: markup, entities, CR, CDATA ends.
    const text = fc.stringMatching(/^[ a-zA-Z0-9éü東🚚<>&;#\r\n\t"'\]-]{0,12}$/u);
    const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    const leaf = fc
      .tuple(name, text, fc.constantFrom('plain', 'cdata', 'empty', 'self', 'comment'))
      .map(([n, v, how]) =>
        how === 'cdata'
          ? `<${n}><![CDATA[${v.replaceAll(']]>', '')}]]></${n}>`
          : how === 'empty'
            ? `<${n}></${n}>`
            : how === 'self'
              ? `<${n}/>`
              : how === 'comment'
                ? `<${n}><!-- c -->${esc(v)}</${n}>`
                : `<${n}>${esc(v)}</${n}>`,
      );
    const { tree } = fc.letrec((tie) => ({
      tree: fc.oneof(
        { depthSize: 'small' },
        leaf,
        fc
          .tuple(
            name,
            fc.array(tie('tree') as fc.Arbitrary<string>, { maxLength: 4 }),
            fc.constantFrom('', ' ', '\n  '),
          )
          .map(([n, kids, ws]) => `<${n}>${ws}${kids.join(ws)}${ws}</${n}>`),
      ),
    }));
    const doc = fc
      .tuple(fc.boolean(), fc.array(tree, { maxLength: 6 }), fc.constantFrom('', '\n', ' \n '))
      .map(
        ([decl, kids, ws]) =>
          `${decl ? '<?xml version="1.0" encoding="utf-8"?>\n' : ''}<ShipNotice>${ws}${kids.join(ws)}${ws}</ShipNotice>${ws}`,
      );
    let fast = 0;
    await fc.assert(
      fc.property(doc, (body) => {
        if (XMLValidator.validate(body) !== true) return;
        const simple = simpleParse(body);
        if (simple === undefined) return;
        fast += 1;
        t.strictSame(JSON.stringify(simple), JSON.stringify(fullParse(body, true)));
      }),
      { numRuns: 400 },
    );
    t.ok(fast > 50, `the fast path was taken ${fast} times`);
  },
);

t.test('references and attributes are bounded before any parser runs', async (t) => {
  const refs = (n: number) =>
    wrap(`<OrderNumber>A-1</OrderNumber><CustomerNotes>${'&amp;'.repeat(n)}</CustomerNotes>`);
  t.equal(ok(refs(MAX_REFERENCES)).customerNotes, '&'.repeat(MAX_REFERENCES), 'at the bound: read');
  t.match(error(refs(MAX_REFERENCES + 1)), /more than 2000 entity or character references/);
  t.match(error(wrap(`<CustomerNotes>${'&#65;'.repeat(MAX_REFERENCES + 1)}</CustomerNotes>`)), /references/);
  t.match(error(wrap(`<CustomerNotes>${'&'.repeat(MAX_REFERENCES + 1)}</CustomerNotes>`)), /references/);

  // The declaration's two attributes count too.
  const attrs = (n: number) =>
    `<?xml version="1.0" encoding="utf-8"?><ShipNotice ${Array.from({ length: n }, (_, i) => `a${i}="x"`).join(' ')}><OrderNumber>A-1</OrderNumber></ShipNotice>`;
  t.equal(ok(attrs(MAX_ATTRIBUTES - 2)).orderNumber, 'A-1', 'at the bound: read');
  t.match(error(attrs(MAX_ATTRIBUTES - 1)), /more than 100 attributes/);
  t.equal(
    ok(wrap(`<CustomerNotes>${'a=b '.repeat(500)}</CustomerNotes>`)).customerNotes?.length,
    1999,
    '= in text is no attribute',
  );
});
