import { Controller, Get, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { Health } from '../contract.js';
import { Public } from '../auth/roles.decorator.js';
import { HealthService } from './health.service.js';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get()
  @Public()
  @ApiOperation({ summary: 'Liveness of the database and the MQTT link; 503 when degraded' })
  async check(@Res({ passthrough: true }) res: Response): Promise<Health> {
    const h = await this.health.check();
    res.status(h.status === 'ok' ? 200 : 503);
    res.setHeader('Cache-Control', 'no-store');
    return h;
  }
}
