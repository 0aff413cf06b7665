import assert from 'node:assert/strict';
import mqtt, { type MqttClient } from 'mqtt';
import { deviceTopic, EnrollResponseSchema, envelope, type EnrollResponse, type StateDesiredMessage } from '@pifleet/protocol';
import { enrollBody } from '@pifleet/hub/testing';
import { Api } from './api.js';
import { statusPayload } from './device-client.js';

/**
 * A Pi under supervision as the hub sees it, without an agent: connected with its enrolled MQTT
 * credential, online (retained, with the offline Will), subscribed to its desired state and
 * publishing whatever reported states and supervision events the test scripts.
 */
export interface SupervisedDevice {
  id: string;
  client: MqttClient;
  /** Every desired state the hub sent, oldest first. */
  desired: StateDesiredMessage[];
  report(apps: Record<string, Record<string, Record<string, unknown>>>, version: number): Promise<void>;
  event(data: Record<string, unknown>): Promise<void>;
}

export interface SupervisedDeviceOptions {
  /** The session the status messages carry; default now. */
  session?: number;
  /** MQTT keepalive in seconds; default mqtt.js's. */
  keepalive?: number;
}

/** Connects the device `e` enrolled as; the caller ends `client` (with force, the broker sends the Will). */
export async function connectSupervisedDevice(e: EnrollResponse, opts: SupervisedDeviceOptions = {}): Promise<SupervisedDevice> {
  const session = opts.session ?? Date.now();
  const statusTopic = deviceTopic(e.deviceId, 'status');
  const desiredTopic = deviceTopic(e.deviceId, 'state/desired');
  const client = await mqtt.connectAsync(e.mqtt.url, {
    username: e.mqtt.username,
    password: e.mqtt.password,
    clientId: e.mqtt.clientId,
    reconnectPeriod: 0,
    ...(opts.keepalive !== undefined ? { keepalive: opts.keepalive } : {}),
    will: { topic: statusTopic, payload: Buffer.from(statusPayload('offline', session)), qos: 1, retain: true },
  });
  const desired: StateDesiredMessage[] = [];
  client.on('message', (topic, payload) => {
    if (topic === desiredTopic && payload.length > 0) desired.push(JSON.parse(payload.toString()) as StateDesiredMessage);
  });
  await client.subscribeAsync(desiredTopic, { qos: 1 });
  await client.publishAsync(statusTopic, statusPayload('online', session), { qos: 1, retain: true });
  let seq = 0;
  return {
    id: e.deviceId,
    client,
    desired,
    report: async (apps, version) => {
      const msg = { ...envelope('state-reported'), desiredVersion: version, appliedVersion: version, apps, engine: 'up' };
      await client.publishAsync(deviceTopic(e.deviceId, 'state/reported'), JSON.stringify(msg), { qos: 1, retain: true });
    },
    event: async (data) => {
      const msg = { ...envelope('evt'), kind: 'supervision', seq: ++seq, at: Date.now(), data };
      await client.publishAsync(deviceTopic(e.deviceId, 'evt/supervision'), JSON.stringify(msg), { qos: 1 });
    },
  };
}

/** Enrolls `name` with a one-use token `admin` creates (`info` beside its hostname), then connects it. */
export async function enrollSupervisedDevice(admin: Api, name: string, info: Record<string, unknown> = {}, opts: SupervisedDeviceOptions = {}): Promise<SupervisedDevice> {
  const tok = await admin.post<{ token: string }>('/api/tokens', { fleet: 'default', maxUses: 1 });
  assert.equal(tok.status, 201, JSON.stringify(tok.body));
  const anonymous = new Api(admin.base, undefined, admin.ca);
  const r = await anonymous.post('/api/enroll', enrollBody(tok.body.token, { name, info: { hostname: name, ...info } }));
  assert.ok(r.status === 200 || r.status === 201, `enroll: ${r.status} ${JSON.stringify(r.body)}`);
  return connectSupervisedDevice(EnrollResponseSchema.parse(r.body), opts);
}
