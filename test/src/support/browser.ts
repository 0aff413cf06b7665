import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { artifactPath } from './paths.js';
import { needService } from './skip.js';

/** Debian's package path; PIFLEET_CHROMIUM points elsewhere (e.g. a distro that calls it chromium-browser). */
export const CHROMIUM = process.env['PIFLEET_CHROMIUM'] ?? '/usr/bin/chromium';

// Headless and quiet: no GPU, no sandbox (CI runs as root), and no background traffic to Google
// that would slow start-up or fail on an offline machine.
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * Launches the system Chromium, closed when the test ends. Resolves to undefined (test skipped)
 * when Chromium is not installed; under PIFLEET_TEST_STRICT=1 that is a failure instead.
 */
export async function launchBrowser(t: TestContext): Promise<Browser | undefined> {
  if (!needService(t, 'Chromium', existsSync(CHROMIUM), 'apt-get install -y chromium')) return undefined;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 60_000 });
  t.after(() => browser.close());
  return browser;
}

/**
 * A page at a laptop-sized viewport that records uncaught page errors, so a test can assert the
 * SPA never threw; `errors` is checked by the caller at the end.
 */
export async function newPage(browser: Browser): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: 'en-GB', timezoneId: 'UTC' });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return { page, errors };
}

/** Full-page screenshot under test-artifacts/ (gitignored), for a person to look at after a run. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const path = artifactPath(name.endsWith('.png') ? name : `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Runs `body`; on failure keeps a screenshot of what the page showed, then rethrows. */
export async function withFailureShot<T>(page: Page, name: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    await screenshot(page, `${name}-failure`).catch(() => undefined);
    throw err;
  }
}

/** Signs in through the dashboard's own login form, as a person would. */
export async function loginThroughForm(page: Page, hubUrl: string, username: string, password: string): Promise<void> {
  await page.goto(hubUrl + '/');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('whoami').waitFor();
}

/**
 * The acceptance check "device appears online in the dashboard": signs in, waits for the device's
 * row to say online (live over SSE, no reload) and keeps a screenshot. Usable as the
 * `whileOnline` hook of the end-to-end lifecycle scenario.
 */
export async function dashboardShowsOnline(t: TestContext, hubUrl: string, adminPassword: string, deviceName: string, shot: string): Promise<void> {
  const browser = await launchBrowser(t);
  if (!browser) return;
  const { page, errors } = await newPage(browser);
  await withFailureShot(page, shot, async () => {
    await loginThroughForm(page, hubUrl, 'admin', adminPassword);
    const status = page.getByTestId(`device-row-${deviceName}`).getByTestId('device-status');
    await status.and(page.locator('[data-status="online"]')).waitFor();
    assert.match(await status.innerText(), /online/i);
    // The counts load too, while telemetry keeps the live stream busy (they once starved).
    const online = page.getByTestId('count-online');
    await online.waitFor({ timeout: 10_000 });
    const deadline = Date.now() + 10_000;
    while (Number(await online.innerText()) < 1 && Date.now() < deadline) await page.waitForTimeout(200);
    assert.ok(Number(await online.innerText()) >= 1, 'the overview counts the device online');
    await screenshot(page, shot);
  });
  await page.context().close();
  assert.deepEqual(errors, [], 'the dashboard threw no uncaught errors');
}
