import t from 'tap';
import { JobRunner } from '../../src/jobs/runner.js';
import { ADMIN_TOKEN, buildTestApp } from '../helpers/app.js';
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

t.test('stop: a job in flight finishes within the grace period; one that overruns is released', async (t) => {
  const db = await createTestDb(t);
  const runner = new JobRunner(db.db, { pollMs: 20 });
  let finished = 0;
  let started!: () => void;
  const startedP = new Promise<void>((r) => {
    started = r;
  });
  runner.register({
    kind: 'short',
    retryDelaysMs: [S],
    run: async () => {
      started();
      await new Promise((r) => setTimeout(r, 100));
      finished++;
    },
  });
  const id = await runner.enqueue(db.db, 'short', {});
  runner.start();
  await startedP;
  await runner.stop(5000);
  t.equal(finished, 1, 'the job in flight was finished');
  t.equal((await jobRow(db, id)).status, 'succeeded');

  const runner2 = new JobRunner(db.db, { pollMs: 20 });
  let started2!: () => void;
  const startedP2 = new Promise<void>((r) => {
    started2 = r;
  });
  let sawAbort = false;
  runner2.register({
    kind: 'long',
    retryDelaysMs: [S],
    run: async (_job, ctx) => {
      started2();
      await new Promise<void>((_resolve, reject) => {
        ctx.signal.addEventListener('abort', () => {
          sawAbort = true;
          reject(ctx.signal.reason);
        });
      });
    },
  });
  const id2 = await runner2.enqueue(db.db, 'long', {});
  runner2.start();
  await startedP2;
  await runner2.stop(50);
  t.ok(sawAbort, 'the overrunning job was aborted');
  const row = await jobRow(db, id2);
  t.equal(row.status, 'pending', 'and given back');
  t.equal(row.attempts, 0, 'its attempt not counted');
  t.equal(row.lease, null);
});

t.test('two runners on the same jobs never run one job at the same time, and run each once', async (t) => {
  const db = await createTestDb(t, { poolSize: 6 });
  const running = new Set<number>();
  const ran = new Map<number, number>();
  let overlaps = 0;
  const handler = {
    kind: 'n',
    retryDelaysMs: [S],
    run: async (job: { id: number }) => {
      if (running.has(job.id)) overlaps++;
      running.add(job.id);
      ran.set(job.id, (ran.get(job.id) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 2));
      running.delete(job.id);
    },
  };
  const a = new JobRunner(db.db, { owner: 'A', concurrency: 4, pollMs: 10 }).register(handler);
  const b = new JobRunner(db.db, { owner: 'B', concurrency: 4, pollMs: 10 }).register(handler);
  const ids: number[] = [];
  for (let i = 0; i < 60; i++) ids.push(await a.enqueue(db.db, 'n', { i }));
  await Promise.all([a.runDue(), b.runDue(), a.runDue(), b.runDue()]);
  t.equal(overlaps, 0);
  t.same(
    ids.filter((id) => ran.get(id) !== 1),
    [],
    'every job ran exactly once',
  );
  const owners = await db.db
    .selectFrom('jobs')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('status', '=', 'succeeded')
    .executeTakeFirstOrThrow();
  t.equal(Number(owners.n), 60);
});

t.test('GET /v1/jobs: summary and list, admin only', async (t) => {
  const { app, db } = await buildTestApp(t);
  const clock = manualClock(Date.now());
  const runner = new JobRunner(db.db, { clock: clock.now });
  runner.register({
    kind: 'bad',
    retryDelaysMs: [60 * S],
    run: async () => {
      throw new Error('nope');
    },
  });
  await runner.enqueue(db.db, 'bad', { x: 1 });
  await runner.runDue();
  const r = await app.inject({
    method: 'GET',
    url: '/v1/jobs?failing=true',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  t.equal(r.statusCode, 200, r.body);
  const body = r.json();
  t.equal(body.jobs.length, 1);
  t.equal(body.jobs[0].last_error, 'nope');
  t.equal(body.jobs[0].status, 'pending');
  const s = body.summary.find((x: { kind: string }) => x.kind === 'bad');
  t.equal(s.count, 1);
  t.equal(new Date(s.next_run_at).getTime(), clock.now().getTime() + 60 * S);
  const anon = await app.inject({ method: 'GET', url: '/v1/jobs' });
  t.equal(anon.statusCode, 401);
});
