import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { ConfigError, type HubEnv } from './env.js';

/** The hub's TLS certificate chain and private key (PEM), as the HTTPS and MQTT listeners take them. */
export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
}

function read(variable: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new ConfigError(`${variable}: cannot read ${path}: ${err.code ?? err.message}`);
  }
}

/**
 * Reads PIFLEET_TLS_CERT/KEY, or undefined when TLS is off. A pair that cannot form a TLS context
 * (not PEM, or a key that does not match the certificate) is refused here, at boot, rather than at
 * the first handshake where it would only show as clients failing to connect.
 */
export function loadTlsFiles(env: HubEnv): TlsFiles | undefined {
  const certPath = env.PIFLEET_TLS_CERT;
  const keyPath = env.PIFLEET_TLS_KEY;
  if (certPath === undefined || keyPath === undefined) return undefined;
  const files = { cert: read('PIFLEET_TLS_CERT', certPath), key: read('PIFLEET_TLS_KEY', keyPath) };
  try {
    createSecureContext(files);
  } catch (e) {
    const why = (e as Error).message;
    const reason = /key values mismatch/.test(why) ? 'the key does not belong to the certificate' : why;
    throw new ConfigError(`PIFLEET_TLS_CERT/PIFLEET_TLS_KEY (${certPath}, ${keyPath}): ${reason}`);
  }
  return files;
}
