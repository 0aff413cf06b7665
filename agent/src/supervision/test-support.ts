import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { createLogger, type Logger } from '../log/logger.js';
import type { MqttLink } from '../mqtt/mqtt-link.js';
import type { TestBroker } from '../testing/test-broker.js';
import { testLink } from '../testing/test-link.js';
import { waitFor } from '../testing/wait.js';

/** Test helpers of the supervision tests (not used by the agent itself). */

export async function tempDir(t: TestContext, prefix = 'pifleet-sup-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A logger that keeps its lines; `has(msg)` finds one by message. */
export function captureLog(level: 'debug' | 'info' | 'warn' | 'error' = 'debug'): { log: Logger; lines: Record<string, unknown>[]; has(msg: string): boolean } {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger(level, (l) => {
    lines.push(JSON.parse(l) as Record<string, unknown>);
  });
  return { log, lines, has: (msg) => lines.some((l) => l['msg'] === msg) };
}

/**
 * A real MqttLink of the test device to `broker`, started; `onUp` runs on every connection.
 * Closed when the test ends.
 */
export async function startLink(t: TestContext, broker: TestBroker, log: Logger, onUp?: () => void): Promise<MqttLink> {
  const link = testLink(broker.url, log, onUp ? { onUp } : {});
  const stop = new AbortController();
  t.after(async () => {
    stop.abort();
    await link.close();
  });
  link.start(stop.signal);
  await waitFor('link connected', () => (link.connected ? true : undefined), 10_000);
  return link;
}

/** A real MqttLink that was never started: what a device without a network looks like. */
export function offlineLink(log: Logger): MqttLink {
  return testLink('mqtt://127.0.0.1:9', log, { nextSession: async () => 1 });
}
