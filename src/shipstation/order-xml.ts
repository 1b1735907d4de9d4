/**
 * The ShipStation order export writer (pure, no I/O): ExportOrder → `<Order>` XML.
 *
 * Hand-written string building: one string per order, joined once per page, so the cost is linear
 * in the page and about 25× cheaper than a DOM builder (bench/render.ts). The output is valid
 * against schemas/shipstation-orders.xsd (our schema, written from ShipStation's field table) for
 * ANY input: every rule that keeps it valid lives here, not in the caller.
 *
 * Rules (kept identical in the test oracle, test/helpers/order-xml-oracle.ts):
 * - Free text goes in CDATA, after `clean()` (XML-illegal characters removed, line breaks → LF) and
 *   truncation to the field's length in characters (code points, never splitting a pair). The
 *   lengths are those of ShipStation's published XSD, and the orders API accepts no more, so
 *   truncation only ever applies to fallbacks and to input that bypassed the API (SKU and
 *   CustomerCode are 100, as in that XSD; its field table says 50, which would cut accepted values).
 * - OrderNumber is the store's prefix + the number, or the number alone when that would pass 50.
 *   A value that is blank after cleaning (JS `trim()` empty) counts as absent.
 * - Absent optional elements are omitted. Required elements fall back:
 *   OrderNumber → OrderID; OrderStatus → 'unknown';
 *   CustomerCode → customer.code → customer.email → billTo.email → shipTo.email → OrderNumber;
 *   ShipTo/Name → shipTo.name → shipTo.company → billTo.name → customer.email → '(no name)';
 *   BillTo/Name → billTo.name → billTo.company → shipTo.name → customer.email → '(no name)';
 *   BillTo/Email → billTo.email → customer.email; ShipTo/Phone → shipTo.phone → billTo.phone;
 *   Address1/Address2: the non-blank street lines in order; the first is Address1 ('(no address)'
 *   when none), the rest are joined with ', ' into Address2 (ShipStation has no Address3) and cut
 *   to 200 characters; City → '(no city)'; PostalCode is always emitted, empty when unknown
 *   (ShipStation's XSD requires the element but allows length 0); Country → shipTo.country →
 *   billTo.country → 'ZZ' (ISO's "unknown" code), upper-cased, only if exactly two ASCII letters;
 *   Item/SKU → sku → lineId → 'ADJUSTMENT' | 'ITEM'; Item/Name → name → SKU as emitted.
 * - ImageUrl only when it is an absolute http(s) URL of ≤ 500 characters without whitespace,
 *   quotes or angle brackets (xs:anyURI); otherwise omitted rather than truncated into a broken URL.
 * - Money always has two decimals (`0.00`, never empty): OrderTotal, ShippingAmount and UnitPrice
 *   are required (absent or unreadable → `0.00`), TaxAmount is omitted when null. Amounts beyond
 *   decimal(9,2) (±9 999 999.99) are clamped to it — no real order gets there, but one impossible
 *   value must not make a whole page fail validation.
 * - Gift is always `true`/`false`; Adjustment is emitted (`true`) only on adjustment lines.
 * - Quantity is an integer clamped to 1–99 999 (the orders API guarantees it; defensive).
 * - Weights: decimal strings, rendered with at most two decimals (half-up), trailing zeros dropped.
 *   oz → Ounces, lb → Pounds, g → Grams, kg → Grams ×1000 (exact decimal shift, so 0.0004 kg stays
 *   0.4 g instead of rounding to 0.00 kg). If any weight of a kg item (item or option) would exceed
 *   decimal(9,2) in grams (≥ 10 t), the item is sent in Pounds instead (×2.20462262185). Option
 *   weights use the item's unit. A weight without a unit (or unreadable, negative or too large) is
 *   omitted, and WeightUnits is only sent with the item's Weight.
 * - Options with a blank name or value are skipped (both are required, min length 1); at most 100.
 * - Dates are `MM/dd/yyyy HH:mm` in the store's zone (UTC by default).
 * - Never emitted: CurrencyCode and UPC (not in ShipStation's published XSD).
 */
