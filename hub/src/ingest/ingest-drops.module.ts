import { Module } from '@nestjs/common';
import { IngestDropsRepository } from './ingest-drops.repository.js';
import { IngestDrops } from './ingest-drops.service.js';

/**
 * The per-device count of dropped input. Its own module (infrastructure only: database, logger,
 * metrics), so the broker can count what it refuses in the same tallies without a module cycle.
 */
@Module({
  providers: [IngestDropsRepository, IngestDrops],
  exports: [IngestDrops],
})
export class IngestDropsModule {}
