import type { TestContext } from 'node:test';

/**
 * A test that needs a service the machine lacks (container engine, Chromium, Mosquitto, a
 * PostgreSQL server) skips itself naming the service and the install command. Under
 * PIFLEET_TEST_STRICT=1 (CI) a skip is a failure, so a missing install step cannot hide.
 * Returns true when the test should go on.
 */
export function needService(t: TestContext, service: string, available: boolean, install: string): boolean {
  if (available) return true;
  const reason = `${service} not available (install: ${install})`;
  if (process.env['PIFLEET_TEST_STRICT'] === '1') {
    throw new Error(`strict mode: ${reason}`);
  }
  t.skip(reason);
  return false;
}
