import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { EnrollRequestSchema, type EnrollRequest, type EnrollResponse } from '@pifleet/protocol';
import { Public } from '../auth/roles.decorator.js';
import { ZodPipe } from '../http/zod-pipe.js';
import { EnrollmentService } from './enrollment.service.js';

@ApiTags('enrollment')
@Controller('enroll')
export class EnrollmentController {
  constructor(private readonly enrollment: EnrollmentService) {}

  @Post()
  @Public()
  @HttpCode(200)
  @ApiOperation({ summary: 'Enroll a device with a provisioning token (called by the agent)' })
  @ApiBody({ schema: z.toJSONSchema(EnrollRequestSchema) as object })
  enroll(@Body(new ZodPipe(EnrollRequestSchema)) body: EnrollRequest): Promise<EnrollResponse> {
    return this.enrollment.enroll(body);
  }
}
