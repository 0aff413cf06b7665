import { ConfigStore, configDir, type StoredLogin } from './config-store.js';
import { AuthError } from './errors.js';
import { HubClient, normalizeHubUrl, type FetchFn } from './http-client.js';

/** What a command needs from the environment; injected so tests never touch the real home dir. */
export interface Io {
  env: NodeJS.ProcessEnv;
  stdin: NodeJS.ReadStream | NodeJS.ReadableStream;
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  fetch: FetchFn;
  now: () => Date;
}

export function storeFor(io: Io): ConfigStore {
  return new ConfigStore(configDir(io.env));
}

/** Hub to talk to: `--hub`, then `PIFLEET_HUB`, then the hub of the stored login. */
export function pickHub(flag: string | undefined, env: NodeJS.ProcessEnv, stored: StoredLogin | undefined): string | undefined {
  const fromEnv = env['PIFLEET_HUB'];
  const hub = flag ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined) ?? stored?.hub;
  return hub === undefined ? undefined : normalizeHubUrl(hub);
}

/**
 * Resolves hub and credential for an authenticated command. `PIFLEET_TOKEN` wins (CI);
 * otherwise the stored login is used only for the hub it was issued by, so `--hub other`
 * never sends this hub's token to another server.
 */
export async function authedClient(io: Io, hubFlag: string | undefined): Promise<HubClient> {
  const stored = await storeFor(io).load();
  const hub = pickHub(hubFlag, io.env, stored);
  if (hub === undefined) throw new AuthError('not logged in (no hub configured)');
  const envToken = io.env['PIFLEET_TOKEN'];
  if (envToken !== undefined && envToken !== '') return new HubClient(hub, envToken, io.fetch);
  if (stored === undefined) throw new AuthError(`not logged in to ${hub}`);
  if (normalizeHubUrl(stored.hub) !== hub) throw new AuthError(`not logged in to ${hub} (logged in to ${stored.hub})`);
  if (Date.parse(stored.expiresAt) <= io.now().getTime()) {
    throw new AuthError(`login to ${hub} expired at ${stored.expiresAt}`);
  }
  return new HubClient(hub, stored.token, io.fetch);
}
