import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import type { AppSummary, ApplyAppResult, Release } from '../contract.js';
import { CurrentCaller, Roles, type Caller } from '../auth/roles.decorator.js';
import { ZodPipe } from '../http/zod-pipe.js';
import { AppsQuerySchema, ApplyAppSchema, RemoveQuerySchema, RollbackSchema, type ApplyAppInput, type RollbackInput } from './apps.dto.js';
import { ReleasesService } from './releases.service.js';

@ApiTags('apps')
@ApiBearerAuth()
@Controller('apps')
export class AppsController {
  constructor(private readonly releases: ReleasesService) {}

  @Post('apply')
  @HttpCode(200)
  @Roles('operator')
  @ApiOperation({ summary: 'Apply a compose file to a fleet or as one device\'s override: a new release, planned per device (operator+)' })
  @ApiBody({ schema: z.toJSONSchema(ApplyAppSchema, { io: 'input' }) as object })
  apply(@Body(new ZodPipe(ApplyAppSchema)) body: ApplyAppInput, @CurrentCaller() caller: Caller): Promise<ApplyAppResult> {
    return this.releases.apply(caller, body);
  }

  @Get()
  @ApiOperation({ summary: 'Apps with their current fleet release, services and device overrides' })
  @ApiQuery({ name: 'fleet', required: false })
  list(@Query(new ZodPipe(AppsQuerySchema)) q: { fleet?: string }): Promise<AppSummary[]> {
    return this.releases.list(q.fleet);
  }

  @Get(':fleet/:app/releases')
  @ApiOperation({ summary: 'Releases of an app, newest first' })
  history(@Param('fleet') fleet: string, @Param('app') app: string): Promise<Release[]> {
    return this.releases.releases(fleet, app);
  }

  @Post(':fleet/:app/rollback')
  @HttpCode(200)
  @Roles('operator')
  @ApiOperation({ summary: 'Restore an earlier release as a new one, fleet-wide or for one device\'s override (operator+)' })
  @ApiBody({ schema: z.toJSONSchema(RollbackSchema, { io: 'input' }) as object })
  rollback(
    @Param('fleet') fleet: string,
    @Param('app') app: string,
    @Body(new ZodPipe(RollbackSchema)) body: RollbackInput,
    @CurrentCaller() caller: Caller,
  ): Promise<ApplyAppResult> {
    return this.releases.rollback(caller, fleet, app, body);
  }

  @Delete(':fleet/:app')
  @Roles('operator')
  @ApiOperation({ summary: 'Remove an app from its fleet, or from one device with ?device= (a release that removes it; operator+)' })
  @ApiQuery({ name: 'device', required: false })
  remove(
    @Param('fleet') fleet: string,
    @Param('app') app: string,
    @Query(new ZodPipe(RemoveQuerySchema)) q: { device?: string },
    @CurrentCaller() caller: Caller,
  ): Promise<ApplyAppResult> {
    return this.releases.remove(caller, fleet, app, q.device);
  }
}
