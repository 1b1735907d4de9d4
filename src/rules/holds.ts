/**
 * The alerts of rule holds: one open alert per (order, rule that holds it). A hold keeps its order
 * unrouted until a rule change no longer holds it; then its alert is dismissed (by `rules`), and
 * nothing else lifts it. Kinds: `unmapped_shipping_method` for a map's `unmapped: "hold"`, and
 * `rule_hold` for the hold action.
 */
import { type Kysely, sql } from 'kysely';
import { ordersById } from '../db/keyed.js';
import type { DB } from '../db/schema.js';

export const HOLD_ALERT_KINDS = {
  unmapped_shipping_method: 'unmapped_shipping_method',
  hold: 'rule_hold',
} as const;

/** Who dismisses a hold's alert when the rules no longer hold the order. */
export const DISMISSED_BY_RULES = 'rules';

/**
 * Brings the hold alerts of `orderIds` in line with their stored holds (orders.effective -> 'holds'),
 * in one statement: raises the missing ones, dismisses those whose rule no longer holds the order.
 */
export async function syncHoldAlerts(
  trx: Kysely<DB>,
  merchantId: number,
  orderIds: readonly number[],
): Promise<void> {
  if (orderIds.length === 0) return;
  const ids = [...new Set(orderIds)].sort((a, b) => a - b);
  const kinds = Object.values(HOLD_ALERT_KINDS);
  await sql`
    with held as materialized (
      select o.id as order_id, o.order_number, (h -> 'rule' ->> 'id')::bigint as rule_id,
        case h ->> 'kind' when 'unmapped_shipping_method' then ${HOLD_ALERT_KINDS.unmapped_shipping_method}
          else ${HOLD_ALERT_KINDS.hold} end as kind,
        h ->> 'reason' as reason, h -> 'rule' as rule
      from ${ordersById(merchantId, ids)}
      cross join lateral jsonb_array_elements(coalesce(o.effective -> 'holds', '[]'::jsonb)) h
    ),
    open_alerts as materialized (
      select a.id, a.order_id, a.kind, (a.data ->> 'rule_id')::bigint as rule_id
      from alerts a
      where a.merchant_id = ${merchantId} and a.order_id = any(${ids}::bigint[])
        and a.dismissed_at is null and a.kind in (${sql.join(kinds)})
    ),
    dismissed as (
      update alerts a set dismissed_at = now(), dismissed_by = ${DISMISSED_BY_RULES}
      from open_alerts
      where a.merchant_id = ${merchantId} and a.id = open_alerts.id
        and not exists (
          select 1 from held h where h.order_id = open_alerts.order_id and h.kind = open_alerts.kind and h.rule_id = open_alerts.rule_id
        )
    )
    insert into alerts (merchant_id, kind, message, order_id, data)
    select ${merchantId}, h.kind,
      'order ' || h.order_number || ' is held by ' || (h.rule ->> 'owner') || ' rule ' || h.rule_id || ' '''
        || (h.rule ->> 'name') || ''': ' || h.reason
        || case when h.kind = ${HOLD_ALERT_KINDS.unmapped_shipping_method}
             then '; add the method to the map (or change the order) to release it'
             else '; change the rule (or the order) to release it' end,
      h.order_id, jsonb_build_object('rule_id', h.rule_id, 'reason', h.reason)
    from held h
    where not exists (
      select 1 from open_alerts o where o.order_id = h.order_id and o.kind = h.kind and o.rule_id = h.rule_id
    )
    order by h.order_id, h.rule_id
  `.execute(trx);
}
