import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { type Kysely, sql } from 'kysely';
import { parse as parseCookie, serialize as serializeCookie } from 'cookie';
import { type Caller, type CredentialOwnerRow, callerOfCredential } from '../accounts/caller.js';
import type { DB } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import type { SecretHasher } from '../lib/secrets.js';

/**
 * Console sessions, kept in PostgreSQL so that any instance serves any request.
 *
 * The cookie carries a random 256-bit id; the table keeps only its HMAC. The CSRF token is derived
 * from the id (HMAC of a different message), so nothing more is stored, it cannot be guessed
 * without the cookie, and the page's script — which never sees the HttpOnly cookie — gets it from
 * the sign-in answer. What must stay true: a session never outlives its credential (revoked or
 * deleted), is refused while its merchant is disabled, never outlives the ADMIN_TOKEN it was opened with, its idle limit or its absolute limit.
 */

/** A session unused this long ends. */
export const SESSION_IDLE_MINUTES = 120;
/** A session ends this long after sign-in, however busy. */
export const SESSION_MAX_HOURS = 12;
/** last_seen_at is written at most once a minute: a console page makes several calls at once. */
const TOUCH_AFTER_SECONDS = 60;

export interface SessionInfo {
  caller: Caller;
  csrfToken: string;
  expiresAt: Date;
}

type SessionRow = CredentialOwnerRow & {
  session_credential_id: number | null;
  admin_token_hash: Buffer | null;
  expires_at: Date;
  stale: boolean;
  merchant_disabled: boolean | null;
};

const unauthorized = (message: string) => new AppError('unauthorized', message);

const sameBytes = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b);

