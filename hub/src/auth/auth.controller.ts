import { Body, Controller, Get, HttpCode, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { z } from 'zod';
import type { LoginResponse, User } from '../contract.js';
import { AuditService } from '../audit/audit.service.js';
import { HubConfig } from '../config/hub-config.js';
import { USERNAME_PATTERN } from '../users/users.dto.js';
import { ZodPipe } from '../http/zod-pipe.js';
import { LoginSchema, SESSION_COOKIE, type LoginInput } from './auth.dto.js';
import { AuthService } from './auth.service.js';
import { CurrentCaller, Public, type Caller } from './roles.decorator.js';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly config: HubConfig,
    private readonly audit: AuditService,
  ) {}

  @Post('login')
  @Public()
  @HttpCode(200)
  @ApiOperation({ summary: 'Log in; kind=session sets the dashboard cookie, kind=cli returns a 30-day token' })
  @ApiBody({ schema: z.toJSONSchema(LoginSchema, { io: 'input' }) as object })
  async login(@Body(new ZodPipe(LoginSchema)) body: LoginInput, @Res({ passthrough: true }) res: Response): Promise<LoginResponse> {
    // A failed login records the name tried only when it could be a username at all: text typed
    // into the wrong field (a password) is not written down.
    const tried = USERNAME_PATTERN.test(body.username) ? body.username : '(not a username)';
    const out = await this.audit.track(
      { actor: { id: null, username: tried }, action: 'auth.login', targetType: 'user', target: tried, detail: { kind: body.kind } },
      () => this.auth.login(body),
      (r) => ({ actor: { id: r.user.id, username: r.user.username }, target: r.user.id, detail: { name: r.user.username } }),
    );
    if (body.kind === 'session') {
      res.cookie(SESSION_COOKIE, out.token, {
        httpOnly: true,
        sameSite: 'strict',
        secure: this.config.publicUrl.startsWith('https:'),
        path: '/',
        expires: new Date(out.expiresAt),
      });
    }
    return out;
  }

  @Post('logout')
  @HttpCode(204)
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Revoke the token used for this call and clear the cookie' })
  async logout(@CurrentCaller() caller: Caller, @Res({ passthrough: true }) res: Response): Promise<void> {
    await this.auth.logout(caller);
    res.clearCookie(SESSION_COOKIE, { path: '/' });
  }

  @Get('me')
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Who am I' })
  me(@CurrentCaller() caller: Caller): User {
    return { id: caller.userId, username: caller.username, role: caller.role, createdAt: caller.createdAt };
  }
}
