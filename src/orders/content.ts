/**
 * Canonical form of a normalised order: the JSON its content hash is computed from. Pure.
 * Keys sorted at every level, so equal orders hash equally whatever order their fields came in.
 */
import { createHash } from 'node:crypto';
import type { NormalizedOrder } from './types.js';

/** JSON.stringify(key) + ':' for the keys seen so far (an order has a few dozen distinct keys). */
const keyPrefixes = new Map<string, string>();
function keyPrefix(k: string): string {
  let p = keyPrefixes.get(k);
  if (p === undefined) {
    p = `${JSON.stringify(k)}:`;
    if (keyPrefixes.size < 10_000) keyPrefixes.set(k, p);
  }
  return p;
}

/** The sorted keys of the last few key lists seen (objects of one shape share them). */
const sortedKeys = new Map<string, string[]>();
function sortKeys(keys: string[]): string[] {
  if (keys.length < 2) return keys;
  const sig = keys.join('\u0000');
  let s = sortedKeys.get(sig);
  if (s === undefined) {
    // The default sort compares UTF-16 code units, exactly as `<` does on strings.
    s = keys.slice().sort();
    if (sortedKeys.size < 1_000) sortedKeys.set(sig, s);
  }
  return s;
}

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      if (i in value) out += canonicalJson(value[i]); // a hole stays empty, as Array#map leaves it
    }
    return `${out}]`;
  }
  const obj = value as Record<string, unknown>;
  const keys = sortKeys(Object.keys(obj));
  let out = '{';
  let first = true;
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined) continue;
    if (first) first = false;
    else out += ',';
    out += keyPrefix(k) + canonicalJson(v);
  }
  return `${out}}`;
}

/**
 * Whether canonicalJson(a) === canonicalJson(b), without building either text: re-evaluation asks
 * it of every order it reads (is the new effective form the stored one?), and building two texts
 * per order was a third of its JavaScript time.
 */
export function sameJson(a: unknown, b: unknown): boolean {
  const objectA = a !== null && typeof a === 'object';
  const objectB = b !== null && typeof b === 'object';
  // An object's text starts with { or [, a primitive's never does.
  if (objectA !== objectB) return false;
  // Primitives (and undefined, NaN…, which canonicalJson writes as null): compare their texts.
  if (!objectA) return a === b || canonicalJson(a) === canonicalJson(b);
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) {
      const hole = !(i in a);
      if (hole !== !(i in b)) return false;
      if (!hole && !sameJson(a[i], b[i])) return false;
    }
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  // Keys whose value is undefined are left out of canonicalJson, so they do not count here either.
  let keys = 0;
  for (const k of Object.keys(x)) {
    if (x[k] === undefined) continue;
    keys++;
    if (!Object.hasOwn(y, k) || !sameJson(x[k], y[k])) return false;
  }
  for (const k of Object.keys(y)) if (y[k] !== undefined) keys--;
  return keys === 0;
}

/** sha256 (hex) of a canonical JSON text. */
export function hashOf(canonical: string): string {
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

/** sha256 (hex) of the canonical JSON of the normalised order (the requested status is not part of it). */
export function contentHash(order: NormalizedOrder): string {
  return hashOf(canonicalJson(order));
}

/** The order without its items: what orders.content holds. */
export function orderContent(order: NormalizedOrder): Omit<NormalizedOrder, 'items'> {
  const { items: _items, ...rest } = order;
  return rest;
}
