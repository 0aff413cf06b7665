import { Module } from '@nestjs/common';
import { FleetsModule } from '../fleets/fleets.module.js';
import { TokensController } from './tokens.controller.js';
import { TokensRepository } from './tokens.repository.js';
import { TokensService } from './tokens.service.js';

@Module({
  imports: [FleetsModule],
  controllers: [TokensController],
  providers: [TokensRepository, TokensService],
  exports: [TokensRepository],
})
export class TokensModule {}
