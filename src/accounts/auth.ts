import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../http/errors.js';
import { logFailedSignIn } from '../lib/sign-in-log.js';
import type { AccountsRepository } from './repository.js';
import type { Caller } from './caller.js';

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller | null;
  }
  interface FastifyContextConfig {
    /** 'admin': only the ADMIN_TOKEN bearer; default: any valid credential or the admin bearer. */
    auth?: 'admin' | 'credential';
  }
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Parses `Authorization: Basic …` into user and password; undefined when absent or malformed. */
export function parseBasic(header: string | undefined): { user: string; pass: string } | undefined {
  if (!header) return undefined;
  const m = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header);
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return undefined;
  return { user: decoded.slice(0, i), pass: decoded.slice(i + 1) };
}

const unauthorized = (message: string) =>
  new AppError('unauthorized', message, undefined, { 'www-authenticate': 'Basic realm="shipbridge"' });

/**
 * Authenticates every request of the scope it is installed in (the /v1 API):
 * `Authorization: Bearer <ADMIN_TOKEN>` or `Authorization: Basic api_user:api_key`.
 */
export function installApiAuth(
  app: FastifyInstance,
  accounts: AccountsRepository,
  adminToken: string | undefined,
) {
  const adminDigest = adminToken ? digest(adminToken) : undefined;
  app.addHook('onRequest', async (req: FastifyRequest) => {
    const header = req.headers.authorization;
    const wanted = req.routeOptions.config.auth ?? 'credential';
    const bearer = header ? /^Bearer\s+(.+)$/i.exec(header) : null;
    if (bearer) {
      const ok = adminDigest !== undefined && timingSafeEqual(digest(bearer[1]!.trim()), adminDigest);
      if (!ok) {
        logFailedSignIn(req, 'api', undefined, 'invalid admin token');
        throw unauthorized('invalid admin token');
      }
      req.caller = { kind: 'admin' };
      return;
    }
    const basic = parseBasic(header);
    if (wanted === 'admin') {
      if (basic && typeof (await accounts.authenticate(basic.user, basic.pass)) === 'object') {
        throw new AppError('forbidden', 'this route needs the admin token (Authorization: Bearer …)');
      }
      throw unauthorized('this route needs the admin token (Authorization: Bearer …)');
    }
    if (!basic) throw unauthorized('send Authorization: Basic with an api_user and api_key');
    const caller = await accounts.authenticate(basic.user, basic.pass);
    if (caller === 'disabled') {
      logFailedSignIn(req, 'api', basic.user, 'merchant disabled');
      throw unauthorized('this merchant is disabled; its warehouse or the operator can enable it again');
    }
    if (!caller) {
      logFailedSignIn(req, 'api', basic.user, 'invalid api_user or api_key');
      throw unauthorized('invalid api_user or api_key');
    }
    req.caller = caller;
  });
}

/** The authenticated caller; routes under installApiAuth always have one. */
export function callerOf(req: FastifyRequest): Caller {
  if (!req.caller) throw unauthorized('not authenticated');
  return req.caller;
}
