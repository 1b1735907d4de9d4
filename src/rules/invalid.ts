/**
 * Rules that no longer hold as written. A merchant rule's `route_to_store` must name a live store
 * connection when it is saved (repository.ts refuses others); when that store is retired later, the
 * rule becomes **invalid**: `rules.invalid_reason` says why (answered as `invalid_reason`) and one
 * `rule_invalid` alert per rule tells the merchant. The rule keeps running: the orders it routes
 * stay unrouted with a reason naming it (routing's answer for a rule's retired store), rather than
 * falling through to the store filters and being exported by a store the rule meant to keep them
 * from. Saving the rule again with live stores clears it and dismisses the alert (by `rules`);
 * deleting the rule dismisses it too.
 *
 * Called by the store connections' retire path (src/stores/service.ts) in its transaction; this
 * module reads only the database, so stores/ does not depend on the rest of rules/.
 */
import { type Kysely, sql } from 'kysely';
import type { DB } from '../db/schema.js';
import { DISMISSED_BY_RULES } from './holds.js';

export const RULE_INVALID_ALERT = 'rule_invalid';

/**
 * Marks the merchant's rules whose route_to_store names `storeId` invalid, now that the store is
 * retired (call it after retiring it, in the same transaction), and raises one `rule_invalid` alert
 * per rule. The reason names every retired store the rule routes to, by path (`then[1].store_id`).
 * Answers the ids of the rules marked.
 */
export async function invalidateRulesRoutingTo(
  trx: Kysely<DB>,
  merchantId: number,
  storeId: number,
): Promise<number[]> {
  const names = JSON.stringify([{ type: 'route_to_store', store_id: storeId }]);
  const r = await sql<{ rule_id: number }>`
    with hit as materialized (
      select r.id, r.name, (
        select string_agg(format('then[%s].store_id: store %s ''%s'' is retired', a.i - 1, s.id, s.name), '; '
          order by a.i)
        from jsonb_array_elements(r.actions) with ordinality as a(action, i)
        join stores s on s.merchant_id = r.merchant_id and s.id = (a.action ->> 'store_id')::bigint
        where a.action ->> 'type' = 'route_to_store' and s.retired_at is not null
      ) as reason
      from rules r
      where r.merchant_id = ${merchantId} and r.actions @> ${names}::jsonb
    ),
    marked as (
      update rules r set invalid_reason = h.reason, updated_at = now()
      from hit h where r.id = h.id
    )
    insert into alerts (merchant_id, kind, message, store_id, data)
    select ${merchantId}, ${RULE_INVALID_ALERT},
      'merchant rule ' || h.id || ' ''' || h.name || ''' is invalid: ' || h.reason
        || '; the orders it routes stay unrouted until the rule names a live store connection (or is deleted)',
      ${storeId}, jsonb_build_object('rule_id', h.id, 'store_id', ${storeId}::bigint, 'reason', h.reason)
    from hit h
    order by h.id
    returning (data ->> 'rule_id')::bigint as rule_id
  `.execute(trx);
  return r.rows.map((x) => Number(x.rule_id));
}

/**
 * The rule was saved naming only live stores (or deleted): it is valid again (or gone), so its
 * reason is cleared and its open `rule_invalid` alerts are dismissed by `rules`.
 */
export async function clearRuleInvalid(trx: Kysely<DB>, merchantId: number, ruleId: number): Promise<void> {
  await sql`
    with cleared as (
      update rules set invalid_reason = null
      where id = ${ruleId} and merchant_id = ${merchantId} and invalid_reason is not null
    )
    update alerts set dismissed_at = now(), dismissed_by = ${DISMISSED_BY_RULES}
    where merchant_id = ${merchantId} and kind = ${RULE_INVALID_ALERT} and dismissed_at is null
      and (data ->> 'rule_id')::bigint = ${ruleId}
  `.execute(trx);
}
