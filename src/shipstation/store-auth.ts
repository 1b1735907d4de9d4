import type { FastifyRequest } from 'fastify';
import { sql } from 'kysely';
import { clearLoginFailures, recordLoginFailure } from '../accounts/login-limit.js';
import type { AppContext } from '../context.js';
import type { Store } from '../db/schema.js';
import { readCredentials } from '../http/credentials.js';
import { AppError } from '../http/errors.js';
import { logFailedSignIn } from '../lib/sign-in-log.js';

/**
 * Authentication of ShipStation's calls by store connection: the credentials select the store.
 *
 * Credentials are read by `readCredentials` (Basic header, else SS-UserName / SS-Password). Failed
 * attempts are counted per (username, client address) in PostgreSQL, so every instance agrees and
 * one tenant's stale password never throttles another tenant calling from the same ShipStation
 * address.
 */

export const REALM = 'Basic realm="shipbridge"';

const unauthorized = (message: string) =>
  new AppError('unauthorized', message, undefined, { 'www-authenticate': REALM });

/**
 * A user name no store has (control characters, NUL, a lone surrogate) is still counted against its
 * client, under an escaped form PostgreSQL can store: guessing must be paced whatever the bytes.
 */
const failureKey = (user: string, readable: boolean) => (readable ? user : JSON.stringify(user).slice(1, -1));

/** A store's columns (all null when the username is unknown) and this pair's open failure window. */
type AuthRow = { [K in keyof Store]: Store[K] | null } & {
  merchant_disabled: boolean | null;
  auth_failures: number | null;
  auth_window_open: boolean | null;
  retry_after: number | null;
};

/**
 * Authenticates the request as one store connection, or throws the 401 / 429 AppError.
 * One round trip on the happy path: the store and this pair's open failure window are read together.
 */
/** A signed-in store; `merchantDisabled`: its merchant is disabled (empty exports, notices still kept). */
export type AuthenticatedStore = Store & { merchantDisabled: boolean };

export async function authenticateStore(ctx: AppContext, req: FastifyRequest): Promise<AuthenticatedStore> {
  const creds = readCredentials(req, 'shipstation');
  if (!creds || creds.scheme === 'bearer') {
    throw unauthorized(
      'no credentials: ShipStation must send the store connection username and password ' +
        '(Authorization: Basic, or SS-UserName and SS-Password)',
    );
  }
  const client = req.ip || 'unknown';
  const username = failureKey(creds.user, creds.readable);
  const windowSeconds = ctx.config.authFailureWindowSeconds;
  const limit = ctx.config.authFailureLimit;

  const { rows } = await sql<AuthRow>`
    select s.*, m.disabled_at is not null as merchant_disabled, f.failures as auth_failures,
      f.window_start > now() - make_interval(secs => ${windowSeconds}) as auth_window_open,
      ceil(extract(epoch from (f.window_start + make_interval(secs => ${windowSeconds}) - now())))::int
        as retry_after
    from (select 1) as one
    left join stores s on s.username = ${creds.readable ? creds.user : null}
    left join merchants m on m.id = s.merchant_id
    left join auth_failures f on f.username = ${username} and f.client = ${client}
  `.execute(ctx.db);
  const row = rows[0];
  const failures = row?.auth_failures ?? null;

  if (failures !== null && row?.auth_window_open && failures >= limit) {
    const wait = Math.max(1, row?.retry_after ?? 1);
    logFailedSignIn(req, 'shipstation', username, 'too many failures');
    throw new AppError(
      'rate_limited',
      `too many failed sign-ins for store user "${username}" from this address; ` +
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
    await recordLoginFailure(ctx.db, windowSeconds, username, client);
    logFailedSignIn(req, 'shipstation', username, 'invalid store username or password');
    throw unauthorized(
      'invalid store username or password: copy them again from the store connection ' +
        '(a rotated password must also be changed in ShipStation)',
    );
  }
  if (failures !== null) {
    // A success resets the pair (and clears an expired window).
    await clearLoginFailures(ctx.db, username, client);
  }
  req.logContext = { ...(req.logContext ?? {}), store: store.id, merchant: store.merchant_id };
  return store;
}
