import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { deviceTopic, encodeBatch, PROTOCOL_VERSION, type EnrollResponse, type StatusMessage, type TelemetryMessage } from '@pifleet/protocol';
import { launchBrowser, loginThroughForm, newPage, screenshot, withFailureShot } from './support/browser.js';
import { HubProcess } from './support/hub-process.js';
import { REPO } from './support/paths.js';
import { waitFor } from './support/wait.js';

/** OpenSSH one-line form of a fresh ed25519 public key, as the agent sends it at enrollment. */
function sshPublicKey(): string {
  const raw = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  // RFC 4253 §6.6: each field is a uint32 big-endian length followed by the bytes.
  const field = (b: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    return Buffer.concat([len, b]);
  };
  const blob = Buffer.concat([field(Buffer.from('ssh-ed25519')), field(raw)]);
  return `ssh-ed25519 ${blob.toString('base64')}`;
}

/**
 * A real device from the hub's point of view, without needing the agent: enrolls with a
 * provisioning token, connects with its own MQTT credential, declares itself online (retained,
 * with the offline Will) and publishes one telemetry batch covering the last few minutes.
 */
async function fakeDevice(hub: HubProcess, name: string): Promise<{ enrolled: EnrollResponse; client: MqttClient; session: number }> {
  const token = await hub.createToken();
  const info = { hostname: name, os: 'Debian GNU/Linux 12', arch: 'arm64', model: 'Raspberry Pi 4 Model B', agentVersion: 'test' };
  const r = await hub.api.post<EnrollResponse>('/api/enroll', { token, name, publicKey: sshPublicKey(), info });
  assert.ok(r.status === 200 || r.status === 201, `enroll: ${r.status} ${JSON.stringify(r.body)}`);
  const enrolled = r.body;
  const session = Date.now();
  const status = (state: 'online' | 'offline'): StatusMessage => ({ v: PROTOCOL_VERSION, type: 'status', id: randomUUID().slice(0, 32), ts: Date.now(), state, session, info });
  const statusTopic = deviceTopic(enrolled.deviceId, 'status');
  const client = await mqtt.connectAsync(enrolled.mqtt.url, {
    username: enrolled.mqtt.username,
    password: enrolled.mqtt.password,
    clientId: enrolled.mqtt.clientId,
    reconnectPeriod: 0,
    keepalive: 10,
    will: { topic: statusTopic, payload: Buffer.from(JSON.stringify(status('offline'))), qos: 1, retain: true },
  });
  await client.publishAsync(statusTopic, JSON.stringify(status('online')), { qos: 1, retain: true });
  // 30 samples 10 s apart, in protocol units (permille, x100, MiB, deci-degrees), with a visible trend.
  const samples = encodeBatch(Array.from({ length: 30 }, (_, i) => {
    const dt = (29 - i) * 10_000;
    return ({ dt, cpu: 150 + i * 20, load1: 40 + i * 3, load5: 50, load15: 45, memUsed: 900 + i * 10, memTotal: 3800, diskUsed: 5200, diskTotal: 29000, temp: 480 + i * 4, throttled: 0, netRx: 20_000 + i * 500, netTx: 8_000, uptime: 3600 + i * 10, agentRss: 30_000, agentCpu: 5 });
  }));
  const batch: TelemetryMessage = { v: PROTOCOL_VERSION, type: 'telemetry', id: randomUUID().slice(0, 32), ts: Date.now(), samples };
  await client.publishAsync(deviceTopic(enrolled.deviceId, 'telemetry'), JSON.stringify(batch), { qos: 0 });
  return { enrolled, client, session };
}

