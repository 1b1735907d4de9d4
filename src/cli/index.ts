#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { CliError, type ClientOptions, call, clientOptionsFromEnv, EXIT, listAll } from './client.js';
import { CSV_COLUMNS, ImportFileError, type ImportOrder, parseCsvOrders, parseJsonOrders } from './import.js';
import { fields, table } from './output.js';

/**
 * `shipbridge`: the operator's command line. Every command but `migrate` talks to a running
 * service (SHIPBRIDGE_URL) with SHIPBRIDGE_ADMIN_TOKEN or SHIPBRIDGE_API_USER + SHIPBRIDGE_API_KEY.
 * Tables for people; --json prints the service's answer for scripts. Exit codes: see EXIT.
 */

type Out = (human: string, json: unknown) => void;

const program = new Command('shipbridge')
  .description('Operate a shipbridge service: accounts, stores, order imports, alerts, migrations')
  .option('--json', 'print JSON (for scripts) instead of tables')
  .option('--url <url>', 'the service (default: $SHIPBRIDGE_URL, else http://localhost:3000)')
  .addHelpText(
    'after',
    '\nEnvironment: SHIPBRIDGE_URL, SHIPBRIDGE_ADMIN_TOKEN or SHIPBRIDGE_API_USER + SHIPBRIDGE_API_KEY;\n' +
      '`migrate` reads DATABASE_URL (else the embedded database in DATA_DIR).\n' +
      'Exit codes: 0 done, 1 refused by the service (or some imported rows failed), 2 bad usage, 3 no service.',
  )
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

const opts = (): { json?: boolean; url?: string } => program.opts();
const client = (): ClientOptions => clientOptionsFromEnv(process.env, opts().url);
const out: Out = (human, json) => {
  process.stdout.write(`${opts().json ? JSON.stringify(json, null, 2) : human}\n`);
};
const enc = encodeURIComponent;

program
  .command('migrate')
  .description('bring the database to the latest schema (DATABASE_URL, else the embedded database)')
  .action(async () => {
    // Loaded here, not at the top: the database code (PGlite, pg, the migrations) takes most of a
    // start-up, and every other command only talks HTTP to a running service.
    const [{ loadConfig }, { createDatabase }, { migrateToLatest }] = await Promise.all([
      import('../config.js'),
      import('../db/database.js'),
      import('../db/migrate.js'),
    ]);
    const config = loadConfig();
    const database = await createDatabase({
      url: config.databaseUrl,
      pgliteDir:
        config.databaseUrl || config.pgliteInMemory ? undefined : path.join(config.dataDir, 'pgdata'),
    });
    try {
      const applied = await migrateToLatest(database.db);
      out(applied.length ? `applied: ${applied.join(', ')}` : 'already up to date', { applied });
    } finally {
      await database.close();
    }
  });

const credentialText = (c: { api_user: string; api_key: string }) =>
  `api_user  ${c.api_user}\napi_key   ${c.api_key}\n(the key is shown once: keep it now)`;

const warehouse = program.command('warehouse').description('warehouse (3PL) accounts');
warehouse
  .command('create <code>')
  .description('create a warehouse and its first credential (admin token)')
  .requiredOption('--name <name>', 'display name')
  .action(async (code: string, o: { name: string }) => {
    const r = await call<{
      warehouse: Record<string, unknown>;
      credential: { api_user: string; api_key: string };
    }>(client(), 'POST', '/v1/warehouses', { code, name: o.name });
    out(`${fields(r.warehouse)}\n\n${credentialText(r.credential)}`, r);
  });
warehouse
  .command('list')
  .description('every warehouse (admin token)')
  .action(async () => {
    const rows = await listAll<Record<string, unknown>>(client(), '/v1/warehouses', 'warehouses');
    out(
      table(rows, [
        ['code', 'CODE'],
        ['name', 'NAME'],
        ['created_at', 'CREATED'],
      ]),
      rows,
    );
  });

const merchant = program.command('merchant').description('merchant accounts');
merchant
  .command('create <code>')
  .description('create a merchant and its first credential (admin token, or a warehouse credential)')
  .requiredOption('--name <name>', 'display name')
  .option('--warehouse <code>', 'the warehouse it belongs to (admin token only)')
  .action(async (code: string, o: { name: string; warehouse?: string }) => {
    const r = await call<{
      merchant: Record<string, unknown>;
      credential: { api_user: string; api_key: string };
    }>(client(), 'POST', '/v1/merchants', {
      code,
      name: o.name,
      ...(o.warehouse ? { warehouse: o.warehouse } : {}),
    });
    out(`${fields(r.merchant)}\n\n${credentialText(r.credential)}`, r);
  });
