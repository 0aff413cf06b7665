import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { connect } from 'mqtt';
import { createLogger, type Logger } from '../log/logger.js';
import { MqttLink } from '../mqtt/mqtt-link.js';
import { enrolled } from '../testing/enroll-server.js';
import type { TestBroker } from '../testing/test-broker.js';
import { waitFor } from '../testing/wait.js';
import { Backoff } from '../util/backoff.js';

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
  let session = 0;
  const link = new MqttLink({
    identity: { ...enrolled(broker.url), enrolledAt: 0 },
    info: {},
    keepaliveS: 5,
    connect,
    nextSession: async () => ++session,
    log,
    backoff: new Backoff({ baseMs: 50, capMs: 200 }),
    refusedBackoff: new Backoff({ baseMs: 50, capMs: 200 }),
    ...(onUp ? { onUp } : {}),
  });
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
  return new MqttLink({
    identity: { ...enrolled('mqtt://127.0.0.1:9'), enrolledAt: 0 },
    info: {},
    keepaliveS: 5,
    connect,
    nextSession: async () => 1,
    log,
    backoff: new Backoff({ baseMs: 50, capMs: 200 }),
    refusedBackoff: new Backoff({ baseMs: 50, capMs: 200 }),
  });
}
