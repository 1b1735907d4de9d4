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
 *   of the order answer (id, merchant, status on PUT, routing, timestamps, line_item_id,
 *   shipped_quantity…), which are accepted and ignored so an answered order can be sent back.
 * - at most 1000 items and 100 tags per order.
 */
import { DateTime } from 'luxon';
import { z } from 'zod';
import { ORDER_STATUSES } from '../db/schema.js';
import type { ErrorDetail } from '../http/errors.js';
import { formatPath } from '../http/errors.js';
import { fromCents, parseMoneyInput, toCents } from '../lib/money.js';
import { countryCode, hasStateTable, inferCountry, regionCode } from './address.js';
import { CREATE_STATUSES } from './lifecycle.js';
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

/** Length in code points (what ShipStation counts), not UTF-16 units. */
export function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

const tooLong = (max: number) => `at most ${max} characters`;

/** PostgreSQL text cannot hold NUL, and a lone surrogate cannot be stored as UTF-8. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const storable = (s: string) => !s.includes('\u0000') && !LONE_SURROGATE.test(s);
const NOT_STORABLE = 'must be valid Unicode text without NUL characters';

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

/** Money: a JSON number or numeric string, at most two decimals, |amount| ≤ 9999999.99. */
const money = z
  .union([z.number(), z.string()])
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

const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)$/i;

