import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'drizzle-orm';
import type { AuditEntry, CreatedToken } from '../contract.js';
import { MetricsService } from '../common/metrics.service.js';
import { DB } from '../common/tokens.js';
import type { Db } from '../db/client.js';
import { registryMetric } from '../broker/mqtt-test-helpers.js';
import { enrollBody, startTestHub, type TestHub } from '../http/test-hub.js';
import { parseSince } from './audit.dto.js';

let t: TestHub;
let admin: string;

before(async () => {
  t = await startTestHub();
  admin = await t.login();
});
after(async () => {
  await t?.close();
});

const audit = async (qs = ''): Promise<AuditEntry[]> => {
  const r = await t.api<AuditEntry[]>('GET', `/api/audit${qs}`, { token: admin });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
};

test('logins, users, fleets, tokens and device changes each write one row, failures included', async () => {
  assert.equal((await t.api('POST', '/api/auth/login', { body: { username: 'admin', password: 'wrong-password' } })).status, 401);
  await t.api('POST', '/api/auth/login', { body: { username: 'Not A Name!', password: 'whatever-pw' } });
  const fleet = await t.api('POST', '/api/fleets', { token: admin, body: { name: 'audited' } });
  assert.equal(fleet.status, 201);
  assert.equal((await t.api('POST', '/api/fleets', { token: admin, body: { name: 'audited' } })).status, 409);
  const tok = (await t.api<CreatedToken>('POST', '/api/tokens', { token: admin, body: { fleet: 'audited', maxUses: 2 } })).body;
  const e = await t.api('POST', '/api/enroll', { body: enrollBody(tok.token, { name: 'pi-audit' }) });
  const deviceId = e.body.deviceId as string;
  assert.equal((await t.api('PATCH', '/api/devices/pi-audit', { token: admin, body: { addTags: ['x'] } })).status, 200);
  assert.equal((await t.api('POST', '/api/devices/pi-audit/revoke', { token: admin })).status, 200);
  // Revoked by the secret itself: the row names the token's id, never the secret.
  assert.equal((await t.api('DELETE', `/api/tokens/${tok.token}`, { token: admin })).status, 200);
  const operator = await t.userToken('operator', admin);

  const rows = await audit('?since=1h&limit=1000');
  const by = (action: string) => rows.filter((r) => r.action === action);
  const logins = by('auth.login');
  assert.ok(logins.some((r) => r.result === 'error' && r.actor === 'admin' && r.detail['error'] === 'unauthenticated'));
  assert.ok(logins.some((r) => r.result === 'error' && r.actor === '(not a username)'));
  assert.ok(logins.some((r) => r.result === 'ok' && r.actor === 'admin'));
  assert.ok(logins.some((r) => r.result === 'ok' && r.actor.startsWith('operator')), 'the new operator logged in');
  assert.deepEqual(
    by('fleet.create').map((r) => [r.result, r.detail['name']]),
    [
      ['error', 'audited'],
      ['ok', 'audited'],
    ],
  );
  const [created] = by('token.create');
  assert.equal(created?.target, tok.id);
  assert.equal(created?.detail['fleet'], 'audited');
  const [revoked] = by('token.revoke');
  assert.equal(revoked?.target, tok.id);
  assert.ok(!JSON.stringify(rows).includes(tok.token), 'the token secret is never in the audit log');
  assert.equal(by('device.update')[0]?.target, deviceId);
  assert.deepEqual(by('device.update')[0]?.detail['changes'], { addTags: ['x'] });
  assert.equal(by('device.revoke')[0]?.target, deviceId);
  const users = by('user.create');
  assert.equal(users.length, 1);
  assert.equal(users[0]?.detail['role'], 'operator');
  assert.ok(!JSON.stringify(users).includes('password'), 'no password in the row');

  // Filters: by actor, by target id or name, limit; newest first.
  assert.ok((await audit('?actor=admin')).every((r) => r.actor === 'admin'));
  assert.deepEqual((await audit(`?target=${deviceId}`)).map((r) => r.action), ['device.revoke', 'device.update']);
  assert.deepEqual((await audit('?target=pi-audit')).map((r) => r.action), ['device.revoke', 'device.update']);
  const two = await audit('?limit=2');
  assert.equal(two.length, 2);
  assert.ok(two[0]!.id > two[1]!.id);
  assert.equal((await audit(`?since=${new Date(Date.now() + 60_000).toISOString()}`)).length, 0);

  // Admin only, and bad queries are 400.
  assert.equal((await t.api('GET', '/api/audit', { token: operator })).status, 403);
  assert.equal((await t.api('GET', '/api/audit?since=yesterday', { token: admin })).status, 400);
  assert.equal((await t.api('GET', '/api/audit?limit=0', { token: admin })).status, 400);
});

test('an audit write that fails leaves the action successful, logged and counted', async () => {
  const db = t.hub.app.get<Db>(DB);
  const metrics = t.hub.app.get(MetricsService);
  const before = await registryMetric(metrics.registry, 'pifleet_audit_write_failures_total');
  await db.execute(sql`alter table audit_log rename to audit_log_away`);
  try {
    const r = await t.api('POST', '/api/fleets', { token: admin, body: { name: 'unaudited' } });
    assert.equal(r.status, 201);
  } finally {
    await db.execute(sql`alter table audit_log_away rename to audit_log`);
  }
  assert.equal(await registryMetric(metrics.registry, 'pifleet_audit_write_failures_total'), before + 1);
  assert.equal((await t.api('GET', '/api/fleets', { token: admin })).body.filter((f: { name: string }) => f.name === 'unaudited').length, 1);
});

test('since takes ISO times and spans back from now', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  assert.equal(parseSince('1h', now)?.toISOString(), '2026-01-01T11:00:00.000Z');
  assert.equal(parseSince('30m', now)?.toISOString(), '2026-01-01T11:30:00.000Z');
  assert.equal(parseSince('7d', now)?.toISOString(), '2025-12-25T12:00:00.000Z');
  assert.equal(parseSince('2026-01-01T10:00:00Z', now)?.toISOString(), '2026-01-01T10:00:00.000Z');
  assert.equal(parseSince('1y', now), null);
  assert.equal(parseSince('12', now), null);
});