import { HTTP_URL, SECOND_LINE_JOIN, SECOND_LINE_MAX } from '../orders/schema.js';
import type { NormalizedItem, NormalizedOrder, WeightUnit } from '../orders/types.js';
import { formatShipStationDate } from './dates.js';
import { cdataClean, charLength, clean, truncateChars } from './xml.js';

export interface ExportAddress {
  name: string | null;
  company: string | null;
  street1: string | null;
  street2: string | null;
  street3: string | null;
  city: string | null;
  state: string | null;
  postalCode: string | null;
  country: string | null;
  phone: string | null;
  email: string | null;
}

export interface ExportOption {
  name: string;
  value: string;
  /** Extra weight per unit, in the item's unit; decimal string. */
  weight: string | null;
}

export interface ExportItem {
  /** Our stable line id (order_lines.id) → LineItemID. */
  lineItemId: string | null;
  /** The merchant's own line id: only a fallback for a missing SKU. */
  lineId: string | null;
  sku: string | null;
  name: string | null;
  imageUrl: string | null;
  /** Weight of one unit, decimal string, in weightUnit. */
  weight: string | null;
  weightUnit: WeightUnit | null;
  quantity: number;
  /** Money string; negative on adjustment lines. */
  unitPrice: string;
  location: string | null;
  adjustment: boolean;
  options: ExportOption[];
}

export interface ExportOrder {
  /** Our stable order id → OrderID. */
  orderId: string;
  /** The merchant's number with the store's prefix already applied → OrderNumber. */
  orderNumber: string;
  orderDate: Date;
  lastModified: Date;
  /** Our status string → OrderStatus. */
  status: string;
  shippingMethod: string | null;
  paymentMethod: string | null;
  /** Money strings. */
  orderTotal: string;
  taxAmount: string | null;
  shippingAmount: string | null;
  customerNotes: string | null;
  internalNotes: string | null;
  gift: boolean;
  giftMessage: string | null;
  /** Index i → CustomField{i+1}; only the first three are used. */
  customFields: (string | null)[];
  requestedWarehouse: string | null;
  source: string | null;
  customer: { code: string | null; email: string | null };
  billTo: ExportAddress;
  shipTo: ExportAddress;
  items: ExportItem[];
}

/** A normalised item as stored, with our line id. */
export type LineWithId = NormalizedItem & { line_item_id: string | number | bigint };

export interface ToExportOrderInput {
  /** orders.id */
  id: string | number | bigint;
  status: string;
  lastModified: Date;
  order: Omit<NormalizedOrder, 'items'> & { items: LineWithId[] };
  /** The store's order_number_prefix ('' or absent for none). */
  orderNumberPrefix?: string;
}

function toExportAddress(a: NormalizedOrder['ship_to']): ExportAddress {
  return {
    name: a.name,
    company: a.company,
    street1: a.street1,
    street2: a.street2,
    street3: a.street3,
    city: a.city,
    state: a.state,
    postalCode: a.postal_code,
    country: a.country,
    phone: a.phone,
    email: a.email,
  };
}

/** OrderNumber's limit in ShipStation (characters), which the orders API also accepts. */
export const ORDER_NUMBER_MAX = 50;

/**
 * The number ShipStation is sent: the store's prefix and the merchant's number, or the number alone
 * when together they would pass ShipStation's 50 characters (cutting either would send a number
 * that is not the order's; a notice for the bare number still matches it).
 */
export function exportOrderNumber(prefix: string, orderNumber: string): string {
  const prefixed = prefix + orderNumber;
  return charLength(prefixed) <= ORDER_NUMBER_MAX ? prefixed : orderNumber;
}

