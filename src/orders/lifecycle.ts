/**
 * The order lifecycle, as one pure table. Used by the REST API (pay, hold, release, cancel)
 * and by the ShipStation side (serve, ship, confirm, reopen). No I/O.
 */
import type { OrderStatus } from '../db/schema.js';

export type HeldFrom = 'await_payment' | 'new' | 'at_wms';

/**
 * - pay, hold, release, cancel: merchant requests through the REST API; refused (null) when the
 *   table has no row for them.
 * - serve: the order was first served to ShipStation in an export page (new → at_wms; any other
 *   status is kept).
 * - ship: shipment notices now cover every shippable line.
 * - confirm: the merchant confirmed pickup of every shipment of the order.
 * - reopen: a shipment was voided and the lines are no longer all covered (shipped/confirmed →
 *   at_wms: an order with a shipment has been in ShipStation's hands).
 * The last four are facts, never refused: a status they do not apply to is kept unchanged.
 */
export type LifecycleEvent = 'pay' | 'hold' | 'release' | 'cancel' | 'serve' | 'ship' | 'confirm' | 'reopen';

export const MERCHANT_EVENTS = ['pay', 'hold', 'release', 'cancel'] as const;
export type MerchantEvent = (typeof MERCHANT_EVENTS)[number];

/** Statuses a merchant may ask for when creating an order. */
export const CREATE_STATUSES = ['new', 'await_payment', 'on_hold'] as const;
export type CreateStatus = (typeof CREATE_STATUSES)[number];

/** Statuses in which the order's content may be replaced (PUT). */
export const EDITABLE_STATUSES: readonly OrderStatus[] = ['await_payment', 'new', 'at_wms', 'on_hold'];

export interface Transition {
  status: OrderStatus;
  /** The status an on_hold order returns to on release; null unless status is on_hold. */
  held_from: HeldFrom | null;
  /** Set when the transition needs a person's attention (e.g. shipped while unpaid or on hold). */
  alert?: string;
}

const OPEN: readonly OrderStatus[] = ['await_payment', 'new', 'at_wms', 'on_hold'];
const HOLDABLE: readonly HeldFrom[] = ['await_payment', 'new', 'at_wms'];

/**
 * The status an order moves to on `event`, or null when the transition is refused (merchant events
 * only). `heldFrom` is the order's held_from column (null for an order created on_hold, which is
 * released to `new`).
 */
export function nextStatus(
  current: OrderStatus,
  event: LifecycleEvent,
  heldFrom: HeldFrom | null = null,
): Transition | null {
  const keep: Transition = { status: current, held_from: current === 'on_hold' ? heldFrom : null };
  switch (event) {
    case 'pay':
      return current === 'await_payment' ? { status: 'new', held_from: null } : null;
    case 'hold':
      return (HOLDABLE as readonly string[]).includes(current)
        ? { status: 'on_hold', held_from: current as HeldFrom }
        : null;
    case 'release':
      return current === 'on_hold' ? { status: heldFrom ?? 'new', held_from: null } : null;
    case 'cancel':
      return OPEN.includes(current) ? { status: 'canceled', held_from: null } : null;
    case 'serve':
      return current === 'new' ? { status: 'at_wms', held_from: null } : keep;
    case 'ship':
      if (current === 'await_payment' || current === 'on_hold') {
        return { status: 'shipped', held_from: null, alert: `shipped while ${current}` };
      }
      if (current === 'canceled') return { ...keep, alert: 'shipment notice for a canceled order' };
      return { status: 'shipped', held_from: null };
    case 'confirm':
      return current === 'shipped' ? { status: 'confirmed', held_from: null } : keep;
    case 'reopen':
      return current === 'shipped' || current === 'confirmed' ? { status: 'at_wms', held_from: null } : keep;
  }
}

/**
 * Statuses in which rules still apply to an order (as long as no store has served it): the open
 * ones. A shipped, confirmed or canceled order never changes because of a rule.
 */
export const RULES_APPLY_TO: readonly OrderStatus[] = EDITABLE_STATUSES;

/** May a merchant replace the order's content in this status? */
export function isEditable(status: OrderStatus): boolean {
  return EDITABLE_STATUSES.includes(status);
}

/** The message of a refused merchant transition (409). */
export function refusalMessage(event: MerchantEvent, current: OrderStatus): string {
  const allowed: Record<MerchantEvent, string> = {
    pay: 'await_payment',
    hold: 'await_payment, new or at_wms',
    release: 'on_hold',
    cancel: 'await_payment, new, at_wms or on_hold',
  };
  return `cannot ${event} an order that is ${current} (only from ${allowed[event]})`;
}
