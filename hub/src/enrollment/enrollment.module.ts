import { Module } from '@nestjs/common';
import { BrokerModule } from '../broker/broker.module.js';
import { DevicesModule } from '../devices/devices.module.js';
import { TokensModule } from '../tokens/tokens.module.js';
import { EnrollmentController } from './enrollment.controller.js';
import { EnrollmentService } from './enrollment.service.js';

@Module({
  imports: [TokensModule, DevicesModule, BrokerModule],
  controllers: [EnrollmentController],
  providers: [EnrollmentService],
})
export class EnrollmentModule {}
