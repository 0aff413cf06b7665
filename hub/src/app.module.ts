import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { AppsModule } from './apps/apps.module.js';
import { AuditModule } from './audit/audit.module.js';
import { AuthModule } from './auth/auth.module.js';
import { BrokerModule } from './broker/broker.module.js';
import { CoreModule } from './common/core.module.js';
import type { HubEnv } from './config/env.js';
import type { HubConfig } from './config/hub-config.js';
import { GlobalExceptionFilter } from './common/global-exception.filter.js';
import { DevicesModule } from './devices/devices.module.js';
import { EnrollmentModule } from './enrollment/enrollment.module.js';
import { FleetsModule } from './fleets/fleets.module.js';
import { HealthModule } from './health/health.module.js';
import { ImagesModule } from './images/images.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { PresenceModule } from './presence/presence.module.js';
import { SupervisionModule } from './supervision/supervision.module.js';
import { TelemetryModule } from './telemetry/telemetry.module.js';
import { TokensModule } from './tokens/tokens.module.js';
import { UsersModule } from './users/users.module.js';

/** Feature modules; infrastructure (CoreModule) is added by AppModule.forRoot. */
const FEATURES = [
  AuditModule,
  BrokerModule,
  PresenceModule,
  TelemetryModule,
  AuthModule,
  UsersModule,
  FleetsModule,
  TokensModule,
  DevicesModule,
  AppsModule,
  SupervisionModule,
  EnrollmentModule,
  ImagesModule,
  HealthModule,
  MetricsModule,
];

/**
 * The hub's composition root. Infrastructure (core, broker) first, then features; features talk
 * through exported services and DomainEvents, never through each other's repositories' tables.
 */
@Module({})
export class AppModule {
  static forRoot(env: HubEnv | HubConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [CoreModule.forRoot(env), ...FEATURES],
      providers: [{ provide: APP_FILTER, useClass: GlobalExceptionFilter }],
    };
  }
}
