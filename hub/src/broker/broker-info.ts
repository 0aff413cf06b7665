import type { Duplex } from 'node:stream';
import type { BrokerAdmin } from './broker-admin.js';

/** How the hub's own MQTT client reaches the broker. */
export interface HubConnection {
  /** Broker URL; with `stream` only a label for logs. */
  url: string;
  /** In-process broker: each call opens a new connection to it, bypassing the network (and TLS). */
  stream?: () => Duplex;
  username: string;
  password: string;
  clientId: string;
  /**
   * Keep the session across disconnects (clean: false, QoS 1 subscriptions): while the hub or the
   * broker restarts, the broker queues what devices send, instead of dropping it for lack of a
   * subscriber. True for an external broker, which outlives the hub; the embedded one does not.
   */
  persistentSession: boolean;
}

/**
 * The broker the hub runs against: embedded aedes (default) or an external Mosquitto 2 with the
 * dynamic-security plugin (MQTT_URL). Injected as `BrokerInfo`; the same object is BROKER_ADMIN.
 * MqttLink starts it before connecting and stops it after disconnecting, so the order is fixed.
 */
export abstract class BrokerInfo implements BrokerAdmin {
  abstract readonly mode: 'embedded' | 'external';
  /** Idempotent: listens (embedded) or prepares access control (external). */
  abstract start(): Promise<void>;
  abstract stop(): Promise<void>;
  /** Port the embedded broker is bound to (the real one when PIFLEET_MQTT_PORT=0); undefined when external. */
  abstract brokerPort(): number | undefined;
  /** URL to hand to devices at enrollment (no credentials); correct once start() resolved. */
  abstract deviceUrl(): string;
  abstract hubConnection(): HubConnection;
  abstract addDevice(deviceId: string, password: string): Promise<void>;
  abstract removeDevice(deviceId: string): Promise<void>;
}
