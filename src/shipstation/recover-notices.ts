/**
 * Finishing shipment notices whose process died between storing and applying them.
 *
 * handleShipNotify commits the raw notice (`received`) before it matches and applies it, so a crash
 * (kill -9, power loss) in between leaves a notice that is neither applied nor listed as unmatched.
 * recoverStuckNotices finishes each such notice exactly as the live path would have: applied to the
 * order it matches, or unmatched with its reason and alert.
 *
 * Safe with many instances and with a live request: only notices `received` for longer than
 * `olderThanSeconds` are taken (a live request finishes in well under a minute), each one claimed
 * with FOR UPDATE SKIP LOCKED in its own transaction, so two instances never take the same notice;
 * the claim re-checks the status under the lock, and the apply is idempotent anyway.
 */
import { type Kysely, sql } from 'kysely';
import type { DB } from '../db/schema.js';
import type { JobHandler } from '../jobs/runner.js';
import { inTransaction } from '../db/transaction.js';
import type { Actor } from '../domain/order-events.js';
import { applyShipment } from '../shipments/apply.js';
import { chooseOrder, matchSteps, type OrderCandidate, stepKeys } from './notice-matching.js';
import { interpretNotice } from './notify.js';
import { markUnmatched } from './unmatched.js';

/** A notice `received` for longer than this is taken to be stuck. */
export const STUCK_NOTICE_SECONDS = 60;

const ACTOR: Actor = { actor_type: 'system', actor: 'notice-recovery' };

export interface RecoveryResult {
  applied: number;
  unmatched: number;
}

type Outcome = 'applied' | 'unmatched';

/** Claims and finishes one stuck notice; undefined when there is none left. */
async function recoverOne(
  db: Kysely<DB>,
  olderThanSeconds: number,
  claimed: { merchantId: number; id: number } | undefined,
): Promise<Outcome | undefined> {
  return inTransaction(db, async (trx) => {
    const { rows } = await sql<{
      merchant_id: number;
      id: number;
      store_id: number;
      query: Record<string, string>;
      body: string;
      content_type: string | null;
      timezone: string;
      order_number_prefix: string;
    }>`
      select n.merchant_id, n.id, n.store_id, n.query, n.body, n.content_type, s.timezone, s.order_number_prefix
      from ship_notices n
      join stores s on s.merchant_id = n.merchant_id and s.id = n.store_id
      where n.status = 'received' and n.received_at < now() - make_interval(secs => ${olderThanSeconds})
      order by n.received_at
      limit 1
      for update of n skip locked
    `.execute(trx);
    const n = rows[0];
    if (!n) return undefined;
    if (claimed) Object.assign(claimed, { merchantId: n.merchant_id, id: n.id });
    const notice = interpretNotice(n.query, n.body, n.content_type, n.timezone);
    if (!notice.ok) {
      await markUnmatched(trx, n.merchant_id, n.id, notice.reason);
      return 'unmatched';
    }
    const steps = matchSteps(notice.keys, n.order_number_prefix);
    const { ids, numbers } = stepKeys(steps);
    const candidates = await sql<OrderCandidate>`
      select id, order_number, served_store_id from orders
      where merchant_id = ${n.merchant_id}
        and (id = any(${ids}::bigint[]) or (order_number = any(${numbers}::text[]) and withheld is null))
      limit 1000
    `.execute(trx);
    const match = chooseOrder(steps, candidates.rows, n.store_id);
    if (!match.ok) {
      await markUnmatched(trx, n.merchant_id, n.id, match.reason);
      return 'unmatched';
    }
    await applyShipment(trx, {
      merchantId: n.merchant_id,
      orderId: match.orderId,
      storeId: n.store_id,
      noticeId: n.id,
      facts: notice.facts,
      actor: ACTOR,
      matchedBy: `${match.step} (finished after its process stopped)`,
    });
    return 'applied';
  });
}

/**
 * Finishes up to `limit` notices stuck in `received` for longer than `olderThanSeconds`. A notice
 * that fails to apply is listed as unmatched for a person (never retried forever).
 */
export async function recoverStuckNotices(
  db: Kysely<DB>,
  opts: { olderThanSeconds?: number; limit?: number } = {},
): Promise<RecoveryResult> {
  const olderThan = opts.olderThanSeconds ?? STUCK_NOTICE_SECONDS;
  const result: RecoveryResult = { applied: 0, unmatched: 0 };
  for (let i = 0; i < (opts.limit ?? 1000); i++) {
    const claimed = { merchantId: 0, id: 0 };
    let outcome: Outcome | undefined;
    try {
      outcome = await recoverOne(db, olderThan, claimed);
    } catch (err) {
      if (claimed.id === 0) throw err;
      await markUnmatched(
        db,
        claimed.merchantId,
        claimed.id,
        `could not be applied after its process stopped (${err instanceof Error ? err.message : String(err)}); apply it again`,
      );
      outcome = 'unmatched';
    }
    if (outcome === undefined) break;
    result[outcome]++;
  }
  return result;
}

export const RECOVER_NOTICES_JOB = 'shipstation.recover_notices';

/**
 * The periodic job of the jobs runner that runs recoverStuckNotices every minute: one instance at a
 * time takes it (the runner's lease), a failure is logged by the runner and it runs again next time.
 */
export function noticeRecoveryJob(
  db: Kysely<DB>,
  log: { info(o: object, m: string): void } | undefined,
  everyMs = STUCK_NOTICE_SECONDS * 1000,
): JobHandler {
  return {
    kind: RECOVER_NOTICES_JOB,
    retryDelaysMs: [],
    everyMs,
    run: async () => {
      const r = await recoverStuckNotices(db);
      if (r.applied + r.unmatched > 0) log?.info(r, 'finished stuck shipment notices');
    },
  };
}