/** Maps a stored normalised order (plus its id, status, last_modified and the store's prefix). */
export function toExportOrder(input: ToExportOrderInput): ExportOrder {
  const o = input.order;
  return {
    orderId: String(input.id),
    orderNumber: exportOrderNumber(input.orderNumberPrefix ?? '', o.order_number),
    orderDate: new Date(o.order_date),
    lastModified: input.lastModified,
    status: input.status,
    shippingMethod: o.shipping_method,
    paymentMethod: o.payment_method,
    orderTotal: o.order_total,
    taxAmount: o.tax_amount,
    shippingAmount: o.shipping_amount,
    customerNotes: o.customer_notes,
    internalNotes: o.internal_notes,
    gift: o.gift,
    giftMessage: o.gift_message,
    customFields: o.custom_fields,
    requestedWarehouse: o.requested_warehouse,
    source: o.order_source,
    customer: { code: o.customer.code, email: o.customer.email },
    billTo: toExportAddress(o.bill_to),
    shipTo: toExportAddress(o.ship_to),
    items: o.items.map((i) => ({
      lineItemId: String(i.line_item_id),
      lineId: i.line_id,
      sku: i.sku,
      name: i.name,
      imageUrl: i.image_url,
      weight: i.weight,
      weightUnit: i.weight_unit,
      quantity: i.quantity,
      unitPrice: i.unit_price,
      location: i.location,
      adjustment: i.adjustment,
      options: i.options.map((op) => ({ name: op.name, value: op.value, weight: op.weight })),
    })),
  };
}

// ---------------------------------------------------------------------------------------------
// Values

/** Cleaned value, or undefined when absent or blank. Not truncated. */
const NON_BLANK = /\S/; // \s is exactly the set String.prototype.trim() removes

function present(v: string | null | undefined): string | undefined {
  if (v == null || v === '') return undefined;
  const c = clean(v);
  return NON_BLANK.test(c) ? c : undefined;
}

/** Cleaned, non-blank and truncated to `max` characters, or undefined. */
function text(v: string | null | undefined, max: number): string | undefined {
  const c = present(v);
  return c === undefined ? undefined : truncateChars(c, max);
}

function firstText(max: number, ...vs: (string | null | undefined)[]): string | undefined {
  for (const v of vs) {
    const t = text(v, max);
    if (t !== undefined) return t;
  }
  return undefined;
}

const MONEY = /^\s*(-)?(\d+)(?:\.(\d{1,2}))?\s*$/;
const MAX_HUNDREDTHS = 999_999_999n;

/** Two-decimal money clamped to decimal(9,2); undefined when unreadable. */
const MONEY_CANONICAL = /^(?:0|-?[1-9]\d{0,6})\.\d{2}$/;

export function formatMoney92(v: string | null | undefined): string | undefined {
  if (v == null) return undefined;
  if (MONEY_CANONICAL.test(v)) return v; // fast path: what the database gives us
  const m = MONEY.exec(v);
  if (!m) return undefined;
  let cents = BigInt(m[2]!) * 100n + BigInt(((m[3] ?? '') + '00').slice(0, 2));
  if (cents > MAX_HUNDREDTHS) cents = MAX_HUNDREDTHS;
  const negative = m[1] === '-' && cents !== 0n;
  const frac = (cents % 100n).toString().padStart(2, '0');
  return `${negative ? '-' : ''}${cents / 100n}.${frac}`;
}

const DECIMAL = /^\s*\+?(\d*)(?:\.(\d*))?\s*$/;

/** A non-negative decimal string as [digits, scale] (value = digits / 10^scale); undefined if not. */
function readDecimal(v: string): [bigint, number] | undefined {
  const m = DECIMAL.exec(v);
  if (!m) return undefined;
  const whole = m[1] ?? '';
  const frac = m[2] ?? '';
  if (whole === '' && frac === '') return undefined;
  return [BigInt(whole + frac || '0'), frac.length];
}

