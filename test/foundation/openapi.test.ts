import { readFileSync } from 'node:fs';
import t from 'tap';
import { renderOpenApiYaml } from '../../src/openapi.js';

t.test('openapi.yaml is generated from the route schemas and is current', async (t) => {
  const generated = await renderOpenApiYaml();
  const checkedIn = readFileSync('openapi.yaml', 'utf8');
  t.ok(generated === checkedIn, 'openapi.yaml is stale: run `npm run openapi` and commit it');
});

t.test(
  'every response is described and no text points at sections of a document users do not have',
  async (t) => {
    const doc = await renderOpenApiYaml();
    t.notMatch(doc, /Default Response/);
    t.notMatch(doc, /§/);
  },
);
