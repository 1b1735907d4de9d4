import type { FastifyInstance } from 'fastify';
import { JobRunner } from '../../src/jobs/runner.js';
import { type SourceJobDeps, sourceJobHandlers } from '../../src/sources/jobs.js';
import { buildTestApp, seedAccounts, TEST_SECRET_KEY, type TestApp } from '../helpers/app.js';
import { type ShipStationSim, type SimOptions, startSim } from '../helpers/shipstation-api-sim.js';
import { SecretHasher } from '../../src/lib/secrets.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

let seq = 0;

export interface SourceTest extends TestApp {
  sim: ShipStationSim;
  acc: Awaited<ReturnType<typeof seedAccounts>>;
  /** A runner of the source jobs only, on the real clock. */
  runner: (over?: Partial<SourceJobDeps>) => JobRunner;
  /** Creates a source of the merchant on the simulator's keys; answers the created source. */
  createSource: (
    body?: Record<string, unknown>,
  ) => Promise<{ id: number; name: string } & Record<string, unknown>>;
  /** Makes the source's pull due and runs every due job once over (pulls and tracking back). */
  pull: (sourceId: number, runner?: JobRunner) => Promise<void>;
  merchantId: number;
}

export async function sourceTest(t: Teardown, simOpts: SimOptions = {}): Promise<SourceTest> {
  const sim = await startSim(t, simOpts);
  const ta = await buildTestApp(t, { SECRET_KEY: TEST_SECRET_KEY, SHIPSTATION_API_URL: sim.url });
  const acc = await seedAccounts(ta.app, `so${process.pid % 10000}x${++seq}`);
  const box = new SecretHasher(TEST_SECRET_KEY).box;
  const m = await ta.db.db
    .selectFrom('merchants')
    .select('id')
    .where('code', '=', acc.merchant.code)
    .executeTakeFirstOrThrow();
  const runner = (over: Partial<SourceJobDeps> = {}) => {
    const r = new JobRunner(ta.db.db, { concurrency: 4, pollMs: 50 });
    for (const h of sourceJobHandlers({ db: ta.db.db, box, apiUrl: sim.url, ...over })) r.register(h);
    return r;
  };
  const shared = runner();
  return {
    ...ta,
    sim,
    acc,
    merchantId: m.id,
    runner,
    createSource: async (body = {}) => {
      const r = await ta.app.inject({
        method: 'POST',
        url: `/v1/merchants/${acc.merchant.code}/sources`,
        headers: acc.merchant.auth,
        payload: {
          type: 'shipstation',
          name: `ss-${++seq}`,
          api_key: sim.apiKey,
          api_secret: sim.apiSecret,
          ...body,
        },
      });
      if (r.statusCode !== 201) throw new Error(`source: ${r.statusCode} ${r.body}`);
      return r.json().source;
    },
    pull: async (sourceId, r = shared) => {
      await requestPull(ta.app, acc.merchant, sourceId);
      await r.runDue();
    },
  };
}

export async function requestPull(
  app: FastifyInstance,
  who: { code: string; auth: { authorization: string } },
  sourceId: number,
): Promise<void> {
  const r = await app.inject({
    method: 'POST',
    url: `/v1/merchants/${who.code}/sources/${sourceId}/pull`,
    headers: who.auth,
  });
  if (r.statusCode !== 202) throw new Error(`pull: ${r.statusCode} ${r.body}`);
}
