import { type DynamicModule, Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import pino from 'pino';
import type { HubEnv } from '../config/env.js';
import { HubConfig } from '../config/hub-config.js';
import { openDatabase, type DbHandle } from '../db/client.js';
import { DomainEvents } from './domain-events.js';
import { MetricsService } from './metrics.service.js';
import { DB, DB_HANDLE, LOGGER } from './tokens.js';

/**
 * Infrastructure every feature may use: config, database, logger, metrics, domain events.
 * Features depend on this module, never the other way round (modules form a DAG).
 */
const providers = [
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
      inject: [HubConfig, LOGGER],
      // The logger is passed so that tightening an old data dir's file modes is reported in the hub's log.
      useFactory: (c: HubConfig, log: pino.Logger) => openDatabase({ databaseUrl: c.databaseUrl, dataDir: c.dataDir, log }),
    },
    { provide: DB, inject: [DB_HANDLE], useFactory: (h: DbHandle) => h.db },
  MetricsService,
  {
    provide: DomainEvents,
    inject: [LOGGER],
    useFactory: (log: pino.Logger) => {
      const events = new DomainEvents();
      events.onListenerError = (name, err) => log.error({ err, event: name }, 'domain event listener failed');
      return events;
    },
  },
];

/**
 * Built with the validated environment of this hub (`CoreModule.forRoot(env)`), so several hubs
 * can run in one process (tests) and nothing reads process.env behind the caller's back.
 */
@Global()
@Module({})
export class CoreModule implements OnApplicationShutdown {
  static forRoot(env: HubEnv | HubConfig): DynamicModule {
    // startHub passes a HubConfig it already built (it needs the TLS files before Nest starts).
    const config = env instanceof HubConfig ? env : new HubConfig(env);
    return {
      module: CoreModule,
      providers: [{ provide: HubConfig, useValue: config }, ...providers],
      exports: [HubConfig, LOGGER, DB_HANDLE, DB, MetricsService, DomainEvents],
    };
  }

  constructor(@Inject(DB_HANDLE) private readonly handle: DbHandle) {}

  async onApplicationShutdown(): Promise<void> {
    await this.handle.close();
  }
}
