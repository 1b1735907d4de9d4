/**
 * What a shipment notice tells the shipments domain, once the ShipStation side has read it: the
 * shipment's facts and the items it claims; and what those items do to the order's lines (line
 * allocation) and when two notices are the same shipment (the idempotency key). Pure: no I/O.
 *
 * Line allocation applies the notice's items to the order's lines: by LineItemID (our
 * order_lines.id) first, then by SKU (repeated SKUs fill lines in position order, skipping lines
 * already full). Quantities accumulate across notices and are capped at the ordered quantity; the
 * excess and the items that match no line are reported for alerts.
 */
import { createHash } from 'node:crypto';
import { isShippable } from './status.js';

/** One item a shipment claims (a notice's `Items/Item`). */
export interface ShipmentItem {
  /** Our order_lines.id as exported (text as received). */
  lineItemId: string | null;
  sku: string | null;
  name: string | null;
  /** Integer 1–99 999 when read from a notice. */
  quantity: number;
}

/** What a notice says about the shipment, after query/body precedence is settled. */
export interface ShipmentFacts {
  carrier: string | null;
  service: string | null;
  trackingNumber: string | null;
  /** 'YYYY-MM-DD' */
  shipDate: string | null;
  labelCreatedAt: Date | null;
  /** Two-decimal money string. */
  shippingCost: string | null;
  notifyCustomer: boolean | null;
  /** null (or empty): every shippable line in full. */
  items: ShipmentItem[] | null;
}

/** Trimmed text, or null when blank. */
export const nonBlank = (s: string | null | undefined): string | null => {
  const t = s?.trim();
  return t ? t : null;
};

const NUMERIC_ID = /^\d{1,15}$/;

