import type { FastifyRequest } from 'fastify';
import { sql } from 'kysely';
import { parseBasic } from '../accounts/auth.js';
import type { AppContext } from '../context.js';
import type { Store } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { logFailedSignIn } from '../lib/sign-in-log.js';

/**
 * Authentication of ShipStation's calls by store connection (§5): the credentials select the store.
 *
 * Credentials come from `Authorization: Basic` first, else from the `SS-UserName` / `SS-Password`
 * query parameters (any letter case: `SS-Username` is seen in the wild). Failed attempts are counted
 * per (username, client address) in PostgreSQL, so every instance agrees and one tenant's stale
 * password never throttles another tenant calling from the same ShipStation address.
 */

export const REALM = 'Basic realm="shipbridge"';

export interface StoreCredentials {
  username: string;
  password: string;
}

/** The query parameters that carry credentials (compared case-insensitively). */
const USER_PARAM = 'ss-username';
const PASSWORD_PARAM = 'ss-password';

export function isCredentialParam(name: string): boolean {
  const n = name.toLowerCase();
  return n === USER_PARAM || n === PASSWORD_PARAM;
}

function queryValue(query: Record<string, unknown>, wanted: string): string | undefined {
  for (const [k, v] of Object.entries(query)) {
    if (k.toLowerCase() !== wanted) continue;
    const value = Array.isArray(v) ? v[0] : v;
    if (typeof value === 'string') return value;
  }
  return undefined;
}

/** Header first; then the query string. Undefined when neither carries a username. */
export function extractCredentials(
  authorization: string | undefined,
  query: Record<string, unknown>,
): StoreCredentials | undefined {
  const basic = parseBasic(authorization);
  if (basic && basic.user !== '') return { username: basic.user, password: basic.pass };
  const username = queryValue(query, USER_PARAM);
  if (username === undefined || username === '') return undefined;
  return { username, password: queryValue(query, PASSWORD_PARAM) ?? '' };
}

const unauthorized = (message: string) =>
  new AppError('unauthorized', message, undefined, { 'www-authenticate': REALM });

/** A store's columns (all null when the username is unknown) and this pair's open failure window. */
type AuthRow = { [K in keyof Store]: Store[K] | null } & {
  merchant_disabled: boolean | null;
  auth_failures: number | null;
  auth_window_open: boolean | null;
  retry_after: number | null;
};

/** A signed-in store; `merchantDisabled`: its merchant is disabled (empty exports, notices still kept). */
export type AuthenticatedStore = Store & { merchantDisabled: boolean };

/**
 * Authenticates the request as one store connection, or throws the 401 / 429 AppError.
 * One round trip on the happy path: the store and this pair's open failure window are read together.
 */
export async function authenticateStore(ctx: AppContext, req: FastifyRequest): Promise<AuthenticatedStore> {
  const creds = extractCredentials(req.headers.authorization, (req.query ?? {}) as Record<string, unknown>);
  if (!creds) {
    throw unauthorized(
      'no credentials: ShipStation must send the store connection username and password ' +
        '(Authorization: Basic, or SS-UserName and SS-Password)',
    );
  }
  const client = req.ip || 'unknown';
  const windowSeconds = ctx.config.authFailureWindowSeconds;
  const limit = ctx.config.authFailureLimit;

  const { rows } = await sql<AuthRow>`
    select s.*, m.disabled_at is not null as merchant_disabled, f.failures as auth_failures,
      f.window_start > now() - make_interval(secs => ${windowSeconds}) as auth_window_open,
      ceil(extract(epoch from (f.window_start + make_interval(secs => ${windowSeconds}) - now())))::int
        as retry_after
    from (select 1) as one
    left join stores s on s.username = ${creds.username}
    left join merchants m on m.id = s.merchant_id
    left join auth_failures f on f.username = ${creds.username} and f.client = ${client}
  `.execute(ctx.db);
  const row = rows[0];
  const failures = row?.auth_failures ?? null;

  if (failures !== null && row?.auth_window_open && failures >= limit) {
    const wait = Math.max(1, row?.retry_after ?? 1);
    logFailedSignIn(req, 'shipstation', creds.username, 'too many failures');
    throw new AppError(
      'rate_limited',
      `too many failed sign-ins for store user "${creds.username}" from this address; ` +
        `wait ${wait} seconds, then check the password in ShipStation's store settings`,
      undefined,
      { 'retry-after': String(wait) },
    );
  }

  const store: AuthenticatedStore | undefined =
    row && row.id !== null
      ? Object.assign(row as unknown as Store, { merchantDisabled: row.merchant_disabled === true })
      : undefined;
  // Always verify (against a dummy hash for an unknown user): both failures cost the same.
  const ok = ctx.hasher.verify(creds.password, store?.password_hash);
  if (!ok || !store) {
    await recordFailure(ctx, creds.username, client);
    logFailedSignIn(req, 'shipstation', creds.username, 'invalid store username or password');
    throw unauthorized(
      'invalid store username or password: copy them again from the store connection ' +
        '(a rotated password must also be changed in ShipStation)',
    );
  }
  if (failures !== null) {
    // A success resets the pair (and clears an expired window).
    await ctx.db
      .deleteFrom('auth_failures')
      .where('username', '=', creds.username)
      .where('client', '=', client)
      .execute();
  }
  req.logContext = { ...(req.logContext ?? {}), store: store.id, merchant: store.merchant_id };
  return store;
}

async function recordFailure(ctx: AppContext, username: string, client: string): Promise<void> {
  const w = ctx.config.authFailureWindowSeconds;
  // Now and then, forget the pairs whose window has passed (guessed usernames would pile up).
  if (Math.random() < 0.01) {
    await sql`delete from auth_failures where window_start <= now() - make_interval(secs => ${w})`.execute(
      ctx.db,
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
  `.execute(ctx.db);
}