void test('dashboard: login, live device list, device charts, provisioning token (headless Chromium)', { timeout: 180_000 }, async (t) => {
  const browser = await launchBrowser(t);
  if (!browser) return;
  assert.ok(existsSync(join(REPO, 'dashboard/dist/index.html')), 'dashboard bundle is built (npm run build -w @pifleet/dashboard)');
  const hub = await new HubProcess().start();
  t.after(() => hub.stop());
  const { page, errors } = await newPage(browser);

  await withFailureShot(page, 'dashboard', async () => {
    // A bad password is refused with a message, and no session is created.
    await page.goto(hub.url + '/');
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('login-error').filter({ hasText: 'Wrong username or password' }).waitFor();
    await screenshot(page, 'dashboard-login-error');

    await loginThroughForm(page, hub.url, 'admin', hub.adminPassword);
    assert.match(await page.getByTestId('whoami').innerText(), /admin\s+admin/);
    await page.getByTestId('overview').waitFor();
    assert.equal(await page.getByTestId('count-total').innerText(), '0');
    await page.getByText('No devices yet.').waitFor();

    // A device enrolls and comes online: the row appears and turns online without a reload.
    const name = `pi-dash-${Math.random().toString(36).slice(2, 6)}`;
    const dev = await fakeDevice(hub, name);
    t.after(() => dev.client.endAsync(true));
    const row = page.getByTestId(`device-row-${name}`);
    await row.locator('[data-testid="device-status"][data-status="online"]').waitFor();
    await waitFor('overview counts one online device', async () => (await page.getByTestId('count-online').innerText()) === '1', 10_000, 200);
    await screenshot(page, 'dashboard-overview');

    // Client-side search narrows the list.
    await page.getByTestId('device-search').fill('no-such-device');
    await page.getByText('No device matches these filters.').waitFor();
    await page.getByTestId('device-search').fill(name.slice(0, 6));
    await row.waitFor();

    // A faulty sensor reading (9,999,999 °C) is stored as empty and counted for the operator.
    const faulty = encodeBatch([{ dt: 95_000, cpu: 100, load1: 1, load5: 1, load15: 1, memUsed: 1, memTotal: 2, diskUsed: 1, diskTotal: 2, temp: 99_999_990, throttled: 0, netRx: 1, netTx: 1, uptime: 1, agentRss: 1, agentCpu: 1 }]);
    await dev.client.publishAsync(deviceTopic(dev.enrolled.deviceId, 'telemetry'), JSON.stringify({ v: PROTOCOL_VERSION, type: 'telemetry', id: 'faulty1', ts: Date.now(), samples: faulty }), { qos: 1 });

    // The device page shows its facts and draws the telemetry history.
    await row.click();
    await page.waitForURL(`**/devices/${name}`);
    await page.getByTestId('device-title').filter({ hasText: name }).waitFor();
    await page.getByText('Raspberry Pi 4 Model B').waitFor();
    const lines = page.locator('[data-testid="chart"] path.line');
    await waitFor('chart lines drawn', async () => (await lines.count()) >= 5, 15_000, 250);
    const d = await lines.first().getAttribute('d');
    assert.ok(d && (d.match(/L/g) ?? []).length >= 10, `CPU line has many points: ${d?.slice(0, 80)}`);
    await page.getByTestId('ingest-drops').filter({ hasText: 'value out of range' }).waitFor();
    await screenshot(page, 'dashboard-device');

    // Tags are editable (admin ≥ operator) and saved on the hub.
    await page.getByLabel('New tag').fill('site=lab');
    await page.getByRole('button', { name: 'Add tag' }).click();
    await page.getByRole('button', { name: 'Remove tag site=lab' }).waitFor();
    const admin = await hub.admin();
    assert.deepEqual((await admin.get<{ tags: string[] }>(`/api/devices/${dev.enrolled.deviceId}`)).body.tags, ['site=lab']);

    // The device goes away: its status turns offline live, through the same stream.
    await dev.client.endAsync(true); // no DISCONNECT, so the broker publishes the Will
    await page.locator('[data-testid="device-status"][data-status="offline"]').waitFor({ timeout: 30_000 });

    // The hub restarts: the page says the link is down, then reconnects by itself and rebuilds
    // its state from the new snapshot (the session survives, it lives in the database).
    await hub.stop();
    await page.getByTestId('connection-banner').filter({ hasText: 'Hub unreachable, retrying' }).waitFor();
    await screenshot(page, 'dashboard-hub-down');
    await hub.start();
    await page.getByTestId('connection-banner').waitFor({ state: 'detached', timeout: 45_000 });
    await page.locator('[data-testid="device-status"][data-status="offline"]').waitFor();
    // The new snapshot carries each device's latest sample, shown in the list (last CPU = 73 %).
    await page.getByRole('navigation').getByRole('link', { name: 'Fleet', exact: true }).click();
    await waitFor('latest telemetry in the row', async () => /73 %/.test(await row.innerText()), 10_000, 200);
    assert.match(await row.innerText(), /offline/);
    await screenshot(page, 'dashboard-after-restart');

    // Provisioning tokens: create one through the form and get the ready-to-paste agent command.
    await page.getByRole('link', { name: 'Tokens' }).click();
    await page.getByTestId('token-form').waitFor();
    await page.getByRole('spinbutton', { name: 'Max devices' }).fill('3');
    await page.getByRole('button', { name: 'Create token' }).click();
    const command = await page.getByTestId('agent-command').innerText();
    const secret = await page.getByTestId('token-secret').innerText();
    assert.ok(secret.length >= 16, 'the secret is shown once');
    assert.ok(command.includes(secret), `agent command carries the token: ${command}`);
    await waitFor('new token listed', async () => /0 \/ 3/.test(await page.getByTestId('token-table').innerText()), 10_000, 200);
    await screenshot(page, 'dashboard-tokens');

    // Rename (operator+) follows the device to its new URL; revoke (admin) asks first, then sticks.
    await page.goto(`${hub.url}/devices/${name}`);
    await page.getByLabel('Device name').fill(`${name}-b`);
    await page.getByRole('button', { name: 'Rename' }).click();
    await page.waitForURL(`**/devices/${name}-b`);
    await page.getByTestId('device-title').filter({ hasText: `${name}-b` }).waitFor();
    await page.getByRole('button', { name: 'Revoke device…' }).click();
    await page.getByRole('button', { name: `Yes, revoke ${name}-b` }).click();
    await page.locator('[data-testid="device-status"][data-status="revoked"]').waitFor();
    assert.equal((await admin.get<{ status: string }>(`/api/devices/${dev.enrolled.deviceId}`)).body.status, 'revoked');
    await screenshot(page, 'dashboard-revoked');

    await page.getByTestId('logout').click();
    await page.getByTestId('login-form').waitFor();
  });
  assert.deepEqual(errors, [], 'the dashboard threw no uncaught errors');
});