const orderDate = z
  .string()
  .transform((s, ctx) => {
    const v = s.trim();
    if (!ISO_WITH_OFFSET.test(v)) {
      ctx.addIssue({
        code: 'custom',
        message: 'must be an ISO 8601 date and time with an offset, e.g. 2026-11-22T10:15:00Z or …+01:00',
      });
      return z.NEVER;
    }
    const dt = DateTime.fromISO(v.replace(' ', 'T'), { setZone: true });
    if (!dt.isValid || dt.year < 1900 || dt.year > 9999) {
      ctx.addIssue({ code: 'custom', message: 'is not a valid date and time' });
      return z.NEVER;
    }
    return dt.toUTC().toISO() as string;
  })
  .meta({
    description: 'ISO 8601 with an offset (Z or ±hh:mm); answered in UTC',
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
    image_url: optText(500),
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

function orderShape(mode: 'create' | 'replace') {
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
    bill_to: addressInput.nullish(),
    ship_to: addressInput,
    items: z.array(itemInput).min(1, 'at least one item').max(MAX_ITEMS, `at most ${MAX_ITEMS} items`),
    id: readOnly,
    merchant: readOnly,
    held_from: readOnly,
    routing: readOnly,
    last_modified: readOnly,
    updated_at: readOnly,
    created_at: readOnly,
  };
}

type Ctx = z.core.$RefinementCtx;

function issue(ctx: Ctx, path: (string | number)[], message: string): void {
  ctx.addIssue({ code: 'custom', message, path });
}

function normalizeAddress(a: AddressIn | null | undefined, which: 'ship_to' | 'bill_to', ctx: Ctx): Address {
  if (!a) return { ...EMPTY_ADDRESS };
  const out: Address = { ...EMPTY_ADDRESS, ...a };
  if (a.country !== null) {
    const code = countryCode(a.country);
    if (!code)
      issue(ctx, [which, 'country'], 'must be an ISO 3166-1 alpha-2 code or an English country name');
    out.country = code ?? null;
  } else if (a.state !== null) {
    const inferred = inferCountry(a.state);
    if (inferred) {
      out.country = inferred.country;
      out.state = inferred.state;
    } else if (which === 'ship_to') {
      issue(
        ctx,
        [which, 'country'],
        'is required (it can only be inferred from a US state or Canadian province)',
      );
    }
  } else if (which === 'ship_to') {
    issue(ctx, [which, 'country'], 'is required');
  }
  if (out.country !== null && hasStateTable(out.country)) {
    if (out.state !== null) {
      const code = regionCode(out.country, out.state);
      if (!code) {
        const kind = out.country === 'US' ? 'a US state' : 'a Canadian province';
        issue(ctx, [which, 'state'], `must be ${kind}: two-letter code or full name`);
      }
      out.state = code ?? null;
    } else if (which === 'ship_to') {
      issue(ctx, [which, 'state'], `is required for ${out.country} addresses`);
    }
  }
  if (which === 'ship_to') {
    for (const f of ['name', 'street1', 'city'] as const)
      if (out[f] === null) issue(ctx, [which, f], 'is required');
  }
  return out;
}

function normalizeItem(it: ItemIn, i: number, ctx: Ctx): NormalizedItem {
  const adjustment = it.adjustment ?? false;
  if (adjustment && it.unit_price.startsWith('-') === false && toCents(it.unit_price) !== 0n) {
    issue(ctx, ['items', i, 'unit_price'], 'must be negative or zero on an adjustment line');
  }
  if (!adjustment && it.unit_price.startsWith('-')) {
    issue(ctx, ['items', i, 'unit_price'], 'must not be negative (send discounts as adjustment lines)');
  }
  const options = (it.options ?? []).map((o) => ({ name: o.name, value: o.value, weight: o.weight }));
  const needsUnit = it.weight !== null || options.some((o) => o.weight !== null);
  if (needsUnit && it.weight_unit === null) {
    issue(ctx, ['items', i, 'weight_unit'], 'is required when a weight is given (oz, lb, g or kg)');
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

type OrderIn = z.output<z.ZodObject<ReturnType<typeof orderShape>>>;

export interface ParsedOrder {
  order: NormalizedOrder;
  /** The status asked for (create: new, await_payment or on_hold; replace: ignored). */
  status: string | undefined;
  /** replace: whether order_source / order_number were sent. */
  source_given: boolean;
  number_given: boolean;
}

function normalize(o: OrderIn, ctx: Ctx): ParsedOrder {
  const items = o.items.map((it, i) => normalizeItem(it, i, ctx));
  const seen = new Map<string, number>();
  items.forEach((it, i) => {
    if (it.line_id === null) return;
    const first = seen.get(it.line_id);
    if (first !== undefined) issue(ctx, ['items', i, 'line_id'], `repeats items[${first}].line_id`);
    else seen.set(it.line_id, i);
  });
  let total: string;
  if (o.order_total !== null) {
    total = o.order_total;
  } else {
    let cents = 0n;
    for (const it of items) cents += BigInt(it.quantity) * toCents(it.unit_price);
    if (o.tax_amount) cents += toCents(o.tax_amount);
    if (o.shipping_amount) cents += toCents(o.shipping_amount);
    if (cents > MAX_AMOUNT_CENTS || cents < -MAX_AMOUNT_CENTS) {
      issue(
        ctx,
        ['order_total'],
        'the computed total (lines + tax + shipping) exceeds 9999999.99; send order_total',
      );
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
    bill_to: normalizeAddress(o.bill_to, 'bill_to', ctx),
    ship_to: normalizeAddress(o.ship_to, 'ship_to', ctx),
    items,
  };
  return {
    order,
    status: o.status,
    source_given: o.order_source !== undefined,
    number_given: o.order_number !== undefined,
  };
}

/** The order a merchant creates (POST …/orders), normalised. */
export const orderCreateSchema = z
  .strictObject(orderShape('create'))
  .transform((o, ctx) => normalize(o, ctx))
  .meta({
    id: 'NewOrder',
    description:
      'An order as a merchant sends it: order_number, order_date, ship_to and items are required; money as a number or a numeric string.',
  });

/** The order a merchant replaces (PUT …/orders/{order}), normalised. */
export const orderReplaceSchema = z
  .strictObject(orderShape('replace'))
  .transform((o, ctx) => normalize(o, ctx))
  .meta({
    id: 'OrderReplacement',
    description: 'The full new content of an order, with the same fields and limits as when it was created.',
  });

/** The body of POST …/orders, as documented: one order or a batch of up to 500. */
export const createBodySchema = z.union([
  orderCreateSchema,
  z.strictObject({ orders: z.array(orderCreateSchema).min(1).max(MAX_BATCH) }).meta({ id: 'NewOrderBatch' }),
]);

/** zod issues → §6 details; unknown keys get one detail each, named by their own path. */
export function issueDetails(
  issues: readonly z.core.$ZodIssue[],
  prefix: (string | number)[] = [],
): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  for (const i of issues) {
    const base = [...prefix, ...(i.path as (string | number)[])];
    if (i.code === 'unrecognized_keys') {
      for (const k of i.keys) out.push({ path: formatPath([...base, k]), message: 'unknown field' });
    } else if (i.code === 'invalid_union') {
      out.push({ path: formatPath(base) || '(root)', message: 'must be a number or a numeric string' });
    } else if (i.code === 'invalid_type' && /received undefined$/.test(i.message)) {
      out.push({ path: formatPath(base) || '(root)', message: 'is required' });
    } else {
      out.push({ path: formatPath(base) || '(root)', message: i.message });
    }
  }
  return out;
}

export type ParseResult = { ok: true; value: ParsedOrder } | { ok: false; details: ErrorDetail[] };

export function parseOrder(
  input: unknown,
  mode: 'create' | 'replace',
  prefix: (string | number)[] = [],
): ParseResult {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    return {
      ok: false,
      details: [{ path: formatPath(prefix) || '(root)', message: 'must be an order object' }],
    };
  }
  const r = (mode === 'create' ? orderCreateSchema : orderReplaceSchema).safeParse(input);
  return r.success
    ? { ok: true, value: r.data }
    : { ok: false, details: issueDetails(r.error.issues, prefix) };
}
