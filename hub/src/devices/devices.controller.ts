import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import type { Device, IngestDrop, Overview, TelemetrySeries } from '../contract.js';
import { CurrentCaller, Roles, type Caller } from '../auth/roles.decorator.js';
import { AuditService, actorOf } from '../audit/audit.service.js';
import { ZodPipe } from '../http/zod-pipe.js';
import {
  DeviceQuerySchema,
  TelemetryQuerySchema,
  UpdateDeviceSchema,
  type DeviceQuery,
  type TelemetryQuery,
  type UpdateDeviceInput,
} from './devices.dto.js';
import { DevicesService } from './devices.service.js';

@ApiTags('devices')
@ApiBearerAuth()
@Controller()
export class DevicesController {
  constructor(
    private readonly devices: DevicesService,
    private readonly audit: AuditService,
  ) {}

  @Get('overview')
  @ApiOperation({ summary: 'Device counts, total and per fleet' })
  overview(): Promise<Overview> {
    return this.devices.overview();
  }

  @Get('devices')
  @ApiOperation({ summary: 'List devices; q matches name, id or tag' })
  @ApiQuery({ name: 'q', required: false })
  @ApiQuery({ name: 'tag', required: false })
  @ApiQuery({ name: 'fleet', required: false })
  @ApiQuery({ name: 'online', required: false, enum: ['true', 'false'] })
  list(@Query(new ZodPipe(DeviceQuerySchema)) q: DeviceQuery): Promise<Device[]> {
    return this.devices.list(q);
  }

  @Get('devices/:idOrName')
  @ApiOperation({ summary: 'One device by id or name' })
  get(@Param('idOrName') idOrName: string): Promise<Device> {
    return this.devices.get(idOrName);
  }

  @Patch('devices/:idOrName')
  @Roles('operator')
  @ApiOperation({ summary: 'Rename or retag a device (operator+)' })
  @ApiBody({ schema: z.toJSONSchema(UpdateDeviceSchema) as object })
  update(
    @Param('idOrName') idOrName: string,
    @Body(new ZodPipe(UpdateDeviceSchema)) body: UpdateDeviceInput,
    @CurrentCaller() caller: Caller,
  ): Promise<Device> {
    return this.audit.track(
      { actor: actorOf(caller), action: 'device.update', targetType: 'device', target: idOrName, detail: { changes: body } },
      () => this.devices.update(idOrName, body),
      (d) => ({ target: d.id, detail: { name: d.name } }),
    );
  }

  @Post('devices/:idOrName/revoke')
  @HttpCode(200)
  @Roles('admin')
  @ApiOperation({ summary: 'Revoke a device: disconnected within 2 s and refused afterwards (admin)' })
  revoke(@Param('idOrName') idOrName: string, @CurrentCaller() caller: Caller): Promise<Device> {
    return this.audit.track(
      { actor: actorOf(caller), action: 'device.revoke', targetType: 'device', target: idOrName },
      () => this.devices.revoke(idOrName),
      (d) => ({ target: d.id, detail: { name: d.name } }),
    );
  }

  @Get('devices/:idOrName/telemetry')
  @ApiOperation({ summary: 'Telemetry history (raw for 24 h, 1-minute rollups for 30 days)' })
  @ApiQuery({ name: 'from', required: false, description: 'ISO 8601; default to - 1 h' })
  @ApiQuery({ name: 'to', required: false, description: 'ISO 8601; default now' })
  @ApiQuery({ name: 'resolution', required: false, enum: ['raw', '1m', 'auto'] })
  telemetry(@Param('idOrName') idOrName: string, @Query(new ZodPipe(TelemetryQuerySchema)) q: TelemetryQuery): Promise<TelemetrySeries> {
    return this.devices.history(idOrName, q);
  }

  @Get('devices/:idOrName/drops')
  @ApiOperation({ summary: 'What the hub refused from this device, by stream and reason (counts, first and last time)' })
  drops(@Param('idOrName') idOrName: string): Promise<IngestDrop[]> {
    return this.devices.drops(idOrName);
  }
}
