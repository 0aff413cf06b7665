import { randomBytes } from 'node:crypto';
import { after, before, type TestContext } from 'node:test';
import pg from 'pg';
import { startTestHub, type TestHub } from './test-hub.js';

/** Server used for the hub's real-Postgres tests: DATABASE_URL (as CI sets it) or this machine's default. */
const SERVER_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function onServer<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: SERVER_URL, connectionTimeoutMillis: 3_000 });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export interface PostgresTestHub {
  /**
   * The hub for a test, or undefined when it must not run: no server reachable skips the test
   * with the reason (the rule of test/src/support/skip.ts), and fails it under PIFLEET_TEST_STRICT=1.
   */
  get(ctx: TestContext): TestHub | undefined;
}

/**
 * Registers before/after hooks in the calling test file: a fresh database on the real server
 * and a test hub on it, both removed afterwards.
 */
export function usePostgresTestHub(): PostgresTestHub {
  const dbName = `pifleet_t_${randomBytes(6).toString('hex')}`;
  let reachable = false;
  let hub: TestHub | undefined;
  before(async () => {
    try {
      await onServer((c) => c.query(`create database ${dbName}`));
      reachable = true;
    } catch {
      return;
    }
    const u = new URL(SERVER_URL);
    u.pathname = `/${dbName}`;
    hub = await startTestHub({ databaseUrl: u.toString() });
  });
  after(async () => {
    await hub?.close();
    if (reachable) await onServer((c) => c.query(`drop database if exists ${dbName} with (force)`));
  });
  return {
    get(ctx) {
      if (reachable && hub) return hub;
      const reason = `PostgreSQL not reachable at ${SERVER_URL.replace(/\/\/[^@/]*@/, '//***@')} (install: apt-get install postgresql, or set DATABASE_URL)`;
      if (process.env['PIFLEET_TEST_STRICT'] === '1') throw new Error(`strict mode: ${reason}`);
      ctx.skip(reason);
      return undefined;
    },
  };
}
