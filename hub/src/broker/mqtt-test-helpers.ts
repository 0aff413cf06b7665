import type { MqttClient } from 'mqtt';
import type { Registry } from 'prom-client';

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

/** Polls `pred` every 25 ms until it holds; throws naming `what` after `ms`. */
export async function until(what: string, pred: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A metric of the hub's registry, summed over the label sets that match `labels` (0 when absent). */
export async function registryMetric(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) return 0;
  const { values } = await m.get();
  return values.filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val)).reduce((s, v) => s + v.value, 0);
}
