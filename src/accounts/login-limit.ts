import { type Kysely, sql } from 'kysely';
import type { DB } from '../db/schema.js';

/**
 * Failed sign-ins counted per (username, client address) in PostgreSQL (auth_failures), never per
 * address alone: ShipStation and a warehouse's staff call from shared addresses, and one stale
 * password must not lock others out. Every instance of the service sees the same counts.
 * Used by the ShipStation store login and the console sign-in.
 */

/** Counts one failure of the pair; a window that has passed starts again at 1. */
export async function recordLoginFailure(
  db: Kysely<DB>,
  windowSeconds: number,
  username: string,
  client: string,
): Promise<void> {
  const w = windowSeconds;
  // Now and then, forget the pairs whose window has passed (guessed usernames would pile up).
  if (Math.random() < 0.01) {
    await sql`delete from auth_failures where window_start <= now() - make_interval(secs => ${w})`.execute(
      db,
    );
  }
  await sql`
    insert into auth_failures (username, client, window_start, failures)
    values (${username}, ${client}, now(), 1)
    on conflict (username, client) do update set
      failures = case when auth_failures.window_start <= now() - make_interval(secs => ${w})
        then 1 else auth_failures.failures + 1 end,
      window_start = case when auth_failures.window_start <= now() - make_interval(secs => ${w})
        then now() else auth_failures.window_start end
  `.execute(db);
}

/** Seconds to wait when the pair has used up its failures in the open window; otherwise undefined. */
export async function loginBlockedFor(
  db: Kysely<DB>,
  limit: number,
  windowSeconds: number,
  username: string,
  client: string,
): Promise<number | undefined> {
  const { rows } = await sql<{ retry_after: number }>`
    select ceil(extract(epoch from (window_start + make_interval(secs => ${windowSeconds}) - now())))::int
      as retry_after
    from auth_failures
    where username = ${username} and client = ${client} and failures >= ${limit}
      and window_start > now() - make_interval(secs => ${windowSeconds})
  `.execute(db);
  const r = rows[0];
  return r ? Math.max(1, r.retry_after) : undefined;
}

/** A success resets the pair. */
export async function clearLoginFailures(db: Kysely<DB>, username: string, client: string): Promise<void> {
  await db
    .deleteFrom('auth_failures')
    .where('username', '=', username)
    .where('client', '=', client)
    .execute();
}
