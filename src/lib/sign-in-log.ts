import type { FastifyRequest } from 'fastify';

/**
 * The one place failed sign-ins are logged (REST API, ShipStation endpoint, and later the console):
 * at `warn`, with the client address and the username that was tried, never the secret.
 *
 * The username is cut to 64 characters, and dropped when it looks like one of our secrets (a long
 * base64url run: an API key or store password pasted into the user field must not reach the logs).
 */
const MAX_USERNAME = 64;
const LOOKS_LIKE_SECRET = /^[A-Za-z0-9_-]{24,}$/;

export const looksLikeSecret = (username: string): boolean => LOOKS_LIKE_SECRET.test(username);

export function loggableUsername(username: string | undefined): string | undefined {
  if (username === undefined || username === '') return undefined;
  if (looksLikeSecret(username)) return '[dropped: looks like a secret]';
  const chars = Array.from(username);
  return chars.length > MAX_USERNAME ? `${chars.slice(0, MAX_USERNAME).join('')}…` : username;
}

export function logFailedSignIn(
  req: FastifyRequest,
  where: 'api' | 'shipstation' | 'console',
  username: string | undefined,
  reason: string,
): void {
  req.log.warn(
    { code: 'unauthorized', where, client: req.ip, username: loggableUsername(username), reason },
    'failed sign-in',
  );
}
