/**
 * Matching a ShipStation shipment notice to an order. Pure: no I/O. (Its items are matched to the
 * order's lines by the shipments domain: shipments/facts.ts allocateLines.)
 *
 * Order matching walks a fixed list of steps (see matchSteps) over candidate orders loaded in one
 * query; the first step that names exactly one order wins, a step that names several is ambiguous
 * (unmatched: a person decides), and a step that names none passes to the next.
 */
import { asId, nonBlank } from '../shipments/facts.js';

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

/**
 * The lookup steps, in order, without repeats:
 * 1. body OrderID as our order id;
 * 2. body OrderNumber; 3. query order_number;
 * 4. body OrderID without a split suffix (`123-1` → 123: undocumented whether a split child keeps it);
 * 5. each number without the store's prefix; 6. without a trailing `-<digits>` (ShipStation's
 *    legacy split-order suffix); 7. without both.
 */
export function matchSteps(keys: NoticeOrderKeys, prefix: string): MatchStep[] {
  const orderId = nonBlank(keys.orderId);
  const bodyNumber = nonBlank(keys.orderNumber);
  const queryNumber = nonBlank(keys.queryOrderNumber);
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
