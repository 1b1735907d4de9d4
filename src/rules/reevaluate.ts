/**
 * Re-evaluation of open orders after a rule change, as a job of the jobs runner: enqueued in the
 * transaction of the change (so a change and its job commit together), followed through
 * `GET …/rules/jobs/{id}`. The job's work is in reevaluate-job.ts; this module holds what the
 * rule-changing side needs (enqueue, status), so the rules repository does not depend on the
 * orders service.
 *
 * Progress lives in the job's payload (`merchants`, `next` merchant index, `after` order id,
 * `seen`, `changed`), written in each chunk's transaction: a job taken over after a crash resumes
 * where the last committed chunk left off.
 */
import { type Kysely, sql } from 'kysely';
import { z } from 'zod';
import type { DB, JobStatus } from '../db/schema.js';
import { notFound } from '../http/errors.js';
import { enqueue } from '../jobs/queue.js';
import type { RuleOwner } from './model.js';

export const REEVALUATE_JOB = 'rules.reevaluate';

/** Attempts a re-evaluation job gets (it resumes from its saved progress on each). */
export const REEVALUATE_RETRY_DELAYS_MS = [1_000, 5_000, 30_000, 120_000] as const;

export const JOB_STATES = ['pending', 'running', 'succeeded', 'failed'] as const;

/** What the answer to a rule change carries, as documented. */
export const reevaluationSchema = z
  .object({
    id: z.number().int().meta({ description: 'follow it at GET …/rules/jobs/{id}' }),
    state: z.enum(JOB_STATES),
  })
  .meta({
    id: 'Reevaluation',
    description:
      "the background job that re-evaluates the open orders no store has served yet (for a warehouse's rules: " +
      'of each of its merchants) with the rules as they are now',
  });

/** What the answer to a rule change carries. */
export interface Reevaluation {
  id: number;
  state: JobStatus;
}

export interface ReevaluationPayload {
  owner: { kind: RuleOwner; id: number };
  /** The merchants whose orders are re-evaluated, in id order. */
  merchants: number[];
  /** Index in `merchants` of the merchant in progress. */
  next: number;
  /** The last order id done of that merchant. */
  after: number;
  seen: number;
  changed: number;
}

/**
 * Enqueues the re-evaluation of the open orders of `owner`'s merchants (a merchant: itself; a
 * warehouse: each of its merchants), in the caller's transaction. First locks those merchants'
 * rows (`for no key update`, in id order): order writers take a share lock on their merchant's row
 * before they read the rules, so a write in flight commits before this change does, and a later
 * one waits for it and then reads the new rules — either way the job sees every order.
 */
export async function enqueueReevaluation(
  trx: Kysely<DB>,
  owner: { kind: RuleOwner; id: number },
): Promise<Reevaluation> {
  const column = owner.kind === 'merchant' ? sql`id` : sql`warehouse_id`;
  const { rows } = await sql<{ id: number }>`
    select id from merchants where ${column} = ${owner.id} order by id for no key update
  `.execute(trx);
  const payload: ReevaluationPayload = {
    owner,
    merchants: rows.map((r) => Number(r.id)),
    next: 0,
    after: 0,
    seen: 0,
    changed: 0,
  };
  const now = new Date();
  const id = await enqueue(
    trx,
    REEVALUATE_JOB,
    { ...payload },
    {
      runAt: now,
      maxAttempts: REEVALUATE_RETRY_DELAYS_MS.length + 1,
    },
  );
  return { id: id!, state: 'pending' };
}

export interface ReevaluationStatus extends Reevaluation {
  /** Open, unserved orders read so far. */
  seen: number;
  /** Orders whose effective form changed (and were routed again). */
  changed: number;
  merchants: number;
  created_at: Date;
  finished_at: Date | null;
  /** The last failure, while retrying or when failed. */
  error: string | null;
}

/** A re-evaluation job of this owner (404 for any other job). */
export async function reevaluationStatus(
  db: Kysely<DB>,
  owner: { kind: RuleOwner; id: number },
  id: number,
): Promise<ReevaluationStatus> {
  const job = await db
    .selectFrom('jobs')
    .select(['id', 'status', 'payload', 'created_at', 'finished_at', 'last_error'])
    .where('id', '=', id)
    .where('kind', '=', REEVALUATE_JOB)
    .executeTakeFirst();
  const p = job?.payload as ReevaluationPayload | undefined;
  if (!job || !p || p.owner.kind !== owner.kind || p.owner.id !== owner.id) {
    throw notFound(`re-evaluation job ${id}`);
  }
  return {
    id: Number(job.id),
    state: job.status,
    seen: p.seen,
    changed: p.changed,
    merchants: p.merchants.length,
    created_at: job.created_at,
    finished_at: job.finished_at,
    error: job.last_error,
  };
}
