import { Body, Controller, Delete, Get, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import type { CreatedToken, ProvisioningToken } from '../contract.js';
import { CurrentCaller, Roles, type Caller } from '../auth/roles.decorator.js';
import { ZodPipe } from '../http/zod-pipe.js';
import { CreateTokenSchema, type CreateTokenInput } from './tokens.dto.js';
import { TokensService } from './tokens.service.js';

@ApiTags('provisioning tokens')
@ApiBearerAuth()
@Controller('tokens')
@Roles('admin')
export class TokensController {
  constructor(private readonly tokens: TokensService) {}

  @Get()
  @ApiOperation({ summary: 'List provisioning tokens with their state (admin)' })
  list(): Promise<ProvisioningToken[]> {
    return this.tokens.list();
  }

  @Post()
  @ApiOperation({ summary: 'Create a provisioning token; the secret is returned once (admin)' })
  @ApiBody({ schema: z.toJSONSchema(CreateTokenSchema, { io: 'input' }) as object })
  create(@Body(new ZodPipe(CreateTokenSchema)) body: CreateTokenInput, @CurrentCaller() caller: Caller): Promise<CreatedToken> {
    return this.tokens.create(body, caller.userId);
  }

  @Delete(':idOrToken')
  @ApiOperation({ summary: 'Revoke a provisioning token by id or by the token itself (admin)' })
  revoke(@Param('idOrToken') idOrToken: string): Promise<ProvisioningToken> {
    return this.tokens.revoke(idOrToken);
  }
}
