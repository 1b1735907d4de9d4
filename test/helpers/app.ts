import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/lib/logger.js';
import { SecretHasher } from '../../src/lib/secrets.js';
import type { Metrics } from '../../src/metrics/metrics.js';
import { createTestDb, type TestDb } from './db.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';
/** The server secret test apps run with (API key hashes, sealed webhook secrets). */
export const TEST_SECRET_KEY = 'test-secret-key-0123456789abcdef0123456789';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface TestApp {
  app: FastifyInstance;
  db: TestDb;
  /** Every log line the app wrote, parsed. */
  logs: Record<string, unknown>[];
  /** The raw log output, for "this secret never appears" checks. */
  rawLogs: () => string;
  admin: { authorization: string };
}

/** The whole app on an isolated test database, with logs captured in memory. */
export async function buildTestApp(
  t: Teardown,
  env: Record<string, string | undefined> = {},
  /** db: share another app's database; metrics: share a registry with a jobs runner (as server.ts does). */
  opts: { db?: TestDb; metrics?: Metrics } = {},
): Promise<TestApp> {
  const db = opts.db ?? (await createTestDb(t));
  const config = loadConfig({
    ADMIN_TOKEN,
    PUBLIC_URL: 'https://shipbridge.example.com',
    LOG_LEVEL: 'info',
    // Tests play a load balancer: X-Forwarded-For gives the client address.
    TRUST_PROXY: 'true',
    // Every answer of every test is held to its route's response schema (src/http/serializer.ts).
    CHECK_RESPONSES: 'true',
    ...env,
  });
  let raw = '';
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      const text = chunk.toString();
      raw += text;
      for (const line of text.split('\n')) if (line.trim()) logs.push(JSON.parse(line));
      cb();
    },
  });
  const app = await buildApp({
    config,
    database: db,
    hasher: new SecretHasher(TEST_SECRET_KEY),
    logger: createLogger(config.logLevel, sink),
    schema: db.schema,
    metrics: opts.metrics,
  });
  t.teardown(() => app.close());
  await app.ready();
  return { app, db, logs, rawLogs: () => raw, admin: { authorization: `Bearer ${ADMIN_TOKEN}` } };
}

export function basic(user: string, pass: string): { authorization: string } {
  return { authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` };
}

/** Creates a warehouse and a merchant under it, and a standalone merchant; returns their credentials. */
export async function seedAccounts(app: FastifyInstance, prefix = 'acme') {
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const wh = await app.inject({
    method: 'POST',
    url: '/v1/warehouses',
    headers: admin,
    payload: { code: `${prefix}-3pl`, name: 'Acme 3PL' },
  });
  if (wh.statusCode !== 201) throw new Error(`warehouse: ${wh.statusCode} ${wh.body}`);
  const whCred = wh.json().credential as { api_user: string; api_key: string };
  const m1 = await app.inject({
    method: 'POST',
    url: '/v1/merchants',
    headers: basic(whCred.api_user, whCred.api_key),
    payload: { code: `${prefix}-m1`, name: 'Merchant One' },
  });
  if (m1.statusCode !== 201) throw new Error(`merchant: ${m1.statusCode} ${m1.body}`);
  const m2 = await app.inject({
    method: 'POST',
    url: '/v1/merchants',
    headers: admin,
    payload: { code: `${prefix}-solo`, name: 'Solo Merchant' },
  });
  if (m2.statusCode !== 201) throw new Error(`merchant: ${m2.statusCode} ${m2.body}`);
  const c1 = m1.json().credential as { api_user: string; api_key: string };
  const c2 = m2.json().credential as { api_user: string; api_key: string };
  return {
    warehouse: { code: `${prefix}-3pl`, auth: basic(whCred.api_user, whCred.api_key), credential: whCred },
    merchant: { code: `${prefix}-m1`, auth: basic(c1.api_user, c1.api_key), credential: c1 },
    solo: { code: `${prefix}-solo`, auth: basic(c2.api_user, c2.api_key), credential: c2 },
  };
}
