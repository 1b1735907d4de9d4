/**
 * ShipStation's order JSON (API v1) → our order input, pure. What comes out is exactly what a
 * merchant would post, so it goes through the same validation and pipeline as every other order;
 * this module only reads ShipStation's shape (a loose schema: ShipStation adds fields freely) and
 * renames.
 */
import { z } from 'zod';
import { readPacific } from './dates.js';
import { createdStatus } from './model.js';

const str = z.string().nullish();
const num = z.number().nullish();

const ssAddress = z
  .looseObject({
    name: str,
    company: str,
    street1: str,
    street2: str,
    street3: str,
    city: str,
    state: str,
    postalCode: str,
    country: str,
    phone: str,
  })
  .nullish();

const ssItem = z.looseObject({
  orderItemId: num,
  lineItemKey: str,
  sku: str,
  name: str,
  imageUrl: str,
  weight: z.looseObject({ value: num, units: str }).nullish(),
  quantity: z.number(),
  unitPrice: num,
  warehouseLocation: str,
  options: z.array(z.looseObject({ name: str, value: str })).nullish(),
  adjustment: z.boolean().nullish(),
  upc: str,
});

/** The parts of ShipStation's order this service reads. */
export const ssOrderSchema = z.looseObject({
  orderId: z.number().int(),
  orderNumber: z.string(),
  orderDate: str,
  createDate: str,
  modifyDate: z.string(),
  orderStatus: z.string(),
  customerId: num,
  customerUsername: str,
  customerEmail: str,
  billTo: ssAddress,
  shipTo: ssAddress,
  items: z.array(ssItem).nullish(),
  orderTotal: num,
  amountPaid: num,
  taxAmount: num,
  shippingAmount: num,
  customerNotes: str,
  internalNotes: str,
  gift: z.boolean().nullish(),
  giftMessage: str,
  paymentMethod: str,
  requestedShippingService: str,
  advancedOptions: z
    .looseObject({
      warehouseId: num,
      storeId: num,
      customField1: str,
      customField2: str,
      customField3: str,
      mergedOrSplit: z.boolean().nullish(),
      mergedIds: z.array(z.number()).nullish(),
      parentId: num,
    })
    .nullish(),
  tagIds: z.array(z.number()).nullish(),
});
export type SsOrder = z.output<typeof ssOrderSchema>;

/** The facts of a ShipStation order the pull decides on, read once. */
export interface SsOrderFacts {
  orderId: number;
  orderNumber: string;
  status: string;
  modifyDate: Date;
  orderDate: Date | null;
  storeId: number | null;
  tagIds: number[];
  parentId: number | null;
  mergedIds: number[];
  mergedOrSplit: boolean;
}

export function factsOf(o: SsOrder): SsOrderFacts | null {
  const modifyDate = readPacific(o.modifyDate);
  if (!modifyDate) return null;
  const a = o.advancedOptions;
  return {
    orderId: o.orderId,
    orderNumber: o.orderNumber,
    status: o.orderStatus,
    modifyDate,
    orderDate: o.orderDate ? readPacific(o.orderDate) : null,
    storeId: a?.storeId ?? null,
    tagIds: o.tagIds ?? [],
    parentId: a?.parentId ?? null,
    mergedIds: a?.mergedIds ?? [],
    mergedOrSplit: a?.mergedOrSplit ?? false,
  };
}

/** Money as our API takes it: a string with two decimals (ShipStation's JSON numbers may carry float noise). */
export function money(n: number | null | undefined): string | null {
  if (n === null || n === undefined || !Number.isFinite(n)) return null;
  return (Math.round(n * 100) / 100).toFixed(2);
}

const WEIGHT_UNITS: Record<string, 'lb' | 'oz' | 'g'> = { pounds: 'lb', ounces: 'oz', grams: 'g' };

const text = (s: string | null | undefined) => {
  const t = s?.trim();
  return t ? t : null;
};

