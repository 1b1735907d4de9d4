/**
 * Matching a ShipStation shipment notice to an order and to its lines. Pure: no I/O.
 *
 * Order matching walks a fixed list of steps (see matchSteps) over candidate orders loaded in one
 * query; the first step that names exactly one order wins, a step that names several is ambiguous
 * (unmatched: a person decides), and a step that names none passes to the next.
 *
 * Line matching (allocateLines) applies the notice's items to the order's lines: by LineItemID (our
 * order_lines.id) first, then by SKU (repeated SKUs fill lines in position order, skipping lines
 * already full). Quantities accumulate across notices and are capped at the ordered quantity; the
 * excess and the items that match no line are reported for alerts.
 */
import { createHash } from 'node:crypto';

/** One `Items/Item` of a notice, as the XML layer reads it. */
export interface NoticeItem {
  lineItemId: string | null;
  sku: string | null;
  name: string | null;
  quantity: number;
}

/** What a notice says about which order it is for. */
export interface NoticeOrderKeys {
  /** Body `OrderID` (our orders.id as we exported it). */
  orderId: string | null;
  /** Body `OrderNumber` (with the store's prefix, as we exported it). */
  orderNumber: string | null;
  /** Query `order_number`. */
  queryOrderNumber: string | null;
}

export type MatchStep =
  | { kind: 'id'; id: number; label: string }
  | { kind: 'number'; number: string; label: string };

const SPLIT_SUFFIX = /^(.+)-\d+$/;
const NUMERIC_ID = /^\d{1,15}$/;

const clean = (s: string | null | undefined): string | null => {
  const t = s?.trim();
  return t ? t : null;
};

