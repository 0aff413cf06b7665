import type { MqttClient } from 'mqtt';

/**
 * Test support shared by the aedes and Mosquitto suites (exported via @pifleet/hub/testing):
 * the QoS a broker granted for one subscription, or 128 when it refused it. mqtt.js rejects a
 * SUBACK carrying 0x80, so the refused code is read from the error's packet.
 */
export function grantedQos(c: MqttClient, topic: string): Promise<number> {
  return new Promise((resolve) =>
    c.subscribe(topic, { qos: 0 }, (err, granted) => {
      const refused = (err as { packet?: { granted?: number[] } } | null)?.packet?.granted?.[0];
      resolve(err ? (refused ?? -1) : (granted?.[0]?.qos ?? -1));
    }),
  );
}
