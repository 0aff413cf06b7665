import 'reflect-metadata';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import mqtt, { type MqttClient, type Packet } from 'mqtt';
import { deviceTopic, encodeBatch, envelope } from '@pifleet/protocol';
import { BrokerModule } from '../broker/broker.module.js';
import type { BrokerAdmin } from '../broker/broker-admin.js';
import { BrokerInfo } from '../broker/broker-info.js';
import { MqttLink } from '../broker/mqtt-link.js';
import { CoreModule } from '../common/core.module.js';
import { sha256 } from '../common/ids.js';
import { MetricsService } from '../common/metrics.service.js';
import { BROKER_ADMIN, DB } from '../common/tokens.js';
import { parseEnv } from '../config/env.js';
import type { Db } from '../db/client.js';
import { devices, fleets } from '../db/schema.js';
import { PresenceModule } from '../presence/presence.module.js';
import type { RawRow } from './telemetry-units.js';
import { TelemetryBuffer } from './telemetry-buffer.js';
import { TelemetryModule } from './telemetry.module.js';
import { TelemetryRepository } from './telemetry.repository.js';
import { TelemetryService } from './telemetry.service.js';
import { registryMetric, until } from '../broker/mqtt-test-helpers.js';

// Real aedes, real PGlite, the real modules; a buffer of 10 rows so that a short outage fills it.
const CAPACITY = 10;
const dir = mkdtempSync(join(tmpdir(), 'pifleet-backpressure-'));
const env = parseEnv({
  PIFLEET_MQTT_PORT: '0',
  PIFLEET_MQTT_HOST: '127.0.0.1',
  PIFLEET_DATA_DIR: dir,
  PIFLEET_TELEMETRY_FLUSH_MS: '100',
  PIFLEET_TELEMETRY_BUFFER_ROWS: String(CAPACITY),
  PIFLEET_DEVICE_LIMITS: 'off',
  PIFLEET_LOG_LEVEL: 'silent',
  PIFLEET_PUBLIC_URL: 'http://127.0.0.1:8080',
});

@Module({ imports: [CoreModule.forRoot(env), BrokerModule, PresenceModule, TelemetryModule] })
class TestModule {}

const DEV = 'bpbpbpbpbp01';
const PW = 'secret-bpbpbpbpbp01-0123456789';
let app: INestApplicationContext;
let metrics: MetricsService;
let device: MqttClient | undefined;

before(async () => {
  app = await NestFactory.createApplicationContext(TestModule, { logger: false });
  metrics = app.get(MetricsService);
  const db = app.get<Db>(DB);
  await db.insert(fleets).values({ id: 'f1', name: 'default' });
  await db.insert(devices).values({ id: DEV, name: 'pi-bp', fleetId: 'f1', publicKey: 'k', mqttSecretHash: sha256(PW) });
  await app.get<BrokerAdmin>(BROKER_ADMIN).addDevice(DEV, PW);
});

after(async () => {
  device?.end(true);
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});


const waitFor = (what: string, pred: () => boolean | Promise<boolean>, ms = 20_000) => until(what, pred, ms);
const metric = (name: string, labels: Record<string, string> = {}) => registryMetric(metrics.registry, name, labels);

function row(ts: number): RawRow {
  return { deviceId: DEV, ts: new Date(ts) } as RawRow;
}

test('a full buffer lets pushes wait in order and admits them as the writer settles', async () => {
  const buf = new TelemetryBuffer(4, 2);
  assert.equal(buf.push([row(1), row(2), row(3)]), true);
  const second = buf.push([row(4), row(5)]);
  const third = buf.push([row(6)]);
  assert.ok(second instanceof Promise && third instanceof Promise);
  assert.equal(buf.push([row(7)]), false, 'past maxWaiters a push is refused at once');
  const taken = buf.take(2);
  // Taken rows still count until settled: a failed write puts them back without overflowing.
  buf.settle(2, taken);
  assert.equal(buf.size, 3);
  assert.equal(buf.waiting, 2);
  const batch = buf.take(10);
  buf.settle(batch.length);
  assert.equal(await second, true);
  assert.equal(await third, true);
  assert.deepEqual(buf.take(10).map((r) => r.ts.getTime()), [4, 5, 6]);
  // A push larger than the whole capacity still goes into an empty buffer.
  buf.settle(3);
  assert.equal(buf.push([1, 2, 3, 4, 5].map(row)), true);
});