/** round_half_up(n / d) for n ≥ 0, d > 0. */
function divRound(n: bigint, d: bigint): bigint {
  return (n * 2n + d) / (d * 2n);
}

const LB_PER_KG_E11 = 220_462_262_185n; // 2.20462262185 × 10^11

/** Weight in hundredths of the target unit; `kgTo` converts a kg value to 'g' or 'lb'. */
function weightHundredths(v: string | null, kgTo?: 'g' | 'lb'): bigint | undefined {
  if (v == null) return undefined;
  const d = readDecimal(v);
  if (!d) return undefined;
  const [digits, scale] = d;
  if (kgTo === 'lb') return divRound(digits * LB_PER_KG_E11 * 100n, 10n ** BigInt(scale + 11));
  const shift = 2 + (kgTo === 'g' ? 3 : 0) - scale; // value × 100 (× 1000 for kg → g)
  return shift >= 0 ? digits * 10n ** BigInt(shift) : divRound(digits, 10n ** BigInt(-shift));
}

/** Hundredths → '14.5', '100', '0.25'. */
function formatHundredths(h: bigint): string {
  const whole = h / 100n;
  const frac = h % 100n;
  if (frac === 0n) return whole.toString();
  const f = frac.toString().padStart(2, '0');
  return `${whole}.${f.endsWith('0') ? f[0] : f}`;
}

const UNIT_NAMES: Record<'oz' | 'lb' | 'g', string> = { oz: 'Ounces', lb: 'Pounds', g: 'Grams' };

interface ItemWeights {
  unit: string | undefined;
  weight: string | undefined;
  options: (string | undefined)[];
}

/** A weight as the database keeps it: at most 7 integer digits (no leading zero) and 2 decimals. */
const PLAIN_WEIGHT = /^(0|[1-9]\d{0,6})(?:\.(\d{1,2}))?$/;

/**
 * formatHundredths(weightHundredths(v)) for a plain weight in a unit that is not converted, without
 * BigInt: the decimals less their trailing zeros ('1.50' → '1.5', '2.00' → '2'). Undefined when `v`
 * is not plain (the exact path handles it).
 */
function plainWeight(v: string | null): string | undefined {
  if (v == null) return undefined;
  const m = PLAIN_WEIGHT.exec(v);
  if (!m) return undefined;
  const frac = m[2] === undefined ? '' : m[2].replace(/0+$/, '');
  return frac === '' ? m[1]! : `${m[1]}.${frac}`;
}

/** The item's unit name, its weight and its options' weights, all rendered (see the rules). */
export function itemWeights(item: Pick<ExportItem, 'weight' | 'weightUnit' | 'options'>): ItemWeights {
  const unit = item.weightUnit;
  if (unit == null) return { unit: undefined, weight: undefined, options: item.options.map(() => undefined) };
  if (unit !== 'kg' && (item.weight === null || PLAIN_WEIGHT.test(item.weight))) {
    // Fast path (oz, lb, g with plain decimals): nothing to convert, round or clamp.
    const weight = plainWeight(item.weight);
    if (weight !== undefined && item.options.every((o) => o.weight === null || PLAIN_WEIGHT.test(o.weight))) {
      return { unit: UNIT_NAMES[unit], weight, options: item.options.map((o) => plainWeight(o.weight)) };
    }
  }
  let target: 'oz' | 'lb' | 'g' = unit === 'kg' ? 'g' : unit;
  const kgTo = unit === 'kg' ? ('g' as const) : undefined;
  let w = weightHundredths(item.weight, kgTo);
  let ow = item.options.map((o) => weightHundredths(o.weight, kgTo));
  const tooBig = (h: bigint | undefined) => h !== undefined && h > MAX_HUNDREDTHS;
  if (unit === 'kg' && (tooBig(w) || ow.some(tooBig))) {
    target = 'lb';
    w = weightHundredths(item.weight, 'lb');
    ow = item.options.map((o) => weightHundredths(o.weight, 'lb'));
  }
  const fmt = (h: bigint | undefined) => (h === undefined || tooBig(h) ? undefined : formatHundredths(h));
  const weight = fmt(w);
  return { unit: weight === undefined ? undefined : UNIT_NAMES[target], weight, options: ow.map(fmt) };
}

