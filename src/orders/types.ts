/**
 * The normalised order: what the orders API stores and answers, and what the ShipStation export
 * reads. This is the contract between orders (which produce it) and shipstation (which renders it).
 *
 * Storage: `orders.content` (jsonb) holds a NormalizedOrder without `items`; each item is a row of
 * `order_lines` whose `content` (jsonb) holds the NormalizedItem (plus columns line_id, sku, name,
 * quantity, unit_price, adjustment, shipped_quantity for queries). Absent optional values are null
 * (never undefined), so equal orders serialise identically.
 */
import { z } from 'zod';

export type WeightUnit = 'oz' | 'lb' | 'g' | 'kg';

export interface Address {
  name: string | null;
  company: string | null;
  street1: string | null;
  street2: string | null;
  street3: string | null;
  city: string | null;
  /** US/CA: two-letter code (full names converted); elsewhere free text. */
  state: string | null;
  postal_code: string | null;
  /** ISO 3166-1 alpha-2, upper case. */
  country: string | null;
  phone: string | null;
  email: string | null;
}

export interface ItemOption {
  name: string;
  value: string;
  /** Extra weight per unit, in the item's weight_unit; decimal string or null. */
  weight: string | null;
}

export interface NormalizedItem {
  /** The merchant's own line id (keeps our line_item_id stable across PUT). */
  line_id: string | null;
  sku: string | null;
  name: string | null;
  /** Integer 1–99 999. */
  quantity: number;
  /** Two-decimal money string; negative on adjustment lines. */
  unit_price: string;
  /** Weight of one unit as a decimal string, in weight_unit. */
  weight: string | null;
  weight_unit: WeightUnit | null;
  image_url: string | null;
  location: string | null;
  upc: string | null;
  options: ItemOption[];
  /** A discount / coupon / fee line: not shippable. */
  adjustment: boolean;
}

export interface NormalizedOrder {
  order_source: string;
  order_number: string;
  /** ISO 8601 instant, normalised to UTC: 2026-11-22T10:15:00.000Z */
  order_date: string;
  /** ISO 4217, upper case. */
  currency: string | null;
  tags: string[];
  shipping_method: string | null;
  payment_method: string | null;
  /** Two-decimal money strings. order_total is computed when not given. */
  order_total: string;
  tax_amount: string | null;
  shipping_amount: string | null;
  amount_paid: string | null;
  customer_notes: string | null;
  internal_notes: string | null;
  gift: boolean;
  gift_message: string | null;
  /** Up to 3. */
  custom_fields: string[];
  requested_warehouse: string | null;
  customer: { code: string | null; email: string | null };
  bill_to: Address;
  ship_to: Address;
  items: NormalizedItem[];
}

/** An address with nothing in it. */
export const EMPTY_ADDRESS: Readonly<Address> = Object.freeze({
  name: null,
  company: null,
  street1: null,
  street2: null,
  street3: null,
  city: null,
  state: null,
  postal_code: null,
  country: null,
  phone: null,
  email: null,
});

const str = z.string().nullable();

/** An address as every answer shows it (the order's ship_to and bill_to, and their effective form). */
export const addressView = z
  .object({
    name: str,
    company: str,
    street1: str,
    street2: str,
    street3: str,
    city: str,
    state: str,
    postal_code: str,
    country: str,
    phone: str,
    email: str,
  })
  .meta({ id: 'Address' });
