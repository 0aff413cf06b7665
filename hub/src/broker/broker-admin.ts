/**
 * What the rest of the hub needs from the MQTT broker's access control, whichever broker it is
 * (embedded aedes, or Mosquitto's dynamic-security plugin). Implementations live in broker/.
 */
export interface BrokerAdmin {
  /** Lets a device connect with `username = clientId = deviceId` and this password, confined to its subtree. */
  addDevice(deviceId: string, password: string): Promise<void>;
  /** Disconnects the device at once (≤ 2 s) and refuses it from now on. */
  removeDevice(deviceId: string): Promise<void>;
}
