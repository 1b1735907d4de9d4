import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Secrets the service issues (API keys, store passwords): 160 random bits, shown once, stored only
 * as HMAC-SHA-256 keyed with the server secret. A slow password hash adds nothing for secrets this
 * long and would cost milliseconds on every ShipStation request.
 */
export function generateSecret(bytes = 20): string {
  return randomBytes(bytes).toString('base64url');
}

/** A readable, unique-enough public identifier: prefix + 12 random base32-ish characters. */
export function generateIdentifier(prefix: string): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyz23456789';
  const raw = randomBytes(12);
  let out = '';
  for (const b of raw) out += alphabet[b % alphabet.length];
  return `${prefix}_${out}`;
}

export class SecretHasher {
  readonly #key: Buffer;
  /** Hash compared against when the user is unknown, so that case costs the same as a wrong key. */
  readonly #dummy: Buffer;

  constructor(serverSecret: string) {
    this.#key = Buffer.from(serverSecret, 'utf8');
    this.#dummy = this.hash(generateSecret());
  }

  hash(secret: string): Buffer {
    return createHmac('sha256', this.#key).update(secret, 'utf8').digest();
  }

  /** Constant-time check of `secret` against a stored hash; pass undefined for an unknown user. */
  verify(secret: string, stored: Buffer | undefined): boolean {
    const candidate = this.hash(secret);
    const against = stored && stored.length === candidate.length ? stored : this.#dummy;
    const equal = timingSafeEqual(candidate, against);
    return equal && against !== this.#dummy;
  }
}
