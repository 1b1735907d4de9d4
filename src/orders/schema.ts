/**
 * The order as merchants send it: one zod schema that validates, normalises (to NormalizedOrder),
 * types and documents (OpenAPI) the input. Limits follow ShipStation's published order schema so
 * nothing accepted here is refused or cut by ShipStation; lengths count code points.
 *
 * Choices beyond the contract (documented in the OpenAPI descriptions too):
 * - ship_to is required with name, street1, city and country (ShipStation needs them to ship);
 *   US and CA ship_to addresses need a state. bill_to is optional; its country may stay unknown.
 * - every item needs a name; sku is optional (adjustment lines rarely have one).
 * - a weight needs its weight_unit; weights and option weights have at most two decimals and
 *   fit decimal(9,2) like money.
 * - strings are trimmed; an empty optional string is stored as null; tags are de-duplicated.
 * - unknown fields are refused (a typo must not silently lose data), except the read-only fields
 *   of the order answer (id, merchant, status on PUT, routing, effective, timestamps, line_item_id,
 *   shipped_quantity…), which are accepted and ignored so an answered order can be sent back.
 * - at most 1000 items and 100 tags per order.
 */
import { DateTime } from 'luxon';
import { z } from 'zod';
import { ORDER_STATUSES } from '../db/schema.js';
import { CREATE_STATUSES } from '../domain/lifecycle.js';
import {
  type ErrorDetail,
  formatPath,
  issueCount,
  issueDetails,
  listedMessage,
  MAX_DETAILS,
} from '../http/errors.js';
import { isStorableText, NOT_STORABLE } from '../http/input.js';
import { fromCents, parseMoneyInput, toCents } from '../lib/money.js';
import { countryCode, hasStateTable, inferCountry, regionCode } from './address.js';
import {
  type Address,
  EMPTY_ADDRESS,
  type NormalizedItem,
  type NormalizedOrder,
  type WeightUnit,
} from './types.js';

/** ShipStation's decimal(9,2): at most 7 integer digits. */
export const MAX_AMOUNT_CENTS = 999_999_999n;
export const MAX_ITEMS = 1000;
export const MAX_TAGS = 100;
export const MAX_BATCH = 500;
/** A batch answer lists at most this many error details in all (each order at most MAX_DETAILS). */
export const MAX_BATCH_DETAILS = 1000;

/** Length in code points (what ShipStation counts), not UTF-16 units. */
export function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

const tooLong = (max: number) => `at most ${max} characters`;

/** The door's rule (PostgreSQL cannot store NUL or lone surrogates), applied here order by order. */
const storable = isStorableText;

/** A required string: trimmed, 1..max code points. */
function text(max: number) {
  return z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .refine((s) => codePoints(s) <= max, tooLong(max))
    .refine(storable, NOT_STORABLE)
    .meta({ maxLength: max });
}

/** An optional string: trimmed, up to max code points; absent, null or empty → null. */
function optText(max: number) {
  return z
    .string()
    .trim()
    .refine((s) => codePoints(s) <= max, tooLong(max))
    .refine(storable, NOT_STORABLE)
    .meta({ maxLength: max })
    .nullish()
    .transform((s) => (s === undefined || s === null || s === '' ? null : s));
}

// An absolute http(s) URL that libxml2 accepts as xs:anyURI (ShipStation's ImageUrl): no
// whitespace, quotes, angle brackets, braces, pipes, backslashes, carets, backticks or square
// brackets; '%' only as %XX; at most one '#'. The export checks stored values with it again.
const URL_CHAR = '(?:[^\\s<>"\'`{}|\\\\^\\[\\]%#]|%[0-9A-Fa-f]{2})';
export const HTTP_URL = new RegExp(`^https?://${URL_CHAR}+(?:#${URL_CHAR}*)?$`, 'i');

/** Money: a JSON number or numeric string, at most two decimals, |amount| ≤ 9999999.99. */
const money = z
  .union([z.number(), z.string()], 'must be a number or a numeric string')
  .transform((v, ctx) => {
    const m = parseMoneyInput(v);
    if (m === undefined) {
      ctx.addIssue({ code: 'custom', message: 'must be a number with at most two decimals' });
      return z.NEVER;
    }
    const c = toCents(m);
    if (c > MAX_AMOUNT_CENTS || c < -MAX_AMOUNT_CENTS) {
      ctx.addIssue({ code: 'custom', message: 'must be between -9999999.99 and 9999999.99' });
      return z.NEVER;
    }
    return m;
  })
  .meta({ description: 'money: number or numeric string, at most two decimals; answered as "10.00"' });

