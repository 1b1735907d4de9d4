/**
 * Runs the jobs of the jobs table in this process: claims due jobs with a lease, runs their
 * handlers, settles them (done, again later, failed), and stops cleanly: on stop() no new job is
 * claimed, jobs in flight get the grace period to finish, and those still running then are aborted
 * and given back (released) — a job's handler writes its work and its settlement in one
 * transaction, so an aborted job has either committed everything or nothing.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { DB } from '../db/schema.js';
import { claim, enqueue, type Job, LeaseLost, release, type Settlement, settle } from './queue.js';
import { retrySettlement } from './schedule.js';

export interface JobContext {
  /** The runner's clock (tests move it). */
  clock: () => Date;
  /** Aborted when the lease is about to run out or the runner is stopped hard. */
  signal: AbortSignal;
  /**
   * Settles the job inside the handler's own transaction, so its work and its outcome commit
   * together; throws LeaseLost (rolling that transaction back) when another instance took it over.
   * A handler that does not call it is settled by the runner: succeeded when it returns, retried
   * on its schedule when it throws.
   */
  settle(trx: Kysely<DB>, s: Settlement): Promise<void>;
}

export interface JobHandler {
  kind: string;
  /** Waits before the 2nd, 3rd… attempt; a job gets retryDelaysMs.length + 1 attempts. */
  retryDelaysMs: readonly number[];
  /** Periodic jobs: one row (a singleton), run again this long after each run. */
  everyMs?: number;
  run(job: Job, ctx: JobContext): Promise<void>;
}

export interface RunnerOptions {
  clock?: () => Date;
  /** How long a claimed job is ours; a job still running then may be taken over by another instance. */
  leaseMs?: number;
  /** How often an idle runner looks for due jobs. */
  pollMs?: number;
  /** Jobs run at once by this instance. */
  concurrency?: number;
  logger?: Logger | undefined;
  /** Names this instance in `locked_by`. */
  owner?: string;
}

/** A handler's lease is aborted this long before it ends, so it can settle before a takeover. */
const LEASE_MARGIN_MS = 5_000;

export class JobRunner {
  readonly owner: string;
  readonly clock: () => Date;
  readonly #db: Kysely<DB>;
  readonly #handlers = new Map<string, JobHandler>();
  readonly #leaseMs: number;
  readonly #pollMs: number;
  readonly #concurrency: number;
  readonly #logger: Logger | undefined;
  readonly #inFlight = new Map<number, { done: Promise<void>; abort: AbortController }>();
  #running = false;
  #stopping = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;

  constructor(db: Kysely<DB>, opts: RunnerOptions = {}) {
    this.#db = db;
    this.clock = opts.clock ?? (() => new Date());
    this.#leaseMs = opts.leaseMs ?? 60_000;
    this.#pollMs = opts.pollMs ?? 1_000;
    this.#concurrency = opts.concurrency ?? 8;
    this.#logger = opts.logger;
    this.owner = opts.owner ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  }

  register(handler: JobHandler): this {
    this.#handlers.set(handler.kind, handler);
    return this;
  }

  handler(kind: string): JobHandler | undefined {
    return this.#handlers.get(kind);
  }

  /** Adds one job of a registered kind, due at once (or at `runAt`). */
  async enqueue(
    db: Kysely<DB>,
    kind: string,
    payload: Record<string, unknown>,
    runAt?: Date,
  ): Promise<number> {
    const h = this.#handlers.get(kind);
    if (!h) throw new Error(`no handler for job kind ${kind}`);
    const id = await enqueue(db, kind, payload, {
      runAt: runAt ?? this.clock(),
      maxAttempts: h.retryDelaysMs.length + 1,
    });
    return id!;
  }

  /** Makes sure every periodic kind has its one row. */
  async ensurePeriodic(): Promise<void> {
    for (const h of this.#handlers.values()) {
      if (h.everyMs === undefined) continue;
      await enqueue(
        this.#db,
        h.kind,
        {},
        { runAt: this.clock(), maxAttempts: h.retryDelaysMs.length + 1, singleton: h.kind },
      );
    }
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run().catch((err) =>
      this.#logger?.error({ err, code: 'internal' }, 'job runner stopped on an error'),
    );
  }

