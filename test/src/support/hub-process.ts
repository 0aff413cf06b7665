import { readFileSync } from 'node:fs';
import { Api } from './api.js';
import { Child, cleanEnv } from './child.js';
import { HUB_MAIN, tempDir } from './paths.js';
import { freePort, waitFor } from './wait.js';

export interface HubProcessOptions {
  dataDir?: string;
  /** Real Postgres instead of PGlite. */
  databaseUrl?: string;
  /** External broker instead of the embedded one (URL with the hub's admin credentials). */
  mqttUrl?: string;
  /** For an external broker: the URL devices are told to use. */
  deviceMqttUrl?: string;
  adminPassword?: string;
  /** PEM files: the hub serves HTTPS and mqtts with cert/key; the test's API client trusts `ca`. */
  tls?: { cert: string; key: string; ca: string };
  env?: Record<string, string>;
  /** Extra node flags for the hub process (benchmarks compare V8 settings). */
  nodeArgs?: string[];
}

/**
 * The hub as a real process (`node hub/dist/main.js`), the way `npm start` runs it. Ports are
 * picked once, so `restart()` comes back on the same addresses and agents can reconnect.
 */
export class HubProcess {
  child?: Child;
  readonly dataDir: string;
  readonly adminPassword: string;
  httpPort = 0;
  mqttPort = 0;

  constructor(readonly opts: HubProcessOptions = {}) {
    this.dataDir = opts.dataDir ?? tempDir('hub');
    this.adminPassword = opts.adminPassword ?? 'admin-password-for-tests';
  }

  get url(): string {
    return `${this.opts.tls ? 'https' : 'http'}://127.0.0.1:${this.httpPort}`;
  }

  get api(): Api {
    return new Api(this.url, undefined, this.opts.tls ? readFileSync(this.opts.tls.ca, 'utf8') : undefined);
  }

  admin(): Promise<Api> {
    return this.api.login('admin', this.adminPassword);
  }

  async start(): Promise<this> {
    if (!this.httpPort) this.httpPort = await freePort();
    if (!this.mqttPort) this.mqttPort = await freePort();
    const env = cleanEnv({
      PIFLEET_HTTP_PORT: String(this.httpPort),
      PIFLEET_HTTP_HOST: '127.0.0.1',
      PIFLEET_MQTT_PORT: String(this.mqttPort),
      PIFLEET_MQTT_HOST: '127.0.0.1',
      PIFLEET_DATA_DIR: this.dataDir,
      PIFLEET_ADMIN_PASSWORD: this.adminPassword,
      PIFLEET_PUBLIC_URL: this.url,
      PIFLEET_TLS_CERT: this.opts.tls?.cert,
      PIFLEET_TLS_KEY: this.opts.tls?.key,
      PIFLEET_LOG_LEVEL: 'warn',
      DATABASE_URL: this.opts.databaseUrl,
      MQTT_URL: this.opts.mqttUrl,
      PIFLEET_DEVICE_MQTT_URL: this.opts.deviceMqttUrl,
      ...this.opts.env,
    });
    this.child = new Child(process.execPath, [...(this.opts.nodeArgs ?? []), HUB_MAIN], env, 'hub');
    await waitFor(
      'hub health',
      async () => {
        if (!this.child!.running) throw new Error(`hub exited:\n${this.child!.output.slice(-3000)}`);
        const r = await this.api.get('/api/health');
        return r.status === 200;
      },
      60_000,
      200,
    );
    return this;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.child?.stop(signal);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** Creates a provisioning token through the API (admin). */
  async createToken(opts: { fleet?: string; maxUses?: number; ttlSeconds?: number } = {}): Promise<string> {
    const admin = await this.admin();
    const r = await admin.post<{ token: string }>('/api/tokens', opts);
    if (r.status !== 201 && r.status !== 200) throw new Error(`token create failed: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.token;
  }
}
