import { randomBytes } from 'node:crypto';
import { after, before, test, type TestContext } from 'node:test';
import pg from 'pg';
import { checkBadInputRefused } from './bad-input-cases.js';
import { startTestHub, type TestHub } from './test-hub.js';

/**
 * The bad-input cases on a real PostgreSQL, which refuses NUL in text and jsonb with its own
 * errors (SQLSTATE 22021 / 22P05); the hub must refuse such input before it gets that far.
 */
const SERVER_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dbName = `pifleet_t_${randomBytes(6).toString('hex')}`;
let reachable = false;
let t: TestHub | undefined;

/** Same rule as the other real-Postgres tests: skip with the reason, fail under PIFLEET_TEST_STRICT=1. */
function needPostgres(ctx: TestContext): boolean {
  if (reachable) return true;
  const reason = `PostgreSQL not reachable at ${SERVER_URL.replace(/\/\/[^@/]*@/, '//***@')} (install: apt-get install postgresql, or set DATABASE_URL)`;
  if (process.env['PIFLEET_TEST_STRICT'] === '1') throw new Error(`strict mode: ${reason}`);
  ctx.skip(reason);
  return false;
}

async function onServer<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
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
    await onServer((c) => c.query(`create database ${dbName}`));
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
  if (reachable) await onServer((c) => c.query(`drop database if exists ${dbName} with (force)`));
});

test('on a real PostgreSQL: NUL, invalid UTF-8 and malformed cookies get a 400 (or are ignored), never a 500', async (ctx) => {
  if (!needPostgres(ctx) || !t) return;
  await checkBadInputRefused(t);
});
