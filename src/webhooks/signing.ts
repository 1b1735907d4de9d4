/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): the secret is `whsec_` + base64 of
 * random bytes, and those bytes are the HMAC-SHA-256 key; the signature is
 * `v1,<base64 HMAC of "{id}.{timestamp}.{body}">`, several space-separated while a rotated secret is
 * still in its grace period. Pure, no I/O.
 */
import { createHmac, randomBytes } from 'node:crypto';

export const SECRET_PREFIX = 'whsec_';

/** A new signing key (32 random bytes) and the secret the user is shown once. */
export function newSigningKey(): { key: Buffer; secret: string } {
  const key = randomBytes(32);
  return { key, secret: SECRET_PREFIX + key.toString('base64') };
}

export function secretOf(key: Buffer): string {
  return SECRET_PREFIX + key.toString('base64');
}

export function signatureHeader(
  keys: readonly Buffer[],
  id: string,
  timestamp: number,
  body: string,
): string {
  return keys
    .map((k) => `v1,${createHmac('sha256', k).update(`${id}.${timestamp}.${body}`).digest('base64')}`)
    .join(' ');
}

/** The three headers of one attempt. */
export function signedHeaders(
  keys: readonly Buffer[],
  id: string,
  timestamp: number,
  body: string,
): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signatureHeader(keys, id, timestamp, body),
  };
}
