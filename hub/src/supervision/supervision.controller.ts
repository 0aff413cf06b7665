import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import type { DeviceContainers, ServiceActionRequest, ServiceEvent, ServiceRecord } from '../contract.js';
import { CurrentCaller, Roles, type Caller } from '../auth/roles.decorator.js';
import { ZodPipe } from '../http/zod-pipe.js';
import { ContainersService } from './containers.service.js';
import { EntryNameSchema, HistoryQuerySchema, ServiceActionSchema } from './supervision.dto.js';

@ApiTags('supervision')
@ApiBearerAuth()
@Controller()
export class SupervisionController {
  constructor(private readonly containers: ContainersService) {}

  @Get('devices/:idOrName/containers')
  @ApiOperation({ summary: 'Services of a device: desired, reported (UNKNOWN while offline) and operator controls' })
  containersOf(@Param('idOrName') idOrName: string): Promise<DeviceContainers> {
    return this.containers.forDevice(idOrName);
  }

  @Get('devices/:idOrName/services/:app/:service/history')
  @ApiOperation({ summary: 'Supervision transitions of one service (restart history), newest first' })
  @ApiQuery({ name: 'limit', required: false, description: '1..500, default 50' })
  history(
    @Param('idOrName') idOrName: string,
    @Param('app', new ZodPipe(EntryNameSchema)) app: string,
    @Param('service', new ZodPipe(EntryNameSchema)) service: string,
    @Query(new ZodPipe(HistoryQuerySchema)) q: { limit: number },
  ): Promise<ServiceEvent[]> {
    return this.containers.history(idOrName, app, service, q.limit);
  }

  @Post('devices/:idOrName/services/action')
  @HttpCode(200)
  @Roles('operator')
  @ApiOperation({ summary: 'Start, stop, restart, reset (leave FATAL), pause or resume services of a device (operator+)' })
  @ApiBody({ schema: z.toJSONSchema(ServiceActionSchema, { io: 'input' }) as object })
  action(
    @CurrentCaller() caller: Caller,
    @Param('idOrName') idOrName: string,
    @Body(new ZodPipe(ServiceActionSchema)) body: ServiceActionRequest,
  ): Promise<DeviceContainers> {
    return this.containers.action(caller, idOrName, body);
  }

  @Get('fleets/:name/troubles')
  @ApiOperation({ summary: "Crash-looping and FATAL services across a fleet's devices" })
  troubles(@Param('name') name: string): Promise<ServiceRecord[]> {
    return this.containers.troubles(name);
  }
}
