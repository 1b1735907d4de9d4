/**
 * The jobs table: enqueue, claim with a lease, settle, release. Every statement takes the time
 * from the caller's clock (tests drive it); instances sharing one PostgreSQL must keep their clocks
 * in step to well under a lease (NTP does).
 *
 * A claimable job is `pending` with run_at reached, or `running` with its lease (run_at) over — its
 * instance died or hung, and anyone may take it over. Claiming locks the rows FOR UPDATE SKIP
 * LOCKED, so concurrent claimers never take the same job, and writes a fresh lease token: whatever
 * the previous holder later tries to settle no longer matches and is refused.
 */
import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { DB, JobRow } from '../db/schema.js';
import { pageById } from '../lib/cursor.js';

export type Job = Pick<JobRow, 'id' | 'kind' | 'payload' | 'attempts' | 'max_attempts' | 'lease' | 'run_at'>;

export interface EnqueueOptions {
  runAt: Date;
  maxAttempts: number;
  /** One live row per key: a second enqueue with the same key while one exists adds nothing. */
  singleton?: string;
}

/** Adds a job; answers its id (null when a singleton of that key already exists). */
export async function enqueue(
  db: Kysely<DB>,
  kind: string,
  payload: Record<string, unknown>,
  opts: EnqueueOptions,
): Promise<number | null> {
  const row = await db
    .insertInto('jobs')
    .values({
      kind,
      payload: JSON.stringify(payload),
      run_at: opts.runAt,
      max_attempts: opts.maxAttempts,
      singleton: opts.singleton ?? null,
      created_at: opts.runAt,
      updated_at: opts.runAt,
    })
    .onConflict((oc) => oc.column('singleton').doNothing())
    .returning('id')
    .executeTakeFirst();
  return row?.id ?? null;
}

/**
 * Claims up to `limit` due jobs of the given kinds for `owner`, each with a lease until
 * now + leaseMs, and counts the attempt. Oldest due first.
 */
export async function claim(
  db: Kysely<DB>,
  owner: string,
  kinds: readonly string[],
  limit: number,
  now: Date,
  leaseMs: number,
): Promise<Job[]> {
  if (kinds.length === 0 || limit <= 0) return [];
  const lease = randomUUID();
  const r = await sql<Job>`
    with due as (
      select id from jobs
      where status in ('pending', 'running') and run_at <= ${now}::timestamptz
        and kind in (${sql.join(kinds)})
      order by run_at, id
      limit ${limit}
      for update skip locked
    )
    update jobs j set status = 'running', run_at = ${new Date(now.getTime() + leaseMs)}::timestamptz,
      attempts = j.attempts + 1, lease = ${lease} || ':' || j.id, locked_by = ${owner},
      updated_at = ${now}::timestamptz
    from due where j.id = due.id
    returning j.id, j.kind, j.payload, j.attempts, j.max_attempts, j.lease, j.run_at
  `.execute(db);
  return r.rows.sort((a, b) => a.id - b.id);
}

export type Settlement =
  | { kind: 'succeeded' }
  /** Ran again at `at` (a periodic job's next run, or a retry); `error` is kept when given. */
  | {
      kind: 'again';
      at: Date;
      error?: string | undefined;
      resetAttempts?: boolean;
      /** The attempt just claimed does not count (the work was put off, not tried). */
      uncounted?: boolean;
    }
  | { kind: 'failed'; error: string };

export class LeaseLost extends Error {
  override name = 'LeaseLost';
  constructor(id: number) {
    super(`job ${id}: its lease was taken over by another instance`);
  }
}

/**
 * Records a job's outcome, only while `job.lease` is still its lease; throws LeaseLost otherwise,
 * so that a caller settling inside its own transaction rolls back the work that came with it.
 */
export async function settle(db: Kysely<DB>, job: Job, s: Settlement, now: Date): Promise<void> {
  const q = db
    .updateTable('jobs')
    .where('id', '=', job.id)
    .where('lease', '=', job.lease)
    .where('status', '=', 'running');
  const set =
    s.kind === 'succeeded'
      ? { status: 'succeeded' as const, finished_at: now, last_error: null }
      : s.kind === 'failed'
        ? { status: 'failed' as const, finished_at: now, last_error: s.error }
        : {
            status: 'pending' as const,
            run_at: s.at,
            ...(s.error !== undefined ? { last_error: s.error } : {}),
            ...(s.resetAttempts
              ? { attempts: 0 }
              : s.uncounted
                ? { attempts: sql<number>`greatest(attempts - 1, 0)` }
                : {}),
          };
  const r = await q.set({ ...set, lease: null, locked_by: null, updated_at: now }).executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) throw new LeaseLost(job.id);
}

/** Gives a claimed job back untouched (shutdown): due at once, the attempt not counted. */
export async function release(db: Kysely<DB>, job: Job, now: Date): Promise<void> {
  await db
    .updateTable('jobs')
    .set({
      status: 'pending',
      run_at: now,
      attempts: sql<number>`greatest(attempts - 1, 0)`,
      lease: null,
      locked_by: null,
      updated_at: now,
    })
    .where('id', '=', job.id)
    .where('lease', '=', job.lease)
    .where('status', '=', 'running')
    .execute();
}

/** Deletes finished jobs older than `before`, at most `limit` of them (clean-up runs in batches). */
export async function deleteFinished(db: Kysely<DB>, before: Date, limit: number): Promise<number> {
  const r = await sql`
    delete from jobs where id in (
      select id from jobs where status in ('succeeded', 'failed') and finished_at < ${before}::timestamptz
        and singleton is null
      limit ${limit}
    )
  `.execute(db);
  return Number(r.numAffectedRows ?? 0);
}

export interface JobSummary {
  kind: string;
  status: string;
  count: number;
  next_run_at: Date | null;
}

/** What is pending, running, failing and when next: per kind and status. */
export async function summarize(db: Kysely<DB>): Promise<JobSummary[]> {
  return db
    .selectFrom('jobs')
    .select((eb) => [
      'kind',
      'status',
      eb.fn.countAll<number>().as('count'),
      eb.fn.min('run_at').as('next_run_at'),
    ])
    .groupBy(['kind', 'status'])
    .orderBy('kind')
    .orderBy('status')
    .execute()
    .then((rows) =>
      rows.map((r) => ({
        kind: r.kind,
        status: r.status,
        count: Number(r.count),
        next_run_at: r.status === 'pending' || r.status === 'running' ? r.next_run_at : null,
      })),
    );
}

export interface JobListFilter {
  status?: JobRow['status'] | undefined;
  kind?: string | undefined;
  /** Only jobs that failed at least once (a last_error is kept). */
  failing?: boolean | undefined;
  afterId?: number | undefined;
  limit: number;
}

export async function listJobs(db: Kysely<DB>, f: JobListFilter) {
  let q = db
    .selectFrom('jobs')
    .select([
      'id',
      'kind',
      'payload',
      'status',
      'run_at',
      'attempts',
      'max_attempts',
      'locked_by',
      'last_error',
      'created_at',
      'updated_at',
      'finished_at',
    ])
    .orderBy('id', 'desc')
    .limit(f.limit + 1);
  if (f.status) q = q.where('status', '=', f.status);
  if (f.kind) q = q.where('kind', '=', f.kind);
  if (f.failing) q = q.where('last_error', 'is not', null);
  if (f.afterId !== undefined) q = q.where('id', '<', f.afterId);
  return pageById(await q.execute(), f.limit);
}
