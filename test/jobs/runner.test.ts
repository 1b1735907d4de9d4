import t from 'tap';
import { claim, enqueue, settle } from '../../src/jobs/queue.js';
import { JobRunner } from '../../src/jobs/runner.js';
import { retrySettlement } from '../../src/jobs/schedule.js';
import { createTestDb } from '../helpers/db.js';

const S = 1000;

/** A clock the test moves by hand. */
function manualClock(start = Date.parse('2026-12-03T10:00:00Z')) {
  let now = start;
  return {
    now: () => new Date(now),
    advance(ms: number) {
      now += ms;
    },
  };
}

const jobRow = (db: Awaited<ReturnType<typeof createTestDb>>, id: number) =>
  db.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

t.test('retrySettlement: the schedule, then failed once every attempt is spent', async (t) => {
  const now = new Date(0);
  const delays = [5, 50, 500];
  t.same(retrySettlement({ attempts: 1, max_attempts: 4 }, delays, now, 'x'), {
    kind: 'again',
    at: new Date(5),
    error: 'x',
  });
  t.same(retrySettlement({ attempts: 3, max_attempts: 4 }, delays, now, 'x'), {
    kind: 'again',
    at: new Date(500),
    error: 'x',
  });
  t.same(retrySettlement({ attempts: 4, max_attempts: 4 }, delays, now, 'x'), { kind: 'failed', error: 'x' });
  // A later "not before" (Retry-After) wins over the schedule; an earlier one does not.
  t.same(retrySettlement({ attempts: 1, max_attempts: 4 }, delays, now, 'x', new Date(60)), {
    kind: 'again',
    at: new Date(60),
    error: 'x',
  });
  t.same(retrySettlement({ attempts: 2, max_attempts: 4 }, delays, now, 'x', new Date(10)), {
    kind: 'again',
    at: new Date(50),
    error: 'x',
  });
});

t.test('a job runs once, and a failing one is retried on its schedule, then failed', async (t) => {
  const db = await createTestDb(t);
  const clock = manualClock();
  const runs: { id: number; at: number }[] = [];
  const runner = new JobRunner(db.db, { clock: clock.now });
  runner.register({
    kind: 'ok',
    retryDelaysMs: [S],
    run: async (job) => void runs.push({ id: job.id, at: 0 }),
  });
  runner.register({
    kind: 'flaky',
    retryDelaysMs: [5 * S, 60 * S],
    run: async () => {
      runs.push({ id: -1, at: clock.now().getTime() });
      throw new Error('receiver down');
    },
  });
  const ok = await runner.enqueue(db.db, 'ok', { n: 1 });
  const flaky = await runner.enqueue(db.db, 'flaky', {});
  t.equal(await runner.runDue(), 2);
  t.equal((await jobRow(db, ok)).status, 'succeeded');
  let row = await jobRow(db, flaky);
  t.equal(row.status, 'pending');
  t.equal(row.attempts, 1);
  t.equal(row.last_error, 'receiver down');
  t.equal(row.run_at.getTime(), clock.now().getTime() + 5 * S, 'next attempt after the first delay');

  clock.advance(4 * S);
  t.equal(await runner.runDue(), 0, 'not due before its time');
  clock.advance(S);
  t.equal(await runner.runDue(), 1);
  row = await jobRow(db, flaky);
  t.equal(row.attempts, 2);
  t.equal(row.run_at.getTime(), clock.now().getTime() + 60 * S, 'then after the second delay');
  clock.advance(60 * S);
  t.equal(await runner.runDue(), 1);
  row = await jobRow(db, flaky);
  t.equal(row.status, 'failed', 'failed once its 3 attempts are spent');
  t.equal(row.attempts, 3);
  clock.advance(3600 * S);
  t.equal(await runner.runDue(), 0, 'a failed job is not run again');
  t.equal(runs.filter((r) => r.id === -1).length, 3);
});

t.test('a periodic job has one row and runs again after its interval', async (t) => {
  const db = await createTestDb(t);
  const clock = manualClock();
  let runs = 0;
  const runner = new JobRunner(db.db, { clock: clock.now });
  runner.register({ kind: 'tick', retryDelaysMs: [], everyMs: 10 * S, run: async () => void runs++ });
  await runner.ensurePeriodic();
  await runner.ensurePeriodic();
  t.equal(await runner.runDue(), 1);
  t.equal(await runner.runDue(), 0);
  clock.advance(10 * S);
  t.equal(await runner.runDue(), 1);
  t.equal(runs, 2);
  const rows = await db.db.selectFrom('jobs').selectAll().where('kind', '=', 'tick').execute();
  t.equal(rows.length, 1, 'one row however often it is ensured');
  t.equal(rows[0]!.status, 'pending');
});

t.test(
  "a dead instance's job is taken over once its lease ends; its late settlement is refused",
  async (t) => {
    const db = await createTestDb(t);
    const clock = manualClock();
    const id = (await enqueue(db.db, 'work', {}, { runAt: clock.now(), maxAttempts: 3 }))!;
    // Instance A claims the job and then "dies" (never settles).
    const [a] = await claim(db.db, 'A', ['work'], 10, clock.now(), 30 * S);
    t.equal(a?.id, id);
    t.same(await claim(db.db, 'B', ['work'], 10, clock.now(), 30 * S), [], 'not claimable while leased');
    clock.advance(29 * S);
    t.same(await claim(db.db, 'B', ['work'], 10, clock.now(), 30 * S), [], 'nor just before the lease ends');
    clock.advance(S);
    let ran = 0;
    const runnerB = new JobRunner(db.db, { clock: clock.now, owner: 'B', leaseMs: 30 * S });
    runnerB.register({ kind: 'work', retryDelaysMs: [S, S], run: async () => void ran++ });
    t.equal(await runnerB.runDue(), 1, 'B takes it over');
    t.equal(ran, 1);
    const row = await jobRow(db, id);
    t.equal(row.status, 'succeeded');
    t.equal(row.attempts, 2, "A's attempt counts");
    await t.rejects(settle(db.db, a!, { kind: 'failed', error: 'late' }, clock.now()), { name: 'LeaseLost' });
    t.equal((await jobRow(db, id)).status, 'succeeded', "A's late settlement changed nothing");
  },
);

t.test('work and settlement commit together; a lost lease rolls the work back', async (t) => {
  const db = await createTestDb(t);
  const clock = manualClock();
  const id = (await enqueue(db.db, 'w', {}, { runAt: clock.now(), maxAttempts: 2 }))!;
  const [a] = await claim(db.db, 'A', ['w'], 1, clock.now(), 10 * S);
  clock.advance(10 * S);
  const [b] = await claim(db.db, 'B', ['w'], 1, clock.now(), 10 * S);
  t.equal(b?.id, id);
  await t.rejects(
    db.db.transaction().execute(async (trx) => {
      await trx.insertInto('server_settings').values({ key: 'work-of-A', value: 'x' }).execute();
      await settle(trx, a!, { kind: 'succeeded' }, clock.now());
    }),
    { name: 'LeaseLost' },
  );
  const left = await db.db
    .selectFrom('server_settings')
    .select('key')
    .where('key', '=', 'work-of-A')
    .execute();
  t.same(left, [], "A's work was rolled back with its refused settlement");
});
