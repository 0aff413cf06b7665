import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { HUB_STATUS_TOPIC, deviceTopic } from '@pifleet/protocol';
// Hub internals under test (the hub package exports only its app entry point).
import { DynsecBroker } from '../../../hub/dist/broker/dynsec-broker.js';
import { MqttLink } from '../../../hub/dist/broker/mqtt-link.js';
import { MetricsService } from '../../../hub/dist/common/metrics.service.js';
import { parseEnv } from '../../../hub/dist/config/env.js';
import { HubConfig } from '../../../hub/dist/config/hub-config.js';
import { startMosquitto, type RunningMosquitto } from '../support/mosquitto.js';
import { grantedQos } from '@pifleet/hub/testing';

// The same access rules as the embedded broker, enforced by a real Mosquitto 2 through the
// dynamic-security plugin that DynsecBroker manages.
const A = 'aaaaaaaaaaa1';
const B = 'bbbbbbbbbbb2';
const PW: Record<string, string> = { [A]: 'pw-a-0123456789', [B]: 'pw-b-0123456789' };
let mosq: RunningMosquitto | undefined;
let broker: DynsecBroker;
let link: MqttLink;
const received: string[] = [];
const clients: MqttClient[] = [];

before(async (t) => {
  mosq = await startMosquitto(t as never);
  if (!mosq) return;
  const config = new HubConfig(parseEnv({ MQTT_URL: mosq.url, PIFLEET_LOG_LEVEL: 'silent' }));
  const log = pino({ level: 'silent' });
  const metrics = new MetricsService();
  broker = new DynsecBroker(config, log);
  link = new MqttLink(log, metrics, broker);
  // The Nest lifecycle order: modules init (handlers registered), then the link connects.
  await link.onModuleInit();
  link.subscribe('pifleet/v1/dev/#', (topic) => void received.push(topic));
  await link.onApplicationBootstrap();
  for (const id of [A, B]) await broker.addDevice(id, PW[id]!);
  await broker.addDevice(A, PW[A]!); // idempotent
});

after(async () => {
  for (const c of clients) c.end(true);
  if (link) {
    await link.beforeApplicationShutdown();
    await link.onApplicationShutdown();
  }
  await mosq?.stop();
});

async function until(what: string, pred: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function connect(id: string, password = PW[id]): Promise<MqttClient> {
  const c = await mqtt.connectAsync(mosq!.deviceUrl, { clientId: id, username: id, password, reconnectPeriod: 0, protocolVersion: 4 });
  clients.push(c);
  return c;
}

test('the hub is connected and announces itself', (t) => {
  if (!mosq) return t.skip('no mosquitto');
  assert.equal(link.isConnected(), true);
  assert.equal(broker.deviceUrl(), mosq.deviceUrl);
});

test('a device publishes in its own subtree; another subtree is silently dropped and the connection survives', async (t) => {
  if (!mosq) return t.skip('no mosquitto');
  const c = await connect(A);
  await c.publishAsync(deviceTopic(A, 'status'), '{}', { qos: 1 });
  await until('own message at the hub', () => received.includes(deviceTopic(A, 'status')));
  await c.publishAsync(deviceTopic(B, 'status'), '{}', { qos: 1 });
  await c.publishAsync('elsewhere/x', '{}', { qos: 1 });
  await c.publishAsync(deviceTopic(A, 'telemetry'), '{}', { qos: 1 });
  await until('later own message', () => received.includes(deviceTopic(A, 'telemetry')));
  assert.equal(received.includes(deviceTopic(B, 'status')), false);
  assert.equal(c.connected, true);
});

test('subscriptions outside the own subtree get 0x80; own subtree and hub status are granted', async (t) => {
  if (!mosq) return t.skip('no mosquitto');
  const c = await connect(B);
  assert.equal(await grantedQos(c, '#'), 128);
  assert.equal(await grantedQos(c, deviceTopic(A, 'status')), 128);
  assert.equal(await grantedQos(c, deviceTopic(B, 'cmd/#')), 0);
  const hub = new Promise<string>((r) => c.once('message', (_t, p) => r(p.toString())));
  assert.equal(await grantedQos(c, HUB_STATUS_TOPIC), 0);
  assert.equal(JSON.parse(await hub).state, 'online');
  assert.equal(c.connected, true);
});

test('wrong password and foreign client id are refused', async (t) => {
  if (!mosq) return t.skip('no mosquitto');
  await assert.rejects(connect(A, 'wrong'), /Not authorized|Bad username/i);
  await assert.rejects(
    mqtt.connectAsync(mosq.deviceUrl, { clientId: 'someone', username: A, password: PW[A], reconnectPeriod: 0 }),
    /Not authorized|Bad username|Identifier/i,
  );
});

test('removeDevice disconnects the device within 2 s and refuses it afterwards; idempotent', async (t) => {
  if (!mosq) return t.skip('no mosquitto');
  const c = await connect(B);
  const closed = new Promise<number>((r) => c.once('close', () => r(Date.now())));
  const t0 = Date.now();
  await broker.removeDevice(B);
  assert.ok((await closed) - t0 < 2000);
  await assert.rejects(connect(B), /Not authorized|Bad username/i);
  await broker.removeDevice(B);
});
