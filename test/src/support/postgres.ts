import type { TestContext } from 'node:test';
import pg from 'pg';
import { needService } from './skip.js';

/** Server used for real-Postgres tests: DATABASE_URL (as CI sets it) or this machine's default. */
export const PG_ADMIN_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function reachable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/**
 * Creates a fresh database on the real server for one test run; `drop()` removes it. Returns
 * undefined (test skipped, or failed under strict mode) when no server is reachable.
 */
export async function createTestDatabase(t: TestContext): Promise<TestDatabase | undefined> {
  if (!needService(t, 'PostgreSQL server', await reachable(), 'apt-get install -y postgresql, or set DATABASE_URL')) return undefined;
  const name = `pifleet_t_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
