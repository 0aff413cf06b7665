import { Module } from '@nestjs/common';
import { BrokerModule } from '../broker/broker.module.js';
import { FleetsModule } from '../fleets/fleets.module.js';
import { AppsController } from './apps.controller.js';
import { AppsRepository } from './apps.repository.js';
import { ControlsRepository } from './controls.repository.js';
import { ControlsService } from './controls.service.js';
import { DesiredPublisher } from './desired-publisher.js';
import { DesiredStateService } from './desired-state.service.js';
import { DesiredTriggers } from './desired-triggers.js';
import { DesiredRepository } from './desired.repository.js';
import { ReleasesService } from './releases.service.js';
import { VariablesController } from './variables.controller.js';
import { VariablesRepository } from './variables.repository.js';
import { VariablesService } from './variables.service.js';

/**
 * The hub's desired side of supervision: compose apps and their releases, variables, operator
 * controls, and the per-device desired state computed from them and sent to devices.
 * Supervision (the reported side) uses DesiredStateService and ControlsService.
 */
@Module({
  imports: [BrokerModule, FleetsModule],
  controllers: [AppsController, VariablesController],
  providers: [
    AppsRepository,
    DesiredRepository,
    VariablesRepository,
    ControlsRepository,
    DesiredPublisher,
    DesiredStateService,
    DesiredTriggers,
    ReleasesService,
    VariablesService,
    ControlsService,
  ],
  exports: [DesiredStateService, ControlsService],
})
export class AppsModule {}
