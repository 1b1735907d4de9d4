import type { FastifyRequest } from 'fastify';
import { isStorableText } from './input.js';

/**
 * The one place credentials are read from a request: the REST API's `Authorization: Bearer` (admin
 * token) or `Authorization: Basic` (api_user:api_key), and ShipStation's Basic header or, failing
 * that, its `SS-UserName` / `SS-Password` query parameters (any letter case: `SS-Username` is seen
 * in the wild).
 *
 * Every credential comes back with `readable`: false when it holds a control character (RFC 7617
 * forbids them in Basic credentials), NUL or a lone surrogate. No issued user or secret ever does,
 * so such a credential is simply wrong (401) — and it must never reach SQL, where NUL is an error.
 */
export type PresentedCredentials =
  | { scheme: 'bearer'; token: string }
  | { scheme: 'basic' | 'query'; user: string; password: string; readable: boolean };

const CONTROL = /[\u0000-\u001F\u007F]/;

/** Text an issued user name, key or password can be. */
export const isReadableCredential = (s: string): boolean => !CONTROL.test(s) && isStorableText(s);

/** The query parameters that carry ShipStation credentials (compared case-insensitively). */
const USER_PARAM = 'ss-username';
const PASSWORD_PARAM = 'ss-password';

export function isCredentialParam(name: string): boolean {
  const n = name.toLowerCase();
  return n === USER_PARAM || n === PASSWORD_PARAM;
}

function queryValue(query: unknown, wanted: string): string | undefined {
  if (query === null || typeof query !== 'object') return undefined;
  for (const [k, v] of Object.entries(query)) {
    if (k.toLowerCase() !== wanted) continue;
    const value = Array.isArray(v) ? v[0] : v;
    if (typeof value === 'string') return value;
  }
  return undefined;
}

function pair(scheme: 'basic' | 'query', user: string, password: string): PresentedCredentials {
  return {
    scheme,
    user,
    password,
    readable: isReadableCredential(user) && isReadableCredential(password),
  };
}

/** `Authorization: Basic …` as user and password; undefined when absent or malformed. */
function basic(header: string | undefined): PresentedCredentials | undefined {
  const m = header ? /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header) : null;
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return undefined;
  return pair('basic', decoded.slice(0, i), decoded.slice(i + 1));
}

/**
 * The credentials a request presents, or undefined when it presents none.
 * `rest`: Bearer or Basic. `shipstation`: Basic with a user name, else the SS- query parameters.
 */
export function readCredentials(
  req: FastifyRequest,
  endpoint: 'rest' | 'shipstation',
): PresentedCredentials | undefined {
  const header = req.headers.authorization;
  if (endpoint === 'rest') {
    const bearer = header ? /^Bearer\s+(.+)$/i.exec(header) : null;
    if (bearer) return { scheme: 'bearer', token: bearer[1]!.trim() };
    return basic(header);
  }
  const fromHeader = basic(header);
  if (fromHeader?.scheme === 'basic' && fromHeader.user !== '') return fromHeader;
  const user = queryValue(req.query, USER_PARAM);
  if (user === undefined || user === '') return undefined;
  return pair('query', user, queryValue(req.query, PASSWORD_PARAM) ?? '');
}
