import t from 'tap';
import { createJobRunner } from '../../src/background.js';
import { SecretHasher } from '../../src/lib/secrets.js';
import { DEFAULT_ORDER_STATUSES, SS_ORDER_STATUSES } from '../../src/sources/model.js';
import { buildTestApp, seedAccounts, TEST_SECRET_KEY } from '../helpers/app.js';
import { startSim } from '../helpers/shipstation-api-sim.js';
import {
  BROWSER_TIMEOUT_MS,
  browserSkip,
  fieldError,
  launchBrowser,
  newPage,
  serve,
  shot,
  sidewaysOverflow,
  signIn,
  unlabelledFields,
} from './browser-helpers.js';

/**
 * The console's source connections in Chromium, against the ShipStation API simulator: a warehouse
 * user opens a merchant's Sources page, is told beside the field what the API refused, connects the
 * merchant's ShipStation account with a tag filter, tests the connection (the account's stores and
 * tags), pulls now, and finds the tagged order (and only it) in the orders list under the source's
 * name, with the merchant's rule applied; then edits, disables and enables the source, and retires
 * it; last, revoking the credential sends the console back to its sign-in. The service's background jobs
 * run as they do in the server, so the first pull and "Pull now" happen on their own.
 *
 * PostgreSQL only (see browser-helpers.ts). Screenshot: .tap/console-screenshots/source.png.
 */

t.setTimeout(BROWSER_TIMEOUT_MS);

