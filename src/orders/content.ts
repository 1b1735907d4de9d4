/**
 * Canonical form of a normalised order: the JSON its content hash is computed from. Pure.
 * Keys sorted at every level, so equal orders hash equally whatever order their fields came in.
 */
import { createHash } from 'node:crypto';
import type { NormalizedOrder } from './types.js';

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** sha256 (hex) of the canonical JSON of the normalised order (the requested status is not part of it). */
export function contentHash(order: NormalizedOrder): string {
  return createHash('sha256').update(canonicalJson(order), 'utf8').digest('hex');
}

/** The order without its items: what orders.content holds. */
export function orderContent(order: NormalizedOrder): Omit<NormalizedOrder, 'items'> {
  const { items: _items, ...rest } = order;
  return rest;
}
