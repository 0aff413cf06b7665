import mqtt, { type MqttClient } from 'mqtt';
import { EnrollResponseSchema, deviceTopic, envelope, type EnrollResponse } from '@pifleet/protocol';
import type { TestHub } from '@pifleet/hub/testing';
import { enrollBody } from '@pifleet/hub/testing';
import { metricValue } from '../bench/lib/proc-stats.js';
import { waitFor } from './wait.js';

/**
 * A device as the hub sees it, without an agent: enrolled over HTTP with its own token, then a
 * raw MQTT client with its own credential, so a test can publish exactly the bytes it wants
 * (poison, floods) on the device's own subtree.
 */
export interface RawDevice {
  id: string;
  enrollment: EnrollResponse;
  client: MqttClient;
  /** Messages the hub sent to this device, by leaf (throttled, ...). */
  received: { leaf: string; payload: string }[];
  publish(leaf: string, payload: string | Buffer, opts?: { qos?: 0 | 1; retain?: boolean }): Promise<void>;
  close(): Promise<void>;
}

export async function enrollRawDevice(h: TestHub, adminToken: string, name: string, info: Record<string, unknown> = {}): Promise<RawDevice> {
  const tok = await h.api<{ token: string }>('POST', '/api/tokens', { token: adminToken, body: { fleet: 'default', maxUses: 1 } });
  if (tok.status !== 201) throw new Error(`token create: ${tok.status} ${JSON.stringify(tok.body)}`);
  const r = await h.api('POST', '/api/enroll', { body: enrollBody(tok.body.token, { name, info: { hostname: name, ...info } }) });
  if (r.status !== 200 && r.status !== 201) throw new Error(`enroll: ${r.status} ${JSON.stringify(r.body)}`);
  const enrollment = EnrollResponseSchema.parse(r.body);
  const id = enrollment.deviceId;
  const client = await connectAs(enrollment);
  const received: RawDevice['received'] = [];
  client.on('message', (topic, payload) => received.push({ leaf: topic.split('/').slice(4).join('/'), payload: payload.toString() }));
  await client.subscribeAsync(deviceTopic(id, 'throttled'), { qos: 0 });
  return {
    id,
    enrollment,
    client,
    received,
    publish: async (leaf, payload, opts = {}) => {
      await client.publishAsync(deviceTopic(id, leaf), payload, { qos: opts.qos ?? 1, retain: opts.retain ?? false });
    },
    close: () => client.endAsync().catch(() => undefined),
  };
}

export async function connectAs(e: EnrollResponse): Promise<MqttClient> {
  return mqtt.connectAsync(e.mqtt.url, {
    username: e.mqtt.username,
    password: e.mqtt.password,
    clientId: e.mqtt.clientId,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
  });
}

/** A status message as the agent sends it. */
export function statusPayload(state: 'online' | 'offline', session: number, info?: Record<string, unknown>): string {
  return JSON.stringify({ ...envelope('status'), state, session, ...(info ? { info } : {}) });
}

/** A telemetry message with explicit rows (wire form: first row absolute, later rows deltas). */
export function telemetryPayload(rows: (number | null)[][], ts = Date.now()): string {
  return JSON.stringify({ ...envelope('telemetry'), ts, samples: rows });
}

/** One plausible absolute sample row in TELEMETRY_FIELDS order, `dt` ms before the message time. */
export function sampleRow(dt: number, over: Partial<Record<'cpu' | 'temp' | 'throttled' | 'netRx', number>> = {}): number[] {
  // dt, cpu‰, load1..15 ×100, memUsed, memTotal, diskUsed, diskTotal (MiB), temp d°C, throttled, netRx, netTx, uptime, agentRss KiB, agentCpu‰
  return [dt, over.cpu ?? 120, 50, 40, 30, 300, 900, 2000, 30000, over.temp ?? 455, over.throttled ?? 0, over.netRx ?? 1000, 800, 3600, 40000, 5];
}

/** Reads a counter (summed over label sets matching `labels`) from the hub's /metrics. */
export async function hubMetric(h: TestHub, token: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const r = await h.api<string>('GET', '/metrics', { token });
  const text = String(r.body);
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const lines = text.split('\n').filter((l) => (l.startsWith(name + '{') || l.startsWith(name + ' ')) && want.every((w) => l.includes(w)));
  const v = metricValue(lines.join('\n'), name);
  return Number.isNaN(v) ? 0 : v;
}

/** Telemetry points the API returns for a device over the last `minutes`. */
export async function rawPoints(h: TestHub, token: string, id: string, minutes = 60): Promise<Record<string, unknown>[]> {
  const from = new Date(Date.now() - minutes * 60_000).toISOString();
  const to = new Date(Date.now() + 10 * 60_000).toISOString();
  const r = await h.api<{ points: Record<string, unknown>[] }>('GET', `/api/devices/${id}/telemetry?resolution=raw&from=${from}&to=${to}`, { token });
  if (r.status !== 200) throw new Error(`telemetry: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.points;
}

export async function waitForPoints(h: TestHub, token: string, id: string, n: number, what: string): Promise<Record<string, unknown>[]> {
  return waitFor(what, async () => {
    const p = await rawPoints(h, token, id);
    return p.length >= n ? p : undefined;
  }, 20_000);
}
