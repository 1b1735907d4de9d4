/**
 * Pacing of ShipStation calls per API key pair, kept in the database so every instance (and every
 * source using the same keys) spends one budget. ShipStation answers each call with how many calls
 * are left in its window (X-Rate-Limit-Remaining) and when the window ends (X-Rate-Limit-Reset,
 * seconds); a call is taken from that budget before it is made, and waits for the window's end
 * when none is left. Unknown (no answer yet, or the window is over): the call goes, and its answer
 * tells.
 */
import { type Kysely, sql } from 'kysely';
import type { DB } from '../db/schema.js';

export type Take = { ok: true } | { ok: false; until: Date };

/** Takes one call of the key pair's budget, or says until when none is left. */
export async function takeCall(db: Kysely<DB>, keyPair: string, now: Date): Promise<Take> {
  // A window that is over (or never answered) is unknown: the call goes, and is counted in
  // `unknown_taken` so the first answer of the window can take the other calls in flight off.
  const r = await sql<{ took: boolean; reset_at: Date | null }>`
    with up as (
      insert into source_rate_limits as r (key_pair, remaining, reset_at, unknown_taken, updated_at)
      values (${keyPair}, null, null, 1, ${now}::timestamptz)
      on conflict (key_pair) do update set
        unknown_taken = case when r.remaining is null then r.unknown_taken + 1
          when r.reset_at is null or r.reset_at <= ${now}::timestamptz then 1
          else r.unknown_taken end,
        remaining = case when r.reset_at is null or r.reset_at <= ${now}::timestamptz then null
          else r.remaining - 1 end,
        updated_at = ${now}::timestamptz
      where r.reset_at is null or r.reset_at <= ${now}::timestamptz or r.remaining is null or r.remaining > 0
      returning 1
    )
    select exists (select 1 from up) as took,
      (select reset_at from source_rate_limits where key_pair = ${keyPair}) as reset_at
  `.execute(db);
  const row = r.rows[0];
  if (!row || row.took) return { ok: true };
  return { ok: false, until: new Date(row.reset_at ?? now) };
}

/**
 * Records what an answer said about the budget. Within the same window the lower count wins: calls
 * taken here since may not have reached ShipStation yet when it counted. The first answer of a
 * window that was unknown also takes off the other calls that went meanwhile (unknown_taken less
 * its own): ShipStation may not have counted them yet, and they are spent all the same.
 */
export async function recordBudget(
  db: Kysely<DB>,
  keyPair: string,
  remaining: number,
  resetSeconds: number,
  now: Date,
): Promise<void> {
  const resetAt = new Date(now.getTime() + Math.max(0, resetSeconds) * 1000);
  await sql`
    update source_rate_limits set
      remaining = case
        when remaining is null then greatest(0, ${remaining}::int - greatest(0, unknown_taken - 1))
        when reset_at is not null and reset_at > ${now}::timestamptz then least(remaining, ${remaining}::int)
        else ${remaining}::int end,
      unknown_taken = 0,
      reset_at = ${resetAt}::timestamptz,
      updated_at = ${now}::timestamptz
    where key_pair = ${keyPair}
  `.execute(db);
}