test('with the database away the hub stops acknowledging telemetry instead of dropping it; all of it is stored later', async () => {
  const repo = app.get(TelemetryRepository);
  const telemetry = app.get(TelemetryService);
  const insert = repo.insertRaw.bind(repo);
  let away = true;
  repo.insertRaw = async (rows) => {
    if (away) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    return insert(rows);
  };

  // Which telemetry messages the hub's own client acknowledged (PUBACK), by message id.
  const hubClient = (app.get(MqttLink) as unknown as { client: MqttClient }).client;
  const telemetryIds = new Set<number>();
  let hubAcks = 0;
  hubClient.on('packetreceive', (p: Packet) => {
    if (p.cmd === 'publish' && p.topic.endsWith('/telemetry') && p.messageId !== undefined) telemetryIds.add(p.messageId);
  });
  hubClient.on('packetsend', (p: Packet) => {
    if (p.cmd === 'puback' && p.messageId !== undefined && telemetryIds.delete(p.messageId)) hubAcks++;
  });

  const url = app.get(BrokerInfo).deviceUrl();
  device = await mqtt.connectAsync(url, { clientId: DEV, username: DEV, password: PW, reconnectPeriod: 0 });
  const MESSAGES = 40;
  const ROWS = 2 * MESSAGES;
  const base = Date.now() - MESSAGES * 20_000;
  const sample = {
    dt: 10_000, cpu: 125, load1: 150, load5: 100, load15: 50, memUsed: 300, memTotal: 1000, diskUsed: 2000,
    diskTotal: 8000, temp: 456, throttled: 5, netRx: 1000, netTx: 2000, uptime: 99, agentRss: 30000, agentCpu: 7,
  };
  let deviceAcks = 0;
  const sent: Promise<unknown>[] = [];
  for (let i = 0; i < MESSAGES; i++) {
    const msg = { ...envelope('telemetry'), ts: base + i * 20_000, samples: encodeBatch([sample, { ...sample, dt: 0 }]) };
    sent.push(device.publishAsync(deviceTopic(DEV, 'telemetry'), JSON.stringify(msg), { qos: 1 }).then(() => deviceAcks++));
  }

  // The buffer fills, one message waits for room and holds its acknowledgement; the rest stay queued.
  await waitFor('a message waiting for room', async () => (await metric('pifleet_telemetry_buffer_waiting')) === 1);
  await waitFor('the writer failing', async () => (await metric('pifleet_telemetry_write_errors_total', { op: 'insert' })) >= 1);
  assert.equal(hubAcks, CAPACITY / 2, 'only the messages whose rows are in the buffer are acknowledged');
  assert.ok((await metric('pifleet_telemetry_buffer_rows')) <= CAPACITY);
  assert.equal(await metric('pifleet_ingest_rejected_total', { reason: 'buffer_full' }), 0);
  console.log(`# while the database was away: hub acked ${hubAcks}/${MESSAGES}, the broker acked ${deviceAcks}/${MESSAGES} to the device`);

  away = false;
  await waitFor('every row stored', async () => (await telemetry.history(DEV, { resolution: 'raw', from: new Date(base - 60_000) })).points.length === ROWS);
  await Promise.all(sent);
  assert.equal(deviceAcks, MESSAGES);
  await waitFor('every message acknowledged by the hub', () => hubAcks === MESSAGES);
  assert.equal(await metric('pifleet_ingest_rejected_total', { reason: 'buffer_full' }), 0);
  assert.equal(await metric('pifleet_mqtt_ack_timeouts_total'), 0);
  assert.equal(await metric('pifleet_mqtt_handler_errors_total'), 0);
  assert.equal(await metric('pifleet_telemetry_buffer_waiting'), 0);
});
