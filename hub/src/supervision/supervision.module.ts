import { Module } from '@nestjs/common';
import { AppsModule } from '../apps/apps.module.js';
import { BrokerModule } from '../broker/broker.module.js';
import { DevicesModule } from '../devices/devices.module.js';
import { FleetsModule } from '../fleets/fleets.module.js';
import { IngestModule } from '../ingest/ingest.module.js';
import { UsersModule } from '../users/users.module.js';
import { AlertWebhook } from './alert-webhook.service.js';
import { AlertsController } from './alerts.controller.js';
import { AppsDesiredSide } from './apps-desired-side.js';
import { AlertsRepository } from './alerts.repository.js';
import { AlertsService } from './alerts.service.js';
import { ContainersService } from './containers.service.js';
import { DesiredSide } from './desired-side.js';
import { DeviceGate } from './device-gate.js';
import { EventsIngest } from './events-ingest.service.js';
import { EventsRetention } from './events-retention.service.js';
import { ReportedIngest } from './reported-ingest.service.js';
import { ReportedRepository } from './reported.repository.js';
import { ServiceEventsRepository } from './service-events.repository.js';
import { SupervisionAnnouncer } from './supervision-announcer.service.js';
import { SupervisionController } from './supervision.controller.js';

/**
 * The reported side of supervision: intake of devices' reported states and events, the
 * containers view, restart history, fleet troubles, alerts and their retention. The desired
 * side (what should run, operator controls) belongs to the apps module and is reached through
 * DesiredSide.
 */
@Module({
  imports: [BrokerModule, IngestModule, DevicesModule, FleetsModule, UsersModule, AppsModule],
  controllers: [SupervisionController, AlertsController],
  providers: [
    { provide: DesiredSide, useClass: AppsDesiredSide },
    DeviceGate,
    ReportedRepository,
    ServiceEventsRepository,
    AlertsRepository,
    AlertsService,
    AlertWebhook,
    ContainersService,
    SupervisionAnnouncer,
    EventsRetention,
    ReportedIngest,
    EventsIngest,
  ],
  exports: [ContainersService, AlertsService],
})
export class SupervisionModule {}