merchant
  .command('list')
  .description('the merchants the credential may act on')
  .action(async () => {
    const rows = await listAll<Record<string, unknown>>(client(), '/v1/merchants', 'merchants');
    out(
      table(rows, [
        ['code', 'CODE'],
        ['name', 'NAME'],
        ['warehouse', 'WAREHOUSE'],
        ['disabled', 'DISABLED'],
        ['created_at', 'CREATED'],
      ]),
      rows,
    );
  });

const credential = program.command('credential').description('API credentials');
credential
  .command('create')
  .description('create another credential for a merchant or a warehouse (the key is shown once)')
  .addOption(new Option('--merchant <code>', 'for this merchant').conflicts('warehouse'))
  .option('--warehouse <code>', 'for this warehouse')
  .option('--label <label>', 'what it is for')
  .action(async (o: { merchant?: string; warehouse?: string; label?: string }) => {
    if (!o.merchant && !o.warehouse)
      throw new CliError('give --merchant <code> or --warehouse <code>', EXIT.usage);
    const where = o.merchant ? `/v1/merchants/${enc(o.merchant)}` : `/v1/warehouses/${enc(o.warehouse!)}`;
    const r = await call<{ api_user: string; api_key: string }>(client(), 'POST', `${where}/credentials`, {
      ...(o.label ? { label: o.label } : {}),
    });
    out(credentialText(r), r);
  });
credential
  .command('revoke <api_user>')
  .description('revoke a credential; it stops working at once')
  .action(async (apiUser: string) => {
    await call(client(), 'DELETE', `/v1/credentials/${enc(apiUser)}`);
    out(`revoked ${apiUser}`, { revoked: apiUser });
  });

const list = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
const shipstationText = (s: Record<string, unknown>) =>
  `\nIn ShipStation (Selling Channels → Custom Store), enter:\n${fields(s)}\n(the password is shown once)`;

const store = program.command('store').description("a merchant's ShipStation store connections");
store
  .command('create <merchant>')
  .description('create a store connection; prints what to type into ShipStation')
  .requiredOption('--name <name>', 'display name')
  .option('--source <sources>', 'order sources it takes, comma-separated (default: all)', list)
  .option('--include-tags <tags>', 'only orders with one of these tags', list)
  .option('--exclude-tags <tags>', 'never orders with one of these tags', list)
  .option('--priority <n>', 'lower goes first', (v) => Number(v))
  .option('--timezone <zone>', 'IANA time zone ShipStation uses for this store')
  .action(
    async (
      m: string,
      o: {
        name: string;
        source?: string[];
        includeTags?: string[];
        excludeTags?: string[];
        priority?: number;
        timezone?: string;
      },
    ) => {
      const r = await call<{ store: Record<string, unknown>; shipstation: Record<string, unknown> }>(
        client(),
        'POST',
        `/v1/merchants/${enc(m)}/stores`,
        {
          name: o.name,
          ...(o.source ? { order_sources: o.source } : {}),
          ...(o.includeTags ? { include_tags: o.includeTags } : {}),
          ...(o.excludeTags ? { exclude_tags: o.excludeTags } : {}),
          ...(o.priority !== undefined ? { priority: o.priority } : {}),
          ...(o.timezone ? { timezone: o.timezone } : {}),
        },
      );
      out(
        `store ${String(r.store.id)} (${String(r.store.name)}) created\n${shipstationText(r.shipstation)}`,
        r,
      );
    },
  );
store
  .command('list <merchant>')
  .description("a merchant's store connections")
  .action(async (m: string) => {
    const rows = await listAll<Record<string, unknown>>(client(), `/v1/merchants/${enc(m)}/stores`, 'stores');
    out(
      table(rows, [
        ['id', 'ID'],
        ['name', 'NAME'],
        ['priority', 'PRIORITY'],
        ['order_sources', 'SOURCES'],
        ['include_tags', 'INCLUDE'],
        ['exclude_tags', 'EXCLUDE'],
        ['timezone', 'TIMEZONE'],
      ]),
      rows,
    );
  });
store
  .command('rotate <merchant> <store>')
  .description('a new store password; the old one stops working (change it in ShipStation too)')
  .action(async (m: string, s: string) => {
    const r = await call<{ shipstation: Record<string, unknown> }>(
      client(),
      'POST',
      `/v1/merchants/${enc(m)}/stores/${enc(s)}/rotate-password`,
    );
    out(`new password for store ${s}\n${shipstationText(r.shipstation ?? r)}`, r);
  });
