/**
 * The `effective` object of an answered order, and where the rules send an order when its
 * store connections are known (pure). Order views (once wired) and the preview both answer this.
 */
import { z } from 'zod';
import type { NormalizedOrder } from '../orders/types.js';
import { addressView } from '../orders/view.js';
import { type RoutingConnection, type RoutingDecision, routeOrder } from '../stores/routing.js';
import { disposition, type Evaluation } from './evaluate.js';

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
 * Where the order goes: a hold or skip keeps it unrouted with the reason; a rule's store takes it
 * when that store is live; otherwise the store filters decide on the effective tags.
 */
export function routeEvaluated(
  order: NormalizedOrder,
  e: Evaluation,
  liveConnections: readonly RoutingConnection[],
): RoutingDecision {
  const d = disposition(order, e);
  switch (d.kind) {
    case 'held':
    case 'skipped':
      return { store_id: null, reason: d.reason };
    case 'store':
      return liveConnections.some((c) => c.id === d.store_id)
        ? { store_id: d.store_id, reason: null }
        : {
            store_id: null,
            reason: `${d.rule.owner} rule ${d.rule.id} '${d.rule.name}' routes to store ${d.store_id}, which is retired`,
          };
    case 'filters':
      return routeOrder({ order_source: order.order_source, tags: e.fields.tags }, liveConnections);
  }
}
