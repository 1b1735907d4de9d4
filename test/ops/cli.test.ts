import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { ADMIN_TOKEN, buildTestApp } from '../helpers/app.js';

// Each command is a Node process of its own: on a busy machine the file needs more than the default.
t.setTimeout(900_000);

// The CLI as users run it: the built bin, in its own process, against a listening service.
execFileSync(process.execPath, ['scripts/ensure-build.mjs'], { stdio: 'inherit' });
const BIN = path.resolve('dist/src/cli/index.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string | undefined>): Promise<Run> {
  return new Promise((resolve) => {
    const clean = { ...process.env };
    for (const k of ['SHIPBRIDGE_ADMIN_TOKEN', 'SHIPBRIDGE_API_USER', 'SHIPBRIDGE_API_KEY', 'SHIPBRIDGE_URL'])
      delete clean[k];
    execFile(process.execPath, [BIN, ...args], { env: { ...clean, ...env } }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
  });
}

t.test('the shipbridge CLI end to end', async (t) => {
  const { app } = await buildTestApp(t);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const admin = { SHIPBRIDGE_URL: url, SHIPBRIDGE_ADMIN_TOKEN: ADMIN_TOKEN };

  t.test('help and usage errors', async (t) => {
    const help = await cli(['--help'], {});
    t.equal(help.code, 0);
    t.match(help.stdout, /warehouse/);
    for (const cmd of [
      ['orders', 'import', '--help'],
      ['store', 'create', '--help'],
      ['migrate', '--help'],
    ]) {
      const r = await cli(cmd, {});
      t.equal(r.code, 0, `${cmd.join(' ')} has help`);
      t.match(r.stdout, /Usage: shipbridge/);
    }
    const unknown = await cli(['frobnicate'], {});
    t.equal(unknown.code, 2);
    const missing = await cli(['warehouse', 'create', 'x'], admin);
    t.equal(missing.code, 2, 'a missing required option is bad usage');
    const noService = await cli(['warehouse', 'list'], { ...admin, SHIPBRIDGE_URL: 'http://127.0.0.1:1' });
    t.equal(noService.code, 3);
    const noCreds = await cli(['merchant', 'list'], { SHIPBRIDGE_URL: url });
    t.equal(noCreds.code, 3);
    t.match(noCreds.stderr, /SHIPBRIDGE_API_USER/);
  });

  t.test('--help on every command and subcommand, and they are the documented ones', async (t) => {
    /** The names under "Commands:" of a help text (commander's own `help` left out). */
    const commandsOf = (help: string) => {
      const section = help.split(/^Commands:\n/m)[1] ?? '';
      return [...section.matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
    };
    const top = await cli(['--help'], {});
    t.equal(top.code, 0);
    const found: string[] = [];
    for (const group of commandsOf(top.stdout)) {
      const g = await cli([group, '--help'], {});
      t.equal(g.code, 0, `${group} --help`);
      t.match(g.stdout, new RegExp(`^Usage: shipbridge ${group} `), `${group} --help prints its usage`);
      const subs = commandsOf(g.stdout);
      if (subs.length === 0) found.push(group);
      const helps = await Promise.all(subs.map((sub) => cli([group, sub, '--help'], {})));
      for (const [i, h] of helps.entries()) {
        const sub = subs[i]!;
        t.equal(h.code, 0, `${group} ${sub} --help`);
        t.match(h.stdout, new RegExp(`^Usage: shipbridge ${group} ${sub} `), `${group} ${sub} --help`);
        found.push(`${group} ${sub}`);
      }
    }
    t.same(
      found.sort(),
      [
        'alerts list',
        'credential create',
        'credential revoke',
        'merchant create',
        'merchant list',
        'migrate',
        'orders import',
        'store create',
        'store list',
        'store rotate',
        'store test',
        'warehouse create',
        'warehouse list',
      ],
      'every command the README documents, and no other',
    );
  });

  // The README's bootstrap: a warehouse, a merchant and a store in three commands.
  let merchantEnv: Record<string, string> = {};
  let storeId = 0;
  t.test('bootstrap in three commands', async (t) => {
    const wh = await cli(['--json', 'warehouse', 'create', 'cli-3pl', '--name', 'CLI 3PL'], admin);
    t.equal(wh.code, 0, wh.stderr);
    t.equal(JSON.parse(wh.stdout).warehouse.code, 'cli-3pl');
    const m = await cli(
      ['merchant', 'create', 'cli-shop', '--name', 'CLI Shop', '--warehouse', 'cli-3pl'],
      admin,
    );
    t.equal(m.code, 0, m.stderr);
    t.match(m.stdout, /api_user\s+mc_/);
    t.match(m.stdout, /api_key\s+\S{20,}/);
    const user = /api_user\s+(\S+)/.exec(m.stdout)![1]!;
    const key = /api_key\s+(\S+)/.exec(m.stdout)![1]!;
    merchantEnv = { SHIPBRIDGE_URL: url, SHIPBRIDGE_API_USER: user, SHIPBRIDGE_API_KEY: key };
    const s = await cli(
      ['--json', 'store', 'create', 'cli-shop', '--name', 'Main', '--source', 'web,api'],
      merchantEnv,
    );
    t.equal(s.code, 0, s.stderr);
    const created = JSON.parse(s.stdout);
    t.same(created.store.order_sources, ['web', 'api']);
    t.ok(created.shipstation.password);
    storeId = created.store.id;
  });

  t.test('lists: tables for people, JSON for scripts', async (t) => {
    const table = await cli(['warehouse', 'list'], admin);
    t.equal(table.code, 0);
    t.match(table.stdout, /^CODE\s+NAME\s+CREATED\ncli-3pl\s+CLI 3PL\s+\d{4}-/);
    const json = await cli(['--json', 'merchant', 'list'], merchantEnv);
    t.same(
      JSON.parse(json.stdout).map((m: { code: string }) => m.code),
      ['cli-shop'],
    );
    const stores = await cli(['store', 'list', 'cli-shop'], merchantEnv);
    t.match(stores.stdout, /Main/);
    const refused = await cli(['warehouse', 'list'], merchantEnv);
    t.equal(refused.code, 1, 'refused by the service');
    t.match(refused.stderr, /403 forbidden/);
    const alerts = await cli(['--json', 'alerts', 'list', 'cli-shop'], merchantEnv);
    t.equal(alerts.code, 0);
    t.same(JSON.parse(alerts.stdout), []);
  });

  t.test('store rotate and test', async (t) => {
    const rotate = await cli(['--json', 'store', 'rotate', 'cli-shop', String(storeId)], merchantEnv);
    t.equal(rotate.code, 0, rotate.stderr);
    const test = await cli(['--json', 'store', 'test', 'cli-shop', String(storeId)], merchantEnv);
    t.equal(test.code, 0, test.stderr);
    t.ok(JSON.parse(test.stdout));
    const missing = await cli(['store', 'test', 'cli-shop', '999999'], merchantEnv);
    t.equal(missing.code, 1);
    t.match(missing.stderr, /404 not_found/);
  });

  t.test('credential create and revoke', async (t) => {
    const c = await cli(
      ['--json', 'credential', 'create', '--merchant', 'cli-shop', '--label', 'ci'],
      merchantEnv,
    );
    t.equal(c.code, 0, c.stderr);
    const { api_user, api_key } = JSON.parse(c.stdout);
    const env = { SHIPBRIDGE_URL: url, SHIPBRIDGE_API_USER: api_user, SHIPBRIDGE_API_KEY: api_key };
    t.equal((await cli(['merchant', 'list'], env)).code, 0);
    const r = await cli(['credential', 'revoke', api_user], merchantEnv);
    t.equal(r.code, 0, r.stderr);
    const after = await cli(['merchant', 'list'], env);
    t.equal(after.code, 1);
    t.match(after.stderr, /401 unauthorized/);
    const neither = await cli(['credential', 'create'], merchantEnv);
    t.equal(neither.code, 2);
  });

  t.test('orders import from CSV: one row per line, grouped by order; a report per row', async (t) => {
    const dir = tmpdir();
    const csv = path.join(dir, `cli-orders-${process.pid}.csv`);
    writeFileSync(
      csv,
      [
        'order_number,order_source,order_date,ship_to_name,ship_to_street1,ship_to_city,ship_to_state,ship_to_postal_code,ship_to_country,item_sku,item_name,item_quantity,item_unit_price,tags',
        'C-1,web,2026-11-20T10:00:00Z,Jane Doe,1 Elm St,Springfield,IL,62704,US,MUG,"Mug, large",2,9.50,gift|vip',
        'C-1,web,,,,,,,,TEA,Tea,1,4.00,',
        'C-2,web,2026-11-20T11:00:00Z,John Roe,2 Oak St,Portland,OR,97201,US,MUG,Mug,1,9.50,',
        'C-3,web,not-a-date,Ann Poe,3 Ash St,Austin,TX,73301,US,MUG,Mug,1,9.50,',
      ].join('\n'),
    );
    const r = await cli(['orders', 'import', 'cli-shop', csv], merchantEnv);
    t.equal(r.code, 1, 'a failed row makes the exit code non-zero');
    t.match(r.stdout, /^ROW\s+ORDER\s+RESULT\s+ERROR/);
    t.match(r.stdout, /\n2\s+C-1\s+created/);
    t.match(r.stdout, /\n3\s+C-1\s+created/);
    t.match(r.stdout, /\n5\s+C-3\s+invalid\s+.*order_date/);
    t.match(r.stdout, /3 orders from 4 rows/);

    const order = await app.inject({
      method: 'GET',
      url: '/v1/merchants/cli-shop/orders?order_number=C-1',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const o = order.json().orders[0];
    t.same(
      o.items.map((i: { sku: string; quantity: number }) => [i.sku, i.quantity]),
      [
        ['MUG', 2],
        ['TEA', 1],
      ],
    );
    t.equal(o.items[0].name, 'Mug, large');
    t.same(o.tags, ['gift', 'vip']);

    const again = await cli(['--json', 'orders', 'import', 'cli-shop', csv], merchantEnv);
    const report = JSON.parse(again.stdout);
    t.same(
      report.rows.map((x: { result: string }) => x.result),
      ['duplicate', 'duplicate', 'duplicate', 'invalid'],
      'a second import is safe: stored orders are duplicates',
    );

    const bad = path.join(dir, `cli-bad-${process.pid}.csv`);
    writeFileSync(bad, 'order_number,colour\nX,red\n');
    const refused = await cli(['orders', 'import', 'cli-shop', bad], merchantEnv);
    t.equal(refused.code, 2);
    t.match(refused.stderr, /unknown column\(s\) colour/);
  });

  t.test('orders import from JSON', async (t) => {
    const file = path.join(tmpdir(), `cli-orders-${process.pid}.json`);
    writeFileSync(
      file,
      JSON.stringify([
        {
          order_number: 'J-1',
          order_date: '2026-11-20T10:00:00Z',
          ship_to: {
            name: 'A',
            street1: '1 St',
            city: 'Austin',
            state: 'TX',
            postal_code: '73301',
            country: 'US',
          },
          items: [{ sku: 'X', name: 'X', quantity: 1, unit_price: 1 }],
        },
      ]),
    );
    const r = await cli(['--json', 'orders', 'import', 'cli-shop', file], merchantEnv);
    t.equal(r.code, 0, r.stderr);
    t.same(JSON.parse(r.stdout).rows, [{ row: 1, order_number: 'J-1', result: 'created' }]);
  });

  t.test("orders import: the README's CSV example, and one order per row", async (t) => {
    const readme = readFileSync(path.resolve('README.md'), 'utf8');
    const example = /```csv\n([\s\S]*?)```/.exec(readme)?.[1];
    t.ok(example, 'the README has a CSV example');
    const grouped = path.join(tmpdir(), `cli-readme-${process.pid}.csv`);
    writeFileSync(grouped, example!);
    const r = await cli(['--json', 'orders', 'import', 'cli-shop', grouped], merchantEnv);
    t.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    t.equal(report.orders, 1, 'one order from the rows of one order number');
    t.same(
      report.rows.map((x: { row: number; result: string }) => [x.row, x.result]),
      [
        [2, 'created'],
        [3, 'created'],
      ],
    );
    t.equal(report.failed, 0);

    const perRow = path.join(tmpdir(), `cli-per-row-${process.pid}.csv`);
    const header = example!.split('\n')[0]!;
    writeFileSync(
      perRow,
      [
        header,
        'R-1,web,2026-11-21T10:00:00Z,A One,1 Elm St,Springfield,IL,62704,US,MUG,Mug,1,9.50',
        'R-2,web,2026-11-21T11:00:00Z,B Two,2 Oak St,Portland,OR,97201,US,TEA,Tea,3,4.00',
        'R-3,api,2026-11-21T12:00:00Z,C Three,3 Ash St,Austin,TX,73301,US,CUP,Cup,2,5.00',
        '',
      ].join('\n'),
    );
    const p = await cli(['orders', 'import', 'cli-shop', perRow], merchantEnv);
    t.equal(p.code, 0, p.stderr);
    t.match(p.stdout, /3 orders from 3 rows: 3 created/);
    const listed = await app.inject({
      method: 'GET',
      url: '/v1/merchants/cli-shop/orders?order_number=R-2',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const o = listed.json().orders[0];
    t.same(
      o.items.map((i: { sku: string; quantity: number }) => [i.sku, i.quantity]),
      [['TEA', 3]],
      'each row is an order of its own',
    );
    t.equal(o.ship_to.name, 'B Two');
  });

  t.test('--json: every answer parses, failures included', async (t) => {
    const runs: [string, string[], Record<string, string>][] = [
      ['warehouse list', ['warehouse', 'list'], admin],
      [
        'merchant create',
        ['merchant', 'create', 'cli-json', '--name', 'JSON Shop', '--warehouse', 'cli-3pl'],
        admin,
      ],
      ['merchant list', ['merchant', 'list'], admin],
      ['store list', ['store', 'list', 'cli-shop'], merchantEnv],
      ['alerts list', ['alerts', 'list', 'cli-shop'], merchantEnv],
    ];
    for (const [what, args, env] of runs) {
      const r = await cli(['--json', ...args], env);
      t.equal(r.code, 0, `${what}: ${r.stderr}`);
      t.doesNotThrow(() => JSON.parse(r.stdout), `${what} prints JSON`);
    }
    const c = JSON.parse(
      (await cli(['--json', 'credential', 'create', '--merchant', 'cli-json'], admin)).stdout,
    );
    const revoked = await cli(['--json', 'credential', 'revoke', c.api_user], admin);
    t.equal(revoked.code, 0, revoked.stderr);
    t.same(JSON.parse(revoked.stdout), { revoked: c.api_user });

    // Refused by the service: exit 1, the service's error body on stdout, the message on stderr.
    const refused = await cli(['--json', 'warehouse', 'list'], merchantEnv);
    t.equal(refused.code, 1);
    t.equal(JSON.parse(refused.stdout).error.code, 'forbidden');
    t.match(refused.stderr, /403 forbidden/);
    const conflict = await cli(['--json', 'warehouse', 'create', 'cli-3pl', '--name', 'again'], admin);
    t.equal(conflict.code, 1);
    t.equal(JSON.parse(conflict.stdout).error.code, 'conflict');
    // Usage errors and an unreachable service: nothing on stdout to mistake for an answer.
    const usage = await cli(['--json', 'store', 'rotate', 'cli-shop'], merchantEnv);
    t.equal(usage.code, 2);
    t.equal(usage.stdout, '');
    const away = await cli(['--json', 'merchant', 'list'], {
      ...merchantEnv,
      SHIPBRIDGE_URL: 'http://127.0.0.1:1',
    });
    t.equal(away.code, 3);
    t.equal(away.stdout, '');
  });

  t.test("the README's three-command bootstrap runs as written", async (t) => {
    const readme = readFileSync(path.resolve('README.md'), 'utf8');
    const block = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)]
      .map((m) => m[1]!)
      .find((b) => b.includes('shipbridge -- warehouse create'));
    t.ok(block, 'the CLI section has the bootstrap');
    const commands = block!.split('\n').filter((l) => l.startsWith('npm exec shipbridge -- '));
    t.equal(commands.length, 3, 'three commands');
    const script = [
      'set -euo pipefail',
      ...block!
        .split('\n')
        .map((l) => l.replace(/^npm exec shipbridge -- /, `"${process.execPath}" "${BIN}" `)),
    ].join('\n');
    const r = await new Promise<Run>((resolve) => {
      execFile(
        'bash',
        ['-c', script],
        { env: { PATH: process.env.PATH ?? '', SHIPBRIDGE_URL: url, ADMIN_TOKEN } },
        (err, stdout, stderr) =>
          resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /api_user\s+wh_/, 'the warehouse and its credential');
    t.match(r.stdout, /api_user\s+mc_/, 'the merchant and its credential');
    t.match(
      r.stdout,
      /In ShipStation \(Selling Channels → Custom Store\), enter:[\s\S]*password/,
      'the store form',
    );
  });

  t.test('migrate on the embedded database', async (t) => {
    const r = await cli(['migrate'], { DATABASE_URL: undefined, PGLITE_IN_MEMORY: 'true' });
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /applied: 2026-11-22T00-initial/);
  });
});