const COUNTRY = /^[A-Za-z]{2}$/;

/** The Address1 / Address2 pair from up to three street lines. */
export function streetLines(a: ExportAddress): [string, string | undefined] {
  const lines: string[] = [];
  for (const v of [a.street1, a.street2, a.street3]) {
    const p = present(v);
    if (p !== undefined) lines.push(p);
  }
  const first = lines.length > 0 ? truncateChars(lines[0]!, 200) : '(no address)';
  const rest =
    lines.length > 1 ? truncateChars(lines.slice(1).join(SECOND_LINE_JOIN), SECOND_LINE_MAX) : undefined;
  return [first, rest];
}

export function countryCode(order: Pick<ExportOrder, 'shipTo' | 'billTo'>): string {
  for (const v of [order.shipTo.country, order.billTo.country]) {
    const t = v?.trim();
    if (t && COUNTRY.test(t)) return t.toUpperCase();
  }
  return 'ZZ';
}

export function imageUrl(v: string | null): string | undefined {
  if (v == null) return undefined;
  const c = clean(v).trim();
  return c.length <= 1000 && charLength(c) <= 500 && HTTP_URL.test(c) ? c : undefined;
}

// ---------------------------------------------------------------------------------------------
// Writer

const el = (name: string, value: string): string => `<${name}>${cdataClean(value)}</${name}>`;
const opt = (name: string, value: string | undefined): string =>
  value === undefined ? '' : `<${name}>${cdataClean(value)}</${name}>`;
const raw = (name: string, value: string): string => `<${name}>${value}</${name}>`;

function renderItem(item: ExportItem): string {
  const sku = firstText(100, item.sku, item.lineId) ?? (item.adjustment ? 'ADJUSTMENT' : 'ITEM');
  const name = text(item.name, 200) ?? truncateChars(sku, 200);
  const w = itemWeights(item);
  let qty = Math.round(Number(item.quantity));
  if (!(qty >= 1)) qty = 1;
  else if (qty > 99_999) qty = 99_999;
  let s =
    '<Item>' +
    opt('LineItemID', text(item.lineItemId, 50)) +
    el('SKU', sku) +
    el('Name', name) +
    opt('ImageUrl', imageUrl(item.imageUrl));
  if (w.weight !== undefined) s += raw('Weight', w.weight) + raw('WeightUnits', w.unit!);
  s +=
    raw('Quantity', String(qty)) +
    raw('UnitPrice', formatMoney92(item.unitPrice) ?? '0.00') +
    opt('Location', text(item.location, 100));
  if (item.adjustment) s += '<Adjustment>true</Adjustment>';
  let options = '';
  let count = 0;
  for (let i = 0; i < item.options.length && count < 100; i++) {
    const o = item.options[i]!;
    const on = text(o.name, 100);
    const ov = text(o.value, 100);
    if (on === undefined || ov === undefined) continue;
    count++;
    const ow = w.weight === undefined ? undefined : w.options[i];
    options +=
      '<Option>' +
      el('Name', on) +
      el('Value', ov) +
      (ow === undefined ? '' : raw('Weight', ow)) +
      '</Option>';
  }
  if (options !== '') s += '<Options>' + options + '</Options>';
  return s + '</Item>';
}

