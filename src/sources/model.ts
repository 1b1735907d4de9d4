/**
 * The rules of a ShipStation source connection, pure: which ShipStation orders are taken, what a
 * later change in ShipStation does to the order here, and the carrier codes ShipStation is told.
 * One owner per rule: the pull, the routes and the tests read them from here.
 */
import type { OrderStatus, SourceOrderState } from '../db/schema.js';

/** ShipStation's order statuses (API v1). */
export const SS_ORDER_STATUSES = [
  'awaiting_payment',
  'awaiting_shipment',
  'pending_fulfillment',
  'shipped',
  'on_hold',
  'cancelled',
  'rejected_fulfillment',
] as const;
export type SsOrderStatus = (typeof SS_ORDER_STATUSES)[number];

export const DEFAULT_ORDER_STATUSES: readonly SsOrderStatus[] = ['awaiting_shipment'];
export const POLL_MINUTES = { min: 5, max: 1440, default: 15 } as const;
/** How far before the newest modifyDate already stored a pull starts reading again. */
export const PULL_OVERLAP_MS = 5 * 60_000;
/** ShipStation's largest page. */
export const PAGE_SIZE = 500;
/** Without earliest_order_date, the first pull reads orders modified this long before the source was made. */
export const FIRST_PULL_LOOKBACK_MS = 7 * 24 * 3600_000;

export interface TagFilter {
  mode: 'include' | 'exclude';
  name: string;
}

/**
 * The tag filter on an order's tag ids, with the filter's tag name resolved to its id (null: the
 * account has no tag of that name). Names match exactly, case-sensitive, so resolution is exact too.
 */
export function tagFilterAccepts(
  filter: TagFilter | null,
  tagId: number | null,
  orderTagIds: readonly number[],
): boolean {
  if (!filter) return true;
  const tagged = tagId !== null && orderTagIds.includes(tagId);
  return filter.mode === 'include' ? tagged : !tagged;
}

/** The id of the tag named exactly `name` (case-sensitive), or null. */
export function resolveTag(tags: readonly { tagId: number; name: string }[], name: string): number | null {
  return tags.find((t) => t.name === name)?.tagId ?? null;
}

export interface TakeSettings {
  orderStatuses: readonly string[];
  storeId: number | null;
  tag: TagFilter | null;
  earliestOrderDate: Date | null;
}

export interface TakeFacts {
  status: string;
  storeId: number | null;
  tagIds: readonly number[];
  orderDate: Date | null;
}

/**
 * Whether an order not taken yet is taken now. The filters decide only this: an order taken once
 * follows every later change whatever its status or tags become.
 */
export function takes(s: TakeSettings, tagId: number | null, o: TakeFacts): boolean {
  if (!s.orderStatuses.includes(o.status)) return false;
  if (s.storeId !== null && o.storeId !== s.storeId) return false;
  if (s.earliestOrderDate && o.orderDate && o.orderDate < s.earliestOrderDate) return false;
  return tagFilterAccepts(s.tag, tagId, o.tagIds);
}

/** Our status for an order taken in this ShipStation status. */
export function createdStatus(ss: string): 'new' | 'await_payment' | 'on_hold' {
  if (ss === 'awaiting_payment') return 'await_payment';
  if (ss === 'on_hold') return 'on_hold';
  return 'new';
}

export type Reaction =
  | { kind: 'none' }
  | { kind: 'transition'; event: 'cancel' | 'hold' | 'release' | 'pay'; reason: string }
  | { kind: 'alert'; alert: SourceAlertKind; message: string };

const OPEN: readonly OrderStatus[] = ['await_payment', 'new', 'at_wms', 'on_hold'];

/**
 * What a change of a taken order's ShipStation status does here. `heldBySource`: our hold came from
 * ShipStation's (so ShipStation's release lifts it; a hold a person placed here stays).
 */
