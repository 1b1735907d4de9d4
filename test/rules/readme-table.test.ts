import { readFileSync } from 'node:fs';
import t from 'tap';
import { withTable } from '../../scripts/rules-table.js';
import { CONDITION_FIELDS } from '../../src/rules/model.js';

t.test("README's condition table is the one model.ts validates with", async (t) => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  t.equal(readme, withTable(readme), 'README table is stale: run npx tsx scripts/rules-table.ts');
  for (const f of CONDITION_FIELDS) t.ok(readme.includes(`| \`${f}\` |`), `${f} is in the table`);
});
