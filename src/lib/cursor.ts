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
