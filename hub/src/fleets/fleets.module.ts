import { Module } from '@nestjs/common';
import { FleetsController } from './fleets.controller.js';
import { FleetsRepository } from './fleets.repository.js';
import { FleetsService } from './fleets.service.js';

@Module({
  controllers: [FleetsController],
  providers: [FleetsRepository, FleetsService],
  exports: [FleetsService],
})
export class FleetsModule {}
