import { readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ConfigError } from '../config/env.js';
import { DEFAULT_MQTT_PORT, type HubConfig } from '../config/hub-config.js';

/** Remembers the port the embedded broker settled on, because enrolled devices stored its URL. */
const PORT_FILE = 'mqtt-port';
/** Tried in order when the default port is taken on the first start (e.g. a system Mosquitto). */
const FALLBACK_PORTS = [1884, 1885, 1886, 1887, 1888, 11883, 18830];

/**
 * Binds the embedded broker's listener. An explicit PIFLEET_MQTT_PORT is used as given (busy →
 * one clear error). Left at its default, the first start takes 1883 or, if another broker holds
 * it, the first free fallback, and writes the choice to <dataDir>/mqtt-port; later starts keep that
 * port, since enrolled devices were told it.
 */
export async function bindMqttPort(
  server: Server,
  config: Pick<HubConfig, 'mqttHost' | 'mqttPort' | 'mqttPortExplicit' | 'dataDir'>,
  log: Pick<Logger, 'warn'>,
  candidates = [DEFAULT_MQTT_PORT, ...FALLBACK_PORTS],
): Promise<number> {
  const host = config.mqttHost;
  if (config.mqttPortExplicit) {
    if (await tryListen(server, config.mqttPort, host)) return boundPort(server);
    throw new ConfigError(`MQTT port ${config.mqttPort} on ${host} is in use; set PIFLEET_MQTT_PORT to a free port, or MQTT_URL to use the broker that holds it`);
  }
  const file = join(config.dataDir, PORT_FILE);
  const remembered = readRemembered(file);
  if (remembered !== undefined) {
    if (await tryListen(server, remembered, host)) return boundPort(server);
    throw new ConfigError(`MQTT port ${remembered} (kept in ${file} because enrolled devices use it) is in use; free it, or set PIFLEET_MQTT_PORT`);
  }
  for (const port of candidates) {
    if (!(await tryListen(server, port, host))) continue;
    if (port !== candidates[0]) log.warn({ port, busy: candidates[0] }, `MQTT port ${candidates[0]} is taken (another broker?); the embedded broker uses ${port}`);
    writeFileSync(file, `${port}\n`, { mode: 0o600 });
    return port;
  }
  throw new ConfigError(`MQTT ports ${candidates.join(', ')} are all in use; set PIFLEET_MQTT_PORT`);
}

function tryListen(server: Server, port: number, host: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE') resolve(false);
      else reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve(true);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

function boundPort(server: Server): number {
  return (server.address() as { port: number }).port;
}

function readRemembered(file: string): number | undefined {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 0 && n < 65536 ? n : undefined;
  } catch {
    return undefined;
  }
}
