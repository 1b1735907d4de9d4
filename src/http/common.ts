import { z } from 'zod';
import { CODE_PATTERN } from '../accounts/caller.js';

/** Shared pieces of route schemas. */
export const codeSchema = z.string().regex(CODE_PATTERN, '1–50 characters of letters, digits, - and _');

const ID_MESSAGE = `must be an id: decimal digits, from 1 to ${Number.MAX_SAFE_INTEGER}`;

/**
 * An id in a path or a query: plain decimal digits within PostgreSQL's bigint (not 0x1, 1e3, " 1" or
 * 1.0, which Number() would take). In a path, anything else names nothing: 404 like an unknown id.
 */
export const idParam = z
  .string()
  .regex(/^[0-9]{1,19}$/, ID_MESSAGE)
  .transform(Number)
  .refine((n) => n >= 1 && n <= Number.MAX_SAFE_INTEGER, ID_MESSAGE)
  .meta({ description: 'an id (decimal digits)' });

/** An id in a JSON body: an integer, or the same digits as in a path. */
export const idValue = z.union([z.int().min(1).max(Number.MAX_SAFE_INTEGER), idParam], ID_MESSAGE);

export const listQuery = z.object({
  cursor: z.string().max(500).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export const merchantParams = z.object({ merchant: codeSchema });

export const timestamp = z.date().meta({ description: 'ISO 8601 instant' });
