import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eq, sql } from 'drizzle-orm';
import { DEVICE_ID_PATTERN, EnrollResponseSchema } from '@pifleet/protocol';
import type { CreatedToken, Device, ProvisioningToken } from '../contract.js';
import { DB } from '../common/tokens.js';
import type { Db } from '../db/client.js';
import { provisioningTokens } from '../db/schema.js';
import { enrollBody, startTestHub, type TestHub } from '../http/test-hub.js';

let t: TestHub;
let admin: string;
before(async () => {
  t = await startTestHub();
  admin = await t.login();
});
after(async () => {
  await t?.close();
});

async function createToken(body: Record<string, unknown> = {}): Promise<CreatedToken> {
  const r = await t.api<CreatedToken>('POST', '/api/tokens', { token: admin, body });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}
async function deviceCount(): Promise<number> {
  return (await t.api<Device[]>('GET', '/api/devices', { token: admin })).body.length;
}
async function tokenById(id: string): Promise<ProvisioningToken> {
  const list = (await t.api<ProvisioningToken[]>('GET', '/api/tokens', { token: admin })).body;
  const found = list.find((x) => x.id === id);
  assert.ok(found, `token ${id} listed`);
  return found;
}

test('a valid token enrolls a device; the answer matches the protocol and uses go up', async () => {
  const tok = await createToken({ fleet: 'default', maxUses: 2 });
  assert.match(tok.token, /^pft_/);
  assert.ok(tok.agentCommand.includes(tok.token));
  assert.equal(tok.state, 'active');
  const r = await t.api('POST', '/api/enroll', { body: enrollBody(tok.token, { name: 'kitchen' }) });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const res = EnrollResponseSchema.parse(r.body);
  assert.match(res.deviceId, DEVICE_ID_PATTERN);
  assert.equal(res.name, 'kitchen');
  assert.equal(res.fleet, 'default');
  assert.equal(res.mqtt.username, res.deviceId);
  assert.equal(res.mqtt.clientId, res.deviceId);
  assert.match(res.mqtt.url, /^mqtts?:\/\/.+:\d+$/);
  assert.ok(res.mqtt.password.length >= 40);
  assert.match(res.api?.url ?? '', /^https?:\/\//, 'the hub tells the device its HTTP base for downloads');
  assert.ok(res.features?.includes('supervision'));
  assert.equal((await tokenById(tok.id)).uses, 1);
  // A second device asking for the same name gets a unique one.
  const second = await t.api('POST', '/api/enroll', { body: enrollBody(tok.token, { name: 'kitchen' }) });
  assert.equal(second.body.name, 'kitchen-2');
  assert.equal((await tokenById(tok.id)).state, 'exhausted');
  const dev = await t.api<Device>('GET', '/api/devices/kitchen', { token: admin });
  assert.equal(dev.body.id, res.deviceId);
  assert.equal(dev.body.status, 'active');
});

test('expired, exhausted, revoked and unknown tokens are refused with their own code and change nothing', async () => {
  const expired = await createToken();
  await t.hub.app
    .get<Db>(DB)
    .update(provisioningTokens)
    .set({ expiresAt: sql`now() - interval '1 minute'` })
    .where(eq(provisioningTokens.id, expired.id));
  const exhausted = await createToken({ maxUses: 1 });
  assert.equal((await t.api('POST', '/api/enroll', { body: enrollBody(exhausted.token) })).status, 200);
  const revoked = await createToken();
  const rv = await t.api<ProvisioningToken>('DELETE', `/api/tokens/${revoked.token}`, { token: admin });
  assert.equal(rv.status, 200);
  assert.equal(rv.body.state, 'revoked');

  const count = await deviceCount();
  const cases: [string, string][] = [
    [expired.token, 'token_expired'],
    [exhausted.token, 'token_exhausted'],
    [revoked.token, 'token_revoked'],
    ['pft_' + 'x'.repeat(43), 'token_invalid'],
  ];
  for (const [token, code] of cases) {
    const r = await t.api('POST', '/api/enroll', { body: enrollBody(token) });
    assert.equal(r.status, 401, code);
    assert.equal(r.body.code, code);
    assert.equal(typeof r.body.message, 'string');
  }
  assert.equal(await deviceCount(), count);
  assert.equal((await tokenById(expired.id)).state, 'expired');
  assert.equal((await tokenById(expired.id)).uses, 0);
  const metrics = await t.api<string>('GET', '/metrics', { token: admin });
  for (const reason of ['expired', 'exhausted', 'revoked', 'invalid']) {
    assert.match(metrics.body, new RegExp(`pifleet_enroll_failures_total\\{reason="${reason}"\\} 1`));
  }
});

test('malformed enrollment requests are 400 and change nothing', async () => {
  const count = await deviceCount();
  const bodies: unknown[] = [
    { token: 'short', publicKey: 'ssh-ed25519 AAAAAAAAAAAAAAAAAAAA' },
    { publicKey: 'ssh-ed25519 AAAAAAAAAAAAAAAAAAAA' },
    { token: 'pft_abcdefghijkl' },
    enrollBody('pft_abcdefghijklmnop', { name: '../../etc' }),
    [1, 2, 3],
  ];
  for (const body of bodies) {
    const r = await t.api('POST', '/api/enroll', { body });
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.body.code, 'bad_request');
  }
  const notJson = await t.api('POST', '/api/enroll', { raw: 'token=abc' });
  assert.equal(notJson.status, 400);
  const huge = await t.api('POST', '/api/enroll', { body: enrollBody('pft_x', { publicKey: 'k'.repeat(100_000) }) });
  assert.equal(huge.status, 413);
  assert.equal(huge.body.code, 'payload_too_large');
  assert.equal(await deviceCount(), count);
});

