import { Module } from '@nestjs/common';
import { BrokerModule } from '../broker/broker.module.js';
import { DeviceLimits } from './device-limits.service.js';
import { IngestDropsModule } from './ingest-drops.module.js';

/**
 * What every ingest stream shares: per-device limits enforced before the database, and the
 * per-device, per-reason count of everything dropped (with writeIsolating for the writes).
 */
@Module({
  imports: [BrokerModule, IngestDropsModule],
  providers: [DeviceLimits],
  exports: [DeviceLimits, IngestDropsModule],
})
export class IngestModule {}
