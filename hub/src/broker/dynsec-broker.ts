import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { DEVICE_ID_PATTERN, HUB_STATUS_TOPIC, deviceSubtree } from '@pifleet/protocol';
import type { HubConfig } from '../config/hub-config.js';
import { randomId } from '../common/ids.js';
import { BrokerInfo, type HubConnection } from './broker-info.js';
import { DYNSEC_RESPONSE_TOPIC, DynsecClient, DynsecError } from './dynsec-client.js';

export const HUB_ROLE = 'pifleet-hub';
const START_TIMEOUT_MS = 20_000;

type Acl = { acltype: string; topic: string; allow: boolean };

const HUB_ACLS: Acl[] = ['publishClientSend', 'publishClientReceive', 'subscribePattern', 'unsubscribePattern'].map((acltype) => ({
  acltype,
  topic: 'pifleet/#',
  allow: true,
}));

/** Everything a device may do: its own subtree both ways, and read the hub's presence. */
export function deviceAcls(deviceId: string): Acl[] {
  const own = deviceSubtree(deviceId);
  return [
    { acltype: 'publishClientSend', topic: own, allow: true },
    { acltype: 'publishClientReceive', topic: own, allow: true },
    { acltype: 'subscribePattern', topic: own, allow: true },
    { acltype: 'subscribePattern', topic: HUB_STATUS_TOPIC, allow: true },
    { acltype: 'publishClientReceive', topic: HUB_STATUS_TOPIC, allow: true },
  ];
}

const exists = (e: unknown) => e instanceof DynsecError && /already exists|already has/i.test(e.message);
const missing = (e: unknown) => e instanceof DynsecError && /not found/i.test(e.message);

/**
 * External Mosquitto 2 managed through its dynamic-security plugin (deploy/mosquitto/README.md).
 * The hub connects with the dynsec admin client from MQTT_URL, on a control connection of its own
 * (no Will), so access control is set up before MqttLink connects with a Will that needs it.
 *
 * Mosquitto drops a denied PUBLISH silently (MQTT 3.1.1: PUBACK as if accepted; MQTT 5: reason
 * 0x87) and answers a denied SUBSCRIBE with 0x80; the connection survives both. Those denials
 * happen inside Mosquitto and are logged there, not counted by the hub.
 */
/** One hub per broker for now; scale-out (DESIGN §8) moves to shared subscriptions. */
export const HUB_CLIENT_ID = 'pifleet-hub';

export class DynsecBroker extends BrokerInfo {
  readonly mode = 'external' as const;
  private readonly brokerUrl: string;
  private readonly username: string;
  private readonly password: string;
  /** Stable, so the broker keeps the hub's session (and queues for it) between connections. */
  private readonly hubClientId = HUB_CLIENT_ID;
  private control?: MqttClient;
  private dynsec?: DynsecClient;
  private starting?: Promise<void>;
  /** True once the control connection's response subscription is in place (answers can't be lost). */
  private listening = false;

  constructor(
    private readonly config: HubConfig,
    private readonly log: Logger,
  ) {
    super();
    const u = new URL(config.mqttUrl ?? '');
    this.username = decodeURIComponent(u.username);
    this.password = decodeURIComponent(u.password);
    this.brokerUrl = `${u.protocol}//${u.host}`;
  }

  start(): Promise<void> {
    this.starting ??= this.connectControl();
    return this.starting;
  }

  private async connectControl(): Promise<void> {
    const control = mqtt.connect(this.brokerUrl, {
      username: this.username,
      password: this.password,
      clientId: `pifleet-hub-ctl-${randomId(8)}`,
      clean: true,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
    });
    control.on('error', (err) => this.log.warn({ err: err.message }, 'dynsec control connection error'));
    control.on('connect', () => {
      control.subscribe(DYNSEC_RESPONSE_TOPIC, { qos: 1 }, (err) => {
        if (err) this.log.warn({ err: err.message }, 'dynsec response subscribe failed');
        else this.listening = true;
      });
    });
    control.on('close', () => (this.listening = false));
    this.control = control;
    this.dynsec = new DynsecClient(control);
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      try {
        while (!this.listening) {
          if (Date.now() > deadline) throw new Error('control connection not established');
          await new Promise((r) => setTimeout(r, 50));
        }
        await this.ensureAccess();
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`cannot set up Mosquitto dynamic security at ${this.brokerUrl}: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /** Idempotent: safe on every start and against a broker already set up by an older hub. */
  private async ensureAccess(): Promise<void> {
    const d = this.dynsec!;
    await d.command('setDefaultACLAccess', {
      acls: [
        { acltype: 'publishClientSend', allow: false },
        { acltype: 'subscribe', allow: false },
      ],
    });
    await d.command('createRole', { rolename: HUB_ROLE, acls: HUB_ACLS }).catch(ignore(exists));
    for (const acl of HUB_ACLS) await d.command('addRoleACL', { rolename: HUB_ROLE, ...acl }).catch(ignore(exists));
    const info = (await d.command('getClient', { username: this.username })) as { client?: { roles?: { rolename: string }[] } };
    if (!info.client?.roles?.some((r) => r.rolename === HUB_ROLE)) {
      // Changing the admin's roles makes Mosquitto kick every connection of that user, this one
      // included, so the answer may never come; the caller retries and getClient confirms.
      await d.command('addClientRole', { username: this.username, rolename: HUB_ROLE }, 1000).catch(() => undefined);
      throw new Error('hub role just granted; re-checking');
    }
  }

  async stop(): Promise<void> {
    this.dynsec?.close();
    const c = this.control;
    this.control = undefined;
    if (c) await c.endAsync(true).catch(() => undefined);
  }

  brokerPort(): undefined {
    return undefined;
  }

  deviceUrl(): string {
    return this.config.deviceMqttUrl;
  }

  hubConnection(): HubConnection {
    return { url: this.brokerUrl, username: this.username, password: this.password, clientId: this.hubClientId, persistentSession: true };
  }

  async addDevice(deviceId: string, password: string): Promise<void> {
    if (!DEVICE_ID_PATTERN.test(deviceId)) throw new Error(`invalid device id ${deviceId}`);
    const d = await this.ready();
    const rolename = `dev-${deviceId}`;
    await d.command('createRole', { rolename, acls: deviceAcls(deviceId) }).catch(ignore(exists));
    try {
      await d.command('createClient', { username: deviceId, clientid: deviceId, password, roles: [{ rolename }] });
    } catch (e) {
      if (!exists(e)) throw e;
      // Re-adding means a new credential: replace the client (this disconnects an old session).
      await d.command('deleteClient', { username: deviceId }).catch(ignore(missing));
      await d.command('createClient', { username: deviceId, clientid: deviceId, password, roles: [{ rolename }] });
    }
  }

  async removeDevice(deviceId: string): Promise<void> {
    const d = await this.ready();
    // deleteClient makes Mosquitto disconnect the device's live connection at once.
    await d.command('deleteClient', { username: deviceId }).catch(ignore(missing));
    await d.command('deleteRole', { rolename: `dev-${deviceId}` }).catch(ignore(missing));
  }

  private async ready(): Promise<DynsecClient> {
    await this.start();
    return this.dynsec!;
  }
}

function ignore(pred: (e: unknown) => boolean): (e: unknown) => void {
  return (e) => {
    if (!pred(e)) throw e;
  };
}
