import { z } from 'zod';

/**
 * The service's whole configuration, read once from the environment at start-up.
 * A bad value stops start-up with one line naming the variable and what is expected.
 */
const emptyToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

/** An integer in [min, max], with one message for every way of missing it. */
const intIn = (min: number, max: number) => {
  const message = `an integer from ${min} to ${max}`;
  return z.coerce.number({ error: message }).int(message).min(min, message).max(max, message);
};

/** ShipStation's API (v1) production address. */
export const DEFAULT_SHIPSTATION_API_URL = 'https://ssapi.shipstation.com';

const envSchema = z.object({
  PORT: z.preprocess(emptyToUndefined, intIn(0, 65535).default(3000)),
  HOST: z.preprocess(emptyToUndefined, z.string().default('0.0.0.0')),
  DATABASE_URL: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'a postgres:// or postgresql:// URL')
      .optional(),
  ),
  DATA_DIR: z.preprocess(emptyToUndefined, z.string().default('./data')),
  PGLITE_IN_MEMORY: z.preprocess(
    emptyToUndefined,
    z.enum(['true', 'false', '1', '0'], 'true or false').default('false'),
  ),
  PUBLIC_URL: z.preprocess(emptyToUndefined, z.url('an absolute http(s) URL').optional()),
  ADMIN_TOKEN: z.preprocess(emptyToUndefined, z.string().min(16, 'at least 16 characters').optional()),
  METRICS_TOKEN: z.preprocess(emptyToUndefined, z.string().min(16, 'at least 16 characters').optional()),
  SECRET_KEY: z.preprocess(emptyToUndefined, z.string().min(32, 'at least 32 characters').optional()),
  LOG_LEVEL: z.preprocess(
    emptyToUndefined,
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ),
  TRUST_PROXY: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(
        /^(true|false|\d+|[0-9a-fA-F:.,/\s]+)$/,
        'true, false, a number of proxy hops, or comma-separated proxy addresses/CIDRs',
      )
      .default('false'),
  ),
  DB_POOL_SIZE: z.preprocess(emptyToUndefined, intIn(1, 200).default(10)),
  DB_PREPARED_STATEMENTS: z.preprocess(
    emptyToUndefined,
    z.enum(['true', 'false', '1', '0'], 'true or false').default('true'),
  ),
  SHUTDOWN_GRACE_MS: z.preprocess(emptyToUndefined, intIn(0, 600000).default(10000)),
  REQUEST_TIMEOUT_MS: z.preprocess(emptyToUndefined, intIn(100, 3600000).default(30000)),
  HEADERS_TIMEOUT_MS: z.preprocess(emptyToUndefined, intIn(100, 3600000).default(10000)),
  CONNECTION_TIMEOUT_MS: z.preprocess(emptyToUndefined, intIn(0, 3600000).default(120000)),
  EXPORT_SNAPSHOT_TTL_MINUTES: z.preprocess(emptyToUndefined, intIn(1, 1440).default(30)),
  AUTH_FAILURE_LIMIT: z.preprocess(emptyToUndefined, intIn(1, 100000).default(10)),
  AUTH_FAILURE_WINDOW_SECONDS: z.preprocess(emptyToUndefined, intIn(1, 86400).default(300)),
  WEBHOOK_ALLOW_PRIVATE: z.preprocess(
    emptyToUndefined,
    z.enum(['true', 'false', '1', '0'], 'true or false').default('false'),
  ),
  SHIPSTATION_API_URL: z.preprocess(
    emptyToUndefined,
    z.url('an absolute http(s) URL').default(DEFAULT_SHIPSTATION_API_URL),
  ),
  JOBS_ENABLED: z.preprocess(
    emptyToUndefined,
    z.enum(['true', 'false', '1', '0'], 'true or false').default('true'),
  ),
  CHECK_RESPONSES: z.preprocess(
    emptyToUndefined,
    z.enum(['true', 'false', '1', '0'], 'true or false').default('false'),
  ),
});

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  readonly pgliteInMemory: boolean;
  readonly publicUrl: string | undefined;
  readonly adminToken: string | undefined;
  readonly secretKey: string | undefined;
  /** Bearer token of GET /metrics; the route is off when unset. */
  readonly metricsToken: string | undefined;
  readonly logLevel: string;
  /** Fastify's trustProxy: whom to believe about X-Forwarded-For/-Proto/-Host. */
  readonly trustProxy: boolean | string[] | ((address: string, hop: number) => boolean);
  readonly dbPoolSize: number;
  /**
   * Named (server-side prepared) statements on PostgreSQL connections. Off for a pooler that cannot
   * keep them per client (PgBouncer in transaction mode before 1.21).
   */
  readonly dbPreparedStatements: boolean;
  readonly shutdownGraceMs: number;
  /** Time to receive a whole request, head and body (408 after). */
  readonly requestTimeoutMs: number;
  /** Time to receive a request's head (408 after); never more than requestTimeoutMs. */
  readonly headersTimeoutMs: number;
  /** A connection with no traffic either way for this long is closed; 0 = never. */
  readonly connectionTimeoutMs: number;
  readonly exportSnapshotTtlMinutes: number;
  readonly authFailureLimit: number;
  readonly authFailureWindowSeconds: number;
  /** Webhook URLs may use http and reach loopback/private addresses (tests, private networks). */
  readonly webhookAllowPrivate: boolean;
  /** ShipStation's API (v1) that source connections pull from; a simulator in tests. */
  readonly shipstationApiUrl: string;
  /**
   * Whether this instance runs background jobs (webhook deliveries, source pulls, re-evaluations,
   * periodic checks). false: it only answers requests, and other instances on the same PostgreSQL
   * take the jobs it enqueues. Needs DATABASE_URL: the embedded database has one process.
   */
  readonly jobsEnabled: boolean;
  /**
   * Whether every JSON answer is also encoded with its route's response schema and compared with
   * what is written (a mismatch is a 500). For tests and development: it costs CPU on every answer.
   */
  readonly checkResponses: boolean;
}

