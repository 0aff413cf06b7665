import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Aedes, type AuthenticateHandler } from 'aedes';
import { connect, type MqttClient } from 'mqtt';
import { within } from './wait.js';

/**
 * A real in-process MQTT broker (aedes) on a free port. `stop()` drops every connection the way a
 * crashing hub would; `restart()` brings a fresh broker up on the same port.
 */
export class TestBroker {
  private sockets = new Set<Socket>();
  private constructor(
    private broker: Aedes,
    private server: Server,
    public port: number,
    private readonly authenticate?: AuthenticateHandler,
  ) {}

  static async start(opts: { port?: number; authenticate?: AuthenticateHandler } = {}): Promise<TestBroker> {
    const broker = await Aedes.createBroker(opts.authenticate ? { authenticate: opts.authenticate } : {});
    const server = createServer(broker.handle);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, '127.0.0.1', resolve);
    });
    const tb = new TestBroker(broker, server, (server.address() as AddressInfo).port, opts.authenticate);
    server.on('connection', (s) => {
      tb.sockets.add(s);
      s.on('close', () => tb.sockets.delete(s));
    });
    return tb;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await within('broker close', closed, 5000);
    await within('aedes close', new Promise<void>((resolve) => this.broker.close(() => resolve())), 5000);
  }

  async restart(): Promise<void> {
    await this.stop();
    const next = await TestBroker.start({ port: this.port, ...(this.authenticate ? { authenticate: this.authenticate } : {}) });
    this.broker = next.broker;
    this.server = next.server;
    this.sockets = next.sockets;
  }
}

export interface Seen {
  topic: string;
  json: Record<string, unknown>;
  retain: boolean;
  at: number;
}

/** An observer client recording everything under pifleet/#, as the hub would see it. */
export class Watcher {
  readonly seen: Seen[] = [];
  private constructor(readonly client: MqttClient) {}

  static async connect(url: string): Promise<Watcher> {
    const client = connect(url, { clientId: `watcher-${process.pid}-${Math.random().toString(36).slice(2, 8)}`, reconnectPeriod: 0 });
    const w = new Watcher(client);
    client.on('message', (topic, payload, packet) => {
      w.seen.push({ topic, json: JSON.parse(payload.toString()) as Record<string, unknown>, retain: packet.retain, at: Date.now() });
    });
    await within('watcher connect', new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    }), 5000);
    await within('watcher subscribe', client.subscribeAsync('pifleet/#', { qos: 1 }), 5000);
    return w;
  }

  statuses(): Seen[] {
    return this.seen.filter((s) => s.topic.endsWith('/status') && s.topic.startsWith('pifleet/v1/dev/'));
  }

  telemetry(): Seen[] {
    return this.seen.filter((s) => s.topic.endsWith('/telemetry'));
  }

  async publish(topic: string, payload: string, retain: boolean): Promise<void> {
    await within('watcher publish', this.client.publishAsync(topic, payload, { qos: 1, retain }), 5000);
  }

  async close(): Promise<void> {
    await within('watcher end', this.client.endAsync(true), 5000).catch(() => undefined);
  }
}
