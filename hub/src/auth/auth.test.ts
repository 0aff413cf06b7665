import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { TEST_ADMIN_PASSWORD, startTestHub, type TestHub } from '../http/test-hub.js';

let t: TestHub;
before(async () => {
  t = await startTestHub();
});
after(async () => {
  await t?.close();
});

test('admin logs in with the configured password; the session cookie is HttpOnly and SameSite=Strict', async () => {
  const r = await t.api('POST', '/api/auth/login', { body: { username: 'admin', password: TEST_ADMIN_PASSWORD } });
  assert.equal(r.status, 200);
  assert.equal(r.body.user.username, 'admin');
  assert.equal(r.body.user.role, 'admin');
  assert.ok(r.body.token.length > 40);
  const cookie = r.headers.get('set-cookie') ?? '';
  assert.match(cookie, /pifleet_session=/);
  assert.match(cookie, /HttpOnly/i);
  assert.match(cookie, /SameSite=Strict/i);
  // The cookie alone authenticates the dashboard.
  const me = await fetch(t.url + '/api/auth/me', { headers: { cookie: cookie.split(';')[0]! } });
  assert.equal(me.status, 200);
  assert.equal(((await me.json()) as { username: string }).username, 'admin');
});

test('bad password and unknown user get the same answer, and are counted', async () => {
  const wrong = await t.api('POST', '/api/auth/login', { body: { username: 'admin', password: 'nope-nope' } });
  const unknown = await t.api('POST', '/api/auth/login', { body: { username: 'mallory', password: 'nope-nope' } });
  assert.equal(wrong.status, 401);
  assert.deepEqual(wrong.body, unknown.body);
  assert.equal(unknown.status, 401);
  assert.equal(wrong.body.code, 'unauthenticated');
  const token = await t.login();
  const metrics = await t.api<string>('GET', '/metrics', { token });
  assert.match(metrics.body, /pifleet_auth_failures_total\{reason="login"\} 2/);
});

test('malformed login bodies are 400 bad_request', async () => {
  const r = await t.api('POST', '/api/auth/login', { body: { username: 'admin' } });
  assert.equal(r.status, 400);
  assert.equal(r.body.code, 'bad_request');
  const bad = await t.api('POST', '/api/auth/login', { raw: '{"username": ' });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.code, 'bad_request');
});

test('the API without auth, or with a made-up token, is 401', async () => {
  for (const path of ['/api/devices', '/api/tokens', '/api/fleets', '/api/events', '/metrics']) {
    const r = await t.api('GET', path);
    assert.equal(r.status, 401, path);
    assert.equal(r.body.code, 'unauthenticated');
  }
  const r = await t.api('GET', '/api/devices', { token: 'pfs_madeup' });
  assert.equal(r.status, 401);
});

test('a viewer calling admin endpoints gets 403 and nothing changes', async () => {
  const admin = await t.login();
  const viewer = await t.userToken('viewer', admin);
  const before = await t.api<unknown[]>('GET', '/api/tokens', { token: admin });
  const create = await t.api('POST', '/api/tokens', { token: viewer, body: { fleet: 'default' } });
  assert.equal(create.status, 403);
  assert.equal(create.body.code, 'forbidden');
  assert.equal((await t.api('POST', '/api/users', { token: viewer, body: { username: 'x', password: 'xxxxxxxx', role: 'admin' } })).status, 403);
  assert.equal((await t.api('POST', '/api/fleets', { token: viewer, body: { name: 'evil' } })).status, 403);
  const afterList = await t.api<unknown[]>('GET', '/api/tokens', { token: admin });
  assert.equal(afterList.body.length, before.body.length);
  assert.equal((await t.api<{ name: string }[]>('GET', '/api/fleets', { token: admin })).body.some((f) => f.name === 'evil'), false);
  // Viewers can read.
  assert.equal((await t.api('GET', '/api/devices', { token: viewer })).status, 200);
});

test('operators may not create users; duplicate usernames are 409', async () => {
  const admin = await t.login();
  const operator = await t.userToken('operator', admin);
  assert.equal((await t.api('GET', '/api/users', { token: operator })).status, 403);
  const dup = await t.api('POST', '/api/users', { token: admin, body: { username: 'admin', password: 'whatever1', role: 'viewer' } });
  assert.equal(dup.status, 409);
  assert.equal(dup.body.code, 'conflict');
});

test('after logout the token is refused at once', async () => {
  const token = await t.login();
  assert.equal((await t.api('GET', '/api/auth/me', { token })).status, 200);
  assert.equal((await t.api('POST', '/api/auth/logout', { token })).status, 204);
  const again = await t.api('GET', '/api/auth/me', { token });
  assert.equal(again.status, 401);
});