export class ConfigError extends Error {}

/** Trust the nearest `n` proxies. */
const hops = (n: number) => (_address: string, hop: number) => hop < n;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? 'environment');
    const got = env[name];
    throw new ConfigError(
      `invalid configuration: ${name} must be ${issue.message.replace(/^Invalid input: /, '')}` +
        (got === undefined
          ? ''
          : ` (got ${JSON.stringify(name === 'ADMIN_TOKEN' || name === 'SECRET_KEY' || name === 'METRICS_TOKEN' ? '<redacted>' : got)})`),
    );
  }
  const e = parsed.data;
  const jobsEnabled = e.JOBS_ENABLED === 'true' || e.JOBS_ENABLED === '1';
  if (!jobsEnabled && e.DATABASE_URL === undefined)
    throw new ConfigError(
      'invalid configuration: JOBS_ENABLED=false needs DATABASE_URL (the embedded database is used by ' +
        'one process, so no other instance could run the jobs this one leaves)',
    );
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR,
    pgliteInMemory: e.PGLITE_IN_MEMORY === 'true' || e.PGLITE_IN_MEMORY === '1',
    publicUrl: e.PUBLIC_URL?.replace(/\/+$/, ''),
    adminToken: e.ADMIN_TOKEN,
    secretKey: e.SECRET_KEY,
    metricsToken: e.METRICS_TOKEN,
    logLevel: e.LOG_LEVEL,
    trustProxy:
      e.TRUST_PROXY === 'true'
        ? true
        : e.TRUST_PROXY === 'false'
          ? false
          : /^\d+$/.test(e.TRUST_PROXY)
            ? hops(Number(e.TRUST_PROXY))
            : e.TRUST_PROXY.split(',')
                .map((a) => a.trim())
                .filter((a) => a !== ''),
    dbPoolSize: e.DB_POOL_SIZE,
    dbPreparedStatements: e.DB_PREPARED_STATEMENTS === 'true' || e.DB_PREPARED_STATEMENTS === '1',
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
    // Node refuses a head timeout above the request timeout; the smaller bound is what applies anyway.
    headersTimeoutMs: Math.min(e.HEADERS_TIMEOUT_MS, e.REQUEST_TIMEOUT_MS),
    connectionTimeoutMs: e.CONNECTION_TIMEOUT_MS,
    exportSnapshotTtlMinutes: e.EXPORT_SNAPSHOT_TTL_MINUTES,
    authFailureLimit: e.AUTH_FAILURE_LIMIT,
    authFailureWindowSeconds: e.AUTH_FAILURE_WINDOW_SECONDS,
    webhookAllowPrivate: e.WEBHOOK_ALLOW_PRIVATE === 'true' || e.WEBHOOK_ALLOW_PRIVATE === '1',
    shipstationApiUrl: e.SHIPSTATION_API_URL.replace(/\/+$/, ''),
    jobsEnabled,
    checkResponses: e.CHECK_RESPONSES === 'true' || e.CHECK_RESPONSES === '1',
  });
}
