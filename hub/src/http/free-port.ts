import { createServer } from 'node:net';

/**
 * Asks the OS for a free TCP port. Used when a port is configured as 0, so the configuration
 * (public URL, device MQTT URL) names the real port from the start.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
