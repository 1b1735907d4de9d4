/**
 * The one owner of "a notice that matched no order": its status, reason and the alert a person
 * sees. An unmatched notice always has one open `unmatched_notice` alert (store health counts it);
 * the alert is dismissed when the notice is applied to an order or dismissed.
 */
import { type Kysely, sql } from 'kysely';
import type { DB } from '../db/schema.js';
import { dismissOpenAlerts } from '../shipments/repository.js';

export const UNMATCHED_NOTICE_ALERT = 'unmatched_notice';

/**
 * Marks a received (or already unmatched) notice unmatched with `reason` and raises its alert, in
 * one statement. An open alert of the notice is never raised twice; an applied, duplicate or
 * dismissed notice is left alone (a recovery racing a person's apply must not undo it).
 */
export async function markUnmatched(
  db: Kysely<DB>,
  merchantId: number,
  noticeId: number,
  reason: string,
): Promise<void> {
  await sql`
    with unmatched_notice as (
      update ship_notices set status = 'unmatched', reason = ${reason}
      where merchant_id = ${merchantId} and id = ${noticeId} and status in ('received', 'unmatched')
      returning id, store_id, order_number, tracking_number
    )
    insert into alerts (merchant_id, kind, message, store_id, notice_id, data)
    select ${merchantId}, ${UNMATCHED_NOTICE_ALERT},
      'shipment notice ' || n.id || coalesce(' for order number ' || n.order_number, '') ||
        coalesce(' (tracking ' || n.tracking_number || ')', '') || ' matched no order: ' || ${reason}::text ||
        '; apply it to an order or dismiss it',
      n.store_id, n.id,
      jsonb_build_object('order_number', n.order_number, 'tracking_number', n.tracking_number,
        'reason', ${reason}::text)
    from unmatched_notice n
    where not exists (
      select 1 from alerts a
      where a.merchant_id = ${merchantId} and a.notice_id = n.id and a.kind = ${UNMATCHED_NOTICE_ALERT}
        and a.dismissed_at is null
    )
  `.execute(db);
}

/** Dismisses the notice's open unmatched alert (it was applied to an order or dismissed). */
export async function dismissUnmatchedAlert(
  db: Kysely<DB>,
  merchantId: number,
  noticeId: number,
  by: string,
): Promise<void> {
  await dismissOpenAlerts(db, merchantId, { noticeId, kind: UNMATCHED_NOTICE_ALERT }, by);
}
