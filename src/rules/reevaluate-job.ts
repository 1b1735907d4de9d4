/**
 * The re-evaluation job (kind `rules.reevaluate`, enqueued by reevaluate.ts): walks the open,
 * unserved orders of each merchant of the job in chunks of CHUNK by id, each chunk one transaction
 * through the orders service (reevaluateOpenOrders: rules → store → route), with the job's progress
 * written in the same transaction — so a chunk and its progress commit together, and a job taken
 * over after a crash resumes after the last committed chunk.
 *
 * Re-evaluation emits no webhook events: each chunk's transaction sets `shipbridge.no_webhooks`,
 * which the outbox triggers honour (an order event, routing change or alert of a re-evaluation is
 * recorded on the order, not pushed once per order). A run longer than its time slice settles
 * `again` (due at once, attempt not counted) and continues in a new claim, so a large merchant
 * never outlives its lease.
 */
import { type Kysely, sql } from 'kysely';
import type { DB } from '../db/schema.js';
import { type Job, LeaseLost } from '../jobs/queue.js';
import type { JobContext, JobHandler } from '../jobs/runner.js';
import { reevaluateOpenOrders } from '../orders/service.js';
import { REEVALUATE_JOB, REEVALUATE_RETRY_DELAYS_MS, type ReevaluationPayload } from './reevaluate.js';

/** Orders per chunk: one transaction, a few statements, about 1 000 orders evaluated in JS. */
export const CHUNK = 1000;

/** A run settles `again` after this long, well inside the runner's lease (60 s by default). */
const SLICE_MS = 20_000;

/**
 * Settings of a chunk's transaction, in one statement: webhook events off (the outbox triggers read
 * it), and an asynchronous commit — the commit answers before its WAL is flushed. A crash may then
 * lose the last chunks committed (PostgreSQL never loses a part of one, nor one that a later
 * synchronous commit depended on), which the job redoes from the progress that was kept: a chunk
 * writes only what differs from the rules' result, so redoing one gives the same orders.
 */
export async function chunkSettings(trx: Kysely<DB>): Promise<void> {
  await sql`select set_config('shipbridge.no_webhooks', 'on', true), set_config('synchronous_commit', 'off', true)`.execute(
    trx,
  );
}

/** Saves the progress with the chunk, only while the job is still ours (else LeaseLost rolls it back). */
async function saveProgress(trx: Kysely<DB>, job: Job, p: ReevaluationPayload): Promise<void> {
  const r = await trx
    .updateTable('jobs')
    .set({ payload: JSON.stringify(p) })
    .where('id', '=', job.id)
    .where('lease', '=', job.lease)
    .where('status', '=', 'running')
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) throw new LeaseLost(job.id);
}

export async function runReevaluation(
  db: Kysely<DB>,
  job: Job,
  ctx: Pick<JobContext, 'settle' | 'signal' | 'clock'>,
  chunk = CHUNK,
): Promise<void> {
  const p = { ...(job.payload as unknown as ReevaluationPayload) };
  const started = Date.now();
  for (;;) {
    ctx.signal.throwIfAborted();
    const done = await db.transaction().execute(async (trx) => {
      const merchantId = p.merchants[p.next];
      if (merchantId !== undefined) {
        await chunkSettings(trx);
        const step = await reevaluateOpenOrders(trx, merchantId, p.after, chunk);
        p.seen += step.seen;
        p.changed += step.changed;
        if (step.last === null) {
          p.next += 1;
          p.after = 0;
        } else {
          p.after = step.last;
        }
      }
      await saveProgress(trx, job, p);
      if (p.next >= p.merchants.length) {
        await ctx.settle(trx, { kind: 'succeeded' });
        return true;
      }
      if (Date.now() - started > SLICE_MS) {
        await ctx.settle(trx, { kind: 'again', at: ctx.clock(), uncounted: true });
        return true;
      }
      return false;
    });
    if (done) return;
  }
}

export function reevaluationJob(db: Kysely<DB>): JobHandler {
  return {
    kind: REEVALUATE_JOB,
    retryDelaysMs: REEVALUATE_RETRY_DELAYS_MS,
    run: (job, ctx) => runReevaluation(db, job, ctx),
  };
}
