import { Module } from '@nestjs/common';
import { BrokerModule } from '../broker/broker.module.js';
import { DeviceLimits } from './device-limits.service.js';
import { IngestDropsRepository } from './ingest-drops.repository.js';
import { IngestDrops } from './ingest-drops.service.js';

/**
 * What every ingest stream shares: per-device limits enforced before the database, and the
 * per-device, per-reason count of everything dropped (with writeIsolating for the writes).
 */
@Module({
  imports: [BrokerModule],
  providers: [IngestDropsRepository, IngestDrops, DeviceLimits],
  exports: [IngestDrops, DeviceLimits],
})
export class IngestModule {}
