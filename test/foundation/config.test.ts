import t from 'tap';
import { ConfigError, loadConfig } from '../../src/config.js';

t.test('defaults with an empty environment', async (t) => {
  const c = loadConfig({});
  t.equal(c.port, 3000);
  t.equal(c.host, '0.0.0.0');
  t.equal(c.databaseUrl, undefined);
  t.equal(c.dataDir, './data');
  t.equal(c.pgliteInMemory, false);
  t.equal(c.adminToken, undefined);
  t.equal(c.logLevel, 'info');
  t.ok(Object.isFrozen(c));
});

t.test('values are parsed', async (t) => {
  const c = loadConfig({
    PORT: '8080',
    DATABASE_URL: 'postgres://u@h:5432/db',
    PUBLIC_URL: 'https://ship.example.com/',
    ADMIN_TOKEN: 'a-long-enough-admin-token',
    PGLITE_IN_MEMORY: 'true',
  });
  t.equal(c.port, 8080);
  t.equal(c.databaseUrl, 'postgres://u@h:5432/db');
  t.equal(c.publicUrl, 'https://ship.example.com', 'trailing slash dropped');
  t.equal(c.pgliteInMemory, true);
});

t.test('a bad value names the variable and what is expected, in one line', async (t) => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ PORT: 'eighty' }, /^invalid configuration: PORT must be an integer from 0 to 65535 \(got "eighty"\)$/],
    [{ PORT: '70000' }, /^invalid configuration: PORT must be /],
    [
      { DATABASE_URL: 'mysql://x' },
      /^invalid configuration: DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL/,
    ],
    [{ PUBLIC_URL: 'not a url' }, /^invalid configuration: PUBLIC_URL must be an absolute http\(s\) URL/],
    [{ LOG_LEVEL: 'loud' }, /^invalid configuration: LOG_LEVEL must be /],
    [
      { ADMIN_TOKEN: 'short' },
      /^invalid configuration: ADMIN_TOKEN must be at least 16 characters \(got "<redacted>"\)$/,
    ],
  ];
  for (const [env, re] of cases) {
    try {
      loadConfig(env);
      t.fail(`accepted ${JSON.stringify(env)}`);
    } catch (e) {
      t.ok(e instanceof ConfigError);
      t.match((e as Error).message, re);
      t.notMatch((e as Error).message, /\n/);
    }
  }
});

t.test('TRUST_PROXY', async (t) => {
  t.equal(loadConfig({}).trustProxy, false);
  t.equal(loadConfig({ TRUST_PROXY: 'true' }).trustProxy, true);
  const two = loadConfig({ TRUST_PROXY: '2' }).trustProxy as (a: string, hop: number) => boolean;
  t.same([two('x', 0), two('x', 1), two('x', 2)], [true, true, false]);
  t.same(loadConfig({ TRUST_PROXY: '10.0.0.1, 10.1.0.0/16' }).trustProxy, ['10.0.0.1', '10.1.0.0/16']);
  t.throws(() => loadConfig({ TRUST_PROXY: 'everyone' }), /TRUST_PROXY must be true, false/);
});

t.test('JOBS_ENABLED: on by default; off only beside another instance on PostgreSQL', async (t) => {
  t.equal(loadConfig({}).jobsEnabled, true);
  t.equal(loadConfig({ JOBS_ENABLED: 'false', DATABASE_URL: 'postgres://u@h/db' }).jobsEnabled, false);
  t.equal(loadConfig({ JOBS_ENABLED: '0', DATABASE_URL: 'postgres://u@h/db' }).jobsEnabled, false);
  t.throws(() => loadConfig({ JOBS_ENABLED: 'false' }), {
    message: /^invalid configuration: JOBS_ENABLED=false needs DATABASE_URL/,
  });
  t.throws(() => loadConfig({ JOBS_ENABLED: 'no' }), {
    message: /^invalid configuration: JOBS_ENABLED must be true or false \(got "no"\)$/,
  });
});
