import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../config/env.js';
import { bindMqttPort } from './mqtt-port.js';

const host = '127.0.0.1';
const quiet = { warn: () => undefined };

async function occupied(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, host, r));
  return { server, port: (server.address() as { port: number }).port };
}
const close = (s: Server) => new Promise<void>((r) => s.close(() => r()));

test('a taken default port falls back to the next free one, which later starts keep', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'pifleet-port-'));
  const busy = await occupied();
  const spare = await occupied();
  await close(spare.server); // free now: the fallback candidate
  const config = { mqttHost: host, mqttPort: busy.port, mqttPortExplicit: false, dataDir };
  const first = createServer();
  assert.equal(await bindMqttPort(first, config, quiet, [busy.port, spare.port]), spare.port);
  assert.equal(readFileSync(join(dataDir, 'mqtt-port'), 'utf8').trim(), String(spare.port), 'choice remembered');
  await close(first);
  await close(busy.server); // the default is free again, but enrolled devices were told the fallback
  const second = createServer();
  assert.equal(await bindMqttPort(second, config, quiet, [busy.port, spare.port]), spare.port);
  await close(second);
});

test('an explicit port that is taken is one clear error, not a silent move', async () => {
  const busy = await occupied();
  const config = { mqttHost: host, mqttPort: busy.port, mqttPortExplicit: true, dataDir: mkdtempSync(join(tmpdir(), 'pifleet-port-')) };
  await assert.rejects(bindMqttPort(createServer(), config, quiet), (e: unknown) => e instanceof ConfigError && /MQTT port \d+ on 127\.0\.0\.1 is in use/.test(e.message));
  await close(busy.server);
});
