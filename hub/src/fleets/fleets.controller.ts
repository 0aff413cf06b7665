import { Body, Controller, Get, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { NAME_PATTERN } from '@pifleet/protocol';
import type { Fleet } from '../contract.js';
import { CurrentCaller, Roles, type Caller } from '../auth/roles.decorator.js';
import { AuditService, actorOf } from '../audit/audit.service.js';
import { ZodPipe } from '../http/zod-pipe.js';
import { FleetsService } from './fleets.service.js';

const CreateFleetSchema = z.object({ name: z.string().regex(NAME_PATTERN, 'letters, digits, . _ - (max 63)') });

@ApiTags('fleets')
@ApiBearerAuth()
@Controller('fleets')
export class FleetsController {
  constructor(
    private readonly fleets: FleetsService,
    private readonly audit: AuditService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'List fleets with their number of active devices' })
  list(): Promise<Fleet[]> {
    return this.fleets.list();
  }

  @Post()
  @Roles('admin')
  @ApiOperation({ summary: 'Create a fleet (admin)' })
  @ApiBody({ schema: z.toJSONSchema(CreateFleetSchema) as object })
  create(@Body(new ZodPipe(CreateFleetSchema)) body: { name: string }, @CurrentCaller() caller: Caller): Promise<Fleet> {
    return this.audit.track(
      { actor: actorOf(caller), action: 'fleet.create', targetType: 'fleet', target: body.name, detail: { name: body.name } },
      () => this.fleets.create(body.name),
      (f) => ({ target: f.id }),
    );
  }
}