const optMoney = money.nullish().transform((v) => v ?? null);

/** A weight: like money, but never negative. */
const weight = money
  .refine((v) => !v.startsWith('-'), 'must not be negative')
  .meta({ description: 'weight: number or numeric string ≥ 0, at most two decimals' });
const optWeight = weight.nullish().transform((v) => v ?? null);

const weightUnit = z
  .string()
  .transform((s) => s.trim().toLowerCase())
  .pipe(z.enum(['oz', 'lb', 'g', 'kg'], 'must be one of oz, lb, g, kg'));

const ISO_WITH_OFFSET =
  /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|([+-])(\d{2})(:?(\d{2}))?)$/i;
const NOT_ISO = 'must be an ISO 8601 date and time with an offset, e.g. 2026-11-22T10:15:00Z or …+01:00';

/**
 * An ISO 8601 date and time with a real offset: Z, or −12:00 … +14:00 with minutes below 60
 * (luxon alone takes +99:99). The one reader of instants in requests (order_date, updated_since).
 */
export function parseInstant(s: string): { ok: true; utc: string } | { ok: false; message: string } {
  const v = s.trim();
  const m = ISO_WITH_OFFSET.exec(v);
  if (!m) return { ok: false, message: NOT_ISO };
  if (m[4]) {
    const minutes = Number(m[5]) * 60 + Number(m[7] ?? '0');
    if (Number(m[7] ?? '0') > 59 || (m[4] === '-' ? minutes > 12 * 60 : minutes > 14 * 60)) {
      return { ok: false, message: 'has an offset outside -12:00 … +14:00' };
    }
  }
  const dt = DateTime.fromISO(v.replace(' ', 'T'), { setZone: true });
  if (!dt.isValid || dt.year < 1900 || dt.year > 9999)
    return { ok: false, message: 'is not a valid date and time' };
  return { ok: true, utc: dt.toUTC().toISO() as string };
}

/** A zod string read by parseInstant, answered as its UTC ISO form. */
export const instant = z.string().transform((s, ctx) => {
  const r = parseInstant(s);
  if (r.ok) return r.utc;
  ctx.addIssue({ code: 'custom', message: r.message });
  return z.NEVER;
});

const orderDate = instant.meta({
  description: 'ISO 8601 with an offset (Z or ±hh:mm, -12:00 … +14:00); answered in UTC',
  example: '2026-11-22T10:15:00Z',
});

const currency = z
  .string()
  .trim()
  .regex(/^[A-Za-z]{3}$/, 'must be a three-letter ISO 4217 code')
  .transform((s) => s.toUpperCase())
  .nullish()
  .transform((v) => v ?? null);

/** Read-only fields of the order answer: accepted and ignored (so an answer can be sent back). */
const readOnly = z.unknown().optional().meta({ description: 'read-only; ignored on input' });

const addressInput = z
  .strictObject({
    name: optText(100),
    company: optText(100),
    street1: optText(200),
    street2: optText(200),
    street3: optText(200),
    city: optText(100),
    state: optText(100).meta({ description: 'US/CA: two-letter code or full name (converted)' }),
    postal_code: optText(50),
    country: optText(100).meta({
      description: 'ISO 3166-1 alpha-2, or a full English name (converted); inferred from a US/CA state',
    }),
    phone: optText(50),
    email: optText(100),
  })
  .meta({ id: 'AddressFields' });

const optionInput = z
  .strictObject({
    name: text(100),
    value: text(100),
    weight: optWeight.meta({ description: "extra weight per unit, in the item's weight_unit" }),
  })
  .meta({ id: 'ItemOptionFields' });

const itemInput = z
  .strictObject({
    line_id: optText(50).meta({
      description: "the merchant's line id: keeps line_item_id stable across PUT",
    }),
    sku: optText(100),
    name: text(200),
    quantity: z
      .number('must be an integer from 1 to 99999')
      .int('must be an integer from 1 to 99999')
      .min(1, 'must be an integer from 1 to 99999')
      .max(99_999, 'must be an integer from 1 to 99999'),
    unit_price: money,
    weight: optWeight.meta({ description: 'weight of one unit, in weight_unit' }),
    weight_unit: weightUnit.nullish().transform((v) => v ?? null),
    image_url: optText(500).refine(
      (s) => s === null || HTTP_URL.test(s),
      'must be an absolute http:// or https:// URL without spaces, quotes or angle brackets',
    ),
    location: optText(100),
    upc: optText(12),
    options: z.array(optionInput).max(100, 'at most 100 options per item').nullish(),
    adjustment: z
      .boolean()
      .nullish()
      .meta({ description: 'a discount/coupon/fee line: not shippable; unit_price must be ≤ 0' }),
    line_item_id: readOnly,
    shipped_quantity: readOnly,
  })
  .meta({ id: 'ItemFields' });

