import { DEVICE_ID_PATTERN, HUB_STATUS_TOPIC, MAX_PAYLOAD_BYTES, isInDeviceSubtree } from '@pifleet/protocol';

/**
 * Access rules for devices on the embedded broker (the Mosquitto roles in dynsec-broker.ts encode
 * the same rules). Pure, so they are unit-testable without a broker.
 */

/** Username of the hub's own client on the embedded broker; not a valid device id (has a dash). */
export const HUB_USERNAME = 'pifleet-hub';

export type PublishVerdict = 'ok' | 'topic' | 'oversized';

export function devicePublishVerdict(deviceId: string, topic: string, payloadBytes: number): PublishVerdict {
  if (!isInDeviceSubtree(deviceId, topic) || topic.includes('+') || topic.includes('#')) return 'topic';
  if (payloadBytes > MAX_PAYLOAD_BYTES) return 'oversized';
  return 'ok';
}

/** A device may subscribe to its own subtree (wildcards inside it are fine) and to the hub status. */
export function deviceMaySubscribe(deviceId: string, topicFilter: string): boolean {
  if (topicFilter === HUB_STATUS_TOPIC) return true;
  return isInDeviceSubtree(deviceId, topicFilter);
}

/** MQTT 3.1.1 §3.1.3.1 lets brokers restrict client ids; we require clientId = username = device id. */
export function isDeviceIdentity(clientId: string, username: string | undefined): boolean {
  return username === clientId && DEVICE_ID_PATTERN.test(clientId);
}
