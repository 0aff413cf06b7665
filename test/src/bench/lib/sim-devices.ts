import mqtt, { type MqttClient } from 'mqtt';
import { deviceTopic, encodeBatch, envelope, type TelemetrySample } from '@pifleet/protocol';

export interface SimCredential {
  deviceId: string;
  username?: string;
  password?: string;
}

/**
 * Lightweight simulated agents: real MQTT connections (mqtt.js), the agent's presence protocol
 * (retained online + Will with a session number) and 1-sample telemetry batches, driven by one
 * timer for the whole fleet instead of a timer per device.
 */
export class SimFleet {
  readonly clients = new Map<string, MqttClient>();
  private timer?: NodeJS.Timeout;
  private cursor = 0;
  published = 0;

  constructor(
    readonly url: string,
    readonly keepaliveS: number,
  ) {}

  connect(c: SimCredential, session = 1): Promise<void> {
    return new Promise((resolve, reject) => {
      const offline = JSON.stringify({ ...envelope('status'), state: 'offline', session });
      const client = mqtt.connect(this.url, {
        clientId: c.deviceId,
        username: c.username,
        password: c.password,
        keepalive: this.keepaliveS,
        reconnectPeriod: 0,
        connectTimeout: 30_000,
        will: { topic: deviceTopic(c.deviceId, 'status'), payload: Buffer.from(offline), qos: 1, retain: true },
      });
      client.once('connect', () => {
        const online = JSON.stringify({ ...envelope('status'), state: 'online', session, info: { hostname: c.deviceId, agentVersion: 'sim' } });
        client.publish(deviceTopic(c.deviceId, 'status'), online, { qos: 1, retain: true }, (err) => (err ? reject(err) : resolve()));
      });
      client.once('error', reject);
      this.clients.set(c.deviceId, client);
    });
  }

  /** Every device publishes one sample every `periodMs`, spread evenly over the period. */
  startTelemetry(periodMs: number): void {
    const tickMs = 100;
    this.timer = setInterval(() => {
      const ids = [...this.clients.keys()];
      const perTick = Math.ceil((ids.length * tickMs) / periodMs);
      for (let i = 0; i < perTick && ids.length; i++) {
        const id = ids[this.cursor++ % ids.length]!;
        const client = this.clients.get(id)!;
        if (!client.connected) continue;
        const s: TelemetrySample = {
          dt: 0, cpu: 30 + (this.cursor % 50), load1: 12, load5: 10, load15: 8, memUsed: 300, memTotal: 3792,
          diskUsed: 5210, diskTotal: 29340, temp: 480, throttled: 0, netRx: 900, netTx: 700, uptime: 86400, agentRss: 41000, agentCpu: 5,
        };
        client.publish(deviceTopic(id, 'telemetry'), JSON.stringify({ ...envelope('telemetry'), samples: encodeBatch([s]) }), { qos: 0 });
        this.published++;
      }
    }, tickMs);
  }

  /** Cuts connections as a crash or power loss would: no DISCONNECT, socket simply gone. */
  kill(ids: string[]): void {
    for (const id of ids) {
      const c = this.clients.get(id);
      if (!c) continue;
      c.stream.destroy();
      this.clients.delete(id);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.clients.values()].map((c) => c.endAsync(true)));
    this.clients.clear();
  }
}
