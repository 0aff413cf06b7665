import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Logger } from 'pino';
import { AppModule } from '../app.module.js';
import { BrokerInfo } from '../broker/broker-info.js';
import { PinoNestLogger } from '../common/pino-nest-logger.js';
import { MetricsService } from '../common/metrics.service.js';
import { LOGGER } from '../common/tokens.js';
import { parseEnv } from '../config/env.js';
import { HubConfig } from '../config/hub-config.js';
import { AdminBootstrapService, type AdminLogin } from '../users/admin-bootstrap.service.js';
import { dashboardHandlers } from './dashboard.js';
import { freePort } from './free-port.js';
import { jsonBody, refuseBadBody, refuseBadUrl } from './input-guard.js';
import { setupOpenApi } from './openapi.js';
import { requestLog } from './request-log.js';
import { HUB_VERSION } from './version.js';

export interface StartHubOptions {
  /** Settings for this hub, laid over process.env (tests pass ports 0 and a temp data dir). */
  env?: Record<string, string | undefined>;
}

export interface RunningHub {
  app: NestExpressApplication;
  config: HubConfig;
  /** Where this process listens, e.g. http://127.0.0.1:8080 or https://… with TLS (tests talk to this). */
  url: string;
  admin: AdminLogin;
  /** The broker URL devices are given at enrollment. */
  deviceMqttUrl: string;
  close(): Promise<void>;
}

/** JSON bodies are small (logins, tokens, renames); anything bigger is refused with 413. */
const BODY_LIMIT = '64kb';
/**
 * Except a compose apply: the file may be 256 KiB and brings the env files it names. Mounted
 * before the general parser, which then leaves the already-parsed body alone.
 */
const APPLY_BODY_LIMIT = '2mb';
/**
 * Node's default of 300 s for receiving a whole request would cut off an image bundle upload
 * (up to PIFLEET_IMAGE_MAX_BYTES) over a slow uplink; the headers still have to come quickly.
 */
const REQUEST_TIMEOUT_MS = 3_600_000;

/**
 * Starts a complete hub (HTTP API, dashboard, broker, presence, telemetry) in this process.
 * PIFLEET_HTTP_PORT=0 picks a free port. Throws ConfigError on bad settings.
 */
export async function startHub(opts: StartHubOptions = {}): Promise<RunningHub> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  if (env['PIFLEET_HTTP_PORT'] === '0') env['PIFLEET_HTTP_PORT'] = String(await freePort());
  // Fails fast with the readable ConfigError, before Nest starts anything.
  const hubConfig = new HubConfig(parseEnv(env));
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(hubConfig), {
    // PIFLEET_TLS_CERT/KEY: the same port serves HTTPS instead of HTTP (no plain-HTTP redirect).
    ...(hubConfig.tls ? { httpsOptions: { cert: hubConfig.tls.cert, key: hubConfig.tls.key } } : {}),
    bufferLogs: true,
    bodyParser: false,
    abortOnError: false,
    // Long-lived streams (SSE) must not keep close() waiting.
    forceCloseConnections: true,
  });
  try {
    const log = app.get<Logger>(LOGGER);
    const config = app.get(HubConfig);
    app.useLogger(new PinoNestLogger(log));
    // The request log comes first so refused requests are logged too (path only, at info).
    app.use(requestLog(log, app.get(MetricsService)));
    // Then bad input is refused before anything parses or stores it: URL, body bytes, body text.
    app.use(refuseBadUrl());
    app.use('/api/apps/apply', jsonBody(APPLY_BODY_LIMIT));
    app.use(jsonBody(BODY_LIMIT));
    app.use(refuseBadBody());
    app.setGlobalPrefix('api', { exclude: ['metrics'] });
    app.set('trust proxy', 'loopback');
    app.disable('x-powered-by');
    for (const h of dashboardHandlers()) app.use(h);
    setupOpenApi(app, HUB_VERSION);
    await app.listen(config.httpPort, config.httpHost);
    (app.getHttpServer() as import('node:http').Server).requestTimeout = REQUEST_TIMEOUT_MS;
    const admin = app.get(AdminBootstrapService).adminLogin();
    const host = config.httpHost === '0.0.0.0' || config.httpHost === '::' ? '127.0.0.1' : config.httpHost;
    log.info({ url: config.publicUrl, version: HUB_VERSION }, 'hub ready');
    const scheme = config.tls ? 'https' : 'http';
    const deviceMqttUrl = app.get(BrokerInfo).deviceUrl();
    return { app, config, url: `${scheme}://${host}:${config.httpPort}`, admin, deviceMqttUrl, close: () => app.close() };
  } catch (err) {
    await app.close().catch(() => undefined);
    throw err;
  }
}
