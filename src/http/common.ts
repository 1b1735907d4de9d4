import { z } from 'zod';
import { CODE_PATTERN } from '../accounts/caller.js';

/** Shared pieces of route schemas. */
export const codeSchema = z.string().regex(CODE_PATTERN, '1–50 characters of letters, digits, - and _');

export const idParam = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);

export const listQuery = z.object({
  cursor: z.string().max(500).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export const merchantParams = z.object({ merchant: codeSchema });

export const timestamp = z.date().meta({ description: 'ISO 8601 instant' });
