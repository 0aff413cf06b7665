import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHub, type RunningHub } from './start-hub.js';

/** Support for the hub's integration tests (not a test itself): a real hub on free ports. */
export const TEST_ADMIN_PASSWORD = 'admin-password-for-tests';

export interface ApiAnswer<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

/** Test bodies are read loosely and checked field by field with assert. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Loose = any;

export interface TestHub {
  hub: RunningHub;
  url: string;
  dataDir: string;
  api<T = Loose>(method: string, path: string, opts?: { token?: string; body?: unknown; raw?: string }): Promise<ApiAnswer<T>>;
  login(username?: string, password?: string): Promise<string>;
  /** Creates a user with this role and returns a token for it. */
  userToken(role: 'admin' | 'operator' | 'viewer', adminToken: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * Starts a hub with embedded PGlite (or `databaseUrl`) and the embedded broker, both on free
 * ports, in a fresh temp data dir that close() removes. DATABASE_URL/MQTT_URL from the outer
 * environment are ignored unless passed explicitly, so the PGlite path is always covered.
 */
export async function startTestHub(opts: { databaseUrl?: string; env?: Record<string, string> } = {}): Promise<TestHub> {
  const dataDir = mkdtempSync(join(tmpdir(), 'pifleet-hub-test-'));
  let hub: RunningHub;
  try {
    hub = await startHub({
      env: {
        PIFLEET_HTTP_PORT: '0',
        PIFLEET_HTTP_HOST: '127.0.0.1',
        PIFLEET_MQTT_PORT: '0',
        PIFLEET_MQTT_HOST: '127.0.0.1',
        PIFLEET_DATA_DIR: dataDir,
        PIFLEET_ADMIN_PASSWORD: TEST_ADMIN_PASSWORD,
        PIFLEET_LOG_LEVEL: process.env['PIFLEET_TEST_LOG_LEVEL'] ?? 'silent',
        PIFLEET_PUBLIC_URL: undefined,
        PIFLEET_DEVICE_MQTT_URL: undefined,
        DATABASE_URL: opts.databaseUrl,
        MQTT_URL: undefined,
        ...opts.env,
      },
    });
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const url = hub.url;
  let users = 0;

  const api: TestHub['api'] = async (method, path, o = {}) => {
    const headers: Record<string, string> = {};
    if (o.token) headers['authorization'] = `Bearer ${o.token}`;
    let body: string | undefined = o.raw;
    if (o.body !== undefined) body = JSON.stringify(o.body);
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(url + path, { method, headers, body, signal: AbortSignal.timeout(15_000) });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON (metrics, docs): keep the text
    }
    return { status: res.status, body: parsed as Loose, headers: res.headers };
  };

  const login: TestHub['login'] = async (username = 'admin', password = TEST_ADMIN_PASSWORD) => {
    const r = await api<{ token: string }>('POST', '/api/auth/login', { body: { username, password, kind: 'cli' } });
    if (r.status !== 200) throw new Error(`login ${username} failed: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.token;
  };

  return {
    hub,
    url,
    dataDir,
    api,
    login,
    async userToken(role, adminToken) {
      const username = `${role}${++users}`;
      const password = `${role}-password-${users}`;
      const r = await api('POST', '/api/users', { token: adminToken, body: { username, password, role } });
      if (r.status !== 201) throw new Error(`create user failed: ${r.status} ${JSON.stringify(r.body)}`);
      return login(username, password);
    },
    async close() {
      try {
        await hub.close();
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}

/** A syntactically valid enrollment body for a device. */
export function enrollBody(token: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    token,
    publicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPifleetTestKeyOnlyForTests000000000 test',
    info: { hostname: 'raspberrypi', arch: 'arm64' },
    ...extra,
  };
}
export { grantedQos } from '../broker/mqtt-test-helpers.js';
