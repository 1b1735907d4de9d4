/**
 * Reference renderer (test oracle) for the ShipStation order export: the same rules as
 * src/shipstation/order-xml.ts, written independently on top of xmlbuilder2 (a DOM builder) and
 * luxon, so a bug in the hand-written writer's string building, escaping, cleaning, truncation or
 * number handling shows up as a difference. Slow (≈25× the writer): tests and bench only.
 */
import { DateTime } from 'luxon';
import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import type { ExportAddress, ExportItem, ExportOrder } from '../../src/shipstation/order-xml.js';

/** XML 1.0 Char production, by code point. */
function legalCodePoint(cp: number): boolean {
  return (
    cp === 0x9 ||
    cp === 0xa ||
    cp === 0xd ||
    (cp >= 0x20 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

/** Legal characters only, line breaks normalised to LF. */
export function oracleClean(v: string): string {
  let out = '';
  for (const ch of v) if (legalCodePoint(ch.codePointAt(0)!)) out += ch;
  return out.replace(/\r\n|\r/g, '\n');
}

/** What a free-text field should read back as: undefined when absent/blank, else cleaned + cut. */
export function expectedText(v: string | null | undefined, max: number): string | undefined {
  if (v == null) return undefined;
  const c = oracleClean(v);
  if (/^\s*$/.test(c)) return undefined;
  return Array.from(c).slice(0, max).join('');
}

function firstOf(max: number, ...vs: (string | null | undefined)[]): string | undefined {
  return vs.map((v) => expectedText(v, max)).find((v) => v !== undefined);
}

function money(v: string | null | undefined): string | undefined {
  if (v == null) return undefined;
  const m = /^\s*(-?)(\d+)(?:\.(\d{1,2}))?\s*$/.exec(v);
  if (!m) return undefined;
  const whole = m[2]!.replace(/^0+(?=\d)/, '');
  const frac = (m[3] ?? '').padEnd(2, '0');
  if (whole.length > 7) return `${m[1]}9999999.99`;
  const s = `${Number(whole)}.${frac}`;
  return m[1] === '-' && s !== '0.00' ? `-${s}` : s;
}

/** Decimal string × 10^shift rounded half-up to 2 decimals, as a string with trailing zeros cut. */
function scaledDecimal(v: string | null, shift: number): { text: string; tooBig: boolean } | undefined {
  if (v == null) return undefined;
  const m = /^\s*\+?(\d*)(?:\.(\d*))?\s*$/.exec(v);
  if (!m || (m[1] === '' && (m[2] ?? '') === '')) return undefined;
  let digits = (m[1] ?? '') + (m[2] ?? '');
  let point = (m[1] ?? '').length + shift; // decimal point position in `digits`
  digits = digits.padEnd(point + 3, '0');
  if (point < 0) {
    digits = '0'.repeat(-point) + digits;
    point = 0;
  }
  // Keep two decimals and round on the third.
  let kept = BigInt(digits.slice(0, point + 2) || '0');
  if (Number(digits[point + 2] ?? '0') >= 5) kept += 1n;
  const whole = kept / 100n;
  const frac = (kept % 100n).toString().padStart(2, '0').replace(/0+$/, '');
  return { text: frac === '' ? whole.toString() : `${whole}.${frac}`, tooBig: whole > 9_999_999n };
}

function pounds(v: string | null): { text: string; tooBig: boolean } | undefined {
  const grams = scaledDecimal(v, 12); // kg × 10^12 as an integer-ish string (exact)
  if (grams === undefined) return undefined;
  const kgE12 = BigInt(grams.text.split('.')[0]!);
  // lb = kg × 2.20462262185; keep hundredths, half-up.
  const num = kgE12 * 220_462_262_185n * 100n;
  const den = 10n ** 23n;
  const h = (num + den / 2n) / den;
  const frac = (h % 100n).toString().padStart(2, '0').replace(/0+$/, '');
  const whole = h / 100n;
  return { text: frac === '' ? whole.toString() : `${whole}.${frac}`, tooBig: whole > 9_999_999n };
}

function weights(item: ExportItem): { unit?: string; weight?: string; options: (string | undefined)[] } {
  if (item.weightUnit === null) return { options: item.options.map(() => undefined) };
  const shift = item.weightUnit === 'kg' ? 3 : 0;
  let unit = { oz: 'Ounces', lb: 'Pounds', g: 'Grams', kg: 'Grams' }[item.weightUnit];
  let w = scaledDecimal(item.weight, shift);
  let ow = item.options.map((o) => scaledDecimal(o.weight, shift));
  if (item.weightUnit === 'kg' && (w?.tooBig || ow.some((x) => x?.tooBig))) {
    unit = 'Pounds';
    w = pounds(item.weight);
    ow = item.options.map((o) => pounds(o.weight));
  }
  const pick = (x: { text: string; tooBig: boolean } | undefined) => (x && !x.tooBig ? x.text : undefined);
  const weight = pick(w);
  return weight === undefined
    ? { options: ow.map(() => undefined) }
    : { unit, weight, options: ow.map(pick) };
}

function date(d: Date, zone: string): string {
  return DateTime.fromJSDate(d, { zone }).toFormat('MM/dd/yyyy HH:mm');
}

/** Appends `<name>` with the value as CDATA, split around every `]]>`. */
function cdataEl(parent: XMLBuilder, name: string, value: string): void {
  const e = parent.ele(name);
  const parts = value.split(']]>');
  parts.forEach((p, i) => {
    e.dat((i > 0 ? '>' : '') + p + (i < parts.length - 1 ? ']]' : ''));
  });
}

function optCdata(parent: XMLBuilder, name: string, value: string | undefined): void {
  if (value !== undefined) cdataEl(parent, name, value);
}

function addressLines(a: ExportAddress): [string, string | undefined] {
  const lines = [a.street1, a.street2, a.street3]
    .filter((v): v is string => v != null)
    .map(oracleClean)
    .filter((v) => !/^\s*$/.test(v));
  const cut = (s: string, n: number) => Array.from(s).slice(0, n).join('');
  return [
    lines[0] === undefined ? '(no address)' : cut(lines[0], 200),
    lines.length > 1 ? cut(lines.slice(1).join(', '), 200) : undefined,
  ];
}

function addItem(items: XMLBuilder, item: ExportItem): void {
  const e = items.ele('Item');
  optCdata(e, 'LineItemID', expectedText(item.lineItemId, 50));
  const sku = firstOf(100, item.sku, item.lineId) ?? (item.adjustment ? 'ADJUSTMENT' : 'ITEM');
  cdataEl(e, 'SKU', sku);
  cdataEl(e, 'Name', expectedText(item.name, 200) ?? sku);
  const url = item.imageUrl === null ? '' : oracleClean(item.imageUrl).trim();
  if (
    Array.from(url).length <= 500 &&
    /^https?:\/\/(?:[^\s<>"'`{}|\\^[\]%#]|%[\da-f]{2})+(?:#(?:[^\s<>"'`{}|\\^[\]%#]|%[\da-f]{2})*)?$/i.test(
      url,
    )
  )
    cdataEl(e, 'ImageUrl', url);
  const w = weights(item);
  if (w.weight !== undefined) {
    e.ele('Weight').txt(w.weight);
    e.ele('WeightUnits').txt(w.unit!);
  }
  e.ele('Quantity').txt(String(Math.min(99_999, Math.max(1, Math.round(item.quantity) || 1))));
  e.ele('UnitPrice').txt(money(item.unitPrice) ?? '0.00');
  optCdata(e, 'Location', expectedText(item.location, 100));
  if (item.adjustment) e.ele('Adjustment').txt('true');
  const options = item.options
    .map((o, i) => ({
      name: expectedText(o.name, 100),
      value: expectedText(o.value, 100),
      weight: w.options[i],
    }))
    .filter((o) => o.name !== undefined && o.value !== undefined)
    .slice(0, 100);
  if (options.length > 0) {
    const os = e.ele('Options');
    for (const o of options) {
      const oe = os.ele('Option');
      cdataEl(oe, 'Name', o.name!);
      cdataEl(oe, 'Value', o.value!);
      if (o.weight !== undefined) oe.ele('Weight').txt(o.weight);
    }
  }
}

function addOrder(root: XMLBuilder, o: ExportOrder, zone: string): void {
  const e = root.ele('Order');
  const id = expectedText(o.orderId, 50) ?? '0';
  const number = expectedText(o.orderNumber, 50) ?? id;
  cdataEl(e, 'OrderID', id);
  cdataEl(e, 'OrderNumber', number);
  e.ele('OrderDate').txt(date(o.orderDate, zone));
  cdataEl(e, 'OrderStatus', expectedText(o.status, 50) ?? 'unknown');
  e.ele('LastModified').txt(date(o.lastModified, zone));
  optCdata(e, 'ShippingMethod', expectedText(o.shippingMethod, 100));
  optCdata(e, 'PaymentMethod', expectedText(o.paymentMethod, 50));
  e.ele('OrderTotal').txt(money(o.orderTotal) ?? '0.00');
  const tax = money(o.taxAmount);
  if (tax !== undefined) e.ele('TaxAmount').txt(tax);
  e.ele('ShippingAmount').txt(money(o.shippingAmount) ?? '0.00');
  optCdata(e, 'CustomerNotes', expectedText(o.customerNotes, 1000));
  optCdata(e, 'InternalNotes', expectedText(o.internalNotes, 1000));
  e.ele('Gift').txt(o.gift ? 'true' : 'false');
  optCdata(e, 'GiftMessage', expectedText(o.giftMessage, 1000));
  for (let i = 0; i < 3; i++) optCdata(e, `CustomField${i + 1}`, expectedText(o.customFields[i], 100));
  optCdata(e, 'RequestedWarehouse', expectedText(o.requestedWarehouse, 100));
  optCdata(e, 'Source', expectedText(o.source, 50));
  const c = e.ele('Customer');
  const email = o.customer.email;
  cdataEl(c, 'CustomerCode', firstOf(100, o.customer.code, email, o.billTo.email, o.shipTo.email) ?? number);
  const b = c.ele('BillTo');
  cdataEl(b, 'Name', firstOf(100, o.billTo.name, o.billTo.company, o.shipTo.name, email) ?? '(no name)');
  optCdata(b, 'Company', expectedText(o.billTo.company, 100));
  optCdata(b, 'Phone', expectedText(o.billTo.phone, 50));
  optCdata(b, 'Email', firstOf(100, o.billTo.email, email));
  const s = c.ele('ShipTo');
  cdataEl(s, 'Name', firstOf(100, o.shipTo.name, o.shipTo.company, o.billTo.name, email) ?? '(no name)');
  optCdata(s, 'Company', expectedText(o.shipTo.company, 100));
  const [a1, a2] = addressLines(o.shipTo);
  cdataEl(s, 'Address1', a1);
  optCdata(s, 'Address2', a2);
  cdataEl(s, 'City', expectedText(o.shipTo.city, 100) ?? '(no city)');
  optCdata(s, 'State', expectedText(o.shipTo.state, 100));
  cdataEl(s, 'PostalCode', expectedText(o.shipTo.postalCode, 50) ?? '');
  const country = [o.shipTo.country, o.billTo.country]
    .map((v) => v?.trim())
    .find((v) => v !== undefined && /^[A-Za-z]{2}$/.test(v));
  s.ele('Country').txt(country?.toUpperCase() ?? 'ZZ');
  optCdata(s, 'Phone', firstOf(50, o.shipTo.phone, o.billTo.phone));
  const items = e.ele('Items');
  for (const item of o.items) addItem(items, item);
}

/** The whole page, like renderOrdersPage. */
export function oracleOrdersPage(orders: readonly ExportOrder[], pages: number, zone = 'UTC'): string {
  const doc = create({ version: '1.0', encoding: 'utf-8' });
  const root = doc.ele('Orders', { pages: String(pages) });
  for (const o of orders) addOrder(root, o, zone);
  return doc.end({ prettyPrint: false });
}