test('maxUses holds under concurrent enrollments', async () => {
  const tok = await createToken({ maxUses: 3 });
  const count = await deviceCount();
  const answers = await Promise.all(
    Array.from({ length: 5 }, (_, i) => t.api('POST', '/api/enroll', { body: enrollBody(tok.token, { name: `race-${i}` }) })),
  );
  const ok = answers.filter((a) => a.status === 200);
  const refused = answers.filter((a) => a.status === 401);
  assert.equal(ok.length, 3);
  assert.equal(refused.length, 2);
  for (const r of refused) assert.equal(r.body.code, 'token_exhausted');
  assert.equal((await tokenById(tok.id)).uses, 3);
  assert.equal(await deviceCount(), count + 3);
});

test('token list and revoke by id; unknown tokens are 404; tokens for unknown fleets are refused', async () => {
  const tok = await createToken();
  const r = await t.api<ProvisioningToken>('DELETE', `/api/tokens/${tok.id}`, { token: admin });
  assert.equal(r.status, 200);
  assert.equal(r.body.state, 'revoked');
  assert.ok(r.body.revokedAt);
  assert.equal(r.body.prefix, tok.token.slice(0, 12));
  assert.equal('token' in r.body, false);
  assert.equal((await t.api('DELETE', '/api/tokens/nosuchtoken', { token: admin })).status, 404);
  const nofleet = await t.api('POST', '/api/tokens', { token: admin, body: { fleet: 'atlantis' } });
  assert.equal(nofleet.status, 404);
  const bad = await t.api('POST', '/api/tokens', { token: admin, body: { maxUses: 0 } });
  assert.equal(bad.status, 400);
  const list = (await t.api<ProvisioningToken[]>('GET', '/api/tokens', { token: admin })).body;
  assert.equal(JSON.stringify(list).includes(tok.token), false, 'secrets never listed');
});

test('fleets: default exists, new fleets can be created once, device counts shown', async () => {
  const created = await t.api('POST', '/api/fleets', { token: admin, body: { name: 'lab' } });
  assert.equal(created.status, 201);
  assert.equal((await t.api('POST', '/api/fleets', { token: admin, body: { name: 'lab' } })).status, 409);
  const tok = await createToken({ fleet: 'lab' });
  const e = await t.api('POST', '/api/enroll', { body: enrollBody(tok.token) });
  assert.equal(e.body.fleet, 'lab');
  const fleets = (await t.api<{ name: string; deviceCount: number }[]>('GET', '/api/fleets', { token: admin })).body;
  assert.equal(fleets.find((f) => f.name === 'lab')?.deviceCount, 1);
  assert.ok((fleets.find((f) => f.name === 'default')?.deviceCount ?? 0) > 0);
});
