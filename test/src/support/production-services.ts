import type { TestContext } from 'node:test';
import { startMosquitto, type RunningMosquitto } from './mosquitto.js';
import { createTestDatabase, type TestDatabase } from './postgres.js';

/**
 * The production shape's services for one test: a fresh database on the real PostgreSQL server
 * and a private Mosquitto 2 from the deploy config, both removed when the test ends. Undefined
 * when either is missing (the test was skipped, or failed under PIFLEET_TEST_STRICT=1).
 */
export async function productionServices(t: TestContext): Promise<{ db: TestDatabase; broker: RunningMosquitto } | undefined> {
  const db = await createTestDatabase(t);
  if (!db) return undefined;
  t.after(() => db.drop());
  const broker = await startMosquitto(t);
  if (!broker) return undefined;
  t.after(() => broker.stop());
  return { db, broker };
}