type AddressIn = z.output<typeof addressInput>;
type ItemIn = z.output<typeof itemInput>;

type Ctx = z.core.$RefinementCtx;

/** ShipStation's Address2 length, and how street2 and street3 are joined into it. */
export const SECOND_LINE_MAX = 200;
export const SECOND_LINE_JOIN = ', ';

function issue(ctx: Ctx, path: (string | number)[], message: string): void {
  ctx.addIssue({ code: 'custom', message, path });
}

/** Issue paths are relative to the address: zod prefixes them with ship_to / bill_to. */
function normalizeAddress(a: AddressIn | null | undefined, which: 'ship_to' | 'bill_to', ctx: Ctx): Address {
  if (!a) return { ...EMPTY_ADDRESS };
  const out: Address = { ...EMPTY_ADDRESS, ...a };
  if (a.country !== null) {
    const code = countryCode(a.country);
    if (!code) issue(ctx, ['country'], 'must be an ISO 3166-1 alpha-2 code or an English country name');
    out.country = code ?? null;
  } else if (a.state !== null) {
    const inferred = inferCountry(a.state);
    if (inferred) {
      out.country = inferred.country;
      out.state = inferred.state;
    } else if (which === 'ship_to') {
      issue(ctx, ['country'], 'is required (it can only be inferred from a US state or Canadian province)');
    }
  } else if (which === 'ship_to') {
    issue(ctx, ['country'], 'is required');
  }
  if (out.country !== null && hasStateTable(out.country)) {
    if (out.state !== null) {
      const code = regionCode(out.country, out.state);
      if (!code) {
        const kind = out.country === 'US' ? 'a US state' : 'a Canadian province';
        issue(ctx, ['state'], `must be ${kind}: two-letter code or full name`);
      }
      out.state = code ?? null;
    } else if (which === 'ship_to') {
      issue(ctx, ['state'], `is required for ${out.country} addresses`);
    }
  }
  if (which === 'ship_to') {
    for (const f of ['name', 'street1', 'city'] as const) if (out[f] === null) issue(ctx, [f], 'is required');
  }
  // ShipStation has two street lines: street2 and street3 travel joined by ', ' in Address2.
  if (out.street2 !== null && out.street3 !== null) {
    const joined = codePoints(out.street2) + SECOND_LINE_JOIN.length + codePoints(out.street3);
    if (joined > SECOND_LINE_MAX) {
      issue(
        ctx,
        ['street3'],
        `together with street2 at most ${SECOND_LINE_MAX - SECOND_LINE_JOIN.length} characters ` +
          `(ShipStation has one second address line: street2 and street3 are sent as "street2${SECOND_LINE_JOIN}street3", ` +
          `at most ${SECOND_LINE_MAX} characters)`,
      );
    }
  }
  return out;
}

/** Issue paths are relative to the item: the caller prefixes them with items[i]. */
function normalizeItem(it: ItemIn, ctx: Ctx): NormalizedItem {
  const adjustment = it.adjustment ?? false;
  if (adjustment && it.unit_price.startsWith('-') === false && toCents(it.unit_price) !== 0n) {
    issue(ctx, ['unit_price'], 'must be negative or zero on an adjustment line');
  }
  if (!adjustment && it.unit_price.startsWith('-')) {
    issue(ctx, ['unit_price'], 'must not be negative (send discounts as adjustment lines)');
  }
  const options = (it.options ?? []).map((o) => ({ name: o.name, value: o.value, weight: o.weight }));
  const needsUnit = it.weight !== null || options.some((o) => o.weight !== null);
  if (needsUnit && it.weight_unit === null) {
    issue(ctx, ['weight_unit'], 'is required when a weight is given (oz, lb, g or kg)');
  }
  return {
    line_id: it.line_id,
    sku: it.sku,
    name: it.name,
    quantity: it.quantity,
    unit_price: it.unit_price,
    weight: it.weight,
    weight_unit: it.weight_unit as WeightUnit | null,
    image_url: it.image_url,
    location: it.location,
    upc: it.upc,
    options,
    adjustment,
  };
}

/** One item, validated and normalised on its own (so that checking can stop between items). */
const itemSchema = itemInput.transform((it, ctx) => normalizeItem(it, ctx));

const shipTo = addressInput.transform((a, ctx) => normalizeAddress(a, 'ship_to', ctx));
const billTo = addressInput.nullish().transform((a, ctx) => normalizeAddress(a, 'bill_to', ctx));

