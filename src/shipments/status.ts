/**
 * What shipments do to an order's status and shipped quantities. Pure: no I/O.
 *
 * The lifecycle table itself lives in domain/lifecycle.ts (ship, confirm, reopen, and where a reopen
 * goes); this module decides when those events happen and which alert goes with them.
 */
import type { OrderStatus } from '../db/schema.js';
import {
  type HeldFrom,
  isOpen,
  nextStatus,
  SHIPPED_STATUSES,
  type StatusWithHold,
} from '../domain/lifecycle.js';

export interface CoverageLine {
  quantity: number;
  shipped: number;
  adjustment: boolean;
  /** Excluded by a rule (order_lines.excluded). */
  excluded?: boolean;
}

/** A line ShipStation ships: not an adjustment, not excluded by a rule. */
export const isShippable = (l: { adjustment: boolean; excluded?: boolean | undefined }): boolean =>
  !l.adjustment && l.excluded !== true;

/** Do the shipped quantities cover every shippable line (not adjustments, not excluded)? */
export function isCovered(lines: readonly CoverageLine[]): boolean {
  return lines.every((l) => !isShippable(l) || l.shipped >= l.quantity);
}

export interface StatusChange extends StatusWithHold {
  /** An alert to raise with the change: its kind and message. */
  alert?: { kind: string; message: string };
}

/**
 * The order's status once a new shipment has been recorded. `covered` is computed with the new
 * shipment applied. Never refuses: notices are facts.
 * - open order, now covered → shipped (from await_payment or on_hold with an alert);
 * - open order, partly shipped → unchanged (an unpaid or held order gets an alert: a package left);
 * - confirmed → shipped (a further shipment awaits pickup); shipped → shipped;
 * - canceled → stays canceled, with an alert.
 */
export function statusAfterShipment(
  current: OrderStatus,
  heldFrom: HeldFrom | null,
  covered: boolean,
): StatusChange {
  if (current === 'canceled') {
    return {
      status: 'canceled',
      held_from: null,
      alert: { kind: 'shipped_after_cancel', message: 'a shipment notice arrived for a canceled order' },
    };
  }
  if (SHIPPED_STATUSES.includes(current)) {
    const t = nextStatus(current, 'ship', heldFrom)!;
    return { status: t.status, held_from: t.held_from };
  }
  if (isOpen(current) && covered) {
    const t = nextStatus(current, 'ship', heldFrom)!;
    const change: StatusChange = { status: t.status, held_from: t.held_from };
    if (current === 'await_payment' || current === 'on_hold') {
      change.alert = {
        kind: `shipped_while_${current}`,
        message: `the order was shipped while ${current === 'on_hold' ? 'on hold' : 'awaiting payment'}`,
      };
    }
    return change;
  }
  const keep: StatusChange = { status: current, held_from: current === 'on_hold' ? heldFrom : null };
  if (current === 'await_payment' || current === 'on_hold') {
    keep.alert = {
      kind: `partial_shipment_while_${current}`,
      message: `part of the order was shipped while ${current === 'on_hold' ? 'on hold' : 'awaiting payment'}`,
    };
  }
  return keep;
}

/**
 * The order's status after a void (shipped quantities already recomputed), by the lifecycle table:
 * - canceled and open orders keep their status (a void of a partial shipment changes no status);
 * - shipped/confirmed and still covered → confirmed when every remaining shipment is confirmed
 *   (confirm), else shipped (ship);
 * - shipped/confirmed and no longer covered → reopen, to `reopenTo` (lifecycle.ts reopenTarget).
 */
export function statusAfterVoid(
  current: OrderStatus,
  heldFrom: HeldFrom | null,
  covered: boolean,
  allRemainingConfirmed: boolean,
  reopenTo: StatusWithHold,
): StatusChange {
  if (!SHIPPED_STATUSES.includes(current)) {
    return { status: current, held_from: current === 'on_hold' ? heldFrom : null };
  }
  const event = !covered ? 'reopen' : allRemainingConfirmed ? 'confirm' : 'ship';
  const t = nextStatus(current, event, heldFrom, reopenTo)!;
  return { status: t.status, held_from: t.held_from };
}

export interface ReplayLine {
  id: number;
  quantity: number;
  adjustment: boolean;
  excluded?: boolean;
}

export interface ReplayShipment {
  id: number;
  lines: readonly { lineId: number; requested: number }[];
}

/**
 * Recomputes applied quantities from the remaining (non-voided) shipments, replayed in the order
 * they were recorded, each line capped at its ordered quantity: exactly what applying them one by
 * one would have given had the voided shipment never existed.
 */
export function replayShipments(
  lines: readonly ReplayLine[],
  shipments: readonly ReplayShipment[],
): { applied: Map<number, Map<number, number>>; shipped: Map<number, number> } {
  const cap = new Map(lines.map((l) => [l.id, isShippable(l) ? l.quantity : 0]));
  const shipped = new Map<number, number>(lines.map((l) => [l.id, 0]));
  const applied = new Map<number, Map<number, number>>();
  for (const s of [...shipments].sort((a, b) => a.id - b.id)) {
    const per = new Map<number, number>();
    for (const l of s.lines) {
      const done = shipped.get(l.lineId) ?? 0;
      const take = Math.max(0, Math.min(l.requested, (cap.get(l.lineId) ?? 0) - done));
      per.set(l.lineId, (per.get(l.lineId) ?? 0) + take);
      shipped.set(l.lineId, done + take);
    }
    applied.set(s.id, per);
  }
  return { applied, shipped };
}
