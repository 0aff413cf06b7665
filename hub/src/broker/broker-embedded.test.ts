import 'reflect-metadata';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { eq } from 'drizzle-orm';
import mqtt, { type MqttClient } from 'mqtt';
import { MAX_PAYLOAD_BYTES, deviceTopic, encodeBatch, envelope } from '@pifleet/protocol';
import { CoreModule } from '../common/core.module.js';
import { parseEnv } from '../config/env.js';
import { sha256 } from '../common/ids.js';
import { MetricsService } from '../common/metrics.service.js';
import { BROKER_ADMIN, DB } from '../common/tokens.js';
import type { Db } from '../db/client.js';
import { devices, fleets } from '../db/schema.js';
import { PresenceModule } from '../presence/presence.module.js';
import { PresenceService } from '../presence/presence.service.js';
import { TelemetryModule } from '../telemetry/telemetry.module.js';
import { TelemetryService } from '../telemetry/telemetry.service.js';
import type { BrokerAdmin } from './broker-admin.js';
import { BrokerInfo } from './broker-info.js';
import { BrokerModule } from './broker.module.js';
import { MqttLink } from './mqtt-link.js';
import { grantedQos } from './mqtt-test-helpers.js';

// Real aedes on a free port, real PGlite, the real Nest modules wired as in the hub.
const dir = mkdtempSync(join(tmpdir(), 'pifleet-broker-'));
const env = parseEnv({
  PIFLEET_MQTT_PORT: '0',
  PIFLEET_MQTT_HOST: '127.0.0.1',
  PIFLEET_DATA_DIR: dir,
  PIFLEET_TELEMETRY_FLUSH_MS: '100',
  PIFLEET_LOG_LEVEL: 'silent',
  PIFLEET_PUBLIC_URL: 'http://127.0.0.1:8080',
});

@Module({ imports: [CoreModule.forRoot(env), BrokerModule, PresenceModule, TelemetryModule] })
class TestModule {}

let app: INestApplicationContext;
let db: Db;
let broker: BrokerInfo;
let admin: BrokerAdmin;
let metrics: MetricsService;
let presence: PresenceService;
let url: string;
const clients: MqttClient[] = [];

const A = 'aaaaaaaaaaa1';
const B = 'bbbbbbbbbbb2';
const PW: Record<string, string> = { [A]: 'secret-a-0123456789', [B]: 'secret-b-0123456789' };

before(async () => {
  app = await NestFactory.createApplicationContext(TestModule, { logger: false });
  db = app.get<Db>(DB);
  broker = app.get(BrokerInfo);
  admin = app.get<BrokerAdmin>(BROKER_ADMIN);
  metrics = app.get(MetricsService);
  presence = app.get(PresenceService);
  url = broker.deviceUrl();
  await db.insert(fleets).values({ id: 'f1', name: 'default' });
  for (const id of [A, B]) {
    await db.insert(devices).values({ id, name: `pi-${id}`, fleetId: 'f1', publicKey: 'k', mqttSecretHash: sha256(PW[id]!) });
    await admin.addDevice(id, PW[id]!);
  }
});

after(async () => {
  for (const c of clients) c.end(true);
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function until(what: string, pred: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = metrics.registry.getSingleMetric(name);
  if (!m) return 0;
  const { values } = await m.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))
    .reduce((s, v) => s + v.value, 0);
}

function status(state: 'online' | 'offline', session: number): string {
  return JSON.stringify({ ...envelope('status'), state, session, info: { hostname: 'pi' } });
}

async function connect(id: string, opts: mqtt.IClientOptions = {}): Promise<MqttClient> {
  const c = await mqtt.connectAsync(url, { clientId: id, username: id, password: PW[id], reconnectPeriod: 0, ...opts });
  clients.push(c);
  return c;
}

async function row(id: string) {
  const [r] = await db.select().from(devices).where(eq(devices.id, id));
  return r!;
}

test('the device URL carries the real port when PIFLEET_MQTT_PORT=0', () => {
  assert.equal(url, `mqtt://127.0.0.1:${broker.brokerPort()}`);
  assert.ok(broker.brokerPort()! > 0);
  assert.equal(app.get(MqttLink).isConnected(), true);
});

