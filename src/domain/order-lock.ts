/**
 * Locking many orders in one statement: the set-wise half of the rule whose one-order half is
 * `lockOrderForWrite` (src/orders/lock.ts). Every set-wise writer of orders — routing
 * (src/stores/assign.ts), re-evaluation (src/orders/repository.ts) — locks the rows it is about to
 * change `FOR UPDATE` in ascending id, the order the export locks a page in, so no two of them can
 * deadlock on orders. It lives here, in the lowest layer, because routing (src/stores/) may not
 * import src/orders/ (test/architecture/imports.test.ts).
 */
import { type RawBuilder, sql } from 'kysely';

/**
 * A SELECT (for a materialised CTE) that locks, in ascending id, the merchant's orders named by the
 * rows of `rows` (a relation — usually a CTE name — with a column `id`), and answers each of those
 * rows (`r.*`) beside `columns` of its locked order (alias `o`; default its merchant_id, which an
 * UPDATE joins back on: joined on the row's own column, the target is probed once per key).
 * `columns` may read the row as `r` and must not repeat a column name of `rows`. Rows whose order
 * does not exist drop out. The locked columns are read under the lock, i.e. the order's latest
 * committed version.
 *
 * The ids are sorted in a subquery and each order is one primary-key probe in a LATERAL subquery
 * the planner cannot flatten (`offset 0`): a nested loop that visits, and so locks, in that order.
 */
export function lockOrdersInIdOrder(
  merchantId: number,
  rows: RawBuilder<unknown>,
  columns: RawBuilder<unknown> = sql`o.merchant_id`,
): RawBuilder<unknown> {
  return sql`select r.*, locked_order.*
    from (select * from ${rows} order by id) r
    cross join lateral (
      select ${columns} from orders o where o.merchant_id = ${merchantId} and o.id = r.id offset 0 for update
    ) locked_order`;
}
