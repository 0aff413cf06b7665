import { Body, Controller, Get, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import type { CreateUserRequest, User } from '../contract.js';
import { CurrentCaller, Roles, type Caller } from '../auth/roles.decorator.js';
import { AuditService, actorOf } from '../audit/audit.service.js';
import { ZodPipe } from '../http/zod-pipe.js';
import { CreateUserSchema } from './users.dto.js';
import { UsersService } from './users.service.js';

@ApiTags('users')
@ApiBearerAuth()
@Controller('users')
@Roles('admin')
export class UsersController {
  constructor(
    private readonly users: UsersService,
    private readonly audit: AuditService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'List operators (admin)' })
  list(): Promise<User[]> {
    return this.users.list();
  }

  @Post()
  @ApiOperation({ summary: 'Create an operator (admin)' })
  @ApiBody({ schema: z.toJSONSchema(CreateUserSchema) as object })
  create(@Body(new ZodPipe(CreateUserSchema)) body: CreateUserRequest, @CurrentCaller() caller: Caller): Promise<User> {
    return this.audit.track(
      { actor: actorOf(caller), action: 'user.create', targetType: 'user', target: body.username, detail: { name: body.username, role: body.role } },
      () => this.users.create(body),
      (u) => ({ target: u.id }),
    );
  }
}
