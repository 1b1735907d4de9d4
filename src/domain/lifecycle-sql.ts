/**
 * The lifecycle table (lifecycle.ts) as SQL, for the set-wise statements (routing, the export page,
 * pickup confirmation, summaries). Generated from the table's own constants: a status set or a
 * transition is never typed again in SQL.
 */
import { type RawBuilder, sql } from 'kysely';
import type { OrderStatus } from '../db/schema.js';
import { literalList } from '../db/sql.js';
import {
  CLOSED_STATUSES,
  changesOf,
  type FactEvent,
  OPEN_STATUSES,
  RULES_APPLY_TO,
  SHIPPED_STATUSES,
} from './lifecycle.js';

/** `'await_payment', 'new', 'at_wms', 'on_hold'` */
export const OPEN_STATUSES_SQL = literalList(OPEN_STATUSES);
/** `'shipped', 'confirmed'` */
export const SHIPPED_STATUSES_SQL = literalList(SHIPPED_STATUSES);
/** `'shipped', 'confirmed', 'canceled'` */
export const CLOSED_STATUSES_SQL = literalList(CLOSED_STATUSES);

/** The statuses rules still apply to (while unserved): `'await_payment', 'new', 'at_wms', 'on_hold'` */
export const RULES_APPLY_TO_SQL = literalList(RULES_APPLY_TO);

/** The statuses `event` changes, as a list for `status in (…)`. */
export const changedBySql = (event: FactEvent): RawBuilder<unknown> =>
  literalList(changesOf(event).map(([from]) => from));

/**
 * The status after `event` of an order whose status is the expression `status`:
 * `case <status> when 'new' then 'at_wms' … else <status> end`.
 */
export function statusAfterSql(event: FactEvent, status: RawBuilder<unknown>): RawBuilder<OrderStatus> {
  const whens = changesOf(event).map(([from, to]) => sql`when ${sql.lit(from)} then ${sql.lit(to)}`);
  return sql<OrderStatus>`(case ${status} ${sql.join(whens, sql` `)} else ${status} end)`;
}