  /**
   * Stops claiming, lets jobs in flight finish for up to graceMs, then aborts and releases the
   * rest (their attempt is not counted: they run again at once, here or elsewhere).
   */
  async stop(graceMs = 10_000): Promise<void> {
    this.#running = false;
    this.#stopping = true;
    this.#wake?.();
    await this.#loop;
    const all = () => Promise.allSettled([...this.#inFlight.values()].map((f) => f.done));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      all().then(() => false),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(true), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      for (const f of this.#inFlight.values()) f.abort.abort(new Error('shutting down'));
      await all();
    }
  }

  /** Runs every job due at the clock's time, until none is left (tests, and one-shot use). */
  async runDue(maxRounds = 100): Promise<number> {
    let total = 0;
    for (let round = 0; round < maxRounds && !this.#stopping; round++) {
      const jobs = await this.#claim(this.#concurrency);
      if (jobs.length === 0) break;
      total += jobs.length;
      await Promise.all(jobs.map((j) => this.#start(j, false)));
    }
    return total;
  }

  async #run(): Promise<void> {
    while (this.#running) {
      const free = this.#concurrency - this.#inFlight.size;
      let claimed = 0;
      if (free > 0) {
        try {
          const jobs = await this.#claim(free);
          claimed = jobs.length;
          for (const j of jobs) void this.#start(j, true);
        } catch (err) {
          this.#logger?.warn({ err }, 'could not claim jobs');
        }
      }
      if (!this.#running) break;
      if (claimed > 0 && this.#inFlight.size < this.#concurrency) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, this.#pollMs);
        const finished = [...this.#inFlight.values()].map((f) => f.done);
        if (finished.length > 0 && this.#inFlight.size >= this.#concurrency)
          void Promise.race(finished).then(done);
        this.#wake = done;
        function done() {
          clearTimeout(timer);
          resolve();
        }
      });
      this.#wake = undefined;
    }
  }

  #claim(limit: number): Promise<Job[]> {
    return claim(this.#db, this.owner, [...this.#handlers.keys()], limit, this.clock(), this.#leaseMs);
  }

  #start(job: Job, background: boolean): Promise<void> {
    const abort = new AbortController();
    const done = this.#execute(job, abort).finally(() => this.#inFlight.delete(job.id));
    this.#inFlight.set(job.id, { done, abort });
    if (background) void done.finally(() => this.#wake?.());
    return done;
  }

  async #execute(job: Job, abort: AbortController): Promise<void> {
    const handler = this.#handlers.get(job.kind)!;
    const leaseTimer = setTimeout(
      () => abort.abort(new Error('the lease ran out')),
      Math.max(this.#leaseMs - LEASE_MARGIN_MS, this.#leaseMs / 2),
    );
    let settled = false;
    const ctx: JobContext = {
      clock: this.clock,
      signal: abort.signal,
      settle: async (trx, s) => {
        await settle(trx, job, this.#periodic(handler, s), this.clock());
        settled = true;
      },
    };
    try {
      await handler.run(job, ctx);
      if (!settled) await settle(this.#db, job, this.#periodic(handler, { kind: 'succeeded' }), this.clock());
    } catch (err) {
      if (err instanceof LeaseLost) {
        this.#logger?.warn({ job: job.id, kind: job.kind }, err.message);
        return;
      }
      const stopped = abort.signal.aborted && this.#stopping;
      try {
        if (stopped && !settled) {
          await release(this.#db, job, this.clock());
        } else if (!settled) {
          const message = err instanceof Error ? err.message : String(err);
          this.#logger?.warn(
            { job: job.id, kind: job.kind, attempt: job.attempts, err: message },
            'job failed',
          );
          await settle(
            this.#db,
            job,
            this.#periodic(handler, retrySettlement(job, handler.retryDelaysMs, this.clock(), message)),
            this.clock(),
          );
        }
      } catch (e) {
        if (!(e instanceof LeaseLost))
          this.#logger?.error({ err: e, code: 'internal', job: job.id }, 'could not settle a job');
      }
    } finally {
      clearTimeout(leaseTimer);
    }
  }

  /** A periodic job never finishes: whatever its outcome, it runs again after its interval. */
  #periodic(handler: JobHandler, s: Settlement): Settlement {
    if (handler.everyMs === undefined || s.kind === 'again') return s;
    return {
      kind: 'again',
      at: new Date(this.clock().getTime() + handler.everyMs),
      error: s.kind === 'failed' ? s.error : undefined,
      resetAttempts: true,
    };
  }
}
