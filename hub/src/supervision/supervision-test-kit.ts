import mqtt, { type MqttClient } from 'mqtt';
import {
  EnrollResponseSchema,
  StateDesiredMessageSchema,
  deviceTopic,
  envelope,
  leafTopic,
  type EnrollResponse,
  type LeafInput,
  type StateDesiredMessage,
  type SupervisionEventData,
} from '@pifleet/protocol';
import { takeSseEvents } from '../http/sse-test-parse.js';
import { enrollBody, type Loose, type TestHub } from '../http/test-hub.js';

/**
 * Support for the supervision tests (not a test itself): a device enrolled over HTTP that
 * speaks raw MQTT with its own credential, message builders, and a reader of the live stream.
 */
export interface TestDevice {
  id: string;
  name: string;
  enrollment: EnrollResponse;
  client: MqttClient;
  /** Desired states the hub sent to the device, in order. */
  desired: StateDesiredMessage[];
  publish(leaf: string, payload: string | Buffer, opts?: { qos?: 0 | 1; retain?: boolean }): Promise<void>;
  online(session?: number): Promise<void>;
  report(r: Partial<LeafInput<'state/reported'>>): Promise<LeafInput<'state/reported'>>;
  event(data: SupervisionEventData, opts?: { id?: string; seq?: number; at?: number }): Promise<string>;
  reconnect(): Promise<void>;
  close(): Promise<void>;
}

let seq = 0;

export async function enrollDevice(t: TestHub, admin: string, name: string): Promise<TestDevice> {
  const tok = await t.api('POST', '/api/tokens', { token: admin, body: { fleet: 'default', maxUses: 1 } });
  if (tok.status !== 201) throw new Error(`token: ${tok.status} ${JSON.stringify(tok.body)}`);
  const r = await t.api('POST', '/api/enroll', { body: enrollBody(tok.body.token, { name }) });
  if (r.status !== 200 && r.status !== 201) throw new Error(`enroll: ${r.status} ${JSON.stringify(r.body)}`);
  const enrollment = EnrollResponseSchema.parse(r.body);
  const id = enrollment.deviceId;
  const desired: StateDesiredMessage[] = [];
  const listen = async (c: MqttClient) => {
    c.on('message', (topic, payload) => {
      if (topic === leafTopic(id, 'state/desired') && payload.length > 0) desired.push(StateDesiredMessageSchema.parse(JSON.parse(payload.toString())));
    });
    await c.subscribeAsync(leafTopic(id, 'state/desired'), { qos: 1 });
    return c;
  };
  const dev: TestDevice = {
    id,
    name,
    enrollment,
    desired,
    client: await listen(await connectAs(enrollment)),
    publish: (leaf, payload, opts = {}) => dev.client.publishAsync(deviceTopic(id, leaf), payload, { qos: opts.qos ?? 1, retain: opts.retain ?? false }).then(() => undefined),
    online: (session = Date.now()) => dev.publish('status', JSON.stringify({ ...envelope('status'), state: 'online', session }), { retain: true }),
    async report(r) {
      const msg = { ...envelope('state-reported'), desiredVersion: 1, appliedVersion: 1, apps: {}, engine: 'up' as const, ...r };
      await dev.publish('state/reported', JSON.stringify(msg), { retain: true });
      return msg;
    },
    async event(data, opts = {}) {
      const base = envelope('evt');
      const msg = { ...base, id: opts.id ?? base.id, kind: 'supervision', seq: opts.seq ?? ++seq, at: opts.at ?? Date.now(), data };
      await dev.publish('evt/supervision', JSON.stringify(msg));
      return msg.id;
    },
    async reconnect() {
      await dev.client.endAsync().catch(() => undefined);
      dev.client = await listen(await connectAs(enrollment));
    },
    close: () => dev.client.endAsync().catch(() => undefined),
  };
  return dev;
}

export function connectAs(e: EnrollResponse): Promise<MqttClient> {
  return mqtt.connectAsync(e.mqtt.url, { username: e.mqtt.username, password: e.mqtt.password, clientId: e.mqtt.clientId, reconnectPeriod: 0, connectTimeout: 10_000 });
}

/** One service's status as an agent reports it. */
export function status(state: string, extra: Record<string, unknown> = {}): Loose {
  return { state, release: 1, image: 'nginx:1.27', since: Date.now(), restarts: 0, crashLoop: false, ...extra };
}

export interface SseEvent {
  event: string;
  data: Loose;
}

/** An open live stream that collects named events; `waitFor` polls what arrived. */
export interface LiveStream {
  events: SseEvent[];
  waitFor(what: string, pred: (e: SseEvent) => boolean, ms?: number): Promise<SseEvent>;
  close(): void;
}

export async function openLiveStream(t: TestHub, token: string): Promise<LiveStream> {
  const ac = new AbortController();
  const res = await fetch(`${t.url}/api/events`, { headers: { authorization: `Bearer ${token}` }, signal: ac.signal });
  if (res.status !== 200) throw new Error(`live stream: ${res.status}`);
  const events: SseEvent[] = [];
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  const pump = async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      const got = takeSseEvents<Loose>(buf + value);
      buf = got.rest;
      events.push(...got.events);
    }
  };
  void pump().catch(() => undefined);
  const stream: LiveStream = {
    events,
    async waitFor(what, pred, ms = 10_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const hit = events.find(pred);
        if (hit) return hit;
        if (Date.now() > deadline) throw new Error(`timed out waiting for live event: ${what} (got ${events.map((e) => e.event).join(', ')})`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    close: () => ac.abort(),
  };
  await stream.waitFor('snapshot', (e) => e.event === 'snapshot');
  return stream;
}
