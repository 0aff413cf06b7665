import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where the container engine listens, found the way the docker CLI finds it: `DOCKER_HOST`
 * (`unix:///path` or `tcp://host:port`, TLS when `DOCKER_TLS_VERIFY` is set, certificates from
 * `DOCKER_CERT_PATH`), else the default socket. Podman's Docker-compatible service is found the
 * same way once DOCKER_HOST points at its socket.
 */
export const DEFAULT_SOCKET = '/var/run/docker.sock';

export type EngineAddress =
  | { kind: 'unix'; socketPath: string }
  | { kind: 'tcp'; host: string; port: number; tls?: { ca: Buffer; cert: Buffer; key: Buffer } };

export class EngineAddressError extends Error {
  override name = 'EngineAddressError';
}

export function findEngine(env: NodeJS.ProcessEnv = process.env): EngineAddress {
  const raw = env['DOCKER_HOST']?.trim();
  if (!raw) return { kind: 'unix', socketPath: DEFAULT_SOCKET };
  if (raw.startsWith('unix://')) {
    const socketPath = raw.slice('unix://'.length);
    if (!socketPath.startsWith('/')) throw new EngineAddressError(`DOCKER_HOST must name an absolute socket path (unix:///path), got ${JSON.stringify(raw)}`);
    return { kind: 'unix', socketPath };
  }
  if (raw.startsWith('tcp://')) {
    let u: URL;
    try {
      u = new URL(`http://${raw.slice('tcp://'.length)}`);
    } catch {
      throw new EngineAddressError(`DOCKER_HOST is not a valid tcp://host:port address: ${JSON.stringify(raw)}`);
    }
    const tlsOn = (env['DOCKER_TLS_VERIFY'] ?? '') !== '' && env['DOCKER_TLS_VERIFY'] !== '0';
    // The docker CLI's defaults: 2376 with TLS, 2375 without.
    const port = u.port ? Number(u.port) : tlsOn ? 2376 : 2375;
    const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
    if (!tlsOn) return { kind: 'tcp', host, port };
    const dir = env['DOCKER_CERT_PATH'] || join(env['HOME'] ?? '/root', '.docker');
    try {
      return {
        kind: 'tcp',
        host,
        port,
        tls: { ca: readFileSync(join(dir, 'ca.pem')), cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) },
      };
    } catch (e) {
      throw new EngineAddressError(`DOCKER_TLS_VERIFY is set but the certificates in ${dir} (ca.pem, cert.pem, key.pem) cannot be read: ${(e as Error).message}`);
    }
  }
  throw new EngineAddressError(`DOCKER_HOST must be unix:///path or tcp://host:port, got ${JSON.stringify(raw)}`);
}

/** A readable address for logs and error messages (never certificate contents). */
export function describeAddress(a: EngineAddress): string {
  return a.kind === 'unix' ? `unix://${a.socketPath}` : `${a.tls ? 'tcp+tls' : 'tcp'}://${a.host}:${a.port}`;
}