function asId(value: string | null): number | null {
  if (value === null || !NUMERIC_ID.test(value)) return null;
  const n = Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

/**
 * The lookup steps, in order, without repeats:
 * 1. body OrderID as our order id;
 * 2. body OrderNumber; 3. query order_number;
 * 4. body OrderID without a split suffix (`123-1` → 123: undocumented whether a split child keeps it);
 * 5. each number without the store's prefix; 6. without a trailing `-<digits>` (ShipStation's
 *    legacy split-order suffix); 7. without both.
 */
export function matchSteps(keys: NoticeOrderKeys, prefix: string): MatchStep[] {
  const orderId = clean(keys.orderId);
  const bodyNumber = clean(keys.orderNumber);
  const queryNumber = clean(keys.queryOrderNumber);
  const steps: MatchStep[] = [];
  const seen = new Set<string>();
  const addId = (id: number | null, label: string) => {
    if (id === null || seen.has(`id:${id}`)) return;
    seen.add(`id:${id}`);
    steps.push({ kind: 'id', id, label });
  };
  const addNumber = (number: string | null, label: string) => {
    if (number === null || number === '' || seen.has(`n:${number}`)) return;
    seen.add(`n:${number}`);
    steps.push({ kind: 'number', number, label });
  };
  const withoutPrefix = (n: string | null): string | null =>
    n !== null && prefix !== '' && n.startsWith(prefix) && n.length > prefix.length
      ? n.slice(prefix.length)
      : null;
  const withoutSuffix = (n: string | null): string | null => {
    const m = n === null ? null : SPLIT_SUFFIX.exec(n);
    return m ? m[1]! : null;
  };

  addId(asId(orderId), `OrderID ${orderId}`);
  addNumber(bodyNumber, `OrderNumber ${bodyNumber}`);
  addNumber(queryNumber, `order_number ${queryNumber}`);
  addId(asId(withoutSuffix(orderId)), `OrderID ${orderId} without its split suffix`);
  const numbers: [string | null, string][] = [
    [bodyNumber, 'OrderNumber'],
    [queryNumber, 'order_number'],
  ];
  for (const [n, name] of numbers) addNumber(withoutPrefix(n), `${name} ${n} without the prefix ${prefix}`);
  for (const [n, name] of numbers) addNumber(withoutSuffix(n), `${name} ${n} without its split suffix`);
  for (const [n, name] of numbers) {
    addNumber(withoutSuffix(withoutPrefix(n)), `${name} ${n} without the prefix and split suffix`);
  }
  return steps;
}

/** The order numbers and ids the steps look for: load every candidate in one query. */
export function stepKeys(steps: readonly MatchStep[]): { ids: number[]; numbers: string[] } {
  const ids: number[] = [];
  const numbers: string[] = [];
  for (const s of steps) {
    if (s.kind === 'id') ids.push(s.id);
    else numbers.push(s.number);
  }
  return { ids, numbers };
}

export interface OrderCandidate {
  id: number;
  order_number: string;
  served_store_id: number | null;
}

export type OrderMatch =
  | { ok: true; orderId: number; step: string }
  | { ok: false; reason: string; candidates: number[] };

/**
 * Walks the steps over the candidates: at each step, orders this store served are preferred; then
 * any order of the merchant. Exactly one → matched; several → unmatched (ambiguous); none → next step.
 */
export function chooseOrder(
  steps: readonly MatchStep[],
  candidates: readonly OrderCandidate[],
  storeId: number,
): OrderMatch {
  if (steps.length === 0) {
    return {
      ok: false,
      reason: 'the notice names no order (no OrderID, OrderNumber or order_number)',
      candidates: [],
    };
  }
  for (const step of steps) {
    const all = candidates.filter((c) =>
      step.kind === 'id' ? c.id === step.id : c.order_number === step.number,
    );
    if (all.length === 0) continue;
    const served = all.filter((c) => c.served_store_id === storeId);
    const pick = served.length > 0 ? served : all;
    if (pick.length === 1) return { ok: true, orderId: pick[0]!.id, step: step.label };
    const ids = pick.map((c) => c.id).sort((a, b) => a - b);
    return {
      ok: false,
      reason:
        `ambiguous: ${step.label} matches ${pick.length} orders` +
        `${served.length > 0 ? ' served by this store' : ' of this merchant'} (ids ${ids.join(', ')}); ` +
        'apply the notice to one of them',
      candidates: ids,
    };
  }
  const named = steps.filter((s) => !s.label.includes(' without ')).map((s) => s.label);
  return {
    ok: false,
    reason: `no order of this merchant matches ${named.join(', ')} (nor without prefix or split suffix)`,
    candidates: [],
  };
}

/** An order line as allocation needs it. `shipped` is what earlier notices already applied. */
export interface LineState {
  id: number;
  position: number;
  sku: string | null;
  quantity: number;
  shipped: number;
  adjustment: boolean;
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
  items: readonly NoticeItem[] | null,
): AllocationResult {
  const shippable = [...lines].filter((l) => !l.adjustment).sort((a, b) => a.position - b.position);
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

  const viaSku: NoticeItem[] = [];
  for (const item of items) {
    if (!Number.isSafeInteger(item.quantity) || item.quantity <= 0) {
      unknown.push({ ...pickItem(item), reason: 'quantity is not a positive integer' });
      continue;
    }
    const id = asId(clean(item.lineItemId));
    const line = id === null ? undefined : byId.get(id);
    if (line && !line.adjustment) {
      add(requested, line.id, item.quantity);
      add(applied, line.id, Math.min(item.quantity, Math.max(0, room(line))));
    } else {
      viaSku.push(item);
    }
  }
  for (const item of viaSku) {
    const sku = clean(item.sku);
    const candidates = sku === null ? [] : shippable.filter((l) => l.sku === sku);
    if (candidates.length === 0) {
      unknown.push({
        ...pickItem(item),
        reason:
          sku === null
            ? 'neither its LineItemID nor a SKU names a shippable line of the order'
            : `no shippable line of the order has LineItemID ${clean(item.lineItemId) ?? '(none)'} or SKU ${sku}`,
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

function pickItem(item: NoticeItem): Omit<UnknownItem, 'reason'> {
  return { lineItemId: item.lineItemId, sku: item.sku, name: item.name, quantity: item.quantity };
}

/** What decides whether two notices are the same. */
export interface IdempotencyFacts {
  orderId: number;
  trackingNumber: string | null;
  items: readonly NoticeItem[] | null;
  labelCreatedAt: Date | null;
  shipDate: string | null;
  shippingCost: string | null;
}

/**
 * The shipment's idempotency key: the same order, tracking number and lines (LineItemID or SKU with
 * the quantities as requested, in any order); when the tracking number is empty, also the same label
 * date, ship date and cost. The requested lines are keyed as the notice named them, not as they were
 * resolved: a repeated SKU resolves to another line once the first is full.
 */
export function idempotencyKey(f: IdempotencyFacts): string {
  const tracking = clean(f.trackingNumber);
  const lines =
    f.items === null || f.items.length === 0
      ? 'all'
      : f.items.map((i) => JSON.stringify([clean(i.lineItemId), clean(i.sku), i.quantity])).sort();
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
