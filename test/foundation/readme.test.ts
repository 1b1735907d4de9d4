import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { embeddedOnlySkip, freePort, startServer, waitReady } from '../helpers/server-process.js';

/**
 * The README's shell examples, run as a user pastes them (bash, curl, node), against a real server
 * process: bootstrap, an order, a store, the ShipStation export and notice, pickup and the unmatched
 * queue. Only `npm start &` is left out (the test starts the server itself, on a free port and a
 * temporary DATA_DIR) and the port is the test's. The server runs on the embedded database whatever
 * DATABASE_URL says, so the test runs in the pass without it.
 */
const run = promisify(execFile);

function readmeScript(port: number): string {
  const readme = readFileSync(path.resolve('README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const wanted = [
    'ADMIN_TOKEN=change-me',
    '"order_number": "1001"',
    'Bobs Bikes – all orders',
    'action=export',
    'shipments/confirm',
  ];
  const picked = wanted.map((w) => {
    const b = blocks.find((x) => x.includes(w));
    if (!b) throw new Error(`README: no sh block with ${w}`);
    return b;
  });
  return ['set -euo pipefail', ...picked]
    .join('\n')
    .replace(/^npm start &$/m, '')
    .replaceAll('localhost:3000', `localhost:${port}`);
}

t.test('the README examples run as written', { skip: embeddedOnlySkip }, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'shipbridge-readme-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const server = startServer({
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: dir,
    ADMIN_TOKEN: 'change-me-to-a-long-random-token',
    LOG_LEVEL: 'warn',
  });
  t.teardown(() => server.child.kill('SIGKILL'));
  await waitReady(port, 180_000);
  const { stdout } = await run('bash', ['-c', readmeScript(port)], {
    env: { PATH: process.env.PATH ?? '' },
    maxBuffer: 10 * 1024 * 1024,
  });
  t.match(stdout, /"credential":\{"api_user":"wh_/, 'warehouse and its credential');
  t.match(stdout, /"order_number":"1001"[\s\S]*"order_total":"44\.80"/, 'the order, total computed');
  t.match(stdout, /"shipstation":\{"url":/, 'the store and its Custom Store values');
  t.match(
    stdout,
    /<Orders pages="1"><Order><OrderID><!\[CDATA\[\d+\]\]><\/OrderID><OrderNumber><!\[CDATA\[1001\]\]>/,
  );
  t.match(
    stdout,
    /<Ok><Message>shipment \d+ recorded for order 1001; order at_wms → shipped<\/Message><\/Ok>/,
  );
  t.match(stdout, /\{"confirmed":1\}/);
  t.match(stdout, /<Error><Code>not_found<\/Code>/, 'the unknown order number is unmatched');
  t.match(stdout, /"kind":"unmatched_notice"/);
  t.match(stdout, /\{"result":"applied","shipnotice":\{[^}]*"status":"applied"/);
});
