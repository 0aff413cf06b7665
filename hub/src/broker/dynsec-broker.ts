import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { DEVICE_ID_PATTERN, HUB_STATUS_TOPIC, deviceSubtree } from '@pifleet/protocol';
import type { HubConfig } from '../config/hub-config.js';
import { randomId } from '../common/ids.js';
import { BrokerInfo, type HubConnection } from './broker-info.js';
import { DYNSEC_RESPONSE_TOPIC, DynsecClient, DynsecError } from './dynsec-client.js';
import { topicMatches } from './topic-match.js';

export const HUB_ROLE = 'pifleet-hub';
const START_TIMEOUT_MS = 20_000;
/** How long revocation waits for the broker to hand over a device's retained messages. */
const RETAINED_COLLECT_MS = 1000;
/** Retained topics cleared per revocation at most; a device's own status is one. */
const MAX_RETAINED_CLEARED = 10_000;

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
 * happen inside Mosquitto and the hub does not count them; Mosquitto 2 logs a denied PUBLISH only
 * with `log_type debug`, and a denied SUBSCRIBE not at all (deploy/mosquitto/README.md).
 *
 * Mosquitto has no per-client limit on retained messages, so revocation deletes the device's
 * retained messages from the broker itself (clearRetained).
 */
/** One hub per broker for now; scale-out moves to shared subscriptions. */
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
    // deleteClient makes Mosquitto disconnect the device's live connection at once (without
    // publishing its Will), so nothing new can be retained under the device after this.
    await d.command('deleteClient', { username: deviceId }).catch(ignore(missing));
    await d.command('deleteRole', { rolename: `dev-${deviceId}` }).catch(ignore(missing));
    try {
      const cleared = await this.clearRetained(deviceId);
      if (cleared) this.log.debug({ deviceId, cleared }, 'retained messages of revoked device deleted');
    } catch (err) {
      // The device is cut off either way; its leftovers stay until it is revoked again.
      this.log.warn({ err: (err as Error).message, deviceId }, 'could not delete the revoked device\'s retained messages');
    }
  }

  /**
   * Deletes every retained message under the device's subtree: the control connection (hub role:
   * subscribe and publish under pifleet/#) subscribes there to receive them, then publishes an
   * empty retained message to each topic. Mosquitto sends a subscription's retained messages
   * right behind its SUBACK and answers the UNSUBSCRIBE after them (one ordered queue per
   * connection), so once the UNSUBACK is in, all of them have arrived; RETAINED_COLLECT_MS bounds
   * the wait should the broker stall. Only topic names are kept, never payloads.
   */
  private async clearRetained(deviceId: string): Promise<number> {
    const control = this.control;
    if (!control) return 0;
    const filter = deviceSubtree(deviceId);
    const topics = new Set<string>();
    const collect = (topic: string, payload: Buffer, packet: IPublishPacket) => {
      if (packet.retain && payload.length > 0 && topics.size < MAX_RETAINED_CLEARED && topicMatches(filter, topic)) topics.add(topic);
    };
    control.on('message', collect);
    try {
      await withDeadline(
        (async () => {
          await control.subscribeAsync(filter, { qos: 0 });
          await control.unsubscribeAsync(filter);
        })(),
        RETAINED_COLLECT_MS,
      );
    } finally {
      control.removeListener('message', collect);
    }
    const list = [...topics];
    for (let i = 0; i < list.length; i += 100) {
      await Promise.all(list.slice(i, i + 100).map((topic) => control.publishAsync(topic, Buffer.alloc(0), { qos: 1, retain: true })));
    }
    return list.length;
  }

  private async ready(): Promise<DynsecClient> {
    await this.start();
    return this.dynsec!;
  }
}

/** Resolves when `p` settles or after `ms`, whichever is first; rejections of `p` propagate. */
function withDeadline(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((r) => (timer = setTimeout(r, ms)));
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

function ignore(pred: (e: unknown) => boolean): (e: unknown) => void {
  return (e) => {
    if (!pred(e)) throw e;
  };
}
