import type { Readable } from 'node:stream';
import { parseDeviceTopic } from '@pifleet/protocol';

/**
 * Retained topics one device's subtree may hold on the embedded broker. A device retains its
 * status, and the hub nothing under devices; the rest is headroom for future leaves.
 */
export const MAX_RETAINED_TOPICS_PER_DEVICE = 16;
/** Retained bytes (topic + payload) one device's subtree may hold: four payloads of the largest size. */
export const MAX_RETAINED_BYTES_PER_DEVICE = 1024 * 1024;
/**
 * Revoked device ids remembered so a late Will or an in-flight publish cannot store retained
 * state after the revocation cleared it. Only the recent ones matter: a revoked device cannot
 * log in again, so once its connections are gone nothing more arrives for it.
 */
const REVOKED_REMEMBERED = 10_000;

export type RetainedVerdict = 'ok' | 'retained_count' | 'retained_bytes' | 'revoked';

/**
 * Per device, the retained topics stored under `pifleet/v1/dev/<id>/` and their sizes. Bounded:
 * at most MAX_RETAINED_TOPICS_PER_DEVICE entries per device, and an entry only exists while its
 * retained message is stored. Topics outside device subtrees (the hub's status) are not counted.
 */
export class RetainedBudget {
  private readonly devices = new Map<string, { topics: Map<string, number>; bytes: number }>();
  private readonly revoked = new Set<string>();

  constructor(
    readonly maxTopics = MAX_RETAINED_TOPICS_PER_DEVICE,
    readonly maxBytes = MAX_RETAINED_BYTES_PER_DEVICE,
  ) {}

  /**
   * Decides whether a retained message may be stored and, if so, books it. An empty payload
   * removes the stored message, so it always passes and frees its slot. A refused replacement
   * leaves the previous retained message in place, as if the publish had not been retained.
   */
  admit(topic: string, payloadBytes: number): RetainedVerdict {
    const deviceId = parseDeviceTopic(topic)?.deviceId;
    if (!deviceId) return 'ok';
    const d = this.devices.get(deviceId);
    if (payloadBytes === 0) {
      const old = d?.topics.get(topic);
      if (d && old !== undefined) {
        d.topics.delete(topic);
        d.bytes -= old;
        if (d.topics.size === 0) this.devices.delete(deviceId);
      }
      return 'ok';
    }
    if (this.revoked.has(deviceId)) return 'revoked';
    const size = Buffer.byteLength(topic) + payloadBytes;
    const old = d?.topics.get(topic);
    if (old === undefined && (d?.topics.size ?? 0) >= this.maxTopics) return 'retained_count';
    if ((d?.bytes ?? 0) - (old ?? 0) + size > this.maxBytes) return 'retained_bytes';
    const entry = d ?? { topics: new Map<string, number>(), bytes: 0 };
    entry.topics.set(topic, size);
    entry.bytes += size - (old ?? 0);
    this.devices.set(deviceId, entry);
    return 'ok';
  }

  /**
   * Books a message that is already stored (found in the persistence at start), even past the
   * limits: it exists either way, and counting it keeps further publishes in check.
   */
  book(topic: string, payloadBytes: number): void {
    const deviceId = parseDeviceTopic(topic)?.deviceId;
    if (!deviceId || payloadBytes === 0) return;
    const entry = this.devices.get(deviceId) ?? { topics: new Map<string, number>(), bytes: 0 };
    const size = Buffer.byteLength(topic) + payloadBytes;
    entry.bytes += size - (entry.topics.get(topic) ?? 0);
    entry.topics.set(topic, size);
    this.devices.set(deviceId, entry);
  }

  /** From now on nothing retained is stored under this device (until `restore`). */
  revoke(deviceId: string): void {
    this.revoked.delete(deviceId);
    this.revoked.add(deviceId);
    if (this.revoked.size > REVOKED_REMEMBERED) this.revoked.delete(this.revoked.values().next().value!);
  }

  /** The device was (re-)enrolled: it may retain again. */
  restore(deviceId: string): void {
    this.revoked.delete(deviceId);
  }

  /** Topics and bytes booked for a device (for metrics and tests). */
  usage(deviceId: string): { topics: number; bytes: number } {
    const d = this.devices.get(deviceId);
    return { topics: d?.topics.size ?? 0, bytes: d?.bytes ?? 0 };
  }
}

interface RetainedPacket {
  topic: string;
  payload: Buffer;
  [key: string]: unknown;
}

/** What the limit needs from aedes' persistence (aedes-persistence's API, promise style). */
export interface RetainedPersistence {
  storeRetained(packet: RetainedPacket, cb?: (err?: Error | null) => void): Promise<void> | void;
  createRetainedStream(pattern: string): Readable;
}

/**
 * Enforces the budget where aedes stores retained messages, which every path goes through:
 * device publishes, Wills (also those published after a disconnect), the hub's own publishes.
 * A refused message is still delivered to current subscribers, just not kept, and the publisher's
 * connection is untouched (aedes would close it if authorizePublish failed).
 *
 * A kept payload is copied when it is a view into a larger buffer: mqtt-packet hands out slices of
 * the socket's read chunk, and a retained 200-byte status would otherwise pin the whole chunk.
 */
export function limitRetained(
  persistence: RetainedPersistence,
  budget: RetainedBudget,
  dropped: (verdict: Exclude<RetainedVerdict, 'ok'>, topic: string, bytes: number) => void,
): void {
  const store = persistence.storeRetained.bind(persistence);
  persistence.storeRetained = (packet, cb) => {
    const verdict = budget.admit(packet.topic, packet.payload.length);
    if (verdict !== 'ok') {
      dropped(verdict, packet.topic, packet.payload.length);
      if (cb) return void process.nextTick(cb, null);
      return Promise.resolve();
    }
    return store(detached(packet), cb);
  };
}

function detached(packet: RetainedPacket): RetainedPacket {
  const p = packet.payload;
  if (p.length === 0 || p.byteLength === p.buffer.byteLength) return packet;
  const copy = Buffer.allocUnsafeSlow(p.length);
  p.copy(copy);
  return { ...packet, payload: copy };
}

/** Books retained messages already in the persistence (one that outlives the process) at start. */
export async function loadRetained(persistence: RetainedPersistence, budget: RetainedBudget, pattern: string): Promise<void> {
  for await (const packet of persistence.createRetainedStream(pattern) as AsyncIterable<RetainedPacket>) {
    budget.book(packet.topic, packet.payload.length);
  }
}

/**
 * Deletes every retained message under `pattern` (an empty payload is aedes' deletion). Topics are
 * collected first so the store is not modified while it is being iterated.
 */
export async function clearRetained(persistence: RetainedPersistence, pattern: string): Promise<number> {
  const topics: string[] = [];
  for await (const packet of persistence.createRetainedStream(pattern) as AsyncIterable<RetainedPacket>) topics.push(packet.topic);
  for (const topic of topics) {
    await persistence.storeRetained({ cmd: 'publish', topic, payload: Buffer.alloc(0), qos: 0, retain: true, dup: false });
  }
  return topics.length;
}
