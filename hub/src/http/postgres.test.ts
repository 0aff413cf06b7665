import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EnrollResponseSchema } from '@pifleet/protocol';
import type { CreatedToken, Device } from '../contract.js';
import { usePostgresTestHub } from './postgres-test-hub.js';
import { enrollBody } from './test-hub.js';

const pgHub = usePostgresTestHub();

test('on a real PostgreSQL: login, token, enroll, list, and bad tokens refused', async (ctx) => {
  const t = pgHub.get(ctx);
  if (!t) return;
  const health = await t.api('GET', '/api/health');
  assert.equal(health.body.db, 'ok');
  const token = await t.login();
  const tok = (await t.api<CreatedToken>('POST', '/api/tokens', { token, body: { fleet: 'default', maxUses: 2 } })).body;
  const r = await t.api('POST', '/api/enroll', { body: enrollBody(tok.token, { name: 'pg-pi' }) });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const res = EnrollResponseSchema.parse(r.body);
  const list = (await t.api<Device[]>('GET', '/api/devices?q=pg-', { token })).body;
  assert.deepEqual(
    list.map((d) => [d.id, d.name, d.fleet, d.status]),
    [[res.deviceId, 'pg-pi', 'default', 'active']],
  );
  // Concurrency on a real server, where statements really run in parallel.
  const answers = await Promise.all([1, 2, 3].map(() => t.api('POST', '/api/enroll', { body: enrollBody(tok.token) })));
  assert.deepEqual(answers.map((a) => a.status).sort(), [200, 401, 401]);
  const rename = await t.api('PATCH', `/api/devices/${res.deviceId}`, { token, body: { name: 'raspberrypi' } });
  assert.equal(rename.status, 409);
  const bad = await t.api('POST', '/api/enroll', { body: enrollBody('pft_' + 'y'.repeat(43)) });
  assert.equal(bad.body.code, 'token_invalid');
});