/** One of our ids written as text (an OrderID, a LineItemID), or null when it is not one. */
export function asId(value: string | null): number | null {
  if (value === null || !NUMERIC_ID.test(value)) return null;
  const n = Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

/** An order line as allocation needs it. `shipped` is what earlier notices already applied. */
export interface LineState {
  id: number;
  position: number;
  sku: string | null;
  quantity: number;
  shipped: number;
  adjustment: boolean;
  /** Excluded by a rule: never allocated; a notice naming it gets an unknown_item alert. */
  excluded?: boolean;
}

export interface Allocation {
  lineId: number;
  /** What this notice adds to the line's shipped quantity (0 when the line was already full). */
  applied: number;
  /** What the notice asked for this line (kept so voiding another shipment can replay it). */
  requested: number;
}

export interface ExcessLine {
  lineId: number;
  sku: string | null;
  ordered: number;
  shippedBefore: number;
  requested: number;
  applied: number;
}

export interface UnknownItem {
  lineItemId: string | null;
  sku: string | null;
  name: string | null;
  quantity: number;
  reason: string;
}

export interface AllocationResult {
  allocations: Allocation[];
  excess: ExcessLine[];
  unknown: UnknownItem[];
  /** True when the notice listed no items: every shippable line in full. */
  everything: boolean;
}

/**
 * Applies a notice's items to the order's lines. `items` null or empty means every shippable line in
 * full: what remains unshipped is applied.
 */
export function allocateLines(
  lines: readonly LineState[],
  items: readonly ShipmentItem[] | null,
): AllocationResult {
  const shippable = [...lines].filter(isShippable).sort((a, b) => a.position - b.position);
  if (items === null || items.length === 0) {
    // The notice claims the whole order: every line is requested in full (so that, should an earlier
    // shipment be voided, a replay gives this one the whole order) and what remains is applied. Only
    // when nothing at all remained is that an over-shipment worth a person's look.
    const allocations = shippable.map((l) => ({
      lineId: l.id,
      applied: Math.max(0, l.quantity - l.shipped),
      requested: l.quantity,
    }));
    const nothingLeft = allocations.every((a) => a.applied === 0);
    const excess: ExcessLine[] = nothingLeft
      ? shippable.map((l) => ({
          lineId: l.id,
          sku: l.sku,
          ordered: l.quantity,
          shippedBefore: l.shipped,
          requested: l.quantity,
          applied: 0,
        }))
      : [];
    return { allocations, excess, unknown: [], everything: true };
  }

  const byId = new Map(lines.map((l) => [l.id, l]));
  const applied = new Map<number, number>();
  const requested = new Map<number, number>();
  const unknown: UnknownItem[] = [];
  const add = (m: Map<number, number>, id: number, q: number) => m.set(id, (m.get(id) ?? 0) + q);
  const room = (l: LineState) => l.quantity - l.shipped - (applied.get(l.id) ?? 0);

  const viaSku: ShipmentItem[] = [];
  for (const item of items) {
    if (!Number.isSafeInteger(item.quantity) || item.quantity <= 0) {
      unknown.push({ ...pickItem(item), reason: 'quantity is not a positive integer' });
      continue;
    }
    const id = asId(nonBlank(item.lineItemId));
    const line = id === null ? undefined : byId.get(id);
    if (line && isShippable(line)) {
      add(requested, line.id, item.quantity);
      add(applied, line.id, Math.min(item.quantity, Math.max(0, room(line))));
    } else {
      viaSku.push(item);
    }
  }
  for (const item of viaSku) {
    const sku = nonBlank(item.sku);
    const candidates = sku === null ? [] : shippable.filter((l) => l.sku === sku);
    if (candidates.length === 0) {
      const named =
        byId.get(asId(nonBlank(item.lineItemId)) ?? 0) ?? lines.find((l) => sku !== null && l.sku === sku);
      unknown.push({
        ...pickItem(item),
        reason: named?.excluded
          ? `line ${named.id}${named.sku === null ? '' : ` (SKU ${named.sku})`} is excluded by a rule: it was not exported`
          : sku === null
            ? 'neither its LineItemID nor a SKU names a shippable line of the order'
            : `no shippable line of the order has LineItemID ${nonBlank(item.lineItemId) ?? '(none)'} or SKU ${sku}`,
      });
      continue;
    }
    // First pass: fill what is still unshipped, in position order.
    let left = item.quantity;
    for (const l of candidates) {
      const take = Math.min(left, Math.max(0, room(l)));
      if (take > 0) {
        add(applied, l.id, take);
        add(requested, l.id, take);
        left -= take;
      }
    }
    // The excess is recorded as requested on the lines, by ordered quantity, so a replay after a
    // void can apply it where it fits; whatever is left lands on the last line.
    for (const l of candidates) {
      if (left === 0) break;
      const take = Math.min(left, Math.max(0, l.quantity - (requested.get(l.id) ?? 0)));
      if (take > 0) {
        add(requested, l.id, take);
        left -= take;
      }
    }
    if (left > 0) add(requested, candidates[candidates.length - 1]!.id, left);
  }

  const allocations: Allocation[] = [];
  const excess: ExcessLine[] = [];
  for (const l of shippable) {
    const r = requested.get(l.id);
    if (r === undefined) continue;
    const a = applied.get(l.id) ?? 0;
    allocations.push({ lineId: l.id, applied: a, requested: r });
    if (r > a)
      excess.push({
        lineId: l.id,
        sku: l.sku,
        ordered: l.quantity,
        shippedBefore: l.shipped,
        requested: r,
        applied: a,
      });
  }
  return { allocations, excess, unknown, everything: false };
}

function pickItem(item: ShipmentItem): Omit<UnknownItem, 'reason'> {
  return { lineItemId: item.lineItemId, sku: item.sku, name: item.name, quantity: item.quantity };
}

/** What decides whether two notices are the same. */
export type IdempotencyFacts = { orderId: number } & Pick<
  ShipmentFacts,
  'trackingNumber' | 'items' | 'labelCreatedAt' | 'shipDate' | 'shippingCost'
>;

/**
 * The shipment's idempotency key: the same order, tracking number and lines (LineItemID or SKU with
 * the quantities as requested, in any order); when the tracking number is empty, also the same label
 * date, ship date and cost. The requested lines are keyed as the notice named them, not as they were
 * resolved: a repeated SKU resolves to another line once the first is full.
 */
export function idempotencyKey(f: IdempotencyFacts): string {
  const tracking = nonBlank(f.trackingNumber);
  const lines =
    f.items === null || f.items.length === 0
      ? 'all'
      : f.items.map((i) => JSON.stringify([nonBlank(i.lineItemId), nonBlank(i.sku), i.quantity])).sort();
  const extra =
    tracking === null
      ? [f.labelCreatedAt ? f.labelCreatedAt.toISOString() : null, f.shipDate, normaliseCost(f.shippingCost)]
      : null;
  const digest = createHash('sha256')
    .update(JSON.stringify(['v1', f.orderId, tracking, lines, extra]))
    .digest('base64url');
  return `n1:${digest}`;
}

function normaliseCost(cost: string | null): string | null {
  if (cost === null) return null;
  const n = /^(-?)(\d+)(?:\.(\d+))?$/.exec(cost.trim());
  if (!n) return cost.trim();
  const frac = (n[3] ?? '').replace(/0+$/, '');
  return `${n[1]}${String(Number(n[2]))}${frac ? `.${frac}` : ''}`;
}
