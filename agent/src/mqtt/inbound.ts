import type { MqttClient } from 'mqtt';
import { MESSAGE_REGISTRY, decodeLeaf, leafTopic, matchLeaf, type HubPublishedLeaf, type LeafMessage } from '@pifleet/protocol';
import type { Logger } from '../log/logger.js';

/** Receives one decoded, validated message of its leaf; `param` is the `+` level (e.g. the command name). */
export type InboundHandler<L extends HubPublishedLeaf> = (msg: LeafMessage<L>, param: string | undefined) => void | Promise<void>;

type AnyHandler = (msg: unknown, param: string | undefined) => void | Promise<void>;

/** What the dispatcher needs of a connection (an MqttClient). */
export type InboundClient = Pick<MqttClient, 'connected' | 'subscribe' | 'unsubscribe' | 'on'>;

/**
 * Everything the agent receives goes through here: handlers register per registry leaf (only
 * leaves the hub publishes, enforced by the type), and the dispatcher subscribes them with the
 * registry's QoS on every connection. The link's clients are fresh per attempt and mqtt.js'
 * resubscribe is off, so subscriptions are replayed on each `attach`. Invalid payloads and
 * throwing handlers are logged and dropped here, so neither can reach mqtt.js' event loop.
 */
export class InboundDispatcher {
  private readonly handlers = new Map<HubPublishedLeaf, Set<AnyHandler>>();
  private client: InboundClient | undefined;

  constructor(
    private readonly deviceId: string,
    private readonly log: Logger,
  ) {}

  /** Registers `handler` for `leaf`; subscribes at once if connected. Returns the unsubscribe. */
  subscribe<L extends HubPublishedLeaf>(leaf: L, handler: InboundHandler<L>): () => void {
    let set = this.handlers.get(leaf);
    if (!set) {
      set = new Set();
      this.handlers.set(leaf, set);
      if (this.client?.connected) this.subscribeOn(this.client, leaf);
    }
    const h = handler as AnyHandler;
    set.add(h);
    const own = set;
    return () => {
      if (!own.delete(h) || own.size > 0 || this.handlers.get(leaf) !== own) return;
      this.handlers.delete(leaf);
      if (this.client?.connected) this.client.unsubscribe(leafTopic(this.deviceId, leaf), () => undefined);
    };
  }

  /** A new connection is up: route its messages here and subscribe every registered leaf on it. */
  attach(client: InboundClient): void {
    this.client = client;
    client.on('message', (topic, payload) => this.dispatch(topic, payload));
    for (const leaf of this.handlers.keys()) this.subscribeOn(client, leaf);
  }

  /** The connection is gone; subscriptions made from now on wait for the next attach. */
  detach(client: InboundClient): void {
    if (this.client === client) this.client = undefined;
  }

  /** Routes one received message; never throws. */
  dispatch(topic: string, payload: Uint8Array): void {
    const m = matchLeaf(topic);
    if (!m) {
      this.log.debug('ignored message on an unknown topic', { topic });
      return;
    }
    // A wildcard filter also delivers our own publications below it (cmd/+ sees our cmd/res).
    const set = this.handlers.get(m.leaf as HubPublishedLeaf);
    if (!set || (m.deviceId !== undefined && m.deviceId !== this.deviceId)) return;
    const r = decodeLeaf(m.leaf, payload, m.param);
    if (!r.ok) {
      this.log.debug('dropped invalid inbound message', { leaf: m.leaf, error: r.error, detail: r.detail });
      return;
    }
    for (const h of [...set]) this.invoke(h, r.value, m.param, m.leaf);
  }

  private invoke(h: AnyHandler, msg: unknown, param: string | undefined, leaf: string): void {
    const failed = (err: unknown): void => this.log.warn('inbound handler failed', { leaf, err });
    try {
      const p = h(msg, param);
      if (p && typeof p.then === 'function') p.then(undefined, failed);
    } catch (e) {
      failed(e);
    }
  }

  private subscribeOn(client: InboundClient, leaf: HubPublishedLeaf): void {
    const topic = leafTopic(this.deviceId, leaf);
    client.subscribe(topic, { qos: MESSAGE_REGISTRY[leaf].qos }, (err, granted) => {
      // A broker ACL that forbids the topic answers 128; the leaf then stays silent, nothing else breaks.
      if (err || granted?.some((g) => g.qos === 128)) this.log.warn('cannot subscribe', { topic, err });
    });
  }
}