export function reactionTo(
  from: string,
  to: string,
  order: { status: OrderStatus; served: boolean; heldBySource: boolean },
): Reaction {
  if (from === to) return { kind: 'none' };
  const s = order.status;
  switch (to) {
    case 'cancelled':
      if (OPEN.includes(s))
        return { kind: 'transition', event: 'cancel', reason: 'cancelled in ShipStation' };
      if (s === 'shipped' || s === 'confirmed')
        return {
          kind: 'alert',
          alert: 'source_cancel_after_ship',
          message: 'was cancelled in the source ShipStation account but has already shipped here',
        };
      return { kind: 'none' };
    case 'on_hold':
      if (s === 'await_payment' || s === 'new' || s === 'at_wms')
        return { kind: 'transition', event: 'hold', reason: 'on hold in ShipStation' };
      return { kind: 'none' };
    case 'shipped':
      if (!OPEN.includes(s)) return { kind: 'none' };
      if (!order.served)
        return { kind: 'transition', event: 'cancel', reason: 'shipped in ShipStation from elsewhere' };
      return {
        kind: 'alert',
        alert: 'source_shipped_elsewhere',
        message: 'was marked shipped in the source ShipStation account, but the warehouse already has it',
      };
    case 'awaiting_shipment':
    case 'pending_fulfillment':
      if (s === 'on_hold' && order.heldBySource)
        return { kind: 'transition', event: 'release', reason: 'released in ShipStation' };
      if (s === 'await_payment') return { kind: 'transition', event: 'pay', reason: 'paid in ShipStation' };
      return { kind: 'none' };
    default:
      return { kind: 'none' };
  }
}

/** The longest order number (orders' own limit, in characters). */
const ORDER_NUMBER_MAX = 50;

/**
 * The number a pulled order is stored under when its own is taken by another order of the source
 * (orders are unique on merchant, source and number): `<number>-ss<orderId>`, the number shortened
 * to fit 50 characters. Stable, so a repeated pull finds the same order.
 */
export function withheldNumber(orderNumber: string, ssOrderId: number): string {
  const suffix = `-ss${ssOrderId}`;
  const room = ORDER_NUMBER_MAX - suffix.length;
  return [...orderNumber].slice(0, Math.max(0, room)).join('') + suffix;
}

/** Whether our order's number is the one withheldNumber gave a pulled order. */
export const isWithheldNumber = (ourNumber: string, ssOrderId: number): boolean =>
  ourNumber.endsWith(`-ss${ssOrderId}`);

/**
 * States of a ShipStation order a source has seen (source_orders.state): taken (our order follows
 * it), refused (validation refused it: no order; taken again once it changes in ShipStation), held
 * (stored withheld until a person releases it; then taken).
 */
export const SOURCE_ORDER_STATES = [
  'taken',
  'refused',
  'held',
] as const satisfies readonly SourceOrderState[];

/** Alerts a source raises, by kind. */
export const SOURCE_ALERTS = {
  source_disabled: 'the source was disabled: ShipStation refused its API key pair (401)',
  source_failing: 'pulls of the source keep failing',
  source_order_refused: 'an order of the source failed validation: stored as refused, not as an order',
  source_order_held:
    'an order of the source was stored withheld (exported nowhere) until a person releases it',
  source_change_refused: 'a change made in ShipStation could not be applied here',
  source_cancel_after_ship: 'an order cancelled in ShipStation had already shipped here',
  source_shipped_elsewhere: 'an order shipped in ShipStation is already at the warehouse',
  source_notify_failed: 'ShipStation could not be told that an order shipped',
  source_later_package: 'a further package of an order ShipStation was already told about',
} as const;
export type SourceAlertKind = keyof typeof SOURCE_ALERTS;

/** Consecutive failed pulls after which the source_failing alert is raised. */
export const FAILING_AFTER = 5;

/**
 * ShipStation's carrier code for the carrier a shipment notice named (`other` when unknown): the
 * notice carries the carrier's display name, markasshipped wants its code.
 */
export function carrierCode(carrier: string | null): string {
  const c = (carrier ?? '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
  if (c === '') return 'other';
  for (const [pattern, code] of CARRIERS) if (pattern.test(c)) return code;
  return 'other';
}

const CARRIERS: readonly [RegExp, string][] = [
  [/^(usps|stamps com|stamps|endicia|us postal service|united states postal service)\b/, 'usps'],
  [/^ups\b/, 'ups'],
  [/^fed ?ex\b/, 'fedex'],
  [/^dhl (global mail|ecommerce)\b/, 'dhl_global_mail'],
  [/^dhl\b/, 'dhl_express'],
  [/^canada post\b/, 'canada_post'],
  [/^australia post\b/, 'australia_post'],
  [/^ontrac\b/, 'ontrac'],
  [/^lasership\b/, 'lasership'],
  [/^(royal mail)\b/, 'royal_mail'],
  [/^(firstmile|first mile)\b/, 'firstmile'],
  [/^(apc|apc postal)\b/, 'apc'],
  [/^asendia\b/, 'asendia'],
];
