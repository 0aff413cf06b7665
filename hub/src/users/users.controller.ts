import { Body, Controller, Get, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import type { CreateUserRequest, User } from '../contract.js';
import { Roles } from '../auth/roles.decorator.js';
import { ZodPipe } from '../http/zod-pipe.js';
import { CreateUserSchema } from './users.dto.js';
import { UsersService } from './users.service.js';

@ApiTags('users')
@ApiBearerAuth()
@Controller('users')
@Roles('admin')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get()
  @ApiOperation({ summary: 'List operators (admin)' })
  list(): Promise<User[]> {
    return this.users.list();
  }

  @Post()
  @ApiOperation({ summary: 'Create an operator (admin)' })
  @ApiBody({ schema: z.toJSONSchema(CreateUserSchema) as object })
  create(@Body(new ZodPipe(CreateUserSchema)) body: CreateUserRequest): Promise<User> {
    return this.users.create(body);
  }
}
