import { type Kysely, sql } from 'kysely';

/**
 * Notices still `received` are the ones a process died applying (recoverStuckNotices looks for them
 * every minute, across merchants). A partial index keeps that look-up proportional to the few
 * notices in flight, not to every notice ever received.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and take Kysely<any>
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index if not exists ship_notices_received_idx on ship_notices (received_at)
    where status = 'received'`.execute(db);
}

// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and take Kysely<any>
export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists ship_notices_received_idx`.execute(db);
}
