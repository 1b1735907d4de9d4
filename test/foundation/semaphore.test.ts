import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { Semaphore } from '../../src/lib/semaphore.js';

t.test('at most limit holders at once, the others in arrival order', async (t) => {
  const s = new Semaphore(2);
  let running = 0;
  let peak = 0;
  const started: number[] = [];
  const jobs = Array.from({ length: 7 }, (_, i) =>
    s.run(async () => {
      started.push(i);
      running++;
      peak = Math.max(peak, running);
      await sleep(5 + (i % 3));
      running--;
      return i * 10;
    }),
  );
  t.equal(s.waiting, 5, 'five wait while two run');
  t.same(await Promise.all(jobs), [0, 10, 20, 30, 40, 50, 60], 'every result comes back to its caller');
  t.equal(peak, 2);
  t.same(started, [0, 1, 2, 3, 4, 5, 6], 'FIFO');
  t.equal(s.waiting, 0);
});

t.test('a failing holder gives its slot back', async (t) => {
  const s = new Semaphore(1);
  await t.rejects(
    s.run(async () => {
      throw new Error('boom');
    }),
    /boom/,
  );
  t.equal(await s.run(async () => 'next'), 'next', 'the next holder runs');
  t.throws(() => new Semaphore(0), RangeError);
});
