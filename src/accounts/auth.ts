import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { readCredentials } from '../http/credentials.js';
import { AppError } from '../http/errors.js';
import { logFailedSignIn } from '../lib/sign-in-log.js';
import type { Caller } from './caller.js';
import type { AccountsRepository, MerchantRef } from './repository.js';

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller | null;
    /** The merchant of a `/merchants/:merchant/…` path, once the caller is known to act on it. */
    merchant: MerchantRef | null;
  }
  interface FastifyContextConfig {
    /** 'admin': only the ADMIN_TOKEN bearer; default: any valid credential or the admin bearer. */
    auth?: 'admin' | 'credential';
  }
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

const unauthorized = (message: string) =>
  new AppError('unauthorized', message, undefined, { 'www-authenticate': 'Basic realm="shipbridge"' });

const ADMIN_OFF = 'admin routes are off: ADMIN_TOKEN is not set on this server';

/** Another way in, tried when no Authorization header is sent: the console's session cookie. */
export type CookieAuth = (req: FastifyRequest) => Promise<Caller | undefined>;

/**
 * Authenticates every request of the scope it is installed in (the /v1 API), then authorises its
 * path, before the body is even read: `Authorization: Bearer <ADMIN_TOKEN>` or
 * `Authorization: Basic api_user:api_key`, or else the console's session (cookie plus CSRF header),
 * which answers the same Caller; then the `:merchant` or `:warehouse` of the path must be
 * one the caller acts on (404 otherwise, whatever the body says).
 */
export function installApiAuth(
  app: FastifyInstance,
  accounts: AccountsRepository,
  adminToken: string | undefined,
  cookieAuth?: CookieAuth,
) {
  const adminDigest = adminToken ? digest(adminToken) : undefined;
  app.decorateRequest('merchant', null);

  async function authenticate(req: FastifyRequest): Promise<Caller> {
    const wanted = req.routeOptions.config.auth ?? 'credential';
    if (wanted === 'admin' && adminDigest === undefined) throw new AppError('forbidden', ADMIN_OFF);
    const presented = readCredentials(req, 'rest');
    if (!presented && cookieAuth) {
      const session = await cookieAuth(req);
      if (session) {
        if (wanted === 'admin' && session.kind !== 'admin') {
          throw new AppError('forbidden', 'this page needs a sign-in with the admin token');
        }
        return session;
      }
    }
    if (presented?.scheme === 'bearer') {
      if (adminDigest === undefined) {
        logFailedSignIn(req, 'api', undefined, 'admin token sent while admin access is off');
        throw unauthorized(`a bearer token is not accepted: ${ADMIN_OFF}`);
      }
      if (!timingSafeEqual(digest(presented.token), adminDigest)) {
        logFailedSignIn(req, 'api', undefined, 'invalid admin token');
        throw unauthorized('invalid admin token');
      }
      return { kind: 'admin' };
    }
    // Text no issued credential holds is wrong without asking the database (which refuses NUL).
    const caller =
      presented?.readable === true
        ? await accounts.authenticate(presented.user, presented.password)
        : undefined;
    if (wanted === 'admin' && typeof caller === 'object')
      throw new AppError('forbidden', 'this route needs the admin token (Authorization: Bearer …)');
    // A wrong key is a failed sign-in on every route, the operator's included.
    if (presented && caller === 'disabled') logFailedSignIn(req, 'api', presented.user, 'merchant disabled');
    if (presented && !caller) logFailedSignIn(req, 'api', presented.user, 'invalid api_user or api_key');
    if (wanted === 'admin') throw unauthorized('this route needs the admin token (Authorization: Bearer …)');
    if (!presented) throw unauthorized('send Authorization: Basic with an api_user and api_key');
    if (caller === 'disabled')
      throw unauthorized('this merchant is disabled; its warehouse or the operator can enable it again');
    if (!caller) throw unauthorized('invalid api_user or api_key');
    return caller;
  }

  app.addHook('onRequest', async (req: FastifyRequest) => {
    const caller = await authenticate(req);
    req.caller = caller;
    const params = req.params as Record<string, unknown>;
    if (typeof params.merchant === 'string') {
      req.merchant = await accounts.merchantFor(caller, params.merchant);
    }
    if (typeof params.warehouse === 'string') {
      await accounts.warehouseFor(caller, params.warehouse);
    }
  });
}

/** The authenticated caller; routes under installApiAuth always have one. */
export function callerOf(req: FastifyRequest): Caller {
  if (!req.caller) throw unauthorized('not authenticated');
  return req.caller;
}

/** The merchant of the path, authorised before validation; routes with `:merchant` always have one. */
export function merchantOf(req: FastifyRequest): MerchantRef {
  if (!req.merchant) throw new AppError('internal', 'the path merchant was not authorised');
  return req.merchant;
}
