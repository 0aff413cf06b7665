import { Body, Controller, Delete, Get, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import type { CreatedToken, ProvisioningToken } from '../contract.js';
import { CurrentCaller, Roles, type Caller } from '../auth/roles.decorator.js';
import { AuditService, actorOf } from '../audit/audit.service.js';
import { ZodPipe } from '../http/zod-pipe.js';
import { CreateTokenSchema, type CreateTokenInput } from './tokens.dto.js';
import { TOKEN_PREFIX } from './token-state.js';
import { TokensService } from './tokens.service.js';

@ApiTags('provisioning tokens')
@ApiBearerAuth()
@Controller('tokens')
@Roles('admin')
export class TokensController {
  constructor(
    private readonly tokens: TokensService,
    private readonly audit: AuditService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'List provisioning tokens with their state (admin)' })
  list(): Promise<ProvisioningToken[]> {
    return this.tokens.list();
  }

  @Post()
  @ApiOperation({ summary: 'Create a provisioning token; the secret is returned once (admin)' })
  @ApiBody({ schema: z.toJSONSchema(CreateTokenSchema, { io: 'input' }) as object })
  create(@Body(new ZodPipe(CreateTokenSchema)) body: CreateTokenInput, @CurrentCaller() caller: Caller): Promise<CreatedToken> {
    return this.audit.track(
      { actor: actorOf(caller), action: 'token.create', targetType: 'token', target: body.fleet, detail: { fleet: body.fleet, maxUses: body.maxUses, ttlSeconds: body.ttlSeconds } },
      () => this.tokens.create(body, caller.userId),
      (t) => ({ target: t.id, detail: { prefix: t.prefix } }),
    );
  }

  @Delete(':idOrToken')
  @ApiOperation({ summary: 'Revoke a provisioning token by id or by the token itself (admin)' })
  revoke(@Param('idOrToken') idOrToken: string, @CurrentCaller() caller: Caller): Promise<ProvisioningToken> {
    // The secret itself is never written down: a revoke by token is recorded under the token's id.
    const given = idOrToken.startsWith(TOKEN_PREFIX) ? '(token)' : idOrToken;
    return this.audit.track(
      { actor: actorOf(caller), action: 'token.revoke', targetType: 'token', target: given },
      () => this.tokens.revoke(idOrToken),
      (t) => ({ target: t.id, detail: { prefix: t.prefix, fleet: t.fleet } }),
    );
  }
}
