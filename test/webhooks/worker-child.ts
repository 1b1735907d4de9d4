/**
 * A separate worker process for the kill -9 test: runs the webhook jobs against WORKER_DB_URL with
 * a short lease, until it is killed.
 */
import { createJobRunner } from '../../src/background.js';
import { createDatabase } from '../../src/db/database.js';
import { SecretHasher } from '../../src/lib/secrets.js';
import { TEST_SECRET_KEY } from '../helpers/app.js';

const database = await createDatabase({ url: process.env.WORKER_DB_URL, poolSize: 2 });
const runner = createJobRunner(
  database.db,
  { webhookAllowPrivate: true },
  new SecretHasher(TEST_SECRET_KEY).box,
  undefined,
  {
    leaseMs: Number(process.env.WORKER_LEASE_MS),
    pollMs: 50,
    owner: 'child',
  },
);
await runner.ensurePeriodic();
runner.start();
process.stdout.write('started\n');