const itemsLength = (items: z.ZodType) =>
  z.array(items).min(1, 'at least one item').max(MAX_ITEMS, `at most ${MAX_ITEMS} items`);

/**
 * The order's fields. `items` is the documented item list, or (to validate) only its length:
 * the items are then checked one by one, stopping once enough errors are found.
 */
function orderShape<I extends z.ZodType>(mode: 'create' | 'replace', items: I) {
  return {
    order_source: (mode === 'create' ? text(50).default('api') : text(50).optional()).meta({
      description:
        mode === 'create'
          ? 'where the order came from, 1–50 characters (default "api")'
          : 'may be omitted; must equal the stored value (the order identity never changes)',
    }),
    order_number: (mode === 'create' ? text(50) : text(50).optional()).meta({
      description:
        mode === 'create' ? "the merchant's order number" : 'may be omitted; must equal the stored value',
    }),
    order_date: orderDate,
    status: (mode === 'create'
      ? z.enum(CREATE_STATUSES, 'must be new, await_payment or on_hold').default('new')
      : z.enum(ORDER_STATUSES).optional()
    ).meta({
      description:
        mode === 'create'
          ? 'requested status: new (default), await_payment or on_hold'
          : 'ignored: use /pay, /hold, /release, /cancel',
    }),
    currency: currency.meta({ description: 'ISO 4217, upper-cased' }),
    tags: z
      .array(text(100))
      .max(MAX_TAGS, `at most ${MAX_TAGS} tags`)
      .nullish()
      .transform((t) => [...new Set(t ?? [])]),
    shipping_method: optText(100),
    payment_method: optText(50),
    order_total: optMoney.meta({
      description: 'default: sum of quantity × unit_price over all lines + tax_amount + shipping_amount',
    }),
    tax_amount: optMoney,
    shipping_amount: optMoney,
    amount_paid: optMoney,
    customer_notes: optText(1000),
    internal_notes: optText(1000),
    gift: z
      .boolean()
      .nullish()
      .transform((g) => g ?? false),
    gift_message: optText(1000),
    custom_fields: z
      .array(
        z
          .string()
          .trim()
          .refine((s) => codePoints(s) <= 100, tooLong(100))
          .refine(storable, NOT_STORABLE),
      )
      .max(3, 'at most 3 custom fields')
      .nullish()
      .transform((c) => c ?? []),
    requested_warehouse: optText(100),
    customer: z
      .strictObject({ code: optText(100), email: optText(100) })
      .nullish()
      .transform((c) => c ?? { code: null, email: null }),
    bill_to: billTo,
    ship_to: shipTo,
    items: itemsLength(items),
    id: readOnly,
    merchant: readOnly,
    held_from: readOnly,
    routing: readOnly,
    effective: readOnly,
    last_modified: readOnly,
    updated_at: readOnly,
    created_at: readOnly,
  };
}

/** The order without its items' contents: every order-level field, and the items' count. */
const shells = {
  create: z.strictObject(orderShape('create', z.unknown())),
  replace: z.strictObject(orderShape('replace', z.unknown())),
};

type Shell = z.output<(typeof shells)['create']> | z.output<(typeof shells)['replace']>;

export interface ParsedOrder {
  order: NormalizedOrder;
  /** The status asked for (create: new, await_payment or on_hold; replace: ignored). */
  status: string | undefined;
  /** replace: whether order_source / order_number were sent. */
  source_given: boolean;
  number_given: boolean;
}

/** The parsed order; or, when a cross-field rule fails, its details. */
function finish(o: Shell, items: NormalizedItem[]): ParsedOrder | ErrorDetail[] {
  let total: string;
  if (o.order_total !== null) {
    total = o.order_total;
  } else {
    let cents = 0n;
    for (const it of items) cents += BigInt(it.quantity) * toCents(it.unit_price);
    if (o.tax_amount) cents += toCents(o.tax_amount);
    if (o.shipping_amount) cents += toCents(o.shipping_amount);
    if (cents > MAX_AMOUNT_CENTS || cents < -MAX_AMOUNT_CENTS) {
      return [
        {
          path: 'order_total',
          message: 'the computed total (lines + tax + shipping) exceeds 9999999.99; send order_total',
        },
      ];
    }
    total = fromCents(cents);
  }
  const order: NormalizedOrder = {
    order_source: o.order_source ?? '',
    order_number: o.order_number ?? '',
    order_date: o.order_date,
    currency: o.currency,
    tags: o.tags,
    shipping_method: o.shipping_method,
    payment_method: o.payment_method,
    order_total: total,
    tax_amount: o.tax_amount,
    shipping_amount: o.shipping_amount,
    amount_paid: o.amount_paid,
    customer_notes: o.customer_notes,
    internal_notes: o.internal_notes,
    gift: o.gift,
    gift_message: o.gift_message,
    custom_fields: o.custom_fields,
    requested_warehouse: o.requested_warehouse,
    customer: o.customer,
    bill_to: o.bill_to,
    ship_to: o.ship_to,
    items,
  };
  return {
    order,
    status: o.status,
    source_given: o.order_source !== undefined,
    number_given: o.order_number !== undefined,
  };
}

