import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import pino from 'pino';
import { parseEnv } from '../config/env.js';
import { HubConfig } from '../config/hub-config.js';
import { openDatabase, type DbHandle } from '../db/client.js';
import { DeviceEvents } from './device-events.js';
import { MetricsService } from './metrics.service.js';
import { DB, DB_HANDLE, LOGGER } from './tokens.js';

/**
 * Infrastructure every feature may use: config, database, logger, metrics, device events.
 * Features depend on this module, never the other way round (modules form a DAG).
 */
@Global()
@Module({
  providers: [
    { provide: HubConfig, useFactory: () => new HubConfig(parseEnv(process.env)) },
    {
      provide: LOGGER,
      inject: [HubConfig],
      // Structured JSON logs; secrets are redacted by key wherever they may appear.
      useFactory: (c: HubConfig) =>
        pino({
          level: c.logLevel,
          base: { svc: 'hub' },
          redact: ['password', '*.password', 'token', '*.token', 'req.headers.authorization', 'req.headers.cookie'],
        }),
    },
    {
      provide: DB_HANDLE,
      inject: [HubConfig],
      useFactory: (c: HubConfig) => openDatabase({ databaseUrl: c.databaseUrl, dataDir: c.dataDir }),
    },
    { provide: DB, inject: [DB_HANDLE], useFactory: (h: DbHandle) => h.db },
    MetricsService,
    DeviceEvents,
  ],
  exports: [HubConfig, LOGGER, DB_HANDLE, DB, MetricsService, DeviceEvents],
})
export class CoreModule implements OnApplicationShutdown {
  constructor(@Inject(DB_HANDLE) private readonly handle: DbHandle) {}

  async onApplicationShutdown(): Promise<void> {
    await this.handle.close();
  }
}
