import type { Kysely } from 'kysely';
import type { AccountsRepository } from './accounts/repository.js';
import type { Config } from './config.js';
import type { Engine } from './db/database.js';
import type { DB } from './db/schema.js';
import type { SecretHasher } from './lib/secrets.js';
import type { Metrics } from './metrics/metrics.js';

/** What every capability's routes are built from. Plain data: no globals. */
export interface AppContext {
  readonly config: Config;
  readonly db: Kysely<DB>;
  readonly engine: Engine;
  readonly hasher: SecretHasher;
  readonly accounts: AccountsRepository;
  /** Prometheus series; counters are cheap increments, safe on hot paths. */
  readonly metrics: Metrics;
}
