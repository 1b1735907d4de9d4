import { sql } from 'kysely';
import t from 'tap';
import { basic } from '../helpers/app.js';
import { validateOrdersXml } from '../helpers/xsd.js';
import { createOrder, createStore, noticeXml, notify, orderRow, setup } from '../shipments/helpers.js';

/** MM/dd/yyyy HH:mm in UTC, as ShipStation sends export windows. */
const ssDate = (d: Date) =>
  `${String(d.getUTCMonth() + 1).padStart(2, '0')}/${String(d.getUTCDate()).padStart(2, '0')}/${d.getUTCFullYear()} ` +
  `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;

t.test('account management', async (t) => {
  const { app, db, warehouse, merchant, solo, admin, logs } = await setup(t);

  t.test('warehouses: admin lists them, a warehouse reads and renames itself only', async (t) => {
    const list = await app.inject({ method: 'GET', url: '/v1/warehouses', headers: admin });
    t.equal(list.statusCode, 200);
    t.same(
      list.json().warehouses.map((w: { code: string }) => w.code),
      [warehouse.code],
    );
    t.equal(list.json().next_cursor, null);
    const asWh = await app.inject({ method: 'GET', url: '/v1/warehouses', headers: warehouse.auth });
    t.equal(asWh.statusCode, 403, 'listing warehouses is for the operator');

    const own = await app.inject({
      method: 'GET',
      url: `/v1/warehouses/${warehouse.code}`,
      headers: warehouse.auth,
    });
    t.equal(own.statusCode, 200);
    t.equal(own.json().warehouse.code, warehouse.code);
    const renamed = await app.inject({
      method: 'PATCH',
      url: `/v1/warehouses/${warehouse.code}`,
      headers: warehouse.auth,
      payload: { name: 'Renamed 3PL' },
    });
    t.equal(renamed.statusCode, 200);
    t.equal(renamed.json().warehouse.name, 'Renamed 3PL');
    const asMerchant = await app.inject({
      method: 'GET',
      url: `/v1/warehouses/${warehouse.code}`,
      headers: merchant.auth,
    });
    t.equal(asMerchant.statusCode, 404, 'a merchant never learns the warehouse exists');
    const bad = await app.inject({
      method: 'PATCH',
      url: `/v1/warehouses/${warehouse.code}`,
      headers: warehouse.auth,
      payload: { name: '' },
    });
    t.equal(bad.statusCode, 400);
    t.equal(bad.json().error.details[0].path, 'name');
  });

  t.test('merchants: read and rename; the merchant cannot disable itself', async (t) => {
    const read = await app.inject({
      method: 'GET',
      url: `/v1/merchants/${merchant.code}`,
      headers: merchant.auth,
    });
    t.equal(read.statusCode, 200);
    t.match(read.json().merchant, {
      code: merchant.code,
      warehouse: warehouse.code,
      normalise_addresses: true,
      disabled: false,
      disabled_at: null,
    });
    const patched = await app.inject({
      method: 'PATCH',
      url: `/v1/merchants/${merchant.code}`,
      headers: merchant.auth,
      payload: { name: 'New Name', normalise_addresses: false },
    });
    t.equal(patched.statusCode, 200);
    t.match(patched.json().merchant, { name: 'New Name', normalise_addresses: false });
    const self = await app.inject({
      method: 'PATCH',
      url: `/v1/merchants/${merchant.code}`,
      headers: merchant.auth,
      payload: { disabled: true },
    });
    t.equal(self.statusCode, 403);
    t.equal(self.json().error.details[0].path, 'disabled');
    const other = await app.inject({
      method: 'PATCH',
      url: `/v1/merchants/${solo.code}`,
      headers: warehouse.auth,
      payload: { disabled: true },
    });
    t.equal(other.statusCode, 404, "a warehouse cannot touch another's merchant");
    const unknownField = await app.inject({
      method: 'PATCH',
      url: `/v1/merchants/${merchant.code}`,
      headers: merchant.auth,
      payload: { colour: 'red' },
    });
    t.equal(unknownField.statusCode, 400);
  });

  t.test(
    'disabling: 401 for its credentials, empty exports, notices still applied; enabling restores',
    async (t) => {
      const store = await createStore(app, merchant);
      const order = await createOrder(app, merchant);
      const shipped = await createOrder(app, merchant);
      const from = new Date(Date.now() - 3600_000);
      const to = new Date(Date.now() + 3600_000);
      const exportUrl = `/shipstation?action=export&start_date=${encodeURIComponent(ssDate(from))}&end_date=${encodeURIComponent(ssDate(to))}`;
      // What the merchant has, counted: disabling and enabling again deletes none of it.
      const holdings = async () => {
        const { rows } = await sql<Record<string, number>>`select
          (select count(*)::int from orders where merchant_id = m.id) as orders,
          (select count(*)::int from order_lines where merchant_id = m.id) as lines,
          (select count(*)::int from stores where merchant_id = m.id) as stores,
          (select count(*)::int from credentials where merchant_id = m.id and revoked_at is null) as credentials
          from merchants m where m.code = ${merchant.code}`.execute(db);
        return rows[0]!;
      };
      const held = await holdings();

      const off = await app.inject({
        method: 'PATCH',
        url: `/v1/merchants/${merchant.code}`,
        headers: warehouse.auth,
        payload: { disabled: true },
      });
      t.equal(off.statusCode, 200);
      t.equal(off.json().merchant.disabled, true);
      const disabledAt = off.json().merchant.disabled_at;
      t.ok(disabledAt);

      const refused = await app.inject({ method: 'GET', url: '/v1/merchants', headers: merchant.auth });
      t.equal(refused.statusCode, 401);
      t.match(refused.json().error.message, /disabled/);
      t.ok(
        logs.some((l) => l.msg === 'failed sign-in' && l.reason === 'merchant disabled'),
        'the refusal is logged as a failed sign-in',
      );

      const empty = await app.inject({ method: 'GET', url: exportUrl, headers: store.auth });
      t.equal(empty.statusCode, 200);
      t.match(empty.body, /<Orders pages="0"\s*\/>|<Orders pages="0"><\/Orders>/);
      const valid = await validateOrdersXml(empty.body);
      t.ok(valid.valid, `the empty page is valid Custom Store XML: ${valid.errors.join('; ')}`);
      t.equal((await orderRow(db, order.id)).served_store_id, null, 'nothing is pinned while disabled');

      // A notice for an order ShipStation already had is still stored and applied.
      await db
        .updateTable('orders')
        .set({ store_id: store.id, served_store_id: store.id })
        .where('id', '=', shipped.id)
        .execute();
      const n = await notify(app, store, {
        query: { order_number: shipped.order_number },
        body: noticeXml({ orderId: shipped.id, orderNumber: shipped.order_number, tracking: '1Z999' }),
      });
      t.equal(n.statusCode, 200, n.body);
      t.equal((await orderRow(db, shipped.id)).status, 'shipped');

      const asWh = await app.inject({
        method: 'GET',
        url: `/v1/merchants/${merchant.code}`,
        headers: warehouse.auth,
      });
      t.equal(asWh.statusCode, 200, 'its warehouse still sees it');
      const byAdmin = await app.inject({
        method: 'PATCH',
        url: `/v1/merchants/${merchant.code}`,
        headers: admin,
        payload: { disabled: true },
      });
      t.equal(byAdmin.json().merchant.disabled_at, disabledAt, 'disabling twice keeps the first instant');

      const beforeEnable = (await orderRow(db, order.id)).last_modified;
      const on = await app.inject({
        method: 'PATCH',
        url: `/v1/merchants/${merchant.code}`,
        headers: warehouse.auth,
        payload: { disabled: false },
      });
      t.equal(on.statusCode, 200);
      t.equal(on.json().merchant.disabled, false);
      t.ok(
        (await orderRow(db, order.id)).last_modified.getTime() >= beforeEnable.getTime(),
        'orders changed while disabled are modified again, for the next import',
      );
      t.same(await holdings(), held, 'nothing was deleted');
      const back = await app.inject({ method: 'GET', url: '/v1/merchants', headers: merchant.auth });
      t.equal(back.statusCode, 200, 'its credentials work again');
      const full = await app.inject({ method: 'GET', url: exportUrl, headers: store.auth });
      t.equal(full.statusCode, 200);
      t.match(
        full.body,
        new RegExp(
          `<OrderNumber><!\\[CDATA\\[${order.order_number}\\]\\]></OrderNumber>|<OrderNumber>${order.order_number}</OrderNumber>`,
        ),
      );
    },
  );

  t.test('last_used_at moves on use, at most once a minute', async (t) => {
    const listed = async () => {
      const r = await app.inject({ method: 'GET', url: '/v1/credentials', headers: solo.auth });
      return r.json().credentials.find((c: { api_user: string }) => c.api_user === solo.credential.api_user);
    };
    // The write happens beside the request, not in it: wait for it to land.
    let seen: string | null = null;
    for (let i = 0; i < 100 && seen === null; i++) {
      seen = (await listed()).last_used_at;
      if (seen === null) await new Promise((r) => setTimeout(r, 20));
    }
    t.ok(seen, 'set after the credential was used');
    await listed();
    await new Promise((r) => setTimeout(r, 50));
    t.equal((await listed()).last_used_at, seen, 'not moved again within the minute');

    await sql`update credentials set last_used_at = now() - interval '2 minutes' where api_user = ${solo.credential.api_user}`.execute(
      db,
    );
    const stored = async () =>
      (
        await db
          .selectFrom('credentials')
          .select('last_used_at')
          .where('api_user', '=', solo.credential.api_user)
          .executeTakeFirstOrThrow()
      ).last_used_at!.getTime();
    const old = await stored();
    let moved = old;
    for (let i = 0; i < 100 && moved === old; i++) {
      await listed();
      await new Promise((r) => setTimeout(r, 20));
      moved = await stored();
    }
    t.ok(moved > old, 'moved once older than a minute');
  });

  t.test('failed sign-ins are logged at warn with address and username, never the secret', async (t) => {
    const key = 'not-the-right-key-but-secret';
    await app.inject({
      method: 'GET',
      url: '/v1/merchants',
      headers: { ...basic('mc_typo', key), 'x-forwarded-for': '203.0.113.7' },
    });
    const line = logs.find((l) => l.msg === 'failed sign-in' && l.username === 'mc_typo');
    t.ok(line);
    t.equal(line?.level, 40);
    t.equal(line?.client, '203.0.113.7');
    t.equal(line?.code, 'unauthorized');
    t.notOk(JSON.stringify(logs).includes(key), 'the key is nowhere in the logs');

    const pasted = 'Zm9vYmFyYmF6cXV1eDEyMzQ1Njc4OTA';
    await app.inject({ method: 'GET', url: '/v1/merchants', headers: basic(pasted, 'x') });
    t.notOk(JSON.stringify(logs).includes(pasted), 'a username that looks like a key is dropped');
    const long = 'user name '.repeat(30);
    await app.inject({ method: 'GET', url: '/v1/merchants', headers: basic(long, 'x') });
    t.ok(
      logs.some(
        (l) => typeof l.username === 'string' && l.username.startsWith('user name') && l.username.length < 80,
      ),
    );

    await app.inject({
      method: 'GET',
      url: '/v1/merchants',
      headers: { authorization: 'Bearer wrong-token-value' },
    });
    t.ok(logs.some((l) => l.msg === 'failed sign-in' && l.reason === 'invalid admin token'));

    await app.inject({
      method: 'GET',
      url: '/shipstation?action=export',
      headers: basic('ss_nobody', 'nope'),
    });
    const ss = logs.find((l) => l.msg === 'failed sign-in' && l.where === 'shipstation');
    t.equal(ss?.username, 'ss_nobody');
    t.equal(ss?.level, 40);
  });

  t.test('error lines carry their code; 5xx at error', async (t) => {
    await app.inject({ method: 'GET', url: '/v1/nowhere', headers: admin });
    const nf = logs.find((l) => l.msg === 'request' && l.url === '/v1/nowhere');
    t.equal(nf?.code, 'not_found');
    t.equal(nf?.level, 30);

    // A broken table makes a genuine internal error.
    await sql`alter table warehouses rename to warehouses_away`.execute(db);
    try {
      const r = await app.inject({ method: 'GET', url: '/v1/warehouses', headers: admin });
      t.equal(r.statusCode, 500);
    } finally {
      await sql`alter table warehouses_away rename to warehouses`.execute(db);
    }
    const line = logs.find((l) => l.msg === 'request' && l.url === '/v1/warehouses' && l.status === 500);
    t.equal(line?.level, 50);
    t.equal(line?.code, 'internal');
    const unhandled = logs.find((l) => l.msg === 'unhandled error');
    t.equal(unhandled?.code, 'internal');
  });
});
