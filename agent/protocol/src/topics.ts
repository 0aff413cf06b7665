import { DEVICE_ID_PATTERN } from './limits.js';
import type { DeviceLeaf } from './registry.js';

/**
 * Topic tree. The device id is always the 4th level (`pifleet/v1/dev/{id}/...`) so that broker
 * ACLs can pin a device to its own subtree with a single pattern.
 */
export const TOPIC_ROOT = 'pifleet/v1';
export const DEVICE_ROOT = `${TOPIC_ROOT}/dev`;
export const HUB_STATUS_TOPIC = `${TOPIC_ROOT}/hub/status`;

export function deviceTopic(deviceId: string, leaf: DeviceLeaf | string): string {
  return `${DEVICE_ROOT}/${deviceId}/${leaf}`;
}

/** Subtree a device may publish and subscribe in (MQTT wildcard form). */
export function deviceSubtree(deviceId: string): string {
  return `${DEVICE_ROOT}/${deviceId}/#`;
}

/** Hub-side subscription covering one leaf for every device. */
export function allDevices(leaf: DeviceLeaf | string): string {
  return `${DEVICE_ROOT}/+/${leaf}`;
}

export interface ParsedDeviceTopic {
  deviceId: string;
  leaf: string;
}

/** Parses `pifleet/v1/dev/{id}/{leaf...}`; returns undefined for anything else (including bad ids). */
export function parseDeviceTopic(topic: string): ParsedDeviceTopic | undefined {
  const parts = topic.split('/');
  if (parts.length < 5 || parts[0] !== 'pifleet' || parts[1] !== 'v1' || parts[2] !== 'dev') return undefined;
  const deviceId = parts[3]!;
  if (!DEVICE_ID_PATTERN.test(deviceId)) return undefined;
  return { deviceId, leaf: parts.slice(4).join('/') };
}

/** True when `topic` (which may hold wildcards) lies entirely inside the device's own subtree. */
export function isInDeviceSubtree(deviceId: string, topic: string): boolean {
  const prefix = `${DEVICE_ROOT}/${deviceId}/`;
  return topic.startsWith(prefix) && topic.length > prefix.length;
}
