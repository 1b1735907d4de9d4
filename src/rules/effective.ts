/**
 * The `effective` object of an answered order, and where the rules send an order when its
 * store connections are known (pure). Order views (once wired) and the preview both answer this.
 */
import { z } from 'zod';
import { addressView, type NormalizedOrder } from '../orders/types.js';
import { type RoutingConnection, type RoutingDecision, routeOrder } from '../stores/routing.js';
import {
  type Change,
  disposition,
  type EffectiveFields,
  type Evaluation,
  type RuleHold,
  type RuleRef,
  sentFields,
} from './evaluate.js';

const str = z.string().nullable();
const ruleRef = z.object({
  id: z.number().int(),
  name: z.string(),
  owner: z.enum(['merchant', 'warehouse']),
});

export const effectiveSchema = z
  .object({
    shipping_method: str,
    requested_warehouse: str,
    custom_fields: z.array(z.string()),
    internal_notes: str,
    payment_method: str,
    tags: z.array(z.string()).meta({ description: 'what routing matches store filters against' }),
    ship_to: addressView,
    bill_to: addressView,
    excluded_line_ids: z
      .array(z.number().int())
      .meta({ description: 'line_item_id of the lines rules excluded (empty for an order not stored yet)' }),
    excluded_items: z
      .array(z.object({ index: z.number().int(), line_id: str, sku: str }))
      .meta({ description: 'the excluded lines by position in items (0-based)' }),
    rules: z.object({
      applied: z.array(ruleRef).meta({ description: 'rules whose conditions held, in the order they ran' }),
      changes: z
        .array(z.object({ path: z.string(), from: z.unknown(), to: z.unknown() }))
        .meta({ description: 'each field that differs from the order as sent' }),
    }),
  })
  .meta({
    id: 'EffectiveOrder',
    description: 'what address normalisation and rules made of the order; what routing and the export use',
  });
export type EffectiveView = z.output<typeof effectiveSchema>;

export const ruleHoldSchema = z
  .object({ rule: ruleRef, kind: z.enum(['hold', 'unmapped_shipping_method']), reason: z.string() })
  .meta({ id: 'RuleHold' });

/** The answered `effective` object. `lineItemIds[i]` is our id of line i (null when not stored). */
export function effectiveView(
  order: NormalizedOrder,
  e: Evaluation,
  lineItemIds: readonly (number | null)[],
): EffectiveView {
  const f = e.fields;
  return {
    shipping_method: f.shipping_method,
    requested_warehouse: f.requested_warehouse,
    custom_fields: f.custom_fields,
    internal_notes: f.internal_notes,
    payment_method: f.payment_method,
    tags: f.tags,
    ship_to: f.ship_to,
    bill_to: f.bill_to,
    excluded_line_ids: f.excluded.flatMap((i) => {
      const id = lineItemIds[i];
      return id === undefined || id === null ? [] : [id];
    }),
    excluded_items: f.excluded.map((i) => ({
      index: i,
      line_id: order.items[i]?.line_id ?? null,
      sku: order.items[i]?.sku ?? null,
    })),
    rules: { applied: e.applied, changes: e.changes },
  };
}

/**
 * What the rules decided about routing, as routing reads it (`orders.effective -> 'route'`): held
 * or skipped (unrouted with this reason), or a rule's store (`reason`: why unrouted when that
 * store is retired). null: the store filters decide, on the effective tags.
 */
export type RuleRoute =
  | { kind: 'held' | 'skipped'; reason: string }
  | { kind: 'store'; store_id: number; reason: string };

export function ruleRoute(order: NormalizedOrder, e: Evaluation): RuleRoute | null {
  const d = disposition(order, e);
  switch (d.kind) {
    case 'held':
    case 'skipped':
      return { kind: d.kind, reason: d.reason };
    case 'store':
      return {
        kind: 'store',
        store_id: d.store_id,
        reason: `${d.rule.owner} rule ${d.rule.id} '${d.rule.name}' routes to store ${d.store_id}, which is retired`,
      };
    case 'filters':
      return null;
  }
}

/**
 * Where the order goes: a hold or skip keeps it unrouted with the reason; a rule's store takes it
 * when that store is live; otherwise the store filters decide on the effective tags. The pure twin
 * of the routing SQL (src/stores/assign.ts), which reads the same RuleRoute from the stored order.
 */
export function routeEvaluated(
  order: NormalizedOrder,
  e: Evaluation,
  liveConnections: readonly RoutingConnection[],
  withheld: string | null = null,
): RoutingDecision {
  return routeWith(order.order_source, e.fields.tags, ruleRoute(order, e), liveConnections, withheld);
}

/**
 * Routing given the effective tags and the rules' decision (null: the store filters decide). An
 * order withheld until a person releases it (`withheld`: why) is unrouted with that reason first.
 */
export function routeWith(
  orderSource: string,
  tags: readonly string[],
  route: RuleRoute | null,
  liveConnections: readonly RoutingConnection[],
  withheld: string | null = null,
): RoutingDecision {
  if (withheld !== null) return { store_id: null, reason: withheld };
  if (route === null) return routeOrder({ order_source: orderSource, tags }, liveConnections);
  if (route.kind === 'store') {
    return liveConnections.some((c) => c.id === route.store_id)
      ? { store_id: route.store_id, reason: null }
      : { store_id: null, reason: route.reason };
  }
  return { store_id: null, reason: route.reason };
}

/**
 * What `orders.effective` holds: the evaluation of the sent order, less what only creation uses
 * (set_status). Null when rules and normalisation left the order as sent and no rule applied, so
 * an order no rule touches costs nothing more to store (the answered effective is then the sent
 * fields). Line exclusions are kept by position in `items`; their line_item_ids are read with
 * the lines.
 */
export interface StoredEffective {
  fields: EffectiveFields;
  applied: RuleRef[];
  changes: Change[];
  holds: RuleHold[];
  route: RuleRoute | null;
}

export function storedEffective(order: NormalizedOrder, e: Evaluation): StoredEffective | null {
  if (e.applied.length === 0 && e.changes.length === 0) return null;
  return {
    fields: e.fields,
    applied: e.applied,
    changes: e.changes,
    holds: e.holds,
    route: ruleRoute(order, e),
  };
}

/** The stored form back as an Evaluation (set_status, skip and route_to_store are not kept). */
function asEvaluation(order: NormalizedOrder, stored: StoredEffective | null): Evaluation {
  return {
    fields: stored?.fields ?? sentFields(order),
    applied: stored?.applied ?? [],
    changes: stored?.changes ?? [],
    holds: stored?.holds ?? [],
    skip: null,
    route_to_store: null,
    set_status: null,
  };
}

/** The answered `effective` of a stored order; `lineItemIds[i]` is our id of line i. */
export function storedEffectiveView(
  order: NormalizedOrder,
  stored: StoredEffective | null,
  lineItemIds: readonly (number | null)[],
): EffectiveView {
  return effectiveView(order, asEvaluation(order, stored), lineItemIds);
}

/** The line positions a stored evaluation excludes. */
export function excludedPositions(stored: StoredEffective | null): readonly number[] {
  return stored?.fields.excluded ?? [];
}
