import { parse } from 'csv-parse/sync';

/**
 * `orders import FILE`: orders from CSV or JSON, each remembered with the rows it came from, so the
 * report can say which row failed.
 *
 * CSV: a header row naming columns (CSV_COLUMNS; unknown columns are an error, so a typo is not
 * silently dropped). One row per order, or one row per line with the order's columns repeated (or
 * left empty) on its other rows: consecutive or not, rows with the same order_source and
 * order_number make one order, whose order-level columns come from its first row.
 * JSON: an array of orders, or {"orders": [...]}, in the API's own shape.
 */

/** Order-level columns, item columns (prefix `item_`) and address columns (`ship_to_`, `bill_to_`). */
const ORDER_COLUMNS = [
  'order_number',
  'order_source',
  'order_date',
  'status',
  'currency',
  'tags',
  'shipping_method',
  'payment_method',
  'order_total',
  'tax_amount',
  'shipping_amount',
  'amount_paid',
  'customer_notes',
  'internal_notes',
  'requested_warehouse',
  'customer_code',
  'customer_email',
] as const;
const ADDRESS_FIELDS = [
  'name',
  'company',
  'street1',
  'street2',
  'street3',
  'city',
  'state',
  'postal_code',
  'country',
  'phone',
  'email',
] as const;
const ITEM_FIELDS = [
  'line_id',
  'sku',
  'name',
  'quantity',
  'unit_price',
  'weight',
  'weight_unit',
  'upc',
  'location',
  'adjustment',
] as const;

export const CSV_COLUMNS: readonly string[] = [
  ...ORDER_COLUMNS,
  ...ADDRESS_FIELDS.map((f) => `ship_to_${f}`),
  ...ADDRESS_FIELDS.map((f) => `bill_to_${f}`),
  ...ITEM_FIELDS.map((f) => `item_${f}`),
];

export interface ImportOrder {
  /** 1-based row numbers of the file (CSV: counting the header as row 1; JSON: the element's index + 1). */
  rows: number[];
  order: Record<string, unknown>;
}

export class ImportFileError extends Error {}

export function parseJsonOrders(text: string): ImportOrder[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ImportFileError(`not valid JSON: ${(e as Error).message}`);
  }
  const list = Array.isArray(doc) ? doc : (doc as { orders?: unknown } | null)?.orders;
  if (!Array.isArray(list)) throw new ImportFileError('JSON must be an array of orders or {"orders": [...]}');
  return list.map((order, i) => ({ rows: [i + 1], order: order as Record<string, unknown> }));
}

const present = (v: string | undefined): v is string => v !== undefined && v.trim() !== '';

function address(row: Record<string, string>, prefix: 'ship_to_' | 'bill_to_') {
  const out: Record<string, string> = {};
  for (const f of ADDRESS_FIELDS) {
    const v = row[`${prefix}${f}`];
    if (present(v)) out[f] = v.trim();
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function item(row: Record<string, string>) {
  const out: Record<string, unknown> = {};
  for (const f of ITEM_FIELDS) {
    const v = row[`item_${f}`];
    if (!present(v)) continue;
    if (f === 'quantity') out[f] = /^\d+$/.test(v.trim()) ? Number(v.trim()) : v.trim();
    else if (f === 'adjustment') out[f] = /^(true|yes|1)$/i.test(v.trim());
    else out[f] = v.trim();
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

export function parseCsvOrders(text: string): ImportOrder[] {
  let records: string[][];
  try {
    records = parse(text, { bom: true, skip_empty_lines: true, relax_column_count: false });
  } catch (e) {
    throw new ImportFileError(`not valid CSV: ${(e as Error).message}`);
  }
  const [header, ...body] = records;
  if (!header) throw new ImportFileError('the CSV file is empty; it needs a header row');
  const names = header.map((h) => h.trim().toLowerCase());
  const unknown = names.filter((n) => !CSV_COLUMNS.includes(n));
  if (unknown.length > 0) {
    throw new ImportFileError(
      `unknown column(s) ${unknown.join(', ')}; the columns are: ${CSV_COLUMNS.join(', ')}`,
    );
  }
  if (!names.includes('order_number'))
    throw new ImportFileError('the header row needs an order_number column');

  const byKey = new Map<string, ImportOrder>();
  body.forEach((values, i) => {
    const row: Record<string, string> = {};
    names.forEach((n, j) => {
      row[n] = values[j] ?? '';
    });
    const rowNumber = i + 2;
    const key = `${row.order_source?.trim() ?? ''}\u0000${row.order_number?.trim() ?? ''}`;
    let entry = byKey.get(key);
    if (!entry) {
      const order: Record<string, unknown> = { items: [] };
      for (const c of ORDER_COLUMNS) {
        const v = row[c];
        if (!present(v)) continue;
        if (c === 'customer_code' || c === 'customer_email') {
          const customer = (order.customer ?? {}) as Record<string, string>;
          customer[c.slice('customer_'.length)] = v.trim();
          order.customer = customer;
        } else if (c === 'tags') {
          order.tags = v
            .split('|')
            .map((s) => s.trim())
            .filter((s) => s !== '');
        } else {
          order[c] = v.trim();
        }
      }
      const shipTo = address(row, 'ship_to_');
      const billTo = address(row, 'bill_to_');
      if (shipTo) order.ship_to = shipTo;
      if (billTo) order.bill_to = billTo;
      entry = { rows: [], order };
      byKey.set(key, entry);
    }
    entry.rows.push(rowNumber);
    const it = item(row);
    if (it) (entry.order.items as unknown[]).push(it);
  });
  return [...byKey.values()];
}
