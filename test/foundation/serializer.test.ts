import Fastify from 'fastify';
import { validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import t from 'tap';
import { z } from 'zod';
import { responseSerializerCompiler } from '../../src/http/serializer.js';

/** One route answering whatever the test hands it, under a response schema of two fields. */
async function appAnswering(check: boolean, answer: () => unknown) {
  const app = Fastify().withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(responseSerializerCompiler(check));
  app.get(
    '/thing',
    {
      schema: {
        response: { 200: z.object({ id: z.number().int(), at: z.date(), note: z.string().nullable() }) },
      },
    },
    async () => answer() as never,
  );
  await app.ready();
  return app;
}

t.test('without the check an answer is the handler value, stringified', async (t) => {
  const at = new Date('2026-12-04T00:00:00.000Z');
  const app = await appAnswering(false, () => ({ id: 1, at, note: null }));
  t.teardown(() => app.close());
  const r = await app.inject('/thing');
  t.equal(r.statusCode, 200);
  t.equal(r.body, JSON.stringify({ id: 1, at, note: null }));
});

t.test('with the check an answer the schema agrees with is written the same', async (t) => {
  const at = new Date('2026-12-04T00:00:00.000Z');
  const app = await appAnswering(true, () => ({ note: 'x', at, id: 2 }));
  t.teardown(() => app.close());
  const r = await app.inject('/thing');
  t.equal(r.statusCode, 200);
  t.same(JSON.parse(r.body), { id: 2, at: '2026-12-04T00:00:00.000Z', note: 'x' });
});

t.test('with the check an extra, missing or wrongly typed field is a 500 naming the route', async (t) => {
  const at = new Date('2026-12-04T00:00:00.000Z');
  for (const [what, value] of [
    ['an extra field (the schema would drop it)', { id: 3, at, note: null, secret: 'x' }],
    ['a missing field', { id: 3, at }],
    ['a wrong type', { id: '3', at, note: null }],
  ] as const) {
    const app = await appAnswering(true, () => value);
    const r = await app.inject('/thing');
    await app.close();
    t.equal(r.statusCode, 500, what);
    // The schema refuses a missing field or a wrong type itself; a field it would drop is found by the comparison.
    if (what.startsWith('an extra'))
      t.match(r.json().message, /GET \/thing differs from its response schema at '\/secret'/);
    else t.match(r.json().message, /doesn't match the schema|response/i, what);
    t.notMatch(r.body, /"x"|secret":/, `${what}: no value of the refused answer is written`);
  }
});
