import { AppError } from '../http/errors.js';

/** Opaque pagination cursors: base64url JSON of the last row's sort key. */
export function encodeCursor(key: unknown): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** Decodes a cursor and checks it with `accept`; a cursor that fails is a 400 naming `cursor`. */
export function decodeCursor<T>(cursor: string | undefined, accept: (v: unknown) => v is T): T | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  if (!accept(value)) {
    throw new AppError('invalid_request', 'invalid cursor', [
      { path: 'query.cursor', message: 'pass back a next_cursor value exactly as it was answered' },
    ]);
  }
  return value;
}

export const isPositiveInt = (v: unknown): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

/**
 * One page of a list, the shape every list returns: the rows, and the sort key of the last row when
 * more rows follow (null on the last page). Routes answer `next` as `next_cursor` (nextCursor).
 */
export interface Page<T, K = number> {
  rows: T[];
  next: K | null;
}

/**
 * The page of `rows` read with `limit + 1`: the extra row only says that more follow. `keyOf` is
 * the sort key a later page continues after (the id, for lists by id).
 */
export function pageOf<T, K = number>(rows: T[], limit: number, keyOf: (row: T) => K): Page<T, K> {
  if (rows.length <= limit) return { rows, next: null };
  const page = rows.slice(0, limit);
  return { rows: page, next: keyOf(page[page.length - 1]!) };
}

/** pageOf for lists ordered by id. */
export const pageById = <T extends { id: number }>(rows: T[], limit: number): Page<T> =>
  pageOf(rows, limit, (r) => r.id);

/** The `next_cursor` of an answer: a page's next key, encoded. */
export const nextCursor = (next: unknown): string | null => (next === null ? null : encodeCursor(next));

/** The id a list by id continues after (`cursor` as a page answered it), or undefined for page one. */
export const afterId = (cursor: string | undefined): number | undefined =>
  decodeCursor(cursor, isPositiveInt);
