/**
 * Address normalisation on top of the base normalisation of orders/schema.ts (pure). Its result
 * goes to the effective order only: the order as sent (what idempotency compares) is untouched.
 *
 * - whitespace tidied: trimmed, every run of white space (tabs, line breaks, no-break spaces)
 *   becomes one space, and a field left empty becomes null;
 * - ATTN lines: a street line that begins with ATTN, ATTN:, Attn, Attention: or c/o (any case)
 *   moves, without its marker, to `name` when that is empty, else to `company` when that is empty,
 *   else it stays where it is (so does a name longer than the 100 characters name and company hold);
 * - the street lines that remain close up (street1, street2, street3 without gaps).
 *
 * Normalising twice changes nothing more (tested): a line that stayed did so because name and
 * company were both filled, and they still are.
 */
import type { Address } from '../orders/types.js';

/** Trim and fold every run of white space to one space; empty → null. */
export function tidy(value: string | null): string | null {
  if (value === null) return null;
  // \s is the set String.prototype.trim() removes (no-break and other Unicode spaces included).
  const out = value.replace(/\s+/g, ' ').trim();
  return out === '' ? null : out;
}

const MARKERS = ['attention:', 'attn:', 'attn', 'c/o'] as const;

/**
 * The person an ATTN line names (the line without its marker), or null when the line is not one.
 * The marker must be a word of its own: "Attnborough Road" is a street, "ATTN. Jo" and "c/o Jo" are not.
 */
export function attnName(line: string): string | null {
  const lower = line.toLowerCase();
  for (const m of MARKERS) {
    if (!lower.startsWith(m)) continue;
    const rest = line.slice(m.length);
    const next = rest.charAt(0);
    if (next !== '' && next.trim() !== '' && next !== ':' && next !== '.' && !m.endsWith(':')) continue;
    let i = 0;
    while (i < rest.length && (rest[i] === ':' || rest[i] === '.' || rest[i]!.trim() === '')) i++;
    const name = rest.slice(i);
    return name === '' ? null : name;
  }
  return null;
}

const STREETS = ['street1', 'street2', 'street3'] as const;

export function normaliseAddress(a: Readonly<Address>): Address {
  const out: Address = { ...a };
  for (const k of Object.keys(out) as (keyof Address)[]) out[k] = tidy(out[k]);
  const kept: string[] = [];
  for (const k of STREETS) {
    const line = out[k];
    if (line === null) continue;
    const found = attnName(line);
    // name and company hold 100 characters in ShipStation: a longer line stays a street line.
    const who = found !== null && [...found].length <= 100 ? found : null;
    if (who !== null && out.name === null) out.name = who;
    else if (who !== null && out.company === null) out.company = who;
    else kept.push(line);
  }
  STREETS.forEach((k, i) => {
    out[k] = kept[i] ?? null;
  });
  return out;
}
