// `npm run openapi` writes openapi.yaml from the route schemas; `npm run openapi:check` fails when
// the checked-in file is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { renderOpenApiYaml } from '../src/openapi.js';

const mode = process.argv[2] ?? 'write';
const yaml = await renderOpenApiYaml();
if (mode === 'check') {
  let current = '';
  try {
    current = readFileSync('openapi.yaml', 'utf8');
  } catch {}
  if (current !== yaml) {
    process.stderr.write('openapi.yaml is stale: run `npm run openapi` and commit the result\n');
    process.exit(1);
  }
  process.stdout.write('openapi.yaml is current\n');
} else {
  writeFileSync('openapi.yaml', yaml);
  process.stdout.write('wrote openapi.yaml\n');
}
