/**
 * Stored shipment notices for the REST API: the unmatched-notice queue (list, read), applying a
 * stored notice to an order a person chose, and dismissing one. A stored notice is ShipStation's
 * request as received (query and raw body); reading it is this protocol side's job, recording the
 * shipment is the shipments domain's (shipments/apply.ts).
 */
import { type Kysely, sql } from 'kysely';
import type { DB, NoticeStatus } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { AppError, conflict, notFound } from '../http/errors.js';
import { type Page, pageById } from '../lib/cursor.js';
import type { Actor } from '../domain/order-events.js';
import { lockOrderForWrite } from '../orders/lock.js';
import { type ApplyOutcome, applyShipment } from '../shipments/apply.js';
import { interpretNotice } from './notify.js';
import { dismissUnmatchedAlert } from './unmatched.js';

export type NoticeStatusFilter = NoticeStatus | 'all';

export interface NoticeView {
  id: number;
  received_at: Date;
  store_id: number;
  status: NoticeStatus;
  order_number: string | null;
  tracking_number: string | null;
  reason: string | null;
  order_id: number | null;
  shipment_id: number | null;
  content_type: string | null;
  query: Record<string, string>;
  resolved_at: Date | null;
  resolved_by: string | null;
}

const NOTICE_COLUMNS = [
  'id',
  'received_at',
  'store_id',
  'status',
  'order_number',
  'tracking_number',
  'reason',
  'order_id',
  'shipment_id',
  'content_type',
  'query',
  'resolved_at',
  'resolved_by',
] as const;

export async function listNotices(
  db: Kysely<DB>,
  merchantId: number,
  opts: {
    status: NoticeStatusFilter;
    storeId?: number | undefined;
    after?: number | undefined;
    limit: number;
  },
): Promise<Page<NoticeView>> {
  let q = db.selectFrom('ship_notices').select(NOTICE_COLUMNS).where('merchant_id', '=', merchantId);
  if (opts.status !== 'all') q = q.where('status', '=', opts.status);
  if (opts.storeId !== undefined) q = q.where('store_id', '=', opts.storeId);
  if (opts.after !== undefined) q = q.where('id', '>', opts.after);
  return pageById(
    await q
      .orderBy('id')
      .limit(opts.limit + 1)
      .execute(),
    opts.limit,
  );
}

export async function getNotice(db: Kysely<DB>, merchantId: number, id: number) {
  const row = await db
    .selectFrom('ship_notices')
    .select([...NOTICE_COLUMNS, 'body'])
    .where('merchant_id', '=', merchantId)
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row) throw notFound(`notice ${id}`);
  return row;
}

/**
 * Applies a stored notice to an order a person chose: the same code path as ShipStation's notices
 * (a repeat of an applied notice is a duplicate and changes nothing). Unmatched notices can be
 * applied, and received ones older than 10 minutes (an application that died with its process); applying an applied notice to its order again answers it
 * unchanged; to another order, or a dismissed notice → 409.
 */
export async function applyStoredNotice(
  db: Kysely<DB>,
  merchantId: number,
  noticeId: number,
  orderId: number,
  actor: Actor,
): Promise<{ result: 'applied' | 'duplicate' | 'unchanged'; outcome: ApplyOutcome | null }> {
  return inTransaction(db, async (trx) => {
    const order = await lockOrderForWrite(trx, merchantId, orderId, { routing: false });
    const notice = await trx
      .selectFrom('ship_notices as n')
      .innerJoin('stores as s', (j) =>
        j.onRef('s.merchant_id', '=', 'n.merchant_id').onRef('s.id', '=', 'n.store_id'),
      )
      .select([
        'n.id',
        'n.status',
        'n.order_id',
        'n.query',
        'n.body',
        'n.content_type',
        'n.store_id',
        's.timezone',
        sql<boolean>`n.received_at > now() - interval '10 minutes'`.as('recent'),
      ])
      .where('n.merchant_id', '=', merchantId)
      .where('n.id', '=', noticeId)
      .forUpdate('n')
      .executeTakeFirst();
    if (!notice) throw notFound(`notice ${noticeId}`);
    if (!order) {
      throw new AppError('invalid_request', `order ${orderId} not found`, [
        { path: 'order_id', message: 'must be the id of one of this merchant’s orders' },
      ]);
    }
    if (notice.status === 'applied' || notice.status === 'duplicate') {
      if (notice.order_id === orderId) return { result: 'unchanged', outcome: null };
      throw conflict(
        `notice ${noticeId} is already applied to order ${notice.order_id}; void that shipment first`,
      );
    }
    if (notice.status === 'dismissed') throw conflict(`notice ${noticeId} was dismissed`);
    if (notice.status === 'received' && notice.recent) {
      throw conflict(`notice ${noticeId} is still being applied; try again in a few minutes`);
    }
    const interpreted = interpretNotice(notice.query, notice.body, notice.content_type, notice.timezone);
    if (!interpreted.ok) throw conflict(`notice ${noticeId} cannot be applied: ${interpreted.reason}`);
    const outcome = await applyShipment(trx, {
      merchantId,
      orderId,
      storeId: notice.store_id,
      noticeId,
      facts: interpreted.facts,
      actor,
      matchedBy: `a person (${actor.actor}) choosing order ${orderId}`,
    });
    await dismissUnmatchedAlert(trx, merchantId, noticeId, actor.actor);
    return { result: outcome.kind, outcome };
  });
}

/** Dismisses an unmatched (or failed) notice. Dismissing twice changes nothing. */
export async function dismissNotice(db: Kysely<DB>, merchantId: number, noticeId: number, by: string) {
  await inTransaction(db, async (trx) => {
    const notice = await trx
      .selectFrom('ship_notices')
      .select(['status', 'order_id'])
      .where('merchant_id', '=', merchantId)
      .where('id', '=', noticeId)
      .forUpdate()
      .executeTakeFirst();
    if (!notice) throw notFound(`notice ${noticeId}`);
    if (notice.status === 'applied' || notice.status === 'duplicate') {
      throw conflict(
        `notice ${noticeId} is applied to order ${notice.order_id}; void its shipment instead of dismissing it`,
      );
    }
    if (notice.status === 'dismissed') return;
    await trx
      .updateTable('ship_notices')
      .set({ status: 'dismissed', resolved_at: sql`now()`, resolved_by: by })
      .where('merchant_id', '=', merchantId)
      .where('id', '=', noticeId)
      .execute();
    await dismissUnmatchedAlert(trx, merchantId, noticeId, by);
  });
  return getNotice(db, merchantId, noticeId);
}
