/**
 * Exact money: decimal strings with at most two decimals, handled as integer cents (bigint) so no
 * binary float ever touches an amount.
 */
const MONEY = /^-?\d{1,10}(\.\d{1,2})?$/;

export function isMoney(value: string): boolean {
  return MONEY.test(value);
}

/** '12.5' → 1250n. Throws on anything that is not a money string. */
export function toCents(value: string): bigint {
  if (!MONEY.test(value)) throw new Error(`not a money amount: ${value}`);
  const negative = value.startsWith('-');
  const [whole, frac = ''] = (negative ? value.slice(1) : value).split('.');
  const cents = BigInt(whole!) * 100n + BigInt((frac + '00').slice(0, 2));
  return negative ? -cents : cents;
}

/** 1250n → '12.50' */
export function fromCents(cents: bigint): string {
  const negative = cents < 0n;
  const abs = negative ? -cents : cents;
  const whole = abs / 100n;
  const frac = (abs % 100n).toString().padStart(2, '0');
  return `${negative ? '-' : ''}${whole}.${frac}`;
}

/** Normalises a money string to two decimals: '5' → '5.00', '-0' → '0.00'. */
export function formatMoney(value: string): string {
  return fromCents(toCents(value));
}

/**
 * Parses money as clients send it: a JSON number or a numeric string with at most two decimals.
 * Returns the two-decimal string, or undefined when the value is not acceptable.
 */
export function parseMoneyInput(value: unknown): string | undefined {
  let s: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return undefined;
    s = String(value);
    if (/e/i.test(s)) return undefined;
  } else if (typeof value === 'string') {
    s = value.trim();
    if (s.startsWith('+')) s = s.slice(1);
  } else {
    return undefined;
  }
  if (!MONEY.test(s)) return undefined;
  return formatMoney(s);
}