export class ConsoleSessions {
  readonly cookieName: string;
  readonly #adminHash: Buffer | undefined;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly hasher: SecretHasher,
    adminToken: string | undefined,
    /** Cookie gets Secure (and the __Host- prefix, which browsers only accept with Secure). */
    private readonly secure: boolean,
  ) {
    this.cookieName = secure ? '__Host-shipbridge_session' : 'shipbridge_session';
    this.#adminHash = adminToken === undefined ? undefined : hasher.hash(adminToken);
  }

  #idHash(id: string): Buffer {
    return this.hasher.hash(`console-session:${id}`);
  }

  csrfOf(id: string): string {
    return this.hasher.hash(`console-csrf:${id}`).toString('base64url');
  }

  /** The admin token's HMAC, when this token is the server's ADMIN_TOKEN (constant time). */
  adminTokenMatches(token: string): boolean {
    const given = this.hasher.hash(token);
    // Compared against itself when admin routes are off, so both answers cost the same.
    return sameBytes(given, this.#adminHash ?? given) && this.#adminHash !== undefined;
  }

  /** Opens a session for a credential or for the admin token; returns the id for the cookie. */
  async open(caller: Caller): Promise<{ id: string; info: SessionInfo }> {
    if (caller.kind === 'admin' && !this.#adminHash) throw unauthorized('admin sign-in is off');
    const id = randomBytes(32).toString('base64url');
    // Forget ended sessions as new ones open: the table stays the size of the active ones.
    await sql`delete from console_sessions
      where expires_at <= now() or last_seen_at <= now() - make_interval(mins => ${SESSION_IDLE_MINUTES})`.execute(
      this.db,
    );
    const row = await this.db
      .insertInto('console_sessions')
      .values({
        id_hash: this.#idHash(id),
        credential_id: caller.kind === 'admin' ? null : caller.credentialId,
        admin_token_hash: caller.kind === 'admin' ? this.#adminHash! : null,
        expires_at: sql<Date>`now() + make_interval(hours => ${SESSION_MAX_HOURS})`,
      })
      .returning('expires_at')
      .executeTakeFirstOrThrow();
    return { id, info: { caller, csrfToken: this.csrfOf(id), expiresAt: row.expires_at } };
  }

  /** The live session with this id, touched; undefined when it has ended for any reason. */
  async read(id: string): Promise<SessionInfo | undefined> {
    const hash = this.#idHash(id);
    const { rows } = await sql<SessionRow>`
      select s.credential_id as session_credential_id, s.admin_token_hash, s.expires_at,
        s.last_seen_at < now() - make_interval(secs => ${TOUCH_AFTER_SECONDS}) as stale,
        c.id, c.api_user, c.warehouse_id, w.code as warehouse_code, c.merchant_id,
        m.code as merchant_code, m.warehouse_id as merchant_warehouse_id,
        m.disabled_at is not null as merchant_disabled
      from console_sessions s
      left join credentials c on c.id = s.credential_id and c.revoked_at is null
      left join warehouses w on w.id = c.warehouse_id
      left join merchants m on m.id = c.merchant_id
      where s.id_hash = ${hash} and s.expires_at > now()
        and s.last_seen_at > now() - make_interval(mins => ${SESSION_IDLE_MINUTES})
    `.execute(this.db);
    const row = rows[0];
    if (!row) return undefined;
    let caller: Caller;
    if (row.session_credential_id !== null) {
      if (row.id === null) return undefined; // revoked since sign-in
      // Like its API key: refused while the merchant is disabled, accepted again once enabled. A
      // warehouse's session is not concerned (it may still act on the disabled merchant, as over REST).
      if (row.merchant_disabled) return undefined;
      caller = callerOfCredential({ ...row, id: Number(row.id) });
    } else {
      const stored = row.admin_token_hash;
      if (!stored || !this.#adminHash || !sameBytes(stored, this.#adminHash)) return undefined;
      caller = { kind: 'admin' };
    }
    if (row.stale) {
      await this.db
        .updateTable('console_sessions')
        .set({ last_seen_at: sql<Date>`now()` })
        .where('id_hash', '=', hash)
        .execute();
    }
    return { caller, csrfToken: this.csrfOf(id), expiresAt: new Date(row.expires_at) };
  }

  async close(id: string): Promise<void> {
    await this.db.deleteFrom('console_sessions').where('id_hash', '=', this.#idHash(id)).execute();
  }

  /** The session id the request's cookie carries, if any. */
  idOf(req: FastifyRequest): string | undefined {
    const header = req.headers.cookie;
    if (!header) return undefined;
    const v = parseCookie(header)[this.cookieName];
    return v && /^[A-Za-z0-9_-]{43}$/.test(v) ? v : undefined;
  }

  /** Does the request's x-csrf-token belong to this session? */
  csrfMatches(req: FastifyRequest, id: string): boolean {
    const given = req.headers['x-csrf-token'];
    if (typeof given !== 'string') return false;
    return sameBytes(Buffer.from(given), Buffer.from(this.csrfOf(id)));
  }

  setCookie(id: string, expires: Date): string {
    return serializeCookie(this.cookieName, id, {
      httpOnly: true,
      sameSite: 'strict',
      secure: this.secure,
      path: '/',
      expires,
    });
  }

  clearCookie(): string {
    return serializeCookie(this.cookieName, '', {
      httpOnly: true,
      sameSite: 'strict',
      secure: this.secure,
      path: '/',
      expires: new Date(0),
    });
  }

  /**
   * The /v1 API's way in with a console session: the cookie counts only together with the session's
   * x-csrf-token header (a page of another site can make the browser send the cookie, never the
   * header). Undefined when the request carries no session cookie.
   */
  async authenticate(req: FastifyRequest): Promise<Caller | undefined> {
    const id = this.idOf(req);
    if (id === undefined) return undefined;
    if (!this.csrfMatches(req, id)) {
      throw unauthorized('a console session must send its x-csrf-token header');
    }
    const session = await this.read(id);
    if (!session) throw unauthorized('the console session has ended: sign in again');
    return session.caller;
  }
}