/** The order a merchant creates (POST …/orders), as documented; parseOrder validates it. */
export const orderCreateSchema = z.strictObject(orderShape('create', itemInput)).meta({
  id: 'NewOrder',
  description:
    'An order as a merchant sends it: order_number, order_date, ship_to and items are required; money as a number or a numeric string.',
});

/** The order a merchant replaces (PUT …/orders/{order}), as documented; parseOrder validates it. */
export const orderReplaceSchema = z.strictObject(orderShape('replace', itemInput)).meta({
  id: 'OrderReplacement',
  description: 'The full new content of an order, with the same fields and limits as when it was created.',
});

/** The body of POST …/orders, as documented: one order or a batch of up to 500. */
export const createBodySchema = z.union([
  orderCreateSchema,
  z.strictObject({ orders: z.array(orderCreateSchema).min(1).max(MAX_BATCH) }).meta({ id: 'NewOrderBatch' }),
]);

export type ParseResult =
  | { ok: true; value: ParsedOrder }
  | { ok: false; message: string; details: ErrorDetail[] };

/** Details found so far, and whether checking stopped before the end. */
class Findings {
  readonly details: ErrorDetail[] = [];
  total = 0;
  stopped = false;
  constructor(
    private readonly prefix: (string | number)[],
    readonly budget: number,
  ) {}
  get full(): boolean {
    return this.details.length >= this.budget;
  }
  add(issues: readonly z.core.$ZodIssue[], at: (string | number)[] = []): void {
    this.total += issueCount(issues);
    const room = this.budget - this.details.length;
    if (room > 0) this.details.push(...issueDetails(issues, [...this.prefix, ...at], room));
  }
  message(): string {
    const listed = this.details.length;
    return this.stopped
      ? `invalid order (${this.total} errors found before checking stopped; the first ${listed} are listed)`
      : listedMessage('invalid order', this.total, listed);
  }
}

/**
 * Validates and normalises one order. Every field error is reported in one answer (order fields,
 * addresses and items are checked independently), up to `budget` details: the items are checked
 * one by one and checking stops once the budget is spent, so a body of a thousand junk items costs
 * as much as one of a hundred.
 */
export function parseOrder(
  input: unknown,
  mode: 'create' | 'replace',
  prefix: (string | number)[] = [],
  budget = MAX_DETAILS,
): ParseResult {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    return {
      ok: false,
      message: 'invalid order',
      details: [{ path: formatPath(prefix) || '(root)', message: 'must be an order object' }],
    };
  }
  const found = new Findings(prefix, Math.max(1, Math.min(MAX_DETAILS, budget)));
  const shell = shells[mode].safeParse(input);
  if (!shell.success) found.add(shell.error.issues);
  const rawItems = (input as { items?: unknown }).items;
  const items: NormalizedItem[] = [];
  const itemsReadable = shell.success || !shell.error.issues.some((i) => i.path[0] === 'items');
  if (itemsReadable && Array.isArray(rawItems)) {
    const lineIds = new Map<string, number>();
    for (let i = 0; i < rawItems.length; i++) {
      if (found.full) {
        found.stopped = true;
        break;
      }
      const r = itemSchema.safeParse(rawItems[i]);
      if (!r.success) {
        found.add(r.error.issues, ['items', i]);
        continue;
      }
      items.push(r.data);
      const id = r.data.line_id;
      if (id === null) continue;
      const first = lineIds.get(id);
      if (first === undefined) lineIds.set(id, i);
      else
        found.add([
          {
            code: 'custom',
            path: ['items', i, 'line_id'],
            message: `repeats items[${first}].line_id`,
            input: id,
          },
        ]);
    }
  }
  if (shell.success && found.details.length === 0) {
    const done = finish(shell.data, items);
    if (!Array.isArray(done)) return { ok: true, value: done };
    return {
      ok: false,
      message: 'invalid order',
      details: done.map((d) => ({ ...d, path: formatPath([...prefix, d.path]) })),
    };
  }
  return { ok: false, message: found.message(), details: found.details };
}