t.test('source connections in Chromium', { skip: browserSkip }, async (t) => {
  const sim = await startSim(t);
  sim.tag('Warehouse');
  const { app, db } = await buildTestApp(t, {
    PUBLIC_URL: undefined,
    SECRET_KEY: TEST_SECRET_KEY,
    SHIPSTATION_API_URL: sim.url,
  });
  const base = await serve(app);
  const acc = await seedAccounts(app, 'csrc');
  const merchant = acc.merchant.code;
  const jobs = createJobRunner(
    db.db,
    { webhookAllowPrivate: false, shipstationApiUrl: sim.url },
    new SecretHasher(TEST_SECRET_KEY).box,
    undefined,
    { pollMs: 100 },
  );
  jobs.start();
  t.teardown(() => jobs.stop(1_000));
  const sourceOverApi = async (id: number) =>
    (
      await app.inject({
        method: 'GET',
        url: `/v1/merchants/${merchant}/sources/${id}`,
        headers: acc.merchant.auth,
      })
    ).json().source as { enabled: boolean; poll_minutes: number; health: { last_pull_at: string | null } };

  const browser = await launchBrowser(t);
  const { page, problems, dialogs } = await newPage(browser);
  let sourceId = 0;

  await t.test(
    "a warehouse user reaches a merchant's sources; a refused form names its fields",
    async (t) => {
      await signIn(page, base, acc.warehouse.credential);
      await page.getByLabel('Merchant', { exact: true }).selectOption(merchant);
      await page.getByRole('link', { name: 'Sources', exact: true }).click();
      await page.getByRole('heading', { name: 'New ShipStation source' }).waitFor();
      t.equal(
        await page.getByLabel('API secret').getAttribute('type'),
        'password',
        'the secret is typed into a password field',
      );
      const statuses = await page
        .getByRole('group', { name: 'ShipStation statuses taken' })
        .getByRole('checkbox')
        .all();
      const offered = await Promise.all(statuses.map((b) => b.getAttribute('value')));
      t.same(offered, [...SS_ORDER_STATUSES], "the statuses offered are the API's");
      const ticked = await Promise.all(statuses.map((b) => b.isChecked()));
      t.same(
        offered.filter((_v, i) => ticked[i]),
        [...DEFAULT_ORDER_STATUSES],
        "a new source starts with the API's default",
      );

      // By keyboard: the fields in tab order, Enter submits.
      await page.getByLabel('Name', { exact: true }).focus();
      await page.keyboard.type('ss-main');
      await page.keyboard.press('Tab');
      await page.keyboard.type(sim.apiKey);
      await page.keyboard.press('Tab');
      await page.keyboard.type(sim.apiSecret);
      await page.keyboard.press('Tab'); // store id: every store
      await page.keyboard.press('Tab');
      await page.keyboard.type('3');
      await page.getByLabel('Tag filter').selectOption('include');
      await page.getByLabel('Tag name').fill('Warehouse');
      await page.getByLabel('Earliest order date').fill('last tuesday');
      await page.getByLabel('Tag name').press('Enter');
      const pollErr = fieldError(page, 'Poll minutes');
      await pollErr.waitFor();
      t.match(
        await pollErr.textContent(),
        /5/,
        `poll_minutes refused beside its field: ${await pollErr.textContent()}`,
      );
      t.equal(await page.getByLabel('Poll minutes').getAttribute('aria-invalid'), 'true');
      t.match(
        await fieldError(page, 'Earliest order date').textContent(),
        /./,
        'earliest_order_date refused beside its field',
      );
      t.equal(await page.getByRole('row').count(), 2, 'nothing was created (header and the empty row)');
      await shot(page, 'source-refused');
    },
  );

  await t.test('create the source with a tag filter; the secret is never shown again', async (t) => {
    await page.getByLabel('Poll minutes').fill('15');
    await page.getByLabel('Earliest order date').fill('');
    await page.getByRole('button', { name: 'Create source' }).click();
    await page.getByText(/ss-main created/).waitFor();
    const row = page.getByRole('row', { name: /ss-main/ });
    t.match(await row.textContent(), /every store/);
    t.match(await row.textContent(), /awaiting_shipment/);
    t.match(await row.textContent(), /include “Warehouse”/);
    t.match(await row.textContent(), /enabled/);
    t.equal(await page.getByLabel('API secret').inputValue(), '', 'the form is cleared');
    t.notOk((await page.content()).includes(sim.apiSecret), 'the secret is nowhere on the page');
    const href = await page.getByRole('link', { name: 'ss-main', exact: true }).first().getAttribute('href');
    sourceId = Number(href?.split('/').pop());
    t.ok(sourceId > 0);
  });

  await t.test("test connection shows the account's stores and tags", async (t) => {
    await page.getByRole('link', { name: 'ss-main', exact: true }).first().click();
    await page.getByRole('heading', { name: 'Pulls' }).waitFor();
    await page.getByRole('button', { name: 'Test connection' }).click();
    await page.getByText('Connection works.').waitFor();
    const stores = page.getByRole('table', { name: 'Stores of the account' });
    t.match(await stores.textContent(), /101\s*Amazon US/);
    t.match(await stores.textContent(), /102\s*Shopify/);
    t.match(await page.locator('.banner.ok').textContent(), /Tags: Warehouse/);
    t.match(await page.locator('.banner.ok').textContent(), /The tag “Warehouse” exists/);
    t.notOk((await page.content()).includes(sim.apiSecret), 'the secret is not on the source page');
  });

  await t.test('pull now: the tagged order arrives, listed under its source', async (t) => {
    // The pull that creation started has run (the orders below come after it: only "Pull now" brings them).
    const deadline = Date.now() + 60_000;
    while ((await sourceOverApi(sourceId)).health.last_pull_at === null) {
      if (Date.now() > deadline) throw new Error('the first pull did not run');
      await new Promise((r) => setTimeout(r, 100));
    }
    // A rule of the merchant for this source's orders: pulled orders go through the same pipeline.
    const rule = await app.inject({
      method: 'POST',
      url: `/v1/merchants/${merchant}/rules`,
      headers: acc.merchant.auth,
      payload: {
        name: 'Tag ShipStation orders',
        when: [{ field: 'order_source', op: 'equals', value: 'ss-main' }],
        // biome-ignore lint/suspicious/noThenProperty: a rule's actions are its "then" in the API
        then: [{ type: 'add_tags', tags: ['from-ss'] }],
      },
    });
    t.equal(rule.statusCode, 201, rule.body);
    sim.addOrder({ orderId: 5001, orderNumber: 'SS-5001', tags: ['Warehouse'] });
    sim.addOrder({ orderId: 5002, orderNumber: 'SS-5002' });
    await sim.caughtUp();
    await page.getByRole('button', { name: 'Pull now' }).click();
    await page.getByText(/Pull finished at/).waitFor();
    t.match(await page.locator('.last-pull').textContent(), /\d/, 'the last pull is shown');
    await page.getByRole('link', { name: '1 order(s) from ss-main' }).waitFor();
    await shot(page, 'source');
    await page.getByRole('link', { name: '1 order(s) from ss-main' }).click();
    await page.getByRole('heading', { name: /Orders/ }).waitFor();
    t.equal(await page.getByLabel('Order source').inputValue(), 'ss-main', 'the filter is the source');
    const row = page.getByRole('row', { name: /SS-5001/ });
    await row.waitFor();
    t.match(await row.textContent(), /ss-main/, 'the order carries its source');
    t.equal(await page.getByRole('row', { name: /SS-5002/ }).count(), 0, 'the untagged order was not taken');
    await row.getByRole('link', { name: 'SS-5001' }).click();
    await page.getByRole('heading', { name: 'Rules that fired' }).waitFor();
    t.match(await page.locator('.facts').first().textContent(), /Sourcess-main/, "the order's source");
    t.match(
      await page.locator('.rule-effects').textContent(),
      /Tag ShipStation orders \(merchant\)[\s\S]*from-ss/,
      "the merchant's rule fired on the pulled order",
    );
    await page.goBack();
    // Every order again: the filter cleared by hand.
    await page.getByLabel('Order source').fill('');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByRole('row', { name: /SS-5001/ }).waitFor();
  });

  await t.test('edit: a refused change names its field; a good one is saved', async (t) => {
    await page.goto(`${base}/console#/m/${merchant}/sources/${sourceId}`);
    await page.getByRole('heading', { name: 'Settings' }).waitFor();
    const settings = page.locator('form', { has: page.getByRole('heading', { name: 'Settings' }) });
    await settings.getByLabel('Tag name').fill('');
    await settings.getByRole('button', { name: 'Save changes' }).click();
    const err = fieldError(page, 'Tag name');
    await err.waitFor();
    t.match(await err.textContent(), /empty/, 'tag.name refused beside its field');
    await settings.getByLabel('Tag name').fill('Warehouse');
    await settings.getByLabel('Poll minutes').fill('30');
    await settings.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Saved.').waitFor();
    t.equal((await sourceOverApi(sourceId)).poll_minutes, 30);
  });

  await t.test('disable and enable', async (t) => {
    await page.getByRole('button', { name: 'Disable' }).click();
    await page.getByText('ss-main disabled: it pulls no more.').waitFor();
    await page.locator('dd.state', { hasText: 'disabled (disabled by a person)' }).waitFor();
    t.ok(await page.getByRole('button', { name: 'Pull now' }).isDisabled(), 'no pull while disabled');
    t.equal((await sourceOverApi(sourceId)).enabled, false);
    await page.getByRole('button', { name: 'Enable' }).click();
    await page.getByText('ss-main enabled: it pulls again.').waitFor();
    await page.locator('dd.state', { hasText: /^enabled$/ }).waitFor();
    t.ok(await page.getByRole('button', { name: 'Pull now' }).isEnabled(), 'pulls allowed again');
    t.equal((await sourceOverApi(sourceId)).enabled, true);
  });

  await t.test('the sources pages fit a phone', async (t) => {
    await page.setViewportSize({ width: 390, height: 844 });
    const o = await sidewaysOverflow(page);
    t.ok(o <= 0, `a source: no sideways scrolling at 390 px (${o})`);
    t.same(await unlabelledFields(page), [], 'a source: every field labelled');
    await page.getByRole('link', { name: '← Source connections' }).click();
    await page.getByRole('heading', { name: 'New ShipStation source' }).waitFor();
    const l = await sidewaysOverflow(page);
    t.ok(l <= 0, `the list: no sideways scrolling at 390 px (${l})`);
    t.same(await unlabelledFields(page), [], 'the list: every field labelled');
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  await t.test('retire, after a confirmation', async (t) => {
    await page.getByRole('link', { name: 'ss-main', exact: true }).first().click();
    await page.getByRole('button', { name: 'Retire' }).click();
    await page.getByText('No source connections').waitFor();
    t.match(dialogs.at(-1), /^Retire ss-main\?/, 'asked first');
    const r = await app.inject({
      method: 'GET',
      url: `/v1/merchants/${merchant}/sources/${sourceId}`,
      headers: acc.merchant.auth,
    });
    t.equal(r.statusCode, 404, 'retired');
  });

  await t.test("revoking the session's credential sends the console back to sign-in", async (t) => {
    const r = await app.inject({
      method: 'DELETE',
      url: `/v1/credentials/${acc.warehouse.credential.api_user}`,
      headers: { authorization: 'Bearer test-admin-token-0123456789' },
    });
    t.equal(r.statusCode, 204);
    await page.getByRole('link', { name: 'Orders', exact: true }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    t.same(problems, [], 'no script errors on any page');
  });
});
