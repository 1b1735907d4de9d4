/**
 * The one way to run a unit of work that may lose a race with another transaction: a deadlock
 * (40P01) or a serialization failure (40001) aborts it as a whole and writes nothing, so it is
 * simply run again, a few times, after a short random pause (two transactions that deadlocked
 * once would otherwise meet again at once). Any other error is the caller's.
 */
import type { Kysely } from 'kysely';
import type { DB } from './schema.js';

/** SQLSTATEs after which running the same work again is safe and usually succeeds. */
const RETRYABLE_SQLSTATES: ReadonlySet<string> = new Set(['40P01', '40001']);

/** How many times the work runs at most. */
export const MAX_ATTEMPTS = 4;

/** Did the database abort the work because of a concurrent transaction (deadlock, serialization)? */
export function isRetryableConflict(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && RETRYABLE_SQLSTATES.has(code);
}

/**
 * Runs `work` again when it fails with a retryable conflict, at most MAX_ATTEMPTS times. `work`
 * must be safe to repeat: a transaction (rolled back when it failed) or one atomic statement.
 */
export async function retryOnConflict<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (attempt >= MAX_ATTEMPTS || !isRetryableConflict(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, 5 * attempt + Math.random() * 20));
    }
  }
}

/** Runs `fn` in a transaction, again when a deadlock or serialization failure aborted it. */
export async function inTransaction<T>(db: Kysely<DB>, fn: (trx: Kysely<DB>) => Promise<T>): Promise<T> {
  return retryOnConflict(() => db.transaction().execute(fn));
}
