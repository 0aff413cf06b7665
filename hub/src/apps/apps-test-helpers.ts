import mqtt from 'mqtt';
import { EnrollResponseSchema, StateDesiredMessageSchema, deviceTopic, envelope, leafTopic, type EnrollResponse, type StateDesiredMessage } from '@pifleet/protocol';
import type { CreatedToken } from '../contract.js';
import { until } from '../broker/mqtt-test-helpers.js';
import { enrollBody, type TestHub } from '../http/test-hub.js';

/** Test support for the apps suites (not a test itself): enrolled devices that listen as an agent would. */

export async function enroll(t: TestHub, admin: string, fleet: string, name: string): Promise<EnrollResponse> {
  const tok = await t.api<CreatedToken>('POST', '/api/tokens', { token: admin, body: { fleet } });
  if (tok.status !== 201) throw new Error(`token: ${tok.status} ${JSON.stringify(tok.body)}`);
  const r = await t.api('POST', '/api/enroll', { body: enrollBody(tok.body.token, { name }) });
  if (r.status !== 200) throw new Error(`enroll: ${r.status} ${JSON.stringify(r.body)}`);
  return EnrollResponseSchema.parse(r.body);
}

export interface Received {
  msg: StateDesiredMessage;
  retain: boolean;
}

/** A device connected as its agent: subscribed to its desired state, announcing itself online with `session`. */
export class FakeDevice {
  readonly received: Received[] = [];
  private constructor(
    readonly e: EnrollResponse,
    readonly client: mqtt.MqttClient,
  ) {}

  static async connect(e: EnrollResponse, session: number, opts: { announce?: boolean } = {}): Promise<FakeDevice> {
    const client = await mqtt.connectAsync(e.mqtt.url, {
      username: e.mqtt.username,
      password: e.mqtt.password,
      clientId: e.mqtt.clientId,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      will: { topic: deviceTopic(e.deviceId, 'status'), payload: Buffer.from(status('offline', session)), qos: 1, retain: true },
    });
    const d = new FakeDevice(e, client);
    client.on('message', (topic, payload, packet) => {
      if (topic !== leafTopic(e.deviceId, 'state/desired') || payload.length === 0) return;
      d.received.push({ msg: StateDesiredMessageSchema.parse(JSON.parse(payload.toString())), retain: packet.retain });
    });
    await client.subscribeAsync(leafTopic(e.deviceId, 'state/desired'), { qos: 1 });
    if (opts.announce !== false) await d.announce(session);
    return d;
  }

  async announce(session: number): Promise<void> {
    await this.client.publishAsync(deviceTopic(this.e.deviceId, 'status'), status('online', session), { qos: 1, retain: true });
  }

  get latest(): StateDesiredMessage | undefined {
    return this.received.at(-1)?.msg;
  }

  /** Waits for a state with at least this version (or any state) and returns the newest. */
  async waitFor(pred: (m: StateDesiredMessage) => boolean, what = 'desired state', ms = 10_000): Promise<StateDesiredMessage> {
    await until(what, () => this.received.some((r) => pred(r.msg)), ms);
    return this.received.filter((r) => pred(r.msg)).at(-1)!.msg;
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

function status(state: 'online' | 'offline', session: number): string {
  return JSON.stringify({ ...envelope('status'), state, session, info: { hostname: 'pi' } });
}

/** A small valid compose file; `env` becomes web's environment. */
export function composeWith(env: Record<string, string>, image = 'nginx:1.27'): string {
  const lines = ['name: shop', 'services:', '  web:', `    image: ${image}`, '    environment:'];
  for (const [k, v] of Object.entries(env)) lines.push(`      ${k}: "${v}"`);
  if (Object.keys(env).length === 0) lines.pop();
  lines.push('  worker:', '    image: busybox:1.36', '    command: ["sleep", "3600"]');
  return lines.join('\n') + '\n';
}
