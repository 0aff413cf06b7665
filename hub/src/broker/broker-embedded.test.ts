import 'reflect-metadata';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { eq } from 'drizzle-orm';
import mqtt, { MqttClient } from 'mqtt';
import { HUB_STATUS_TOPIC, MAX_PAYLOAD_BYTES, deviceSubtree, deviceTopic, encodeBatch, envelope } from '@pifleet/protocol';
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
import { grantedQos, registryMetric, until } from './mqtt-test-helpers.js';
import { MAX_UNAUTHENTICATED_PACKET_BYTES as PREAUTH_LIMIT, MAX_UNAUTHENTICATED_PER_IP as PER_IP } from './packet-guard.js';
import { MAX_RETAINED_BYTES_PER_DEVICE as RETAINED_BYTES, MAX_RETAINED_TOPICS_PER_DEVICE as RETAINED_TOPICS } from './retained-limits.js';

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
const C = 'ccccccccccc3';
const D = 'ddddddddddd4';
const E = 'eeeeeeeeeee5';
const PW: Record<string, string> = Object.fromEntries([A, B, C, D, E].map((id) => [id, `secret-${id}-0123456789`]));

before(async () => {
  app = await NestFactory.createApplicationContext(TestModule, { logger: false });
  db = app.get<Db>(DB);
  broker = app.get(BrokerInfo);
  admin = app.get<BrokerAdmin>(BROKER_ADMIN);
  metrics = app.get(MetricsService);
  presence = app.get(PresenceService);
  url = broker.deviceUrl();
  await db.insert(fleets).values({ id: 'f1', name: 'default' });
  for (const id of [A, B, C, D, E]) {
    await db.insert(devices).values({ id, name: `pi-${id}`, fleetId: 'f1', publicKey: 'k', mqttSecretHash: sha256(PW[id]!) });
    await admin.addDevice(id, PW[id]!);
  }
});

after(async () => {
  for (const c of clients) c.end(true);
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});


const metric = (name: string, labels: Record<string, string> = {}) => registryMetric(metrics.registry, name, labels);

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
  const bad = (reason: string) => metric('pifleet_ingest_rejected_total', { stream: 'presence', reason });
  const [nj, inv] = [await bad('not-json'), await bad('invalid')];
  await c.publishAsync(deviceTopic(A, 'status'), '{not json', { qos: 1 });
  await c.publishAsync(deviceTopic(A, 'status'), JSON.stringify({ v: 1, type: 'status', state: 'sideways' }), { qos: 1 });
  await until('invalid counted', async () => (await bad('not-json')) === nj + 1 && (await bad('invalid')) === inv + 1);
  const telInvalid = await metric('pifleet_ingest_rejected_total', { stream: 'telemetry', reason: 'invalid' });
  await c.publishAsync(deviceTopic(A, 'telemetry'), JSON.stringify({ ...envelope('telemetry'), samples: 'many' }));
  await until('telemetry invalid', async () => (await metric('pifleet_ingest_rejected_total', { stream: 'telemetry', reason: 'invalid' })) === telInvalid + 1);

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

// --- Resource limits: what one client, authenticated or not, can make the hub hold. ---


function rawSocket(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect({ port: broker.brokerPort()!, host: '127.0.0.1' }, () => resolve(s));
    s.once('error', reject);
  });
}

function closedWithin(s: Socket, ms: number): Promise<boolean> {
  if (s.destroyed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    s.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** MQTT remaining-length varint. */
function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

/**
 * Announces a CONNECT of 268 MB (the largest remaining length MQTT can express) and streams
 * bytes for it, at most 16 MB, as fast as the socket takes them. Resolves with the time until the
 * broker closed the socket, or undefined when it was still open 2 s after the flood ended.
 */
async function floodConnect(): Promise<{ ms: number | undefined; sent: number }> {
  const s = await rawSocket();
  s.on('error', () => undefined);
  const t0 = Date.now();
  const closed = new Promise<number>((r) => s.once('close', () => r(Date.now() - t0)));
  const chunk = Buffer.alloc(64 * 1024, 0x41);
  let sent = 0;
  s.write(Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f]));
  while (!s.destroyed && sent < 16 * 1024 * 1024) {
    sent += chunk.length;
    if (!s.write(chunk)) {
      const drained = await Promise.race([new Promise<boolean>((r) => s.once('drain', () => r(true))), closed.then(() => false)]);
      if (!drained) break;
    }
  }
  const ms = await Promise.race([closed, new Promise<undefined>((r) => setTimeout(() => r(undefined), 2000).unref())]);
  s.destroy();
  return { ms, sent };
}

