import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { embeddedOnlySkip, freePort, startServer as start, waitReady } from '../helpers/server-process.js';

t.test('bad configuration stops start-up with one clear line', { skip: embeddedOnlySkip }, async (t) => {
  const p = start({ PORT: 'not-a-port' });
  const code = await p.exited;
  t.not(code, 0);
  const lines = p.output().trim().split('\n');
  t.equal(lines.length, 1, p.output());
  t.match(lines[0], /^shipbridge: invalid configuration: PORT must be/);
});

// The process gets a DATABASE_URL of its own: the same in both passes, so it runs in one.
t.test(
  'an unreachable DATABASE_URL says where it could not connect, and why',
  { skip: embeddedOnlySkip && 'the same in both passes: runs in the pass without DATABASE_URL' },
  async (t) => {
    const port = await freePort(); // nothing listens there
    const p = start({ DATABASE_URL: `postgres://someone:hunter2@127.0.0.1:${port}/shipdb` });
    const code = await p.exited;
    t.not(code, 0);
    const lines = p.output().trim().split('\n');
    t.equal(lines.length, 1, p.output());
    t.equal(
      lines[0],
      `shipbridge: failed to start: cannot connect to PostgreSQL at 127.0.0.1:${port}/shipdb: ` +
        `connect ECONNREFUSED 127.0.0.1:${port}`,
    );
    t.notMatch(p.output(), /hunter2/, 'the password is not shown');
  },
);

const engines: [string, Record<string, string>][] = process.env.DATABASE_URL
  ? [['PostgreSQL', { DATABASE_URL: process.env.DATABASE_URL }]]
  : [['PGlite on disk', {}]];

for (const [name, extra] of engines) {
  t.test(`${name}: serves, data survives a restart, SIGTERM closes cleanly`, async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'shipbridge-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const port = await freePort();
    const env = {
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dir,
      ADMIN_TOKEN: 'server-test-admin-token',
      ...extra,
    };
    const code = `srv-${process.pid}-${Date.now().toString(36)}`;

    const first = start(env);
    t.teardown(() => first.child.kill('SIGKILL'));
    await waitReady(port);
    const created = await fetch(`http://127.0.0.1:${port}/v1/warehouses`, {
      method: 'POST',
      headers: { authorization: 'Bearer server-test-admin-token', 'content-type': 'application/json' },
      body: JSON.stringify({ code, name: 'Restart Test' }),
    });
    t.equal(created.status, 201);
    const { credential } = (await created.json()) as { credential: { api_user: string; api_key: string } };
    first.child.kill('SIGTERM');
    t.equal(await first.exited, 0, 'SIGTERM exits 0');
    t.match(first.output(), /draining in-flight requests/);
    t.notOk(first.output().includes(credential.api_key), 'the key is not logged');

    const second = start(env);
    t.teardown(() => second.child.kill('SIGKILL'));
    await waitReady(port);
    const auth = `Basic ${Buffer.from(`${credential.api_user}:${credential.api_key}`).toString('base64')}`;
    const list = await fetch(`http://127.0.0.1:${port}/v1/credentials`, { headers: { authorization: auth } });
    t.equal(list.status, 200, 'the credential issued before the restart still works');
    second.child.kill('SIGTERM');
    t.equal(await second.exited, 0);
  });
}
