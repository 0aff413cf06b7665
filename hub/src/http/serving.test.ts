import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Health } from '../contract.js';
import { INITIAL_PASSWORD_FILE } from '../users/admin-bootstrap.service.js';
import { DASHBOARD_DIR } from './dashboard.js';
import { startHub } from './start-hub.js';
import { startTestHub, type TestHub } from './test-hub.js';

let t: TestHub;
before(async () => {
  t = await startTestHub();
});
after(async () => {
  await t?.close();
});

test('health is public and reports db and mqtt', async () => {
  const r = await t.api<Health>('GET', '/api/health');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.status, 'ok');
  assert.equal(r.body.db, 'ok');
  assert.equal(r.body.mqtt, 'ok');
  assert.equal(r.body.broker, 'embedded');
  assert.match(r.body.version, /^\d+\.\d+\.\d+/);
});

test('metrics need a login and include HTTP request counters', async () => {
  assert.equal((await t.api('GET', '/metrics')).status, 401);
  const token = await t.login();
  await t.api('GET', '/api/devices', { token });
  const r = await t.api<string>('GET', '/metrics', { token });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /text\/plain/);
  assert.match(r.body, /pifleet_http_requests_total\{method="GET",route="\/api\/devices",status="200"\} 1/);
  assert.match(r.body, /pifleet_http_request_duration_seconds_bucket/);
});

test('OpenAPI docs are public and describe the routes', async () => {
  const r = await t.api<{ paths: Record<string, unknown> }>('GET', '/api/docs-json');
  assert.equal(r.status, 200);
  for (const p of ['/api/auth/login', '/api/enroll', '/api/devices/{idOrName}', '/api/tokens', '/metrics']) assert.ok(p in r.body.paths, p);
  const ui = await fetch(t.url + '/api/docs');
  assert.equal(ui.status, 200);
  assert.match(await ui.text(), /swagger/i);
});

test('unknown API routes are 404 with the error shape; the dashboard is served at / with SPA fallback', async () => {
  const r = await t.api('GET', '/api/nope');
  assert.equal(r.status, 404);
  assert.equal(r.body.code, 'not_found');
  const home = await fetch(t.url + '/');
  assert.equal(home.status, 200);
  const deep = await fetch(t.url + '/devices/some-pi');
  assert.equal(deep.status, 200);
  if (existsSync(join(DASHBOARD_DIR, 'index.html'))) {
    const index = readFileSync(join(DASHBOARD_DIR, 'index.html'), 'utf8');
    assert.equal(await home.text(), index);
    assert.equal(await deep.text(), index);
  } else {
    assert.match(await home.text(), /npm run build/);
  }
});

test('without PIFLEET_ADMIN_PASSWORD a password is generated once, kept 0600, and works', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'pifleet-hub-test-'));
  const env = {
    PIFLEET_HTTP_PORT: '0',
    PIFLEET_HTTP_HOST: '127.0.0.1',
    PIFLEET_MQTT_PORT: '0',
    PIFLEET_MQTT_HOST: '127.0.0.1',
    PIFLEET_DATA_DIR: dataDir,
    PIFLEET_ADMIN_PASSWORD: undefined,
    PIFLEET_LOG_LEVEL: 'silent',
    DATABASE_URL: undefined,
    MQTT_URL: undefined,
  };
  try {
    const first = await startHub({ env });
    const file = join(dataDir, INITIAL_PASSWORD_FILE);
    const password = readFileSync(file, 'utf8').trim();
    assert.equal(first.admin.password, password);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const login = await fetch(first.url + '/api/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password }),
    });
    assert.equal(login.status, 200);
    await first.close();
    // A restart keeps the same password (generated once).
    const second = await startHub({ env });
    assert.equal(second.admin.password, password);
    await second.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
