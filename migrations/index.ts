import type { Migration } from 'kysely/migration';
import * as initial from './2026-11-22T00-initial.js';
import * as hotPathConstraints from './2026-12-02T00-hot-path-constraints.js';
import * as receivedNoticesIndex from './2026-12-03T03-received-notices-index.js';
import * as boundedPlans from './2026-12-03T04-bounded-plans.js';
import * as accountsAndSummaries from './2026-12-03T05-accounts-and-summaries.js';
import * as jobsWebhooks from './2026-12-03T06-jobs-webhooks.js';
import * as consoleSessions from './2026-12-03T07-console-sessions.js';
import * as rules from './2026-12-03T08-rules.js';
import * as rulesWiring from './2026-12-03T11-rules-wiring.js';
import * as sources from './2026-12-03T12-sources.js';
import * as ruleInvalid from './2026-12-03T20-rule-invalid.js';
import * as sourceGaps from './2026-12-04T01-source-gaps.js';
import * as summaryFacts from './2026-12-04T02-summary-facts.js';

/**
 * Every migration, by name. Names sort in the order they must run (ISO date prefix).
 * Listed explicitly rather than read from the folder, so the same list works under tsx, tap and
 * the compiled `dist/`, and nothing depends on file-system globbing.
 */
export const migrations: Record<string, Migration> = {
  '2026-11-22T00-initial': initial,
  '2026-12-02T00-hot-path-constraints': hotPathConstraints,
  '2026-12-03T03-received-notices-index': receivedNoticesIndex,
  '2026-12-03T04-bounded-plans': boundedPlans,
  '2026-12-03T05-accounts-and-summaries': accountsAndSummaries,
  '2026-12-03T06-jobs-webhooks': jobsWebhooks,
  '2026-12-03T07-console-sessions': consoleSessions,
  '2026-12-03T08-rules': rules,
  '2026-12-03T11-rules-wiring': rulesWiring,
  '2026-12-03T12-sources': sources,
  '2026-12-03T20-rule-invalid': ruleInvalid,
  '2026-12-04T01-source-gaps': sourceGaps,
  '2026-12-04T02-summary-facts': summaryFacts,
};