async function hubSubscriber(): Promise<MqttClient> {
  const conn = broker.hubConnection();
  const c = new MqttClient(() => conn.stream!(), {
    username: conn.username,
    password: conn.password,
    clientId: `${conn.clientId}-probe-${clients.length}`,
    reconnectPeriod: 0,
  });
  clients.push(c);
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  return c;
}

/**
 * The retained messages a fresh subscriber gets for a device's subtree (topic -> payload bytes).
 * The subscription also names the hub's retained status: aedes streams retained messages filter by
 * filter, so once the hub status arrives everything under the device has been delivered.
 */
async function retainedUnder(deviceId: string): Promise<Map<string, number>> {
  const c = await hubSubscriber();
  const got = new Map<string, number>();
  const done = new Promise<void>((resolve) =>
    c.on('message', (topic, payload, packet) => {
      if (topic === HUB_STATUS_TOPIC) resolve();
      else if (packet.retain) got.set(topic, payload.length);
    }),
  );
  await c.subscribeAsync([deviceSubtree(deviceId), HUB_STATUS_TOPIC], { qos: 0 });
  await done;
  c.end(true);
  return got;
}

/** Whether the broker accepts a connection or closes it (mqtt.js reports a bare close as neither). */
async function connectOutcome(id: string, opts: mqtt.IClientOptions = {}): Promise<'connected' | 'closed'> {
  const c = mqtt.connect(url, { clientId: id, username: id, password: PW[id], reconnectPeriod: 0, connectTimeout: 2000, ...opts });
  c.on('error', () => undefined);
  clients.push(c);
  const outcome = await new Promise<'connected' | 'closed'>((resolve) => {
    c.once('connect', () => resolve('connected'));
    c.once('close', () => resolve('closed'));
  });
  c.end(true);
  return outcome;
}

function rssMb(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss / 1024 / 1024;
}

test('an oversized CONNECT is closed from its fixed header, before the bytes are buffered, and counted', async () => {
  const refused = () => metric('pifleet_mqtt_refused_total', { reason: 'packet_size_unauthenticated' });
  const before = await refused();
  const rss0 = rssMb();
  const floods = await Promise.all([floodConnect(), floodConnect(), floodConnect(), floodConnect()]);
  for (const f of floods) assert.ok(f.ms !== undefined && f.ms < 1000, `closed after ${f.ms} ms (${f.sent} bytes sent)`);
  assert.ok(rssMb() - rss0 < 100, `RSS grew ${Math.round(rssMb() - rss0)} MB`);
  assert.equal(await refused(), before + 4);

  // A CONNECT just over the limit (a 20 KiB Will) is refused too; a normal one still connects.
  const s = await rawSocket();
  s.on('error', () => undefined);
  s.write(Buffer.concat([Buffer.from([0x10]), remainingLength(PREAUTH_LIMIT + 1)]));
  assert.equal(await closedWithin(s, 1000), true);
  assert.equal(await refused(), before + 5);
  const bigWill = { topic: deviceTopic(A, 'status'), payload: Buffer.alloc(20 * 1024, 0x20), qos: 1 as const, retain: true };
  assert.equal(await connectOutcome(A, { will: bigWill }), 'closed');
  assert.equal(await refused(), before + 6);
  assert.equal(await connectOutcome(A), 'connected');
});

test('after authentication a packet announcing more than the largest payload is cut from its header', async () => {
  const refused = () => metric('pifleet_mqtt_refused_total', { reason: 'packet_size' });
  const before = await refused();
  const c = await connect(A);
  // 100 KB (over the pre-authentication limit, under the payload limit) is fine once connected.
  await c.publishAsync(deviceTopic(A, 'blob'), Buffer.alloc(100_000, 0x20), { qos: 1 });
  // A PUBLISH header announcing 10 MB, followed by a trickle: cut without waiting for the rest.
  c.stream.write(Buffer.concat([Buffer.from([0x30]), remainingLength(10 * 1024 * 1024), Buffer.alloc(1024)]));
  assert.equal(await closedWithin(c.stream as Socket, 1000), true);
  assert.equal(await refused(), before + 1);
});