test('a device reports status and telemetry in its own subtree', async () => {
  const c = await connect(A);
  await c.publishAsync(deviceTopic(A, 'status'), status('online', 3), { qos: 1, retain: true });
  await until('online', async () => (await row(A)).online);
  const r = await row(A);
  assert.equal(r.session, 3);
  assert.equal(r.info['hostname'], 'pi');
  assert.ok(r.lastSeenAt);

  const now = Date.now();
  const sample = {
    dt: 10_000, cpu: 125, load1: 150, load5: 100, load15: 50, memUsed: 300, memTotal: 1000, diskUsed: 2000,
    diskTotal: 8000, temp: 456, throttled: 5, netRx: 1000, netTx: 2000, uptime: 99, agentRss: 30000, agentCpu: 7,
  };
  const msg = { ...envelope('telemetry'), ts: now, samples: encodeBatch([sample, { ...sample, dt: 0 }]) };
  await c.publishAsync(deviceTopic(A, 'telemetry'), JSON.stringify(msg));
  const telemetry = app.get(TelemetryService);
  await until('rows written', async () => (await telemetry.history(A, { resolution: 'raw' })).points.length === 2);
  const series = await telemetry.history(A, { resolution: 'raw' });
  assert.equal(series.resolution, 'raw');
  const p = series.points[0]!;
  assert.equal(p.ts, new Date(now - 10_000).toISOString());
  assert.equal(p.cpu, 12.5); // permille -> percent
  assert.equal(p.temp, 45.6); // deci-degrees -> degrees
  assert.equal(p.load1, 1.5);
  assert.equal(p.memUsed, 300);
  assert.equal(p.agentCpu, 0.7);
  const latest = await telemetry.latest([A, B]);
  assert.equal(latest.get(A)?.ts, new Date(now).toISOString());
  assert.equal(latest.has(B), false);
  // Redelivery of the same batch is harmless.
  await c.publishAsync(deviceTopic(A, 'telemetry'), JSON.stringify(msg));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal((await telemetry.history(A, { resolution: 'raw' })).points.length, 2);
});

test('publishing into another device subtree is denied, counted, and cuts the connection', async () => {
  const before = await metric('pifleet_mqtt_denied_total', { action: 'publish', reason: 'topic' });
  const c = await connect(A);
  const closed = new Promise<void>((r) => c.once('close', () => r()));
  c.publish(deviceTopic(B, 'status'), status('online', 99), { qos: 1, retain: true });
  await closed;
  assert.equal(await metric('pifleet_mqtt_denied_total', { action: 'publish', reason: 'topic' }), before + 1);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal((await row(B)).online, false);
});

test('subscribing outside the own subtree is refused with 0x80 and the connection survives', async () => {
  const before = await metric('pifleet_mqtt_denied_total', { action: 'subscribe' });
  const c = await connect(B);
  const granted = [];
  for (const topic of ['#', deviceTopic(A, 'status'), deviceTopic(B, 'cmd/#'), 'pifleet/v1/hub/status']) {
    granted.push(await grantedQos(c, topic));
  }
  assert.deepEqual(granted, [128, 128, 0, 0]);
  assert.equal(await metric('pifleet_mqtt_denied_total', { action: 'subscribe' }), before + 2);
  assert.equal(c.connected, true);
  // The hub's retained presence reaches the device.
  const hub = await new Promise<string>((r) => c.once('message', (_t, p) => r(p.toString())));
  assert.equal(JSON.parse(hub).state, 'online');
  await c.publishAsync(deviceTopic(B, 'status'), status('online', 1), { qos: 1, retain: true });
  await until('B online', async () => (await row(B)).online);
});

