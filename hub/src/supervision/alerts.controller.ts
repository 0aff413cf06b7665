import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Alert } from '../contract.js';
import { CurrentCaller, Roles, type Caller } from '../auth/roles.decorator.js';
import { DomainError } from '../common/errors.js';
import { DevicesRepository } from '../devices/devices.repository.js';
import { ZodPipe } from '../http/zod-pipe.js';
import { AlertsService } from './alerts.service.js';
import { AlertsQuerySchema, type AlertsQuery } from './supervision.dto.js';

@ApiTags('supervision')
@ApiBearerAuth()
@Controller('alerts')
export class AlertsController {
  constructor(
    private readonly alerts: AlertsService,
    private readonly devices: DevicesRepository,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Alerts, newest first (crash loop, FATAL, engine down, apply failed)' })
  @ApiQuery({ name: 'open', required: false, enum: ['true', 'false'] })
  @ApiQuery({ name: 'device', required: false, description: 'device id or name' })
  @ApiQuery({ name: 'limit', required: false, description: '1..1000, default 200' })
  async list(@Query(new ZodPipe(AlertsQuerySchema)) q: AlertsQuery): Promise<Alert[]> {
    let deviceId: string | undefined;
    if (q.device !== undefined) {
      const d = await this.devices.findByIdOrName(q.device);
      if (!d) throw new DomainError('not_found', `no device ${q.device}`);
      deviceId = d.id;
    }
    return this.alerts.list({ open: q.open, deviceId, limit: q.limit });
  }

  @Post(':id/ack')
  @HttpCode(200)
  @Roles('operator')
  @ApiOperation({ summary: 'Acknowledge an alert (operator+; audited)' })
  ack(@CurrentCaller() caller: Caller, @Param('id') id: string): Promise<Alert> {
    return this.alerts.ack(caller, id);
  }
}
