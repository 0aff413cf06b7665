import { Body, Controller, Get, Param, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { CurrentCaller, Roles, type Caller } from '../auth/roles.decorator.js';
import { ZodPipe } from '../http/zod-pipe.js';
import { VariablesSchema } from './apps.dto.js';
import type { Variables } from './variables.repository.js';
import { VariablesService } from './variables.service.js';

@ApiTags('apps')
@ApiBearerAuth()
@Controller()
export class VariablesController {
  constructor(private readonly variables: VariablesService) {}

  @Get('fleets/:name/variables')
  @ApiOperation({ summary: 'Variables for compose interpolation in this fleet' })
  fleet(@Param('name') name: string): Promise<Variables> {
    return this.variables.ofFleet(name);
  }

  @Put('fleets/:name/variables')
  @Roles('operator')
  @ApiOperation({ summary: 'Replace the fleet variables; refused if an app would lack a value it needs on some device (operator+)' })
  @ApiBody({ schema: z.toJSONSchema(VariablesSchema) as object })
  setFleet(@Param('name') name: string, @Body(new ZodPipe(VariablesSchema)) body: Variables, @CurrentCaller() caller: Caller): Promise<Variables> {
    return this.variables.setFleet(caller, name, body);
  }

  @Get('devices/:idOrName/variables')
  @ApiOperation({ summary: 'Variables of this device (over its fleet\'s)' })
  device(@Param('idOrName') idOrName: string): Promise<Variables> {
    return this.variables.ofDevice(idOrName);
  }

  @Put('devices/:idOrName/variables')
  @Roles('operator')
  @ApiOperation({ summary: 'Replace the device variables; refused if an app would lack a value it needs there (operator+)' })
  @ApiBody({ schema: z.toJSONSchema(VariablesSchema) as object })
  setDevice(@Param('idOrName') idOrName: string, @Body(new ZodPipe(VariablesSchema)) body: Variables, @CurrentCaller() caller: Caller): Promise<Variables> {
    return this.variables.setDevice(caller, idOrName, body);
  }
}