test('unauthenticated sockets per address are capped and counted; a device gets in once slots free', async () => {
  const pending = () => metric('pifleet_mqtt_unauthenticated_connections');
  const refused = () => metric('pifleet_mqtt_refused_total', { reason: 'unauthenticated_per_ip' });
  const base = await pending();
  const before = await refused();
  const idle: Socket[] = [];
  try {
    for (let i = 0; i < PER_IP; i++) {
      const s = await rawSocket();
      s.on('error', () => undefined);
      idle.push(s);
    }
    await until('idle sockets counted', async () => (await pending()) === base + PER_IP);
    const extra = await rawSocket();
    extra.on('error', () => undefined);
    assert.equal(await closedWithin(extra, 1000), true);
    assert.equal(await refused(), before + 1);
    // A legitimate device from the same address is refused too while the slots are taken...
    assert.equal(await connectOutcome(C), 'closed');
    assert.equal(await refused(), before + 2);
  } finally {
    for (const s of idle) s.destroy();
  }
  // ...and connects once the idle sockets are gone.
  await until('slots freed', async () => (await pending()) === base);
  const c = await connect(C);
  assert.equal(c.connected, true);
  // Authenticated connections no longer count against the address.
  assert.equal(await pending(), base);
});

test('retained messages per device are capped by count; the extra publish is delivered, not stored', async () => {
  const dropped = () => metric('pifleet_ingest_rejected_total', { stream: 'retained', reason: 'retained_count' });
  const before = await dropped();
  const c = await connect(C);
  const live: string[] = [];
  c.on('message', (topic) => live.push(topic));
  await c.subscribeAsync(deviceTopic(C, 'r/#'), { qos: 1 });
  for (let i = 0; i <= RETAINED_TOPICS; i++) await c.publishAsync(deviceTopic(C, `r/${i}`), `v${i}`, { qos: 1, retain: true });
  await until('all delivered live', () => live.length === RETAINED_TOPICS + 1);
  assert.equal(c.connected, true);
  assert.equal(await dropped(), before + 1);
  const stored = await retainedUnder(C);
  assert.equal(stored.size, RETAINED_TOPICS);
  assert.equal(stored.has(deviceTopic(C, `r/${RETAINED_TOPICS}`)), false);

  // Replacing a stored topic is fine; clearing one frees its slot for another topic.
  await c.publishAsync(deviceTopic(C, 'r/0'), 'again', { qos: 1, retain: true });
  await c.publishAsync(deviceTopic(C, 'r/1'), '', { qos: 1, retain: true });
  await c.publishAsync(deviceTopic(C, `r/${RETAINED_TOPICS}`), 'now', { qos: 1, retain: true });
  assert.equal(await dropped(), before + 1);
  const after = await retainedUnder(C);
  assert.equal(after.size, RETAINED_TOPICS);
  assert.equal(after.has(deviceTopic(C, 'r/1')), false);
  assert.equal(after.get(deviceTopic(C, 'r/0')), 5);
  assert.equal(after.has(deviceTopic(C, `r/${RETAINED_TOPICS}`)), true);
});

test('retained messages per device are capped by bytes', async () => {
  const dropped = () => metric('pifleet_ingest_rejected_total', { stream: 'retained', reason: 'retained_bytes' });
  const before = await dropped();
  const c = await connect(D);
  const payload = Buffer.alloc(250_000, 0x20);
  const fit = Math.floor(RETAINED_BYTES / (payload.length + 64));
  for (let i = 0; i <= fit; i++) await c.publishAsync(deviceTopic(D, `big/${i}`), payload, { qos: 1, retain: true });
  assert.equal(c.connected, true);
  assert.equal(await dropped(), before + 1);
  assert.equal((await retainedUnder(D)).size, fit);
});

test('800 retained 250 KB messages do not stay in memory, and revocation clears the device subtree', async () => {
  const c = await connect(E, {
    will: { topic: deviceTopic(E, 'status'), payload: Buffer.from(status('offline', 1)), qos: 1, retain: true },
  });
  await c.publishAsync(deviceTopic(E, 'status'), status('online', 1), { qos: 1, retain: true });
  const payload = Buffer.alloc(250_000, 0x42);
  const rss0 = rssMb();
  for (let i = 0; i < 800; i += 50) {
    await Promise.all(
      Array.from({ length: 50 }, (_, j) => c.publishAsync(deviceTopic(E, `flood/${i + j}`), payload, { qos: 1, retain: true })),
    );
  }
  const grown = rssMb() - rss0;
  assert.equal(c.connected, true);
  assert.ok(grown < 100, `RSS grew ${Math.round(grown)} MB`);
  assert.ok((await retainedUnder(E)).size > 0);

  await admin.removeDevice(E);
  // Nothing under the device survives, not even the Will its revocation set off.
  assert.deepEqual([...(await retainedUnder(E)).keys()], []);
});
