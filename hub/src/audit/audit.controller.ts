import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { AuditEntry } from '../contract.js';
import { Roles } from '../auth/roles.decorator.js';
import { ZodPipe } from '../http/zod-pipe.js';
import { AuditQuerySchema, type AuditQuery } from './audit.dto.js';
import { AuditService } from './audit.service.js';

@ApiTags('audit')
@ApiBearerAuth()
@Controller('audit')
@Roles('admin')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @ApiOperation({ summary: 'Who did what, newest first (admin)' })
  @ApiQuery({ name: 'since', required: false, description: 'ISO 8601 or a span back from now: 30m, 1h, 7d' })
  @ApiQuery({ name: 'actor', required: false, description: 'username' })
  @ApiQuery({ name: 'target', required: false, description: 'target id or name (device, user, app as fleet/app)' })
  @ApiQuery({ name: 'limit', required: false, description: '1..1000, default 100' })
  list(@Query(new ZodPipe(AuditQuerySchema)) q: AuditQuery): Promise<AuditEntry[]> {
    return this.audit.list(q);
  }
}
