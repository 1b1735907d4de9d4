import type { Migration } from 'kysely/migration';
import * as initial from './2026-11-22T00-initial.js';
import * as hotPathConstraints from './2026-12-02T00-hot-path-constraints.js';
import * as rules from './2026-12-03T08-rules.js';

/**
 * Every migration, by name. Names sort in the order they must run (ISO date prefix).
 * Listed explicitly rather than read from the folder, so the same list works under tsx, tap and
 * the compiled `dist/`, and nothing depends on file-system globbing.
 */
export const migrations: Record<string, Migration> = {
  '2026-11-22T00-initial': initial,
  '2026-12-02T00-hot-path-constraints': hotPathConstraints,
  '2026-12-03T08-rules': rules,
};
