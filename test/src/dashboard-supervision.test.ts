import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { StateDesiredMessage } from '@pifleet/protocol';
import { launchBrowser, loginThroughForm, newPage, screenshot, withFailureShot } from './support/browser.js';
import { HubProcess } from './support/hub-process.js';
import { REPO } from './support/paths.js';
import { enrollSupervisedDevice } from './support/supervised-device.js';
import { waitFor } from './support/wait.js';

const COMPOSE = `name: web
services:
  api:
    image: nginx:1.27
    restart: always
`;

/** Two mistakes on known lines: a restart policy that does not exist (5) and a port out of range (7). */
const BAD_COMPOSE = `name: web
services:
  api:
    image: nginx:1.27
    restart: sometimes
    ports:
      - "99999:80"
`;

void test('dashboard supervision: apps dry run, apply and rollback, live containers to FATAL, alert, stop reaches the device, viewer without actions (headless Chromium)', { timeout: 240_000 }, async (t) => {
  const browser = await launchBrowser(t);
  if (!browser) return;
  assert.ok(existsSync(join(REPO, 'dashboard/dist/index.html')), 'dashboard bundle is built (npm run build -w @pifleet/dashboard)');
  const hub = await new HubProcess().start();
  t.after(() => hub.stop());
  const admin = await hub.admin();
  for (const [username, role] of [['ops', 'operator'], ['watcher', 'viewer']] as const) {
    const u = await admin.post('/api/users', { username, password: `${username}-password-1`, role });
    assert.ok(u.status === 200 || u.status === 201, JSON.stringify(u.body));
  }
  const name = `pi-sup-${Math.random().toString(36).slice(2, 6)}`;
  const pi = await enrollSupervisedDevice(admin, name, { model: 'Raspberry Pi 5', agentVersion: 'test' }, { keepalive: 10 });
  t.after(() => pi.client.endAsync(true));
  await waitFor('device online', async () => (await admin.get<{ online: boolean }>(`/api/devices/${pi.id}`)).body.online, 15_000, 100);

  const { page, errors } = await newPage(browser);
  // Every containers fetch the page makes: the table must follow the live stream, not poll.
  const containerFetches: string[] = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname.endsWith('/containers')) containerFetches.push(r.url());
  });

  await withFailureShot(page, 'supervision', async () => {
    await loginThroughForm(page, hub.url, 'ops', 'ops-password-1');

    // Apps page: an invalid compose file lists each problem with its line and path; nothing is created.
    await page.getByRole('navigation').getByRole('link', { name: 'Apps' }).click();
    await page.getByTestId('apply-form').waitFor();
    await page.getByTestId('no-apps').waitFor();
    await page.getByTestId('compose-text').fill(BAD_COMPOSE);
    await page.getByRole('button', { name: 'Dry run' }).click();
    const problems = page.getByTestId('compose-error');
    await problems.first().waitFor();
    const texts = await problems.allInnerTexts();
    assert.ok(texts.some((x) => /line 5\b/.test(x) && x.includes('services.api.restart')), `restart error on line 5: ${JSON.stringify(texts)}`);
    assert.ok(texts.some((x) => /line 7\b/.test(x) && x.includes('services.api.ports')), `port error on line 7: ${JSON.stringify(texts)}`);
    // A line link selects that line in the editor.
    await page.getByTestId('compose-error-line').filter({ hasText: 'line 7' }).first().click();
    assert.equal(await page.getByTestId('compose-text').evaluate((el: HTMLTextAreaElement) => el.value.slice(el.selectionStart, el.selectionEnd)), '      - "99999:80"');
    await screenshot(page, 'supervision-compose-errors');
    assert.deepEqual((await admin.get<unknown[]>('/api/apps')).body, [], 'an invalid file creates no app');

    // A dry run shows the plan (create web/api on the device) and changes nothing; Apply creates release 1.
    await page.getByTestId('compose-text').fill(COMPOSE);
    await page.getByRole('button', { name: 'Dry run' }).click();
    const plan = page.getByTestId('plan-row');
    await plan.first().waitFor();
    assert.match(await plan.first().innerText(), new RegExp(`${name}\\s+web\\s+api\\s+create`));
    await page.getByTestId('apply-result').filter({ hasText: 'nothing was changed' }).waitFor();
    assert.deepEqual((await admin.get<unknown[]>('/api/apps')).body, [], 'a dry run creates no app');
    await screenshot(page, 'supervision-dry-run');
    await page.getByRole('button', { name: 'Apply', exact: true }).click();
    await page.getByTestId('apply-result').filter({ hasText: 'Release #1' }).waitFor();
    await page.getByTestId('app-row-default-web').waitFor();
    await page.getByTestId('releases-table').getByText('#1').waitFor();

    // The device is sent the app.
    const imageOf = (d: StateDesiredMessage) => d.apps['web']?.services['api']?.image;
    await waitFor('desired state with web/api', () => pi.desired.find((d) => imageOf(d) === 'nginx:1.27'), 15_000);

    // A second release changes the image; rolling back to #1 (after confirming) brings 1.27 back.
    await page.getByTestId('compose-text').fill(COMPOSE.replace('nginx:1.27', 'nginx:1.28'));
    await page.getByRole('button', { name: 'Apply', exact: true }).click();
    await page.getByTestId('apply-result').filter({ hasText: 'Release #2' }).waitFor();
    await page.getByTestId('release-2').filter({ hasText: 'current' }).waitFor();
    await waitFor('desired state with nginx:1.28', () => pi.desired.find((d) => imageOf(d) === 'nginx:1.28'), 15_000);
    await page.getByTestId('release-1').getByRole('button', { name: 'Roll back to #1' }).click();
    await page.getByRole('alertdialog', { name: 'Confirm rollback' }).getByRole('button', { name: 'Yes, roll back to #1' }).click();
    await page.getByTestId('rollback-result').filter({ hasText: 'release #3' }).waitFor();
    await page.getByTestId('release-3').filter({ hasText: 'rollback to #1' }).filter({ hasText: 'current' }).waitFor();
    await screenshot(page, 'supervision-rollback');
    const first = await waitFor('rolled-back desired state', () => pi.desired.find((d) => imageOf(d) === 'nginx:1.27' && d.apps['web']!.release === 3), 15_000);
    const version = first.version;
    const release = first.apps['web']!.release;

    // The device page: the containers table follows what the device reports, live.
    await page.goto(`${hub.url}/devices/${name}`);
    await page.getByTestId('containers-table').waitFor();
    await page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));
    const row = page.getByTestId('service-row-web-api');
    const state = row.getByTestId('service-state');
    const svc = (over: Record<string, unknown>) => ({ web: { api: { state: 'RUNNING', release, image: 'nginx:1.27', since: Date.now(), restarts: 0, crashLoop: false, ...over } } });

    await pi.report(svc({ state: 'RUNNING', startedAt: Date.now() - 5_000, health: 'healthy' }), version);
    await state.and(page.locator('[data-state="RUNNING"]')).waitFor();
    await page.getByTestId('applied-version').filter({ hasText: `v${version}` }).waitFor();
    // Uptime counts up on its own.
    const up1 = await row.getByTestId('service-uptime').innerText();
    assert.match(up1, /\d+ s/);
    await waitFor('uptime ticks', async () => (await row.getByTestId('service-uptime').innerText()) !== up1, 5_000, 200);
    // From here on every change must come over the live stream (a cold load fetches once more
    // when the stream's first snapshot arrives, as the fetch may predate its subscription).
    containerFetches.length = 0;

    // It crashes: BACKOFF and flagged as a crash loop.
    const logTail = ['connecting to postgres at 10.0.0.5:5432', 'Error: connect ECONNREFUSED 10.0.0.5:5432'];
    await pi.event({ app: 'web', service: 'api', from: 'RUNNING', to: 'BACKOFF', reason: 'exited', exitCode: 1, runMs: 900, restarts: 3, crashLoop: true, delayMs: 8_000, logTail });
    await pi.report(svc({ state: 'BACKOFF', restarts: 3, exitCode: 1, crashLoop: true, nextStartAt: Date.now() + 8_000 }), version);
    await state.and(page.locator('[data-state="BACKOFF"]')).waitFor();
    await row.getByTestId('note-crashloop').waitFor();
    await row.getByTestId('note-backoff').waitFor();
    assert.match((await row.getAttribute('class')) ?? '', /svc-row-crash/);
    await screenshot(page, 'supervision-backoff');

    // The supervisor gives up: FATAL, highlighted, and the alert shows on the banner.
    await pi.event({ app: 'web', service: 'api', from: 'BACKOFF', to: 'FATAL', reason: 'fatal_limit', exitCode: 1, restarts: 5, crashLoop: true, logTail });
    await pi.report(svc({ state: 'FATAL', restarts: 5, exitCode: 1, crashLoop: true, message: 'gave up after 5 failed starts' }), version);
    await state.and(page.locator('[data-state="FATAL"]')).waitFor();
    await row.getByTestId('note-fatal').waitFor();
    assert.match((await row.getAttribute('class')) ?? '', /svc-row-fatal/);
    assert.equal(await row.getByTestId('service-restarts').innerText(), '5');
    const fatalAlert = page.getByTestId('alerts-banner').locator('[data-testid="alert"][data-kind="fatal"]');
    await fatalAlert.waitFor();
    assert.equal(await fatalAlert.getByRole('link', { name }).getAttribute('href'), `/devices/${name}`);
    assert.match(await fatalAlert.innerText(), /web\/api/);
    assert.equal(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload), true, 'no page reload');
    assert.deepEqual(containerFetches, [], 'no containers fetch while the device changed: the live stream carried it');
    await screenshot(page, 'supervision-fatal');

    // The row opens its restart history, with the log tail of the run that died.
    await row.click();
    const history = page.getByTestId('service-history');
    await waitFor('two transitions', async () => (await history.getByTestId('history-row').count()) >= 2, 10_000, 200);
    assert.match(await history.getByTestId('history-row').first().innerText(), /BACKOFF\s*→\s*FATAL[\s\S]*fatal_limit/);
    await history.getByRole('button', { name: 'Show 2 lines' }).first().click();
    assert.match(await history.getByTestId('log-tail').first().innerText(), /ECONNREFUSED 10\.0\.0\.5:5432/);
    await screenshot(page, 'supervision-history');

    // Stop: the device receives a desired state with the operator stop for web/api.
    const before = pi.desired.length;
    await row.getByRole('button', { name: 'Stop web/api' }).click();
    const stopped = await waitFor('desired state with stopped=true', () => pi.desired.slice(before).find((d) => d.controls['web']?.['api']?.stopped === true), 15_000);
    assert.ok(stopped.version > version, 'a new desired version');
    await row.getByTestId('note-stopped').waitFor();
    await page.getByTestId('action-done').waitFor();

    // A refused action shows the hub's own message: the device still reports an app it no longer has.
    await pi.report({ ...svc({ state: 'FATAL', restarts: 5, exitCode: 1, crashLoop: true }), legacy: { worker: { state: 'RUNNING', restarts: 0, crashLoop: false } } }, stopped.version);
    const legacy = page.getByTestId('service-row-legacy-worker');
    await legacy.waitFor();
    const refused = await admin.post<{ message: string }>(`/api/devices/${pi.id}/services/action`, { action: 'stop', app: 'legacy', service: 'worker' });
    assert.ok(refused.status >= 400 && refused.status < 500, `the hub refuses: ${refused.status}`);
    await legacy.getByRole('button', { name: 'Stop legacy/worker' }).click();
    const shown = await page.getByTestId('action-error').innerText();
    assert.ok(shown.includes(refused.body.message), `the hub's message (${refused.body.message}) is shown: ${shown}`);
    assert.doesNotMatch(shown, /HTTP \d{3}/);

    // Acknowledge the alert: it stays open, marked with who saw it.
    await fatalAlert.getByRole('button', { name: /Acknowledge/ }).click();
    await fatalAlert.filter({ hasText: 'acknowledged by ops' }).waitFor();
    await screenshot(page, 'supervision-stopped');

    // The fleet's troubles list the FATAL service, linking to the device.
    await page.goto(`${hub.url}/fleets/default`);
    const trouble = page.getByTestId(`trouble-${name}-web-api`);
    await trouble.waitFor();
    assert.equal(await trouble.getByRole('link', { name }).getAttribute('href'), `/devices/${name}`);
  });

  // A viewer sees the same table and alerts but no action or acknowledge button.
  const viewer = await newPage(browser);
  await withFailureShot(viewer.page, 'supervision-viewer', async () => {
    const v = viewer.page;
    await loginThroughForm(v, hub.url, 'watcher', 'watcher-password-1');
    await v.goto(`${hub.url}/devices/${name}`);
    await v.getByTestId('service-row-web-api').getByTestId('service-state').and(v.locator('[data-state="FATAL"]')).waitFor();
    await v.getByTestId('alerts-banner').locator('[data-kind="fatal"]').waitFor();
    await v.getByText('can see services but not start, stop or restart them').waitFor();
    assert.equal(await v.getByRole('button', { name: /^(Start|Stop|Restart|Reset|Pause|Resume|Acknowledge)\b/ }).count(), 0, 'no action buttons for a viewer');
    await screenshot(v, 'supervision-viewer');
  });

  // The device drops off: its services turn UNKNOWN, the last reported state kept beside it.
  await withFailureShot(page, 'supervision-offline', async () => {
    await page.goto(`${hub.url}/devices/${name}`);
    await page.getByTestId('service-row-web-api').getByTestId('service-state').and(page.locator('[data-state="FATAL"]')).waitFor();
    await pi.client.endAsync(true); // no DISCONNECT: the broker publishes the Will
    const st = page.getByTestId('service-row-web-api').getByTestId('service-state');
    await st.and(page.locator('[data-state="UNKNOWN"]')).waitFor({ timeout: 30_000 });
    assert.match(await st.innerText(), /last reported FATAL/);
    await page.getByTestId('offline-note').waitFor();
    await screenshot(page, 'supervision-offline');
  });
  assert.deepEqual(errors, [], 'the dashboard threw no uncaught errors');
  assert.deepEqual(viewer.errors, [], 'the viewer dashboard threw no uncaught errors');
});
