import { envelope, type DeviceInfo, type StatusMessage } from '@pifleet/protocol';

/** Presence payloads. Compact JSON: these are retained and re-sent on every reconnect. */
export function onlineStatus(session: number, info: DeviceInfo): string {
  const msg: StatusMessage = { ...envelope('status'), state: 'online', session, info };
  return JSON.stringify(msg);
}

/**
 * Used both as the Last Will and for a clean shutdown. The Will is fixed at CONNECT time, so it
 * carries the session of the connection it belongs to; the hub ignores it once a newer session
 * is online (protocol messages.ts, StatusMessageSchema).
 */
export function offlineStatus(session: number): string {
  const msg: StatusMessage = { ...envelope('status'), state: 'offline', session };
  return JSON.stringify(msg);
}

/** CONNACK return codes that mean "your credential is not accepted" (3.1.1: 4, 5; MQTT 5: 0x86, 0x87). */
export const CREDENTIAL_REFUSED_CODES = new Set([4, 5, 134, 135]);
