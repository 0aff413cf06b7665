import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test, type TestContext } from 'node:test';
import pg from 'pg';
import { EnrollResponseSchema } from '@pifleet/protocol';
import type { CreatedToken, Device } from '../contract.js';
import { enrollBody, startTestHub, type TestHub } from './test-hub.js';

const SERVER_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dbName = `pifleet_t_${randomBytes(6).toString('hex')}`;
let reachable = false;
let t: TestHub | undefined;

/** Same rule as test/src/support/skip.ts: skip with the reason, fail under PIFLEET_TEST_STRICT=1. */
function needPostgres(ctx: TestContext): boolean {
  if (reachable) return true;
  const reason = `PostgreSQL not reachable at ${redact(SERVER_URL)} (install: apt-get install postgresql, or set DATABASE_URL)`;
  if (process.env['PIFLEET_TEST_STRICT'] === '1') throw new Error(`strict mode: ${reason}`);
  ctx.skip(reason);
  return false;
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: SERVER_URL, connectionTimeoutMillis: 3_000 });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

before(async () => {
  try {
    await admin((c) => c.query(`create database ${dbName}`));
    reachable = true;
  } catch {
    return;
  }
  const u = new URL(SERVER_URL);
  u.pathname = `/${dbName}`;
  t = await startTestHub({ databaseUrl: u.toString() });
});

after(async () => {
  await t?.close();
  if (reachable) await admin((c) => c.query(`drop database if exists ${dbName} with (force)`));
});

test('on a real PostgreSQL: login, token, enroll, list, and bad tokens refused', async (ctx) => {
  if (!needPostgres(ctx) || !t) return;
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
  const answers = await Promise.all([1, 2, 3].map(() => t!.api('POST', '/api/enroll', { body: enrollBody(tok.token) })));
  assert.deepEqual(answers.map((a) => a.status).sort(), [200, 401, 401]);
  const rename = await t.api('PATCH', `/api/devices/${res.deviceId}`, { token, body: { name: 'raspberrypi' } });
  assert.equal(rename.status, 409);
  const bad = await t.api('POST', '/api/enroll', { body: enrollBody('pft_' + 'y'.repeat(43)) });
  assert.equal(bad.body.code, 'token_invalid');
});