function address(a: z.output<typeof ssAddress>, email: string | null) {
  if (!a) return null;
  return {
    name: text(a.name),
    company: text(a.company),
    street1: text(a.street1),
    street2: text(a.street2),
    street3: text(a.street3),
    city: text(a.city),
    state: text(a.state),
    postal_code: text(a.postalCode),
    country: text(a.country),
    phone: text(a.phone),
    email,
  };
}

/** Custom fields are positional: a missing first field keeps its place as an empty one. */
function customFields(a: SsOrder['advancedOptions']): string[] {
  const fields = [a?.customField1, a?.customField2, a?.customField3].map((f) => f?.trim() ?? '');
  while (fields.length > 0 && fields[fields.length - 1] === '') fields.pop();
  return fields;
}

/**
 * Our order input for a ShipStation order. `sourceName` becomes order_source; `tagNames` resolves
 * the order's tag ids (an id the account no longer has is left out).
 */
export function toOrderInput(
  o: SsOrder,
  sourceName: string,
  tagNames: ReadonlyMap<number, string>,
): Record<string, unknown> {
  const orderDate = o.orderDate ? readPacific(o.orderDate) : null;
  const created = o.createDate ? readPacific(o.createDate) : null;
  const when = orderDate ?? created;
  const a = o.advancedOptions;
  const email = text(o.customerEmail);
  const billTo = address(o.billTo, email);
  const tags: string[] = [];
  for (const id of o.tagIds ?? []) {
    const name = tagNames.get(id);
    if (name !== undefined && !tags.includes(name)) tags.push(name);
  }
  return {
    order_source: sourceName,
    order_number: o.orderNumber.trim(),
    // A date ShipStation did not give (or we cannot read) is left to validation to name.
    order_date: when ? when.toISOString() : (o.orderDate ?? null),
    status: createdStatus(o.orderStatus),
    tags,
    shipping_method: text(o.requestedShippingService),
    payment_method: text(o.paymentMethod),
    order_total: money(o.orderTotal),
    tax_amount: money(o.taxAmount),
    shipping_amount: money(o.shippingAmount),
    amount_paid: money(o.amountPaid),
    customer_notes: text(o.customerNotes),
    internal_notes: text(o.internalNotes),
    gift: o.gift ?? false,
    gift_message: text(o.giftMessage),
    custom_fields: customFields(a),
    requested_warehouse:
      a?.warehouseId === null || a?.warehouseId === undefined ? null : String(a.warehouseId),
    customer: {
      code:
        text(o.customerUsername) ??
        (o.customerId === null || o.customerId === undefined ? null : String(o.customerId)),
      email,
    },
    bill_to: billTo && billTo.name !== null ? billTo : null,
    ship_to: address(o.shipTo, null),
    items: (o.items ?? []).map((it) => {
      const units = it.weight?.units ? WEIGHT_UNITS[it.weight.units.toLowerCase()] : undefined;
      const weight =
        it.weight?.value !== null && it.weight?.value !== undefined && units ? it.weight.value : null;
      const options = (it.options ?? [])
        .map((op) => ({ name: text(op.name), value: text(op.value) }))
        .filter((op): op is { name: string; value: string } => op.name !== null && op.value !== null);
      return {
        // ShipStation's own line id is stable across its edits: our line_item_id follows it.
        line_id:
          it.orderItemId === null || it.orderItemId === undefined
            ? text(it.lineItemKey)
            : String(it.orderItemId),
        sku: text(it.sku),
        name: text(it.name) ?? text(it.sku) ?? 'item',
        quantity: it.quantity,
        unit_price: money(it.unitPrice) ?? '0.00',
        weight: weight === null ? null : money(weight),
        weight_unit: weight === null ? null : units,
        image_url: text(it.imageUrl),
        location: text(it.warehouseLocation),
        upc: text(it.upc),
        options,
        adjustment: it.adjustment ?? false,
      };
    }),
  };
}
