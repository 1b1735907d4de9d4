import { type Kysely, sql } from 'kysely';

/**
 * Sessions of the web console. The cookie carries an opaque random id; only its HMAC is stored, so
 * a copy of this table signs nobody in. A session belongs to a credential (ends with its revocation:
 * the row goes with it, and the sign-in check also requires it unrevoked) or to the admin token, in
 * which case the HMAC of the token it was opened with is kept: a changed ADMIN_TOKEN ends it.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and take Kysely<any>
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table console_sessions (
      id_hash bytea primary key,
      credential_id bigint references credentials(id) on delete cascade,
      admin_token_hash bytea,
      created_at timestamptz not null default now(),
      last_seen_at timestamptz not null default now(),
      expires_at timestamptz not null,
      check ((credential_id is null) <> (admin_token_hash is null))
    )
  `.execute(db);
  await sql`create index console_sessions_credential_idx on console_sessions (credential_id)`.execute(db);
  await sql`create index console_sessions_expires_idx on console_sessions (expires_at)`.execute(db);
}

// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and take Kysely<any>
export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table console_sessions`.execute(db);
}
