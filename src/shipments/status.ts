/**
 * What shipments do to an order's status and shipped quantities. Pure: no I/O.
 *
 * The lifecycle table itself lives in orders/lifecycle.ts (ship, confirm); this module decides when
 * those events happen, which alert goes with them, and what a void reopens the order to.
 */
import type { OrderStatus } from '../db/schema.js';
import { type HeldFrom, nextStatus } from '../orders/lifecycle.js';

export interface CoverageLine {
  quantity: number;
  shipped: number;
  adjustment: boolean;
}

/** Do the shipped quantities cover every shippable line (adjustments are not shippable)? */
export function isCovered(lines: readonly CoverageLine[]): boolean {
  return lines.every((l) => l.adjustment || l.shipped >= l.quantity);
}

export interface StatusChange {
  status: OrderStatus;
  held_from: HeldFrom | null;
  /** An alert to raise with the change: its kind and message. */
  alert?: { kind: string; message: string };
}

const OPEN: readonly OrderStatus[] = ['await_payment', 'new', 'at_wms', 'on_hold'];

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
  if (current === 'confirmed' || current === 'shipped') {
    const t = nextStatus(current, 'ship', heldFrom)!;
    return { status: t.status, held_from: t.held_from };
  }
  if (OPEN.includes(current) && covered) {
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

/** The status an order had when it moved to shipped, as its 'shipped' event recorded it. */
export interface PreShipStatus {
  status: OrderStatus;
  held_from: HeldFrom | null;
}

/**
 * The status a shipped or confirmed order reopens to when a void leaves lines uncovered: the status
 * it was shipped from (await_payment stays unpaid, on_hold stays held where it was held from), except
 * that `new` becomes `at_wms` when the order has been served to ShipStation (it is in ShipStation's
 * hands, as the export would have made it). Without a record: at_wms when served, else new.
 */
export function reopenTarget(preShip: PreShipStatus | null, served: boolean): PreShipStatus {
  if (!preShip || !OPEN.includes(preShip.status)) {
    return { status: served ? 'at_wms' : 'new', held_from: null };
  }
  if (preShip.status === 'new' && served) return { status: 'at_wms', held_from: null };
  return { status: preShip.status, held_from: preShip.status === 'on_hold' ? preShip.held_from : null };
}

/**
 * The order's status after a void (shipped quantities already recomputed).
 * - canceled and open orders keep their status (a void of a partial shipment changes no status);
 * - shipped/confirmed and still covered → confirmed when every remaining shipment is confirmed,
 *   else shipped;
 * - shipped/confirmed and no longer covered → reopenTarget.
 */
export function statusAfterVoid(
  current: OrderStatus,
  heldFrom: HeldFrom | null,
  covered: boolean,
  allRemainingConfirmed: boolean,
  reopen: PreShipStatus,
): StatusChange {
  if (current !== 'shipped' && current !== 'confirmed') {
    return { status: current, held_from: current === 'on_hold' ? heldFrom : null };
  }
  if (covered) return { status: allRemainingConfirmed ? 'confirmed' : 'shipped', held_from: null };
  return { status: reopen.status, held_from: reopen.held_from };
}

export interface ReplayLine {
  id: number;
  quantity: number;
  adjustment: boolean;
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
  const cap = new Map(lines.map((l) => [l.id, l.adjustment ? 0 : l.quantity]));
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
