/**
 * What every browser test of the console shares: Debian's Chromium driven by playwright-core, a
 * page that records script errors and dialogs, screenshots, sign-in, and the phone-width check.
 *
 * The journeys run on PostgreSQL only: the browser's requests and the test's own run concurrently
 * against one server, which the embedded database (one connection) serialises; on PGlite the
 * sign-in, session and header rules are covered by session.test.ts.
 */
import { existsSync, mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { type Browser, chromium, type Page } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ROOT = path.resolve(import.meta.dirname, '../..');
/** Screenshots of the main pages (CI artifacts). */
const SHOTS = path.join(ROOT, '.tap/console-screenshots');
/** With CONSOLE_SCREENSHOTS_TO_DOCS=1, these screenshots are also written to docs/ for the README. */
const DOCS_SHOTS = ['store', 'order'];

/** A browser and a server on a shared 2-core machine: more than the suite's 120 s per file when busy. */
export const BROWSER_TIMEOUT_MS = 300_000;

/** Why a browser test cannot run here, or false. */
export const browserSkip: string | false = !process.env.DATABASE_URL
  ? 'browser journeys run on PostgreSQL only (set DATABASE_URL)'
  : !existsSync(CHROMIUM)
    ? `no Chromium at ${CHROMIUM} (apt-get install chromium; .ci/run installs it)`
    : false;

interface Teardown {
  teardown(fn: () => unknown): void;
}

export async function launchBrowser(t: Teardown): Promise<Browser> {
  mkdirSync(SHOTS, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  t.teardown(() => browser.close());
  return browser;
}

/** Starts the app on a free port of 127.0.0.1; answers its base URL. */
export async function serve(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

export interface ConsolePage {
  page: Page;
  /** Script errors and console errors (failed requests aside: refusals are part of the journeys). */
  problems: string[];
  /** Every confirm()/alert() message, each accepted. */
  dialogs: string[];
}

/** A page in a context of its own (its own cookies), 1280 px wide unless told. */
export async function newPage(browser: Browser, width = 1280, height = 860): Promise<ConsolePage> {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  // Generous: CI machines are shared; a wait only ends early, it never slows a passing run.
  page.setDefaultTimeout(30_000);
  const problems: string[] = [];
  const dialogs: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) problems.push(m.text());
  });
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.accept();
  });
  return { page, problems, dialogs };
}

export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
  if (process.env.CONSOLE_SCREENSHOTS_TO_DOCS === '1' && DOCS_SHOTS.includes(name)) {
    await page.screenshot({ path: path.join(ROOT, 'docs', `console-${name}.png`) });
  }
}

/** A text field by its exact label (copy buttons are labelled "Copy …"). */
export const box = (page: Page, name: string) => page.getByRole('textbox', { name, exact: true });

/** The error shown beside the field labelled `label`. */
export const fieldError = (page: Page, label: string) =>
  page.locator('.field', { has: page.getByLabel(label, { exact: true }) }).locator('.field-error');

/** Signs in with a credential from the sign-in form; resolves once the console's shell is shown. */
export async function signIn(
  page: Page,
  base: string,
  cred: { api_user: string; api_key: string },
): Promise<void> {
  await page.goto(`${base}/console`);
  await page.getByLabel('API user').fill(cred.api_user);
  await page.getByLabel('API key').fill(cred.api_key);
  await page.getByLabel('API key').press('Enter');
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** How far the page scrolls sideways (0 or less: it fits the window). */
export async function sidewaysOverflow(page: Page): Promise<number> {
  return Number(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'));
}

/** The form controls on the page that have no label (by <label>, aria-label or aria-labelledby). */
export async function unlabelledFields(page: Page): Promise<string[]> {
  return (await page.evaluate(`[...document.querySelectorAll('input, select, textarea')]
    .filter((e) => e.type !== 'hidden' && e.labels.length === 0 && !e.getAttribute('aria-label')
      && !e.getAttribute('aria-labelledby'))
    .map((e) => e.outerHTML.slice(0, 160))`)) as string[];
}