store
  .command('test <merchant> <store>')
  .description('export the last 24 hours as ShipStation would, changing nothing')
  .action(async (m: string, s: string) => {
    const r = await call(client(), 'POST', `/v1/merchants/${enc(m)}/stores/${enc(s)}/test`);
    out(fields(r), r);
  });

interface RowReport {
  row: number;
  order_number: unknown;
  result: string;
  error?: string;
}

const orders = program.command('orders').description("a merchant's orders");
orders
  .command('import <merchant> <file>')
  .description('create orders from a CSV (with a header row) or JSON file; reports every row')
  .addOption(
    new Option('--format <format>', 'csv or json (default: from the file extension)').choices([
      'csv',
      'json',
    ]),
  )
  .addHelpText(
    'after',
    `\nCSV columns (header row, any order, unknown names refused): ${CSV_COLUMNS.join(', ')}.\n` +
      'One row per order, or one row per line with the same order_number (and order_source) on each;\n' +
      'order-level columns are read from the order\'s first row. tags are separated by "|".\n' +
      'JSON: an array of orders, or {"orders": [...]}, as the REST API takes them.\n' +
      'Exit code 1 when any row failed (invalid or conflicting); repeats of stored orders are fine.',
  )
  .action(async (m: string, file: string, o: { format?: 'csv' | 'json' }) => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new CliError(`cannot read ${file}: ${(e as Error).message}`, EXIT.usage);
    }
    const format = o.format ?? (/\.json$/i.test(file) ? 'json' : 'csv');
    let parsed: ImportOrder[];
    try {
      parsed = format === 'json' ? parseJsonOrders(text) : parseCsvOrders(text);
    } catch (e) {
      if (e instanceof ImportFileError) throw new CliError(`${file}: ${e.message}`, EXIT.usage);
      throw e;
    }
    const report: RowReport[] = [];
    const c = client();
    for (let i = 0; i < parsed.length; i += 500) {
      const batch = parsed.slice(i, i + 500);
      const r = await call<{
        results: {
          index: number;
          result: string;
          error?: { message: string; details?: { path: string; message: string }[] };
        }[];
      }>(c, 'POST', `/v1/merchants/${enc(m)}/orders`, { orders: batch.map((b) => b.order) });
      for (const res of r.results) {
        const src = batch[res.index]!;
        const error = res.error
          ? `${res.error.message}${(res.error.details ?? []).map((d) => `; ${d.path}: ${d.message}`).join('')}`
          : undefined;
        for (const row of src.rows) {
          report.push({
            row,
            order_number: src.order.order_number,
            result: res.result,
            ...(error ? { error } : {}),
          });
        }
      }
    }
    report.sort((a, b) => a.row - b.row);
    const failed = report.filter((r) => r.result === 'invalid' || r.result === 'conflict');
    const counts = report.reduce<Record<string, number>>((acc, r) => {
      acc[r.result] = (acc[r.result] ?? 0) + 1;
      return acc;
    }, {});
    out(
      `${table(report as unknown as Record<string, unknown>[], [
        ['row', 'ROW'],
        ['order_number', 'ORDER'],
        ['result', 'RESULT'],
        ['error', 'ERROR'],
      ])}\n\n${parsed.length} orders from ${report.length} rows: ${Object.entries(counts)
        .map(([k, v]) => `${v} ${k}`)
        .join(', ')}`,
      { orders: parsed.length, rows: report, failed: failed.length },
    );
    if (failed.length > 0) process.exitCode = EXIT.refused;
  });

const alerts = program.command('alerts').description('what needs a person');
alerts
  .command('list <merchant>')
  .description("a merchant's open alerts")
  .action(async (m: string) => {
    const rows = await listAll<Record<string, unknown>>(client(), `/v1/merchants/${enc(m)}/alerts`, 'alerts');
    out(
      table(rows, [
        ['id', 'ID'],
        ['kind', 'KIND'],
        ['order_id', 'ORDER'],
        ['store_id', 'STORE'],
        ['created_at', 'CREATED'],
        ['message', 'MESSAGE'],
      ]),
      rows,
    );
  });

// Every command and group: errors of usage exit 2, not commander's default 1.
for (const cmd of [program, ...program.commands, ...program.commands.flatMap((c) => c.commands)]) {
  cmd.exitOverride();
}

async function main(): Promise<void> {
  try {
    await program.parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version are not errors; anything else commander refused is bad usage.
      process.exitCode = e.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    if (e instanceof CliError) {
      if (opts().json && e.body !== undefined) process.stdout.write(`${JSON.stringify(e.body, null, 2)}\n`);
      process.stderr.write(`shipbridge: ${e.message}\n`);
      process.exitCode = e.exitCode;
      return;
    }
    process.stderr.write(`shipbridge: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = EXIT.refused;
  }
}

await main();