test('malformed, schema-invalid and oversized payloads are dropped and counted; the hub keeps working', async () => {
  const c = await connect(A);
  const bad = (reason: string) => metric('pifleet_mqtt_messages_invalid_total', { kind: 'status', reason });
  const [nj, inv] = [await bad('not-json'), await bad('invalid')];
  await c.publishAsync(deviceTopic(A, 'status'), '{not json', { qos: 1 });
  await c.publishAsync(deviceTopic(A, 'status'), JSON.stringify({ v: 1, type: 'status', state: 'sideways' }), { qos: 1 });
  await until('invalid counted', async () => (await bad('not-json')) === nj + 1 && (await bad('invalid')) === inv + 1);
  const telInvalid = await metric('pifleet_mqtt_messages_invalid_total', { kind: 'telemetry', reason: 'invalid' });
  await c.publishAsync(deviceTopic(A, 'telemetry'), JSON.stringify({ ...envelope('telemetry'), samples: 'many' }));
  await until('telemetry invalid', async () => (await metric('pifleet_mqtt_messages_invalid_total', { kind: 'telemetry', reason: 'invalid' })) === telInvalid + 1);

  const over = await metric('pifleet_mqtt_denied_total', { action: 'publish', reason: 'oversized' });
  const closed = new Promise<void>((r) => c.once('close', () => r()));
  c.publish(deviceTopic(A, 'telemetry'), Buffer.alloc(MAX_PAYLOAD_BYTES + 1, 0x20));
  await closed;
  assert.equal(await metric('pifleet_mqtt_denied_total', { action: 'publish', reason: 'oversized' }), over + 1);

  const again = await connect(A);
  await again.publishAsync(deviceTopic(A, 'status'), status('online', 4), { qos: 1, retain: true });
  await until('still applied', async () => (await row(A)).session === 4);
});

test('a wrong password or a foreign client id is refused and counted', async () => {
  const before = await metric('pifleet_mqtt_denied_total', { action: 'connect' });
  await assert.rejects(mqtt.connectAsync(url, { clientId: A, username: A, password: 'nope', reconnectPeriod: 0 }), /Not authorized/i);
  await assert.rejects(mqtt.connectAsync(url, { clientId: 'other', username: A, password: PW[A], reconnectPeriod: 0 }), /Not authorized/i);
  assert.equal(await metric('pifleet_mqtt_denied_total', { action: 'connect' }), before + 2);
});

test('a stale offline from an older session does not flip a newer online; unknown devices are ignored', async () => {
  const c = await connect(A);
  await c.publishAsync(deviceTopic(A, 'status'), status('online', 10), { qos: 1, retain: true });
  await until('session 10', async () => (await row(A)).session === 10);
  const stale = await metric('pifleet_presence_ignored_total', { reason: 'stale' });
  await c.publishAsync(deviceTopic(A, 'status'), status('offline', 9), { qos: 1, retain: true });
  await until('stale counted', async () => (await metric('pifleet_presence_ignored_total', { reason: 'stale' })) === stale + 1);
  assert.equal((await row(A)).online, true);
  const unknown = await metric('pifleet_presence_ignored_total', { reason: 'unknown' });
  await app.get(MqttLink).publish(deviceTopic('zzzzzzzzzzzz', 'status'), status('online', 1), { qos: 1 });
  await until('unknown counted', async () => (await metric('pifleet_presence_ignored_total', { reason: 'unknown' })) === unknown + 1);
  assert.equal(await metric('pifleet_devices_online'), 2);
});

test('a killed device goes offline through its Will', async () => {
  const c = await connect(A, {
    keepalive: 1,
    will: { topic: deviceTopic(A, 'status'), payload: Buffer.from(status('offline', 11)), qos: 1, retain: true },
  });
  await c.publishAsync(deviceTopic(A, 'status'), status('online', 11), { qos: 1, retain: true });
  await until('online 11', async () => (await row(A)).session === 11 && (await row(A)).online);
  const t0 = Date.now();
  c.stream.destroy(); // no DISCONNECT: like kill -9 or a pulled cable
  await until('offline', async () => !(await row(A)).online, 4000);
  assert.ok(Date.now() - t0 < 4000);
  await presence.idle();
});

test('removeDevice disconnects the live client within 2 s and refuses it afterwards', async () => {
  const c = await connect(B);
  const closed = new Promise<number>((r) => c.once('close', () => r(Date.now())));
  const t0 = Date.now();
  await admin.removeDevice(B);
  assert.ok((await closed) - t0 < 2000);
  await assert.rejects(mqtt.connectAsync(url, { clientId: B, username: B, password: PW[B], reconnectPeriod: 0 }), /Not authorized/i);
  // Idempotent.
  await admin.removeDevice(B);
});
