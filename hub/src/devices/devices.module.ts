import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { BrokerModule } from '../broker/broker.module.js';
import { IngestModule } from '../ingest/ingest.module.js';
import { TelemetryModule } from '../telemetry/telemetry.module.js';
import { DeviceFeedService } from './device-feed.service.js';
import { DevicesController } from './devices.controller.js';
import { DevicesRepository } from './devices.repository.js';
import { DevicesService } from './devices.service.js';
import { EventsController } from './events.controller.js';

@Module({
  imports: [AuthModule, BrokerModule, IngestModule, TelemetryModule],
  controllers: [DevicesController, EventsController],
  providers: [DevicesRepository, DevicesService, DeviceFeedService],
  exports: [DevicesRepository],
})
export class DevicesModule {}