/** One `<Order>…</Order>` element, dates in `zone` (IANA, default UTC). */
export function renderOrder(order: ExportOrder, zone = 'UTC'): string {
  const orderId = text(order.orderId, 50) ?? '0';
  const orderNumber = text(order.orderNumber, ORDER_NUMBER_MAX) ?? orderId;
  const ship = order.shipTo;
  const bill = order.billTo;
  const customerEmail = order.customer.email;
  const [address1, address2] = streetLines(ship);
  const cf = order.customFields;

  let s =
    '<Order>' +
    el('OrderID', orderId) +
    el('OrderNumber', orderNumber) +
    raw('OrderDate', formatShipStationDate(order.orderDate, zone)) +
    el('OrderStatus', text(order.status, 50) ?? 'unknown') +
    raw('LastModified', formatShipStationDate(order.lastModified, zone)) +
    opt('ShippingMethod', text(order.shippingMethod, 100)) +
    opt('PaymentMethod', text(order.paymentMethod, 50)) +
    raw('OrderTotal', formatMoney92(order.orderTotal) ?? '0.00');
  const tax = formatMoney92(order.taxAmount);
  if (tax !== undefined) s += raw('TaxAmount', tax);
  s +=
    raw('ShippingAmount', formatMoney92(order.shippingAmount) ?? '0.00') +
    opt('CustomerNotes', text(order.customerNotes, 1000)) +
    opt('InternalNotes', text(order.internalNotes, 1000)) +
    (order.gift ? '<Gift>true</Gift>' : '<Gift>false</Gift>') +
    opt('GiftMessage', text(order.giftMessage, 1000)) +
    opt('CustomField1', text(cf[0], 100)) +
    opt('CustomField2', text(cf[1], 100)) +
    opt('CustomField3', text(cf[2], 100)) +
    opt('RequestedWarehouse', text(order.requestedWarehouse, 100)) +
    opt('Source', text(order.source, 50)) +
    '<Customer>' +
    el(
      'CustomerCode',
      firstText(100, order.customer.code, customerEmail, bill.email, ship.email) ?? orderNumber,
    ) +
    '<BillTo>' +
    el('Name', firstText(100, bill.name, bill.company, ship.name, customerEmail) ?? '(no name)') +
    opt('Company', text(bill.company, 100)) +
    opt('Phone', text(bill.phone, 50)) +
    opt('Email', firstText(100, bill.email, customerEmail)) +
    '</BillTo><ShipTo>' +
    el('Name', firstText(100, ship.name, ship.company, bill.name, customerEmail) ?? '(no name)') +
    opt('Company', text(ship.company, 100)) +
    el('Address1', address1) +
    opt('Address2', address2) +
    el('City', text(ship.city, 100) ?? '(no city)') +
    opt('State', text(ship.state, 100)) +
    el('PostalCode', text(ship.postalCode, 50) ?? '') +
    raw('Country', countryCode(order)) +
    opt('Phone', firstText(50, ship.phone, bill.phone)) +
    '</ShipTo></Customer><Items>';
  for (const item of order.items) s += renderItem(item);
  return s + '</Items></Order>';
}

export const XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>';

/** The document head up to and including `<Orders pages="N">` (for streaming per order). */
export function renderOrdersHead(pages: number): string {
  if (!Number.isInteger(pages) || pages < 0 || pages > 32767) {
    throw new RangeError(`pages must be an integer from 0 to 32767 (xs:short), got ${pages}`);
  }
  return `${XML_DECLARATION}\n<Orders pages="${pages}">`;
}

export const ORDERS_TAIL = '</Orders>\n';

/** A whole export page: declaration, `<Orders pages="N">`, the orders in the given order. */
export function renderOrdersPage(orders: readonly ExportOrder[], pages: number, zone = 'UTC'): string {
  const parts = new Array<string>(orders.length + 2);
  parts[0] = renderOrdersHead(pages);
  for (let i = 0; i < orders.length; i++) parts[i + 1] = renderOrder(orders[i]!, zone);
  parts[orders.length + 1] = ORDERS_TAIL;
  return parts.join('');
}