void test('dashboard: a viewer sees the fleet but no admin or operator controls', { timeout: 120_000 }, async (t) => {
  const browser = await launchBrowser(t);
  if (!browser) return;
  const hub = await new HubProcess().start();
  t.after(() => hub.stop());
  const admin = await hub.admin();
  const created = await admin.post('/api/users', { username: 'watcher', password: 'watcher-password-1', role: 'viewer' });
  assert.ok(created.status === 200 || created.status === 201, JSON.stringify(created.body));
  const dev = await fakeDevice(hub, 'pi-viewed');
  t.after(() => dev.client.endAsync(true));
  const { page, errors } = await newPage(browser);

  await withFailureShot(page, 'dashboard-viewer', async () => {
    await loginThroughForm(page, hub.url, 'watcher', 'watcher-password-1');
    assert.match(await page.getByTestId('whoami').innerText(), /watcher\s+viewer/);
    assert.equal(await page.getByRole('link', { name: 'Tokens' }).count(), 0, 'no Tokens link for a viewer');
    await page.getByTestId('device-row-pi-viewed').click();
    await page.getByTestId('device-title').waitFor();
    await page.getByText('can view devices but not change them').waitFor();
    assert.equal(await page.getByRole('button', { name: /Rename|Add tag|Revoke/ }).count(), 0, 'no edit controls');
    // Typing the URL does not help: the page says so, and the hub refuses the call anyway.
    await page.goto(hub.url + '/tokens');
    await page.getByText('Not allowed for your role (viewer)').waitFor();
    const asViewer = await hub.api.login('watcher', 'watcher-password-1');
    assert.equal((await asViewer.get('/api/tokens')).status, 403);
    await screenshot(page, 'dashboard-viewer');
  });
  assert.deepEqual(errors, [], 'the dashboard threw no uncaught errors');
});
