import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';

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
  /** Seals the secrets the service must read back (webhook signing keys…), under the same server secret. */
  readonly box: SecretBox;

  constructor(serverSecret: string) {
    this.#key = Buffer.from(serverSecret, 'utf8');
    this.box = new SecretBox(serverSecret);
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

/**
 * Secrets the service must use itself (webhook signing keys, a source's API secret) cannot be
 * hashed: they are sealed with AES-256-GCM under a key derived from the server secret with HKDF
 * (SHA-256, a fixed purpose label). The key id, a short hash of the derived key, is stored beside
 * each sealed value, so a changed SECRET_KEY is recognised (opening refuses) instead of decrypting
 * to garbage, and several keys can be supported later.
 * Sealed layout: 12-byte IV ‖ 16-byte tag ‖ ciphertext.
 */
export class SecretBox {
  readonly keyId: string;
  readonly #key: Buffer;

  constructor(serverSecret: string) {
    this.#key = Buffer.from(
      hkdfSync('sha256', Buffer.from(serverSecret, 'utf8'), SEAL_SALT, 'shipbridge secret box v1', 32),
    );
    this.keyId = createHash('sha256').update(this.#key).digest('hex').slice(0, 16);
  }

  seal(plain: Buffer): { sealed: Buffer; keyId: string } {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return { sealed: Buffer.concat([iv, cipher.getAuthTag(), body]), keyId: this.keyId };
  }

  /** The plain bytes; throws when sealed under another key or tampered with. */
  open(sealed: Buffer, keyId: string): Buffer {
    if (keyId !== this.keyId) throw new Error(`sealed with key ${keyId}, not the current key ${this.keyId}`);
    const decipher = createDecipheriv('aes-256-gcm', this.#key, sealed.subarray(0, 12));
    decipher.setAuthTag(sealed.subarray(12, 28));
    return Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]);
  }
}

const SEAL_SALT = Buffer.from('shipbridge/secret-box', 'utf8');
