import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Caller } from '../accounts/caller.js';
import { clearLoginFailures, loginBlockedFor, recordLoginFailure } from '../accounts/login-limit.js';
import type { AppContext } from '../context.js';
import { logFailedSignIn } from '../lib/sign-in-log.js';
import { AppError, type ErrorDetail, invalid } from '../http/errors.js';
import type { ConsoleSessions, SessionInfo } from './sessions.js';

/**
 * The console at /console: its static single-page application (web/), the one vendored library
 * (Preact + htm, served from node_modules), and sign-in / session / sign-out under /console/api.
 * Everything else the pages do goes through /v1 with the session cookie and the CSRF header: the
 * console has no rule of its own.
 */

/** web/ beside src/ (tsx) or beside dist/ (compiled): the first that exists. */
function webRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const up of ['../..', '../../..']) {
    const dir = path.resolve(here, up, 'web');
    if (existsSync(path.join(dir, 'index.html'))) return dir;
  }
  throw new Error(`the console's web/ folder was not found above ${here}`);
}

/**
 * Stricter than the API's headers: scripts only from this origin (no inline script, no eval), no
 * framing, no form posts elsewhere, no referrer leaking order ids.
 */
const CONSOLE_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
};

const signInBody = z.object({
  api_user: z.string().max(200).optional(),
  api_key: z.string().max(500).optional(),
  admin_token: z.string().max(500).optional(),
});

/** How a caller is shown in the console (never a secret). */
export function whoIs(caller: Caller) {
  switch (caller.kind) {
    case 'admin':
      return { kind: 'admin' as const, name: 'operator', merchant: null, warehouse: null };
    case 'warehouse':
      return {
        kind: 'warehouse' as const,
        name: caller.apiUser,
        merchant: null,
        warehouse: caller.warehouseCode,
      };
    case 'merchant':
      return {
        kind: 'merchant' as const,
        name: caller.apiUser,
        merchant: caller.merchantCode,
        warehouse: null,
      };
  }
}

const sessionAnswer = (s: SessionInfo) => ({
  user: whoIs(s.caller),
  csrf_token: s.csrfToken,
  expires_at: s.expiresAt.toISOString(),
});

export function consoleRoutes(ctx: AppContext, sessions: ConsoleSessions): FastifyPluginAsyncZod {
  return async (app) => {
    const root = webRoot();
    const vendor = readFileSync(fileURLToPath(import.meta.resolve('htm/preact/standalone')), 'utf8');

    app.addHook('onSend', async (_req, reply) => {
      reply.headers(CONSOLE_HEADERS);
    });

    const index = async (_req: FastifyRequest, reply: FastifyReply) =>
      reply.header('cache-control', 'no-cache').sendFile('index.html');
    app.get('/console', { schema: { hide: true } }, index);

    await app.register(fastifyStatic, {
      root,
      prefix: '/console/',
      index: 'index.html',
      // Revalidate every time: a new release must not run against yesterday's page script.
      cacheControl: false,
      setHeaders: (res) => res.setHeader('cache-control', 'no-cache'),
    });
    app.get('/console/vendor/preact-htm.js', { schema: { hide: true } }, async (_req, reply) =>
      reply
        .type('text/javascript; charset=utf-8')
        .header('cache-control', 'public, max-age=86400')
        .send(vendor),
    );

    const noStore = (reply: FastifyReply) => reply.header('cache-control', 'no-store');

    app.post('/console/api/session', { schema: { hide: true, body: signInBody } }, async (req, reply) => {
      const { api_user, api_key, admin_token } = req.body;
      const asAdmin = admin_token !== undefined && admin_token !== '';
      if (!asAdmin) {
        const details: ErrorDetail[] = [];
        if (!api_user) details.push({ path: 'api_user', message: 'enter your api_user' });
        if (!api_key) details.push({ path: 'api_key', message: 'enter your api_key' });
        if (details.length > 0) {
          throw invalid('sign in with an api_user and api_key, or with the admin token', details);
        }
      }
      // Counted apart from ShipStation logins, with the same limit and window.
      const username = asAdmin ? 'console:admin' : `console:${api_user}`;
      const client = req.ip || 'unknown';
      const { authFailureLimit: limit, authFailureWindowSeconds: window } = ctx.config;
      const wait = await loginBlockedFor(ctx.db, limit, window, username, client);
      if (wait !== undefined) {
        logFailedSignIn(req, 'console', asAdmin ? 'admin token' : api_user, 'too many failures');
        throw new AppError(
          'rate_limited',
          `too many failed sign-ins from this address; wait ${wait} seconds and try again`,
          undefined,
          { 'retry-after': String(wait) },
        );
      }
      let caller: Caller | 'disabled' | undefined;
      if (asAdmin) caller = sessions.adminTokenMatches(admin_token) ? { kind: 'admin' } : undefined;
      else caller = await ctx.accounts.authenticate(api_user!, api_key!);
      if (caller === 'disabled') {
        logFailedSignIn(req, 'console', api_user, 'merchant disabled');
        throw new AppError(
          'unauthorized',
          'this merchant is disabled; its warehouse or the operator can enable it again',
        );
      }
      if (!caller) {
        await recordLoginFailure(ctx.db, window, username, client);
        logFailedSignIn(req, 'console', asAdmin ? 'admin token' : api_user, 'wrong credentials');
        const field = asAdmin ? 'admin_token' : 'api_key';
        throw new AppError('unauthorized', asAdmin ? 'wrong admin token' : 'wrong api_user or api_key', [
          { path: field, message: asAdmin ? 'not the admin token' : 'does not match the api_user' },
        ]);
      }
      await clearLoginFailures(ctx.db, username, client);
      const { id, info } = await sessions.open(caller);
      noStore(reply).header('set-cookie', sessions.setCookie(id, info.expiresAt));
      return sessionAnswer(info);
    });

    app.get('/console/api/session', { schema: { hide: true } }, async (req, reply) => {
      noStore(reply);
      const id = sessions.idOf(req);
      const info = id === undefined ? undefined : await sessions.read(id);
      if (!info) {
        if (id !== undefined) reply.header('set-cookie', sessions.clearCookie());
        throw new AppError('unauthorized', 'not signed in');
      }
      return sessionAnswer(info);
    });

    app.delete('/console/api/session', { schema: { hide: true } }, async (req, reply) => {
      noStore(reply);
      const id = sessions.idOf(req);
      if (id !== undefined) {
        if (!sessions.csrfMatches(req, id)) {
          throw new AppError('unauthorized', 'sign-out must send the x-csrf-token header');
        }
        await sessions.close(id);
      }
      return reply.header('set-cookie', sessions.clearCookie()).code(204).send();
    });
  };
}
