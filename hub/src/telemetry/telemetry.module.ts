import { Module } from '@nestjs/common';
import { BrokerModule } from '../broker/broker.module.js';
import { IngestModule } from '../ingest/ingest.module.js';
import { PresenceModule } from '../presence/presence.module.js';
import { TelemetryRepository } from './telemetry.repository.js';
import { TelemetryService } from './telemetry.service.js';

/** Telemetry intake, batched storage, rollups/retention and history queries. */
@Module({
  imports: [BrokerModule, IngestModule, PresenceModule],
  providers: [TelemetryRepository, TelemetryService],
  exports: [TelemetryService],
})
export class TelemetryModule {}
